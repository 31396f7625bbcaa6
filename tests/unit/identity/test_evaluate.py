"""Identity scoring on tiny hand-made frames: every expected figure is worked out by hand below."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakehouse.identity import evaluate
from lakehouse.identity.evaluate import evaluate_households, linkable_truth


def _frame(column: str, groups: dict[str, list[str]]) -> pl.DataFrame:
    """``source, record_id, <column>`` from {group: ["a1", ...]} (source = the id's letter)."""
    rows = [(r[0], r, g) for g, recs in groups.items() for r in recs]
    return pl.DataFrame(rows, schema=["source", "record_id", column], orient="row")


# true persons X = {a1, a2, b1}, Y = {a3, b2}; predicted P = {a1, a2}, Q = {b1, a3, b2}
TRUTH = _frame("person_id", {"X": ["a1", "a2", "b1"], "Y": ["a3", "b2"]})
RESOLVED = _frame("person_id", {"P": ["a1", "a2"], "Q": ["b1", "a3", "b2"]})


def test_overall_figures() -> None:
    m = evaluate(RESOLVED, TRUTH)
    # true pairs: X 3 + Y 1 = 4; predicted: P 1 + Q 3 = 4; both: a1-a2 and a3-b2 = 2
    assert m["precision"] == m["recall"] == m["f1"] == 0.5
    # X spans P and Q (split), Y only Q; Q holds X and Y (over-merged), P only X
    assert m["split_person_share"] == m["overmerged_id_share"] == 0.5
    assert (m["records"], m["true_persons"], m["predicted_persons"]) == (5, 2, 2)
    assert "per_source" not in m


def test_per_source_counts_pairs_touching_the_source() -> None:
    per = evaluate(RESOLVED, TRUTH, by_source=True)["per_source"]
    a, b = per["a"], per["b"]
    # source a: true pairs with an a record: a1-a2, a1-b1, a2-b1, a3-b2 = 4; predicted: a1-a2,
    # b1-a3, a3-b2 = 3 (b1-b2 has no a record); both: a1-a2, a3-b2 = 2
    assert (a["records"], a["precision"], a["recall"]) == (3, round(2 / 3, 5), 0.5)
    assert a["f1"] == round(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5), 5)  # 4/7
    assert a["split_person_share"] == 0.5  # X (split) and Y (whole) have an a record
    assert a["overmerged_id_share"] == 0.5  # P and Q hold an a record; Q merges two persons
    # source b: true a1-b1, a2-b1, a3-b2 = 3; predicted b1-a3, b1-b2, a3-b2 = 3; both a3-b2 = 1
    assert (b["records"], b["precision"], b["recall"], b["f1"]) == (2, 0.33333, 0.33333,
                                                                    0.33333)
    assert b["split_person_share"] == 0.5  # X and Y have a b record, X is split
    assert b["overmerged_id_share"] == 1.0  # only Q holds a b record, and it merges X and Y


def test_perfect_and_singleton_maps() -> None:
    assert evaluate(TRUTH, TRUTH)["f1"] == 1.0
    alone = TRUTH.with_columns(pl.col("record_id").alias("person_id"))
    m = evaluate(alone, TRUTH)
    # no predicted pairs: precision 1 by convention, recall 0
    assert (m["precision"], m["recall"], m["f1"], m["split_person_share"]) == (1.0, 0.0, 0.0,
                                                                               1.0)


def test_households() -> None:
    # true H1 = {a1, a2}, H2 = {a3, b1, b2}; predicted h1 = {a1, a2, a3}, h2 = {b1, b2}
    truth = _frame("household_id", {"H1": ["a1", "a2"], "H2": ["a3", "b1", "b2"]})
    res = _frame("household_id", {"h1": ["a1", "a2", "a3"], "h2": ["b1", "b2"]})
    m = evaluate_households(res, truth)
    # true pairs 1 + 3 = 4; predicted 3 + 1 = 4; both: a1-a2, b1-b2 = 2
    assert m["precision"] == m["recall"] == m["f1"] == 0.5
    assert m["split_household_share"] == 0.5  # H2 spans h1 and h2
    assert m["overmerged_household_share"] == 0.5  # h1 holds H1 and H2
    assert (m["true_households"], m["predicted_households"]) == (2, 2)


def test_linkable_truth_splits_persons_the_data_does_not_connect() -> None:
    s = None
    records = pl.DataFrame({
        "source": ["s"] * 8,
        "record_id": ["r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8"],
        "first_name": ["Ann", s, s, "Ann", s, s, "Bo", "Cy"],
        "last_name": ["Lee", s, "Lee", "Lee", s, s, "Ma", "Ng"],
        "email": ["e1", "e1", s, s, s, s, s, "e1"],
        "address_line1": [s, s, "1 Main St", s, s, s, s, s],
    })
    obs = pl.DataFrame({
        "source": ["s", "s", "s", "s"], "record_id": ["r5", "r6", "r3", "r1"],
        "identifier_type": ["device_id", "device_id", "address_line1", "address_line1"],
        "value": ["d1", "d1", "1 Main St", "1 Main St"],
    })
    truth = pl.DataFrame({
        "source": ["s"] * 9,
        "record_id": ["r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9"],
        "person_id": ["X", "X", "X", "X", "Y", "Y", "Y", "Z", "Z"],
        "shared": [False] * 9,
    })
    lt = linkable_truth(records, obs, truth)
    got = dict(lt.select("record_id", "person_id").iter_rows())
    # X: r1-r2 share e-mail e1, r1-r4 are both named; r3 has a last name only and an address
    # (not a linking type): alone. Y: r5-r6 share device d1 (observations); r7 named but alone.
    # Z: r8 shares e1 with X's records, which never joins across true persons; r9 not a record.
    assert got == {"r1": "X#0", "r2": "X#0", "r4": "X#0", "r3": "X#1", "r5": "Y#0",
                   "r6": "Y#0", "r7": "Y#1", "r8": "Z#0"}
    assert lt.columns == truth.columns
    # the map that joins all of X scores an over-merge against linkable truth, not the full one
    assert evaluate(truth, truth)["f1"] == 1.0
    m = evaluate(truth, lt)
    # linkable pairs: X#0 3 + Y#0 1 = 4, all predicted; predicted pairs: X 6 + Y 3 = 9
    assert (m["precision"], m["recall"]) == (round(4 / 9, 5), 1.0)


def test_linkable_truth_without_observations_uses_record_columns() -> None:
    records = pl.DataFrame({"source": ["s", "s"], "record_id": ["r1", "r2"],
                            "phone": ["+1555", "+1555"]})
    truth = pl.DataFrame({"source": ["s", "s"], "record_id": ["r1", "r2"],
                          "person_id": ["X", "X"]})
    assert linkable_truth(records, None, truth)["person_id"].to_list() == ["X#0", "X#0"]
    no_link = records.with_columns(pl.Series("phone", ["+1555", "+1666"]))
    assert linkable_truth(no_link, None, truth)["person_id"].to_list() == ["X#0", "X#1"]


@pytest.mark.parametrize("by_source", [False, True])
def test_evaluate_ignores_records_only_one_side_holds(by_source: bool) -> None:
    extra = pl.concat([RESOLVED, _frame("person_id", {"P": ["c9"]})])
    assert evaluate(extra, TRUTH, by_source=by_source)["f1"] == 0.5


def _reference_linkable(records: pl.DataFrame, obs: pl.DataFrame,
                        truth: pl.DataFrame) -> dict[str, str]:
    """linkable_truth's definition in plain Python: two records of one true person are joined
    when they share an (identifier type, value) or both carry a first and a last name;
    components numbered in order of their first record."""
    parent = {r: r for r in truth["record_id"]}

    def root(r: str) -> str:
        while parent[r] != r:
            r = parent[r]
        return r

    person = dict(truth.select("record_id", "person_id").iter_rows())
    held: dict[tuple, list[str]] = {}
    for row in records.iter_rows(named=True):
        r = row["record_id"]
        if row["email"] is not None:
            held.setdefault(("email", row["email"]), []).append(r)
        if row["first_name"] is not None and row["last_name"] is not None:
            held.setdefault(("named", ""), []).append(r)
    for r, kind, value in obs.select("record_id", "identifier_type", "value").iter_rows():
        held.setdefault((kind, value), []).append(r)
    for rs in held.values():
        for a in rs:
            for b in rs:
                if person[a] == person[b]:
                    parent[root(a)] = root(b)
    out, seen = {}, {}
    for r in sorted(parent):
        k = seen.setdefault(person[r], {})
        out[r] = f"{person[r]}#{k.setdefault(root(r), len(k))}"
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("XYZ"), st.sampled_from([None, "e1", "e2"]),
                          st.booleans(), st.sampled_from([None, "d1", "d2", "d3"])),
                min_size=1, max_size=12))
def test_linkable_truth_matches_its_definition(rows: list[tuple]) -> None:
    ids = [f"r{i:02d}" for i in range(len(rows))]
    records = pl.DataFrame({
        "source": ["s"] * len(rows), "record_id": ids,
        "first_name": ["A" if named else None for _, _, named, _ in rows],
        "last_name": ["B" if named else None for _, _, named, _ in rows],
        "email": [email for _, email, _, _ in rows],
    }, schema={"source": pl.String, "record_id": pl.String, "first_name": pl.String,
               "last_name": pl.String, "email": pl.String})
    obs = pl.DataFrame(
        [("s", r, "device_id", d) for r, (_, _, _, d) in zip(ids, rows, strict=True) if d],
        schema=["source", "record_id", "identifier_type", "value"], orient="row")
    truth = pl.DataFrame({"source": ["s"] * len(rows), "record_id": ids,
                          "person_id": [p for p, _, _, _ in rows]})
    got = dict(linkable_truth(records, obs, truth).select("record_id", "person_id").iter_rows())
    assert got == _reference_linkable(records, obs, truth)
