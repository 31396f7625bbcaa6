"""Inventory from micro-batches (real Delta): a simulation landed in several out-of-order
micro-batches, each applied with ``apply_micro_batch``, gives the ledger and positions a full
``build_inventory`` of the same silver gives; re-applying a batch changes nothing; a crash
between the ledger and the positions commits is repaired by the next run without touching
the nightly-only tables; the Dagster
asset runs in a micro-batch run with its DuckDB gates."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from deltalake import DeltaTable

from lakehouse.home import Home
from lakehouse.ingest import batch_id_for, discover, ingest_files
from lakehouse.inventory import Inventory, build_ledger, read_silver
from lakehouse.inventory.live_writes import APP_VERSION, app_id
from lakehouse.inventory.store import gold_frames
from lakehouse.simulate import SimConfig, simulate
from lakehouse.storage.delta import committed
from lakehouse.storage.faults import ENV, InjectedFault
from tests.gated import apply_micro_batch, build_inventory, build_silver

KEY = ["product_id", "location_id"]
# equal to a full build after every batch; shrinkage_rate (per location, learnt from every
# count) refreshes nightly, and at_risk / channel sellable use it
EXACT = ["on_hand", "reserved", "available_to_promise", "events", "last_event_time",
         "last_count_time", "shrinkage", "inbound", "next_expected_date", "in_transit_out",
         "first_event_time"]


def _day(f) -> str:
    return f.path.name.split("_")[-2]


def _tables(home: Path) -> dict[str, pl.DataFrame]:
    lake = home / "lake"
    return {"ledger": pl.read_delta(str(lake / "silver/inventory_ledger")),
            "positions": pl.read_delta(str(lake / "gold/inventory_positions")),
            "channels": pl.read_delta(str(lake / "gold/inventory_channel_availability"))}


def _version(home: Path, layer: str, name: str) -> int:
    return DeltaTable(str(home / "lake" / layer / name)).version()


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    h = tmp_path_factory.mktemp("live")
    simulate(Home.resolve(h), SimConfig(persons=300, days=8, seed=11))
    return h, discover(h)


def test_out_of_order_micro_batches_equal_a_full_rebuild(landed, monkeypatch) -> None:
    h, files = landed
    days = sorted({_day(f) for f in files if "_" in f.path.name})
    # five batches, each a mix of landing days (day 5 lands before day 1, and so on)
    groups = [[f for f in files if _day(f) in days[i::5]] for i in range(5)]
    stats = []
    for n, group in enumerate(groups):
        bid = batch_id_for(group)
        ingest_files(h, group, bid)
        build_silver(h, bid)
        crash = n == len(groups) - 1
        if crash:  # a failure after the ledger commit, before the positions commit
            ledger_version = _version(h, "silver", "inventory_ledger")
            daily = _version(h, "gold", "inventory_daily")
            monkeypatch.setenv(ENV, "raise:live.replace.before:inventory_positions")
            with pytest.raises(InjectedFault):
                apply_micro_batch(h, bid)
            monkeypatch.delenv(ENV)
            assert _version(h, "silver", "inventory_ledger") > ledger_version
            assert committed(DeltaTable(str(h / "lake/silver/inventory_ledger")),
                             app_id(bid), APP_VERSION)
        report = apply_micro_batch(h, bid)
        # the first run builds the tables once; after the crash the batch is redone against
        # the ledger as it stood before its commit, and the nightly-only tables stay as
        # they were
        assert report.full_rebuild == (n == 0)
        assert report.recovered == crash
        if crash:
            assert _version(h, "gold", "inventory_daily") == daily
        stats.append(report)
        inp = read_silver(h)
        ledger = build_ledger(inp)
        full = gold_frames(Inventory.from_silver(inp, ledger))
        got = _tables(h)
        # the ledger, row for row (arrival time included)
        assert got["ledger"].select(ledger.columns).sort("event_key").equals(
            ledger.sort("event_key")), n
        pos, want = got["positions"].sort(KEY), full["inventory_positions"].sort(KEY)
        assert pos.columns == want.columns
        for col in EXACT:
            assert pos.select(*KEY, col).equals(want.select(*KEY, col)), (n, col)
        # at risk: on hand x the location's rate (last full build) x days since the count
        now = pos["last_event_time"].max()
        since = pl.coalesce("last_count_time", "first_event_time")
        expected = (pl.col("on_hand").clip(lower_bound=0) * pl.col("shrinkage_rate")
                    * ((pl.lit(now) - since).dt.total_seconds() / 86400.0)
                    .clip(lower_bound=0.0).fill_null(0.0))
        assert (pos.select((pl.col("at_risk") - expected).abs().max()).item() or 0) < 1e-9
        chan, want_chan = got["channels"], full["inventory_channel_availability"]
        cols = ["product_id", "channel", "location_id", "on_hand", "reserved",
                "available_to_promise"]
        assert chan.select(cols).sort(cols[:3]).equals(want_chan.select(cols).sort(cols[:3]))
        # re-applying the batch changes nothing
        versions = [_version(h, "silver", "inventory_ledger"),
                    _version(h, "gold", "inventory_positions")]
        assert apply_micro_batch(h, bid).skipped
        assert versions == [_version(h, "silver", "inventory_ledger"),
                            _version(h, "gold", "inventory_positions")]
    later = stats[1:-1]
    assert sum(r.rows_applied for r in later) > 0
    assert sum(r.ledger_updated for r in later) > 0  # rows replaced or moved
    assert sum(r.orders_inferred for r in later) > 0
    # a later full rebuild writes the same ledger and positions
    before = _tables(h)
    build_inventory(Home.resolve(h))
    after = _tables(h)
    assert after["ledger"].sort("event_key").equals(before["ledger"].sort("event_key"))
    for col in EXACT:
        assert after["positions"].sort(KEY).select(*KEY, col).equals(
            before["positions"].sort(KEY).select(*KEY, col)), col


def test_dagster_asset_in_a_micro_batch_run(tmp_path) -> None:
    from orchestration.assets.bronze import ingest_bronze
    from orchestration.assets.inventory import LIVE_KEY, inventory_live
    from orchestration.assets.silver import silver_tables
    from orchestration.resources import LakehouseResource
    from orchestration.sensors import assets_fed_by

    home = Home.resolve(tmp_path).ensure()
    simulate(home, SimConfig(persons=40, products=8, stores=1, warehouses=1, days=2))
    files = discover(home)
    days = sorted({_day(f) for f in files if "_" in f.path.name})
    resources = {"lakehouse": LakehouseResource(home=str(home.root))}
    reports = []
    with dg.instance_for_test() as instance:
        for group in ([f for f in files if _day(f) == days[0]],
                      [f for f in files if _day(f) != days[0]]):
            rel = [f.path.relative_to(home.landing).as_posix() for f in group]
            selection = [*assets_fed_by(rel), LIVE_KEY]
            result = dg.materialize(
                [ingest_bronze, silver_tables, inventory_live], selection=selection,
                run_config={"ops": {"ingest_bronze": {"config": {"files": rel}}}},
                instance=instance, resources=resources)
            assert result.success
            checks = [e for e in result.get_asset_check_evaluations()
                      if e.asset_key == LIVE_KEY]
            assert {e.check_name for e in checks} == {"gx_ledger_gate", "gx_positions_gate",
                                                         "gx_channel_gate"}
            assert all(e.passed and e.metadata["engine"].value == "gx" for e in checks)
            (mat,) = [e for e in result.get_asset_materialization_events()
                      if e.asset_key == LIVE_KEY]
            reports.append(mat.materialization.metadata)
    assert reports[0]["full_rebuild"].value is True
    second = reports[1]
    assert second["full_rebuild"].value is False
    assert second["rows_applied"].value > 0 and second["keys_touched"].value > 0
    assert second["seconds_total"].value > 0
