"""Identity inputs against plain-Python definitions on random data: the fast, vectorised folds
must give exactly what the one-line rules in their docstrings say."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import polars as pl

from lakehouse.silver import identity_inputs as ii

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def _observations(rng: random.Random, n: int) -> pl.DataFrame:
    """Folded observations with few records and values, so types repeat per record, times tie
    and some last-seen times are null."""
    kinds = [*ii.IDENTIFIER_TYPES[:4], "date_of_birth", "order_id"]
    rows = {}
    for _ in range(n):
        kind = rng.choice(kinds)
        value = (f"19{rng.randint(80, 82)}-01-0{rng.randint(1, 3)}" if kind == "date_of_birth"
                 else rng.choice(["a", "b", "c", "d"]))
        key = (rng.choice(["r1", "r2", "r3", "r10"]), rng.choice(["web", "loyalty"]), kind,
               value)
        first = T0 + timedelta(hours=rng.randint(0, 5))
        last = None if rng.random() < 0.1 else first + timedelta(hours=rng.randint(0, 3))
        rows[key] = (*key, first, last, "f", 1, "b", T0)
    return pl.DataFrame(list(rows.values()), schema=ii._schema(), orient="row")


def _records_by_hand(obs: pl.DataFrame) -> dict[tuple[str, str], dict]:
    """Per record: each type's value with the latest last-seen (null = latest), ties: the
    smallest value; first and last seen over all its observations."""
    out: dict[tuple[str, str], dict] = {}
    for o in obs.iter_rows(named=True):
        rec = out.setdefault((o["record_id"], o["source"]), {"_best": {}, "first": [], "last": []})
        rec["first"].append(o["observed_at"])
        if o["last_observed_at"] is not None:
            rec["last"].append(o["last_observed_at"])
        rank = (o["last_observed_at"] is None, o["last_observed_at"] or T0)
        best = rec["_best"].get(o["identifier_type"])
        if best is None or rank > best[0] or (rank == best[0] and o["value"] < best[1]):
            rec["_best"][o["identifier_type"]] = (rank, o["value"])
    return {k: {"first_seen": min(r["first"]), "last_seen": max(r["last"], default=None),
                **{t: v for t, (_, v) in r["_best"].items()}} for k, r in out.items()}


def test_customer_records_match_the_rule_in_any_input_order() -> None:
    rng = random.Random(7)
    for _ in range(20):
        obs = _observations(rng, rng.randint(0, 60))
        got = ii.customer_records(obs.sample(fraction=1.0, shuffle=True, seed=rng.randint(0, 99)))
        assert got.columns == list(ii.RECORD_COLUMNS)
        assert got.select("record_id", "source").rows() == sorted(_records_by_hand(obs))
        for row in got.iter_rows(named=True):
            want = _records_by_hand(obs)[(row["record_id"], row["source"])]
            for kind in ii.IDENTIFIER_TYPES:
                value = want.get(kind)
                if kind == "date_of_birth" and value is not None:
                    value = date.fromisoformat(value)
                assert row[kind] == value, (kind, row, want)
            assert (row["first_seen"], row["last_seen"]) == (want["first_seen"],
                                                             want["last_seen"])
