"""Inventory from one micro-batch: the silver rows of a batch into the ledger and the positions,
with a cost that grows with the batch, not with the ledger.

``apply_micro_batch(home, batch_id)``:

1. reads only the silver rows of the batch (``_batch_id == batch_id``; files picked from the
   Delta log's ``_batch_id`` statistics, as silver reads bronze: ``live_silver.py``);
2. turns them into ledger rows with the same functions as the full build (``wms_rows``,
   ``pos_rows``, ``return_rows``, ``receipt_rows``, ``shop_rows``), so event keys and values
   equal what a full rebuild writes. Shop rows are derived again for the batch's orders and for
   every open order whose warehouse is still inferred (``live_shop.py``);
3. reads the stored rows of those event keys only from the ``business_day`` partitions they can
   live in (``ledger_table.py``), keeps the same winner as ``canonical`` (a row re-derived from
   silver replaces its older self; the system of record replaces a fallback), and MERGEs what
   changed on ``event_key`` in one commit carrying ``Transaction("lakehouse.inventory/<batch>",
   1)``: re-applying a batch changes nothing (``live_writes.py``);
4. folds the change into the position state with ``fold.apply_batch`` (rows added, rows taken
   back), reading history only for the (product, location) keys a late count touches, and
   rewrites ``inventory_positions`` and ``inventory_channel_availability`` (one row per product
   x location (x channel): they grow with the catalogue, not the ledger; ``live_positions.py``).

Exact against a full ``build_inventory`` of the same silver: the fold columns (on hand,
reserved, available to promise, events, last count time), ``shrinkage`` (through the identity
on hand = opening count + deltas + shrinkage) and inbound. Left to the nightly full build:
``shrinkage_rate`` per location (``at_risk`` uses the last full build's rate, with ``now``
moved on), ``in_transit_out`` of keys the batch moved, ``last_event_time`` of a key that only
lost rows, the daily snapshots, alerts, discrepancies, days of cover and fulfilment options.

A crash between the batch's commits (ledger, positions, channel availability) is recovered on
the retry, from which tables already record the batch (``apply_micro_batch``).
"""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
from deltalake import DeltaTable

from lakehouse.home import Home
from lakehouse.inventory.channels import CHANNEL_SCHEMA, channel_availability
from lakehouse.inventory.fold import KEY, STATE_SCHEMA, apply_batch
from lakehouse.inventory.ledger import canonical
from lakehouse.inventory.ledger_rows import LEDGER_SCHEMA
from lakehouse.inventory.ledger_stock import pos_rows, receipt_rows, return_rows, wms_rows
from lakehouse.inventory.ledger_table import LedgerTable
from lakehouse.inventory.live_positions import batch_positions, has_live_columns, history_reader
from lakehouse.inventory.live_report import LiveReport
from lakehouse.inventory.live_shop import batch_shop_rows
from lakehouse.inventory.live_silver import SilverBatch
from lakehouse.inventory.live_writes import (
    APP_VERSION,
    app_id,
    mark_batch,
    merge_counts,
    merge_ledger,
    replace_table,
)
from lakehouse.inventory.store import build_inventory
from lakehouse.storage.delta import committed
from lakehouse.storage.paths import table_uri

FOLD_COLUMNS = ("event_key", "product_id", "location_id", "event_time", "kind",
                "delta_on_hand", "delta_reserved", "absolute_on_hand")


def winners(stored: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    """The ledger row per event key after ``new``: a row derived again from the same source
    record replaces its stored self (silver holds its current version); otherwise the same
    winner as ``canonical`` (system of record over fallback, known over inferred location)."""
    if new.is_empty():
        return new
    stale = stored.join(new.select("event_key", "source", "source_event_id"),
                        on=["event_key", "source", "source_event_id"], how="semi")
    rest = (stored.join(new.select("event_key"), on="event_key", how="semi")
            .join(stale.select("event_key"), on="event_key", how="anti"))
    return canonical(pl.concat([rest.select(new.columns), new]))


def apply_micro_batch(home: Home | str | Path, batch_id: str) -> LiveReport:
    """Merge the silver rows of ``batch_id`` into the inventory ledger and update positions
    and channel availability incrementally. Safe to re-run: a batch already applied changes
    nothing. Without a ledger yet (first run) it builds everything once (``build_inventory``).
    """
    started = time.perf_counter()
    home = home if isinstance(home, Home) else Home.resolve(home)
    report = LiveReport(batch_id)
    tick = [started]

    def lap(name: str) -> None:
        now = time.perf_counter()
        report.seconds[name] = now - tick[0]
        tick[0] = now

    luri = table_uri(home, "silver", "inventory_ledger")
    puri = table_uri(home, "gold", "inventory_positions")
    curi = table_uri(home, "gold", "inventory_channel_availability")
    ledger = LedgerTable(luri)
    aid = app_id(batch_id)
    if ledger.dt is None or not ledger.partitioned or not has_live_columns(puri):
        # first run, or a ledger from before partitioning: one full build puts every table
        # in step
        run = build_inventory(home)
        mark_batch(luri, aid)
        mark_batch(puri, aid)
        if DeltaTable.is_deltatable(curi):
            mark_batch(curi, aid)
        report.full_rebuild, report.versions = True, dict(run.versions)
        report.seconds["total"] = time.perf_counter() - started
        return report
    recovering = committed(ledger.dt, aid, APP_VERSION) and _behind(puri, aid)
    if recovering:
        # a crash between the ledger and the positions commits: redo the batch against the
        # ledger as it stood before the batch's commit (time travel), so positions come out
        # as the uninterrupted run wrote them; the ledger itself is not written again, and
        # the nightly-only tables are left alone
        ledger = LedgerTable(luri, version=_version_before(ledger, aid))
        report.recovered = True
    elif committed(ledger.dt, aid, APP_VERSION) and _behind(curi, aid):
        # a crash between the positions and the channel availability commits: the stored
        # positions are this batch's, and channel availability is a function of them
        locations = SilverBatch(home, batch_id).whole("locations")
        chan = channel_availability(pl.read_delta(puri), locations) if locations.height \
            else pl.DataFrame(schema=CHANNEL_SCHEMA)
        report.versions["inventory_channel_availability"] = replace_table(curi, chan, aid)
        report.seconds["total"] = time.perf_counter() - started
        return report
    elif committed(ledger.dt, aid, APP_VERSION):
        report.skipped = True
        report.seconds["total"] = time.perf_counter() - started
        return report

    silver = SilverBatch(home, batch_id)
    names = ("inventory_movements", "pos_transaction_lines", "returns", "purchase_order_events",
             "orders", "order_lines", "shipments", "clickstream_events")
    b = {n: silver.batch(n) for n in names}
    report.silver_rows = {n: f.height for n, f in b.items()}
    locations, rates = silver.whole("locations"), silver.whole("shipping_rates")
    purchase_orders = silver.whole("purchase_orders")
    old = pl.read_delta(puri)
    state = old.filter(pl.col("events") > 0)
    lap("read_batch")

    po = b["purchase_order_events"]
    batch_pos = purchase_orders.filter(pl.col("po_number").is_in(
        po["po_number"].unique().implode())) if po.height and purchase_orders.height \
        else pl.DataFrame()
    base_rows = canonical(pl.concat([
        wms_rows(b["inventory_movements"]),
        pos_rows(b["pos_transaction_lines"], locations),
        return_rows(b["returns"]),
        receipt_rows(batch_pos),
    ]))
    stored_base = ledger.lookup(base_rows)
    base_new = winners(stored_base, base_rows)
    lap("derive_base")
    shop, stored_shop = batch_shop_rows(silver, ledger, b, locations, rates, base_new, state,
                                        report)
    shop_new = winners(stored_shop, shop)
    lap("derive_shop")

    new = pl.concat([base_new, shop_new]).select(list(LEDGER_SCHEMA)).cast(LEDGER_SCHEMA)
    stored = pl.concat([stored_base, stored_shop]).unique(subset=["event_key"])
    report.ledger_rows = new.height
    changed = new.join(stored, on=list(LEDGER_SCHEMA), how="anti", nulls_equal=True)
    fold_cols = list(FOLD_COLUMNS)
    added = changed.join(stored.select(fold_cols), on=fold_cols, how="anti", nulls_equal=True)
    retract = stored.join(added.select("event_key"), on="event_key", how="semi")
    report.rows_applied, report.rows_retracted = added.height, retract.height

    state_new = apply_batch(state.select(list(STATE_SCHEMA)).cast(STATE_SCHEMA), added,
                            history=history_reader(ledger), retract=retract)
    lap("fold")
    pos = batch_positions(old, state_new, added, retract, purchase_orders, ledger)
    chan = channel_availability(pos, locations) if locations.height \
        else pl.DataFrame(schema=CHANNEL_SCHEMA)
    touched = pl.concat([added.select(KEY), retract.select(KEY)]).unique()
    report.keys_touched = touched.height
    lap("positions")

    if recovering:
        report.ledger_inserted, report.ledger_updated = merge_counts(changed, stored)
    else:
        report.ledger_inserted, report.ledger_updated = merge_ledger(ledger, changed, stored, aid)
    report.versions["inventory_ledger"] = DeltaTable(luri).version()
    report.versions["inventory_positions"] = replace_table(puri, pos, aid)
    report.versions["inventory_channel_availability"] = replace_table(curi, chan, aid)
    report.positions_rows, report.channel_rows = pos.height, chan.height
    report.history_rows_read, report.ledger_files_read = ledger.rows_read, ledger.files_read
    lap("write")
    report.seconds["total"] = time.perf_counter() - started
    return report


def _behind(uri: str, aid: str) -> bool:
    """Whether a table the batch writes after the ledger lacks the batch: a crash came
    between their commits (positions, then channel availability)."""
    return not DeltaTable.is_deltatable(uri) or not committed(DeltaTable(uri), aid, APP_VERSION)


def _version_before(ledger: LedgerTable, aid: str) -> int:
    """The ledger version just before the commit that recorded ``aid`` (the ledger's first
    version is a full build's, which records no batch, so there always is one)."""
    assert ledger.dt is not None
    version = ledger.dt.version()
    while version > 1 and committed(DeltaTable(ledger.uri, version=version - 1), aid,
                                    APP_VERSION):
        version -= 1
    return version - 1
