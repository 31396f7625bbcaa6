"""Households in the gold identity tables and what a run shows of its model, on hand-made
frames: each test names the behaviour it pins."""

from __future__ import annotations

import polars as pl

from lakehouse.identity import resolve_full
from lakehouse.identity.profiles import customer_profiles, identity_map
from lakehouse.identity.store import _with_parameters
from orchestration.assets.identity import BAR_MAX_BITS, parameter_rows, weight_chart

KEY = b"test-key"


def _records(n: int) -> pl.DataFrame:
    return pl.DataFrame({"source": ["shop"] * n, "record_id": [f"r{k}" for k in range(n)],
                         "first_name": ["Ann"] * n, "last_name": ["Lee"] * n,
                         "email": [f"ann{k}@x.com" for k in range(n)]})


def _resolved(persons: list[str], households: list[str]) -> pl.DataFrame:
    n = len(persons)
    return pl.DataFrame({"source": ["shop"] * n, "record_id": [f"r{k}" for k in range(n)],
                         "person_id": persons, "household_id": households,
                         "match_probability": [1.0] * n, "matched_by": ["email"] * n})


def test_a_profile_takes_the_household_most_of_its_records_are_in() -> None:
    resolved = _resolved(["P1", "P1", "P1", "P2", "P2"],
                         ["Hb", "Ha", "Hb", "Hd", "Hc"])  # P2: a tie, to the smallest id
    prof = customer_profiles(_records(5), resolved, KEY)
    assert dict(zip(prof["person_id"], prof["household_id"], strict=True)) == {"P1": "Hb",
                                                                                "P2": "Hc"}


def test_every_identity_map_row_carries_its_records_household() -> None:
    resolved = _resolved(["P1", "P2", "P3"], ["Ha", "Ha", "Hb"])
    imap = identity_map(resolved, _records(3), KEY)
    assert set(imap["identifier_type"]) == {"record", "email"}
    per_person = imap.group_by("person_id").agg(pl.col("household_id").unique()).sort(
        "person_id")
    assert per_person["household_id"].to_list() == [["Ha"], ["Ha"], ["Hb"]]
    assert imap.height == 6 and imap["household_id"].null_count() == 0


def test_our_engine_reports_m_and_u_per_level_as_splink_does() -> None:
    rows = [{"source": "loyalty", "record_id": f"a{k}", "first_name": f"Name{k % 40}",
             "last_name": f"Sur{k % 37}", "date_of_birth": f"19{50 + k % 40}-01-0{1 + k % 9}",
             "postcode": f"{10000 + k % 50}", "address_line1": f"{k} MAIN ST",
             "email": f"n{k}@x.com"} for k in range(300)]
    rows += [{**r, "source": "shop_customer", "email": None, "record_id": "b" + r["record_id"]}
             for r in rows[:100]]
    result = resolve_full(pl.DataFrame(rows), engine="fellegi_sunter")
    params = _with_parameters(result)["fellegi_sunter"]["parameters"]
    assert {p["comparison"] for p in params} >= {"first_name", "last_name", "date_of_birth"}
    for p in params:
        assert 0 < p["m"] <= 1 and 0 < p["u"] <= 1
        assert p["label"] in ("disagree", "exact") or p["label"].startswith("partial")
    assert _with_parameters(result)["fellegi_sunter"]["weights"]  # the rest of the report kept


def test_the_weight_chart_draws_evidence_both_ways_and_cuts_the_extremes() -> None:
    rows = parameter_rows({"parameters": [
        {"comparison": "dob", "level": 1, "label": "exact", "m": 0.9, "u": 0.01, "weight": 6.49},
        {"comparison": "dob", "level": 2, "label": "a | b", "m": 0.0, "u": 0.9,
         "weight": -74.9},
        {"comparison": "dob", "level": 3, "label": "never seen", "m": None, "u": None,
         "weight": None},
        {"comparison": "dob", "level": 4, "label": "u = 0", "m": 0.1, "u": 0.0,
         "weight": float("inf")}]})
    assert rows[3]["weight"] is None and rows[3]["u"] == 0.0  # no infinite number shown
    chart = weight_chart(rows, threshold=0.99, prior=0.001)
    lines = chart.splitlines()
    table = [line for line in lines if line.startswith("| dob")]
    assert len(table) == 4
    assert "| " + "█" * 13 + " | +6.49 |" in table[0]
    assert "◂" + "░" * (2 * BAR_MAX_BITS) + " |" in table[1] and "a \\| b" in table[1]
    assert table[2].endswith("|  |  | n/a |") and table[3].endswith("|  |  | n/a |")
    assert "match threshold 0.99, prior 0.001." in lines
    # our engine's report without parameters: its weights, without m and u
    fallback = parameter_rows({"weights": {"phone": [-5.3, 6.6, 11.4]}})
    assert [(r["level"], r["weight"], r["m"]) for r in fallback] == [(0, -5.3, None),
                                                                     (1, 6.6, None),
                                                                     (2, 11.4, None)]
