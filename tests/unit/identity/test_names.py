"""First-name keys, nickname alternates from the ``nicknames`` package, and the name
compatibility rule (``names.compatible_sql``) as the deterministic pass runs it in DuckDB."""

from __future__ import annotations

import ast
from pathlib import Path

import duckdb
import polars as pl
import pytest

from lakehouse.identity import names
from lakehouse.identity.schema import conform

ROOT = Path(__file__).resolve().parents[3]


def _side(first: list[str], last: list[str]) -> pl.DataFrame:
    fn = pl.Series("fn", first, dtype=pl.String)
    keys = names.first_name_keys(fn)
    return pl.DataFrame({"fn": keys["_fnc"], "fna": names.alternates(keys["_fnc"]),
                         "alts": keys["_fn_alts"], "ln": last})


def compatible(pairs: list[tuple[str, str, str, str]]) -> list[bool]:
    """``compatible_sql`` for (first a, last a, first b, last b) name pairs (upper case)."""
    a = _side([p[0] for p in pairs], [p[1] for p in pairs])
    b = _side([p[2] for p in pairs], [p[3] for p in pairs])
    con = duckdb.connect()
    con.register("a", a.with_row_index("k").to_arrow())
    con.register("b", b.with_row_index("k").to_arrow())
    sql = f"select {names.compatible_sql('a', 'b')} from a join b using (k) order by k"
    return [bool(r[0]) for r in con.sql(sql).fetchall()]


def alts_meet(x: str, y: str) -> bool:
    """The record-level form: ``list_has_any(a._fn_alts, b._fn_alts)``."""
    keys = names.first_name_keys(pl.Series([x, y]))["_fn_alts"].to_list()
    return bool(set(keys[0]) & set(keys[1]))


@pytest.mark.parametrize(("x", "y"), [
    ("BOB", "ROBERT"), ("BOBBY", "ROBERT"), ("BOB", "BOBBY"), ("PEGGY", "MARGARET"),
    ("PEGGY", "MAGGIE"),  # two short forms of one given name
    ("AL", "ALBERT"), ("AL", "ALFRED"), ("LIZ", "ELIZABETH"), ("JIM", "JAMES"),
    ("PAT", "PATRICK"), ("PAT", "PATRICIA"),
])
def test_nicknames_are_compatible(x: str, y: str) -> None:
    assert compatible([(x, "SMITH", y, "SMITH"), (y, "SMITH", x, "SMITH")]) == [True, True]
    assert alts_meet(x, y)


@pytest.mark.parametrize(("x", "y"), [
    ("MARK", "MARY"),         # one letter apart: another person, not a typo
    ("ALBERT", "ALFRED"),     # given names that only share a short form (Al)
    ("PATRICK", "PATRICIA"),  # ... (Pat)
    ("ROBERT", "MARGARET"),
])
def test_different_given_names_are_not_compatible(x: str, y: str) -> None:
    assert compatible([(x, "SMITH", y, "SMITH")]) == [False]
    assert not alts_meet(x, y)


def test_nickname_needs_the_same_last_name() -> None:
    assert compatible([("BOB", "SMITH", "ROBERT", "JONES")]) == [False]


def test_typos_initials_and_swaps_still_hold() -> None:
    assert compatible([
        ("OLIVIA", "ANDERSON", "OLIVAI", "ANDERSON"),   # swapped neighbours
        ("OLIVIA", "ANDERSON", "OLIVIA", "ANDERSSON"),  # doubled letter
        ("J", "SMITH", "JOHN", "SMITH"),                # initial
        ("JOHN", "S", "JOHN", "SMITH"),                 # "First L." display name
        ("SMITH", "JOHN", "JOHN", "SMITH"),             # first and last swapped
        ("JOHN", "SMITH", "JOAN", "SMITH"),             # a substitution is another person
    ]) == [True, True, True, True, True, False]


def test_keys_per_name() -> None:
    first = pl.Series("f", ["ROBERT", "JOHN", "ZXQWV", "AL", None], dtype=pl.String)
    out = names.first_name_keys(first)
    fnc = out["_fnc"].to_list()
    # a given name and a name the table does not know stay themselves; so does a short form
    # of several given names (which one is not a key's to say)
    assert fnc == ["ROBERT", "JOHN", "ZXQWV", "AL", None]
    alts = out["_fn_alts"].to_list()
    assert alts[2] == ["ZXQWV"] and alts[4] is None
    assert {"AL", "ALBERT", "ALFRED", "ALAN"} <= set(alts[3])
    assert all(a == sorted(a) and f in a for f, a in zip(first[:4], alts[:4], strict=True))
    assert all(a.isalpha() and a.isupper() for row in alts[:4] for a in row)
    assert names.canonical_first(first).to_list() == fnc


def test_a_short_form_of_one_given_name_keys_to_it() -> None:
    """The table's single-given short forms key to that name, the same key as the name."""
    givens, canonical = names.nickname_table()
    short = next(n for n, g in sorted(givens.items()) if len(g) == 1 and n not in canonical)
    (given,) = givens[short]
    assert names.canonical_first(pl.Series([short, given])).to_list() == [given, given]


def test_conform_adds_key_and_alternates_per_record() -> None:
    rec = conform(pl.DataFrame({"record_id": ["1", "2", "3"], "source": ["s"] * 3,
                                "first_name": ["Bob", " peggy ", None]}))
    assert rec["_fn"].to_list() == ["BOB", "PEGGY", None]
    assert rec["_fnc"].to_list() == ["BOB", "PEGGY", None]
    assert "ROBERT" in rec["_fn_alts"][0].to_list()
    assert "MARGARET" in rec["_fn_alts"][1].to_list()
    assert rec["_fn_alts"][2] is None


def test_alternates_of_many_records_are_built_per_distinct_name() -> None:
    first = pl.Series(["BOB", "ROBERT", None, "AL"] * 50_000)
    out = names.first_name_keys(first)
    assert out.height == first.len()
    assert out["_fnc"].to_list()[:4] == ["BOB", "ROBERT", None, "AL"]
    assert out.slice(4, 4).equals(out.slice(0, 4))


@pytest.mark.parametrize("package", ["lakehouse/identity", "lakehouse/silver"])
def test_identity_code_does_not_import_the_simulator(package: str) -> None:
    """Rule 10: the product does not know the simulator (the exam, not the textbook)."""
    for path in sorted((ROOT / package).glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            mods = ([a.name for a in node.names] if isinstance(node, ast.Import)
                    else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(m.startswith("lakehouse.simulate") for m in mods), path
