"""The warehouse gate's PII scan searches its pattern only on candidate values
(``suites.pii_candidate_sql``: an ``@``, or 9-16 bytes). It must find every leak the plain
search finds, in both engines, and report it under the column it is in. Real DuckDB files,
real GX."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_quality.gx_engine import build_data_docs
from data_quality.suites import PII_PATTERN, PII_PATTERNS, mart_suite, pii_candidate_sql
from data_quality.warehouse_gate import Warehouse

# what a leak and a near miss look like, plus arbitrary text
values = st.one_of(
    st.none(),
    st.from_regex(PII_PATTERNS["email"], fullmatch=False),
    st.from_regex(PII_PATTERNS["phone"], fullmatch=False),
    st.sampled_from(["+14155550123", "(415) 555-0123", "415.555.0123", "+1415555012345678",
                     "415-555-01234", "paid_search", "a@b.co", "@b.co", "a@b.c", "日本@例え.jp",
                     "P0123456789abcdef", "+14155550123\n", " +14155550123"]),
    st.text(max_size=20),
)


def _searched(con, column: str, candidates: bool) -> int:
    where = f"{pii_candidate_sql(column)} and " if candidates else ""
    return con.execute(f"select count(*) from v where {where}regexp_matches({column}, ?)",
                       [PII_PATTERN]).fetchone()[0]


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(values, min_size=1, max_size=30))
def test_every_value_the_pattern_matches_is_a_candidate(rows):
    con = duckdb.connect()
    con.register("v", pa.table({"s": pa.array(rows, pa.string())}))
    assert _searched(con, "s", candidates=True) == _searched(con, "s", candidates=False)
    con.close()


def _warehouse(path: Path, rows: dict[str, list]) -> Path:
    con = duckdb.connect(str(path))
    con.register("rows", pa.table({c: pa.array(v, pa.string()) for c, v in rows.items()}))
    con.execute("create table main.fct as select * from rows")
    con.close()
    return path


def _gate(path: Path, engine: str):
    with Warehouse(path) as warehouse:
        suite = mart_suite("main.fct", warehouse.columns("main.fct"))
        return warehouse.validate("main.fct", suite, engine=engine)


LEAKS = {
    "clean": ["order:o-1", "paid_search", "P0123456789abcdef", None, "日本"],
    "email": ["note for jane.doe@example.com", "x", None, "y", "z"],
    "phones": ["+14155550123", "(415) 555-0123", "415.555.0123", "415-555-01234", None],
}


@pytest.mark.parametrize("engine", ["gx", "duckdb"])
def test_both_engines_find_each_leak_under_its_column(tmp_path, engine):
    result = _gate(_warehouse(tmp_path / "wh.duckdb", LEAKS), engine)
    scans = {o.column: o for o in result.outcomes if o.name.startswith("ExpectColumnValuesToNot")}
    assert {c: (o.passed, o.unexpected_count) for c, o in scans.items()} == {
        "clean": (True, 0), "email": (False, 1), "phones": (False, 3)}
    assert all(o.sample is None for o in scans.values())  # a leak is never echoed
    if engine == "gx":  # the GX result names the column checked, and says how
        configs = {r.expectation_config.kwargs["column"]: r.expectation_config
                   for r in result.gx_result.results}
        assert set(configs) == set(LEAKS)
        assert "9-16 bytes" in configs["email"].notes
        _, (page,) = build_data_docs(tmp_path / "docs", [result.gx_result])
        html = Path(page.removeprefix("file://")).read_text()
        assert "jane.doe@example.com" not in html and "email" in html


@settings(max_examples=15, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(values, min_size=1, max_size=12))
def test_the_gate_counts_what_a_plain_search_counts(tmp_path, rows):
    path = tmp_path / "gen.duckdb"
    path.unlink(missing_ok=True)
    _warehouse(path, {"s": rows})
    con = duckdb.connect()
    con.register("v", pa.table({"s": pa.array(rows, pa.string())}))
    expected = _searched(con, "s", candidates=False)
    con.close()
    for engine in ("gx", "duckdb"):
        (scan,) = [o for o in _gate(path, engine).outcomes if o.column == "s"]
        assert (scan.passed, scan.unexpected_count) == (expected == 0, expected), engine
