"""build_inventory writes every table, even before anything has landed."""

from __future__ import annotations

import polars as pl

from lakehouse.home import Home
from lakehouse.inventory.store import GOLD_TABLES
from tests.gated import build_inventory


def test_an_empty_home_gets_every_table_empty(tmp_path) -> None:
    run = build_inventory(Home.resolve(tmp_path))
    assert set(run.rows) == {"inventory_ledger", *GOLD_TABLES}
    assert not any(run.rows.values())
    for name in GOLD_TABLES:
        assert pl.read_delta(str(tmp_path / "lake" / "gold" / name)).width > 0
