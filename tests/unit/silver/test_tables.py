"""The winner per key: ``pick_best`` (a first build's write, without a copy) picks the rows
``keep_best`` (a batch's fold with stored rows) does, on random rows with duplicate keys."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from lakehouse.silver.delta_io import Layout
from lakehouse.silver.identity_tables import IDENTITY_EXTRACT
from lakehouse.silver.tables import (
    EVENT_TABLES,
    FIRST_ARRIVAL,
    LATEST_UPDATE,
    keep_best,
    pick_best,
)

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def _rows(rng: random.Random, n: int) -> pl.DataFrame:
    return pl.DataFrame({
        "event_id": [f"e{rng.randint(0, n // 3)}" for _ in range(n)],
        "channel": [rng.choice(["web", "app"]) for _ in range(n)],
        "updated_at": [T0 + timedelta(minutes=rng.randint(0, 5)) for _ in range(n)],
        "_source_file": [f"f{rng.randint(0, 3)}" for _ in range(n)],
        "_line": [rng.randint(1, 50) for _ in range(n)],
        "_ingested_at": [T0] * n,
        "_delivered_at": [T0 + timedelta(hours=rng.randint(0, 9)) for _ in range(n)],
    })


def _by_definition(rows: pl.DataFrame, key: list[str], rank) -> pl.DataFrame:
    """The winner per key as the module doc defines it: the first row in rank order (nulls
    last); for first arrival, known since the earliest copy was delivered."""
    cols, desc = [c for c, _ in rank], [d for _, d in rank]
    best = rows.sort(cols, descending=desc, nulls_last=True, maintain_order=True).unique(
        subset=key, keep="first", maintain_order=True)
    if rank == FIRST_ARRIVAL:
        first = rows.group_by(key).agg(pl.col("_delivered_at").min().alias("_first"))
        best = best.join(first, on=key).with_columns(
            pl.col("_first").alias("_delivered_at")).drop("_first")
    return best.sort(key)


@pytest.mark.parametrize("rank", [FIRST_ARRIVAL, LATEST_UPDATE], ids=["first", "latest"])
@pytest.mark.parametrize("seed", range(5))
def test_pick_best_picks_the_winner_per_key_as_keep_best_does(rank, seed):
    key = ["event_id", "channel"]
    layout = Layout(tuple(key))
    rows = _rows(random.Random(seed), 400)
    picked = pick_best(layout, rank, rows)
    assert picked.keep is not None and picked.height < rows.height  # duplicates were there
    expected = _by_definition(rows, key, rank)
    assert picked.collect().sort(key).equals(expected)
    assert keep_best(layout, rank)(rows.clear(), rows).sort(key).equals(expected)


def test_a_table_whose_identity_inputs_are_observed_per_source_has_one_channel_a_source():
    """``BuildRun.table`` extracts identity observations source by source (so only one
    source's rows are in memory at once); an extraction folds per source (channel), so the
    parts equal the whole only while no two sources of a table share a channel."""
    for spec in EVENT_TABLES:
        if spec.name in IDENTITY_EXTRACT:
            channels = [channel for channel, _, _ in spec.sources]
            assert len(set(channels)) == len(channels), spec.name
