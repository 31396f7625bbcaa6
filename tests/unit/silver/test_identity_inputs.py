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
        rows[key] = (*key, first, last, "f", 1, "b", T0, T0)
    return pl.DataFrame(list(rows.values()), schema=ii.observation_schema(), orient="row")


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


_MESSY = {
    "email": ["A.b@Gmail.com", "ab@gmail.com", " x+tag@y.org", "x@y.org", "bad", None, ""],
    "phone": ["(415) 555-0123", "+1 415 555 0123", "415.555.0199", "12", None],
    "first_name": [" ann ", "Ann", "ANN", "bo", None, "  "],
    "address_line1": ["1 Main Street", "1 MAIN ST.", "#4 Elm Road", None],
    "device_id": ["c1", " c1", "c2", "", None],
}


def _rows(rng: random.Random, n: int) -> pl.DataFrame:
    """Source rows with repeated records, messy values (several spellings of one normalised
    value), equal times and shared files, and null record ids."""
    return pl.DataFrame({
        "rid": [rng.choice(["r1", "r2", "r3", None]) for _ in range(n)],
        "at": [T0 + timedelta(minutes=rng.randint(0, 3)) for _ in range(n)],
        **{k: [rng.choice(v) for _ in range(n)] for k, v in _MESSY.items()},
        "_source_file": [rng.choice(["f1", "f2"]) for _ in range(n)],
        "_line": [rng.randint(1, 4) for _ in range(n)],
        "_batch_id": ["b"] * n, "_ingested_at": [T0] * n, "_delivered_at": [T0] * n,
    }, schema_overrides={k: pl.String for k in _MESSY})


def _fold_by_hand(frame: pl.DataFrame, source: str, record_id: pl.Expr, observed_at: str,
                  pairs: list[tuple[str, pl.Expr]]) -> pl.DataFrame:
    """What ``fold_source`` stands for: one observation per (row, identifier), folded."""
    rows = [frame.select(record_id.cast(pl.String).alias("record_id"),
                         pl.lit(source).alias("source"), pl.lit(kind).alias("identifier_type"),
                         value.cast(pl.String).alias("value"),
                         pl.col(observed_at).alias("observed_at"),
                         pl.col(observed_at).alias("last_observed_at"), *ii.LINEAGE)
            for kind, value in pairs]
    rows = [r.with_columns(ii.NORMALISE[kind](r["value"]).alias("value"))
            for r, (kind, _) in zip(rows, pairs, strict=True)]
    obs = pl.concat(rows).filter(pl.col("record_id").is_not_null() & pl.col("value").is_not_null())
    return ii.fold_observations(obs).cast(ii.observation_schema())  # type: ignore[arg-type]


def _same(a: pl.DataFrame, b: pl.DataFrame) -> bool:
    return a.schema == b.schema and a.sort(pl.all()).equals(b.sort(pl.all()))


def test_fold_source_folds_like_one_observation_per_row_and_identifier() -> None:
    rng = random.Random(11)
    pairs = [("email", pl.col("email")), ("phone", pl.col("phone")),
             ("first_name", pl.col("first_name")), ("address_line1", pl.col("address_line1")),
             ("device_id", pl.col("device_id")), ("login_id", pl.col("rid")),
             ("email", pl.col("email").str.to_uppercase()), ("phone", pl.col("phone"))]
    for _ in range(30):
        frame = _rows(rng, rng.randint(0, 40))
        chosen = rng.sample(pairs, rng.randint(1, len(pairs)))
        got = ii.fold_source(frame, "src", pl.col("rid"), "at", chosen)
        assert _same(got, _fold_by_hand(frame, "src", pl.col("rid"), "at", chosen)), chosen


def test_clickstream_observations_as_one_fold_per_channel() -> None:
    """Click keys built on newsletter landings alone fold as if built on every event."""
    rng = random.Random(5)
    for _ in range(20):
        n = rng.randint(0, 40)
        events = pl.DataFrame({
            "channel": [rng.choice(["web", "app"]) for _ in range(n)],
            "anonymous_id": [rng.choice(["c1", "c2", None]) for _ in range(n)],
            "login_id": [rng.choice(["u1", None]) for _ in range(n)],
            "order_id": [rng.choice(["o1", None]) for _ in range(n)],
            "event_type": [rng.choice(["page_view", "login"]) for _ in range(n)],
            "utm_source": [rng.choice(["newsletter", "ads", None]) for _ in range(n)],
            "utm_campaign": [rng.choice(["k1", None]) for _ in range(n)],
            "event_time": [T0 + timedelta(seconds=rng.randint(0, 8)) for _ in range(n)],
            "_source_file": ["f"] * n, "_line": list(range(n)), "_batch_id": ["b"] * n,
            "_ingested_at": [T0] * n, "_delivered_at": [T0] * n,
        }, schema_overrides={c: pl.String for c in ("anonymous_id", "login_id", "order_id",
                                                    "utm_source", "utm_campaign")})
        landing = ((pl.col("event_type") == "page_view")
                   & (pl.col("utm_source") == "newsletter") & pl.col("utm_campaign").is_not_null())
        web_pairs = [("email_click", pl.when(landing).then(
            ii.click_key(pl.col("utm_campaign"), pl.col("event_time"), k)))
            for k in range(ii.CLICK_WINDOW_S + 1)]
        want = pl.concat([
            _fold_by_hand(events.filter(pl.col("channel") == ch), ch, pl.col("anonymous_id"),
                          "event_time", [("device_id", pl.col("anonymous_id")),
                                         ("login_id", pl.col("login_id")),
                                         ("order_id", pl.col("order_id")),
                                         *(web_pairs if ch == "web" else [])])
            for ch in ("web", "app")])
        assert _same(ii.from_clickstream(events), want)


def test_clickstream_observed_per_channel_equals_observed_at_once():
    """Observations of web and app events extracted apart (as ``BuildRun.table`` does, one
    source at a time) are the observations of both extracted together."""
    rng = random.Random(3)
    n = 300
    events = pl.DataFrame({
        "channel": [rng.choice(["web", "app"]) for _ in range(n)],
        "anonymous_id": [f"ck-{rng.randint(0, 20)}" for _ in range(n)],
        "event_time": [T0 + timedelta(seconds=rng.randint(0, 3600)) for _ in range(n)],
        "login_id": [rng.choice([None, "7001", "7002"]) for _ in range(n)],
        "order_id": [rng.choice([None, None, "o1"]) for _ in range(n)],
        "event_type": [rng.choice(["page_view", "login"]) for _ in range(n)],
        "utm_source": [rng.choice([None, "newsletter"]) for _ in range(n)],
        "utm_campaign": [rng.choice([None, "c1"]) for _ in range(n)],
        "_source_file": ["f"] * n, "_line": list(range(1, n + 1)), "_batch_id": ["b"] * n,
        "_ingested_at": [T0] * n,
    })
    whole = ii.observations([ii.from_clickstream(events)])
    parts = ii.observations([ii.from_clickstream(events.filter(pl.col("channel") == ch))
                             for ch in ("web", "app")])
    assert whole.height > n // 3
    assert parts.equals(whole)
