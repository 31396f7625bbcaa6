"""Inventory from one micro-batch: the silver rows of a batch into the ledger and the positions,
with a cost that grows with the batch, not with the ledger.

``apply_micro_batch(home, batch_id)``:

1. reads only the silver rows of the batch (``_batch_id == batch_id``; files picked from the
   Delta log's ``_batch_id`` statistics, as silver reads bronze);
2. turns them into ledger rows with the same functions as the full build (``wms_rows``,
   ``pos_rows``, ``return_rows``, ``receipt_rows``, ``shop_rows``), so event keys and values
   equal what a full rebuild writes. Shop rows are derived again for the batch's orders and for
   every open order whose warehouse is still inferred (nothing picked or shipped it yet): a
   pick or shipment, a late WMS movement or a new shipment zone can move it, exactly as a full
   rebuild would;
3. reads the stored rows of those event keys only from the ``business_day`` partitions they can
   live in, keeps the same winner as ``canonical`` (a row re-derived from silver replaces its
   older self; the system of record replaces a fallback), and MERGEs what changed on
   ``event_key`` in one commit carrying ``Transaction("lakehouse.inventory/<batch>", 1)``:
   re-applying a batch changes nothing;
4. folds the change into the position state with ``fold.apply_batch`` (rows added, rows taken
   back), reading history only for the (product, location) keys a late count touches, and
   rewrites ``inventory_positions`` and ``inventory_channel_availability`` (one row per product
   x location (x channel): they grow with the catalogue, not the ledger).

Exact against a full ``build_inventory`` of the same silver: the fold columns (on hand,
reserved, available to promise, events, last count time), ``shrinkage`` (through the identity
on hand = opening count + deltas + shrinkage) and inbound. Left to the nightly full build:
``shrinkage_rate`` per location (``at_risk`` uses the last full build's rate, with ``now``
moved on), ``in_transit_out`` of keys the batch moved, ``last_event_time`` of a key that only
lost rows, the daily snapshots, alerts, discrepancies, days of cover and fulfilment options.
Known reads that grow with history: the shipments and orders columns that teach the shopper
zone per state, and the history of the candidate warehouses of an order whose warehouse must
be inferred (only when such an order exists).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake

from lakehouse.home import Home
from lakehouse.inventory.channels import CHANNEL_SCHEMA, channel_availability, shrinkage_rates
from lakehouse.inventory.fold import KEY, STATE_SCHEMA, apply_batch, atp, positions
from lakehouse.inventory.inbound import inbound as inbound_of
from lakehouse.inventory.ledger import (
    LEDGER_SCHEMA,
    SilverInputs,
    canonical,
    order_locations,
    order_sessions,
    pos_rows,
    receipt_rows,
    return_rows,
    shop_rows,
    sort_fold_order,
    wms_rows,
    zone_of_state,
)
from lakehouse.silver.delta_io import Layout, PinnedTables, read_bronze, read_existing
from lakehouse.storage.delta import committed, to_arrow, writer_properties
from lakehouse.storage.faults import fault
from lakehouse.storage.paths import table_uri

PARTITION = "business_day"
INFERRED = "location_inferred"
# the ledger's partitions: the day (a micro-batch touches recent days) and whether the row's
# warehouse is inferred (the few open reservations a micro-batch derives again)
PARTITIONS = [PARTITION, INFERRED]
OPEN_ORDER_DAYS = 30  # an order still unpicked this long after it was placed is left alone
PICK_DAYS = 7  # an order that arrives after its pick: the pick is looked up this long after it
INFER_LOOKBACK_DAYS = 14  # history read before an order to find its warehouses' last count
APP = "lakehouse.inventory"
APP_VERSION = 1
FOLD_COLUMNS = ("event_key", "product_id", "location_id", "event_time", "kind",
                "delta_on_hand", "delta_reserved", "absolute_on_hand")
LIVE_COLUMNS = ("first_event_time", "shrinkage_rate")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def app_id(batch_id: str) -> str:
    return f"{APP}/{batch_id}"


# ---------------------------------------------------------------- full build helpers


def write_ledger(uri: str, ledger: pl.DataFrame) -> int:
    """Replace the ledger table whole, partitioned by ``business_day`` (the full build)."""
    Path(uri).parent.mkdir(parents=True, exist_ok=True)
    fault("ledger.overwrite.before", uri)
    write_deltalake(uri, to_arrow(ledger), mode="overwrite", schema_mode="overwrite",
                    partition_by=PARTITIONS, writer_properties=writer_properties(ledger))
    fault("ledger.overwrite.after", uri)
    return DeltaTable(uri).version()


def with_live_columns(pos: pl.DataFrame, ledger: pl.DataFrame) -> pl.DataFrame:
    """Positions plus what the micro-batch path needs: the key's first event time and its
    location's shrinkage rate (units lost per unit on hand per day)."""
    first = ledger.group_by(KEY).agg(pl.col("event_time").min().alias("first_event_time"))
    rates = shrinkage_rates(ledger)
    return (pos.join(first, on=KEY, how="left").join(rates, on="location_id", how="left")
            .with_columns(pl.col("shrinkage_rate").fill_null(0.0)))


# ---------------------------------------------------------------- the ledger table


_FILE_SCHEMA = {n: t for n, t in LEDGER_SCHEMA.items() if n not in PARTITIONS}


class LedgerTable:
    """The stored ledger, read by ``business_day`` and ``location_inferred`` partitions (from
    the log's partition values, no listing and no statistics)."""

    def __init__(self, uri: str, version: int | None = None) -> None:
        self.uri = uri
        self.dt = DeltaTable(uri, version=version) if DeltaTable.is_deltatable(uri) else None
        self.rows_read = 0
        self.files_read = 0
        self._actions: pl.DataFrame | None = None
        self.partitioned = self.dt is not None and \
            list(self.dt.metadata().partition_columns) == PARTITIONS

    def actions(self) -> pl.DataFrame:
        if self._actions is None:
            assert self.dt is not None
            raw = pl.from_arrow(pa.table(self.dt.get_add_actions(flatten=True)))
            assert isinstance(raw, pl.DataFrame)
            day, inf = f"partition.{PARTITION}", f"partition.{INFERRED}"
            cols = [pl.col("path"),
                    (pl.col(day).cast(pl.Date) if day in raw.columns
                     else pl.lit(None, pl.Date)).alias("day"),
                    (pl.col(inf).cast(pl.Boolean) if inf in raw.columns
                     else pl.lit(True)).fill_null(True).alias("inferred")]
            self._actions = raw.select(cols)
        return self._actions

    def read(self, days: set[date] | None = None, since: date | None = None,
             inferred: bool = False, where: pl.Expr | None = None,
             columns: list[str] | None = None) -> pl.DataFrame:
        """Stored rows of the given days (or from ``since`` on), optionally only the inferred
        partitions, filtered by ``where``, only ``columns`` (default: all)."""
        schema = LEDGER_SCHEMA if columns is None else {c: LEDGER_SCHEMA[c] for c in columns}
        if self.dt is None:
            return pl.DataFrame(schema=schema)
        a = self.actions()
        if self.partitioned:
            if days is not None:
                a = a.filter(pl.col("day").is_in(sorted(days)))
            if since is not None:
                a = a.filter(pl.col("day").is_null() | (pl.col("day") >= since))
        if inferred:
            a = a.filter(pl.col("inferred"))
        frames = []
        for (day, inf), g in a.group_by("day", "inferred", maintain_order=True):
            files = [str(Path(self.uri) / p) for p in g["path"]]
            self.files_read += len(files)
            stored = _FILE_SCHEMA if self.partitioned else LEDGER_SCHEMA
            lf = pl.scan_parquet(files, schema=pl.Schema(stored), missing_columns="insert",
                                 extra_columns="ignore", hive_partitioning=False, glob=False)
            if self.partitioned:
                lf = lf.with_columns(pl.lit(day, pl.Date).alias(PARTITION),
                                     pl.lit(inf, pl.Boolean).alias(INFERRED))
            if not self.partitioned and days is not None:
                lf = lf.filter(pl.col(PARTITION).is_in(sorted(days)))
            if not self.partitioned and since is not None:
                lf = lf.filter(pl.col(PARTITION) >= since)
            if where is not None:
                lf = lf.filter(where)
            frames.append(lf.select(list(schema)))
        if not frames:
            return pl.DataFrame(schema=schema)
        out = pl.concat(pl.collect_all(frames)).cast(schema)
        self.rows_read += out.height
        return out

    def lookup(self, rows: pl.DataFrame) -> pl.DataFrame:
        """Stored rows sharing an event key with ``rows``, read only from the partitions such
        a row can live in (its business day, and its event date +-1: the same physical event
        reported by two systems is seconds apart)."""
        if rows.is_empty() or self.dt is None:
            return pl.DataFrame(schema=LEDGER_SCHEMA)
        return self.read(days=_days_around(rows), where=pl.col("event_key").is_in(
            rows["event_key"].unique().implode()))


def _days_around(rows: pl.DataFrame) -> set[date]:
    d = rows.select(pl.col("event_time").dt.date().alias("d")).unique()["d"].drop_nulls()
    days = {x + timedelta(days=k) for x in d.to_list() for k in (-1, 0, 1)}
    return days | set(rows[PARTITION].drop_nulls().unique().to_list())


# ---------------------------------------------------------------- silver reads


class _Silver:
    def __init__(self, home: Home, batch_id: str) -> None:
        self.home, self.batch_id, self.tables = home, batch_id, PinnedTables()

    def uri(self, name: str) -> str:
        return table_uri(self.home, "silver", name)

    def batch(self, name: str) -> pl.DataFrame:
        """Rows of this batch in a silver table (files chosen from log statistics)."""
        out = read_bronze(self.tables, self.uri(name), self.batch_id)
        return pl.DataFrame() if out is None else out

    def whole(self, name: str, columns: list[str] | None = None) -> pl.DataFrame:
        dt = self.tables.get(self.uri(name))
        if dt is None:
            return pl.DataFrame()
        out = pl.from_arrow(dt.to_pyarrow_table(columns=columns))
        assert isinstance(out, pl.DataFrame)
        return out

    def lookup(self, name: str, layout: Layout, rows: pl.DataFrame) -> pl.DataFrame:
        """Stored rows of the keys in ``rows``, read only from the partitions in ``rows``."""
        dt = self.tables.get(self.uri(name))
        if dt is None or rows.is_empty():
            return pl.DataFrame()
        return read_existing(self.uri(name), dt, layout, rows)


def _spread(frame: pl.DataFrame, key: str, day: str, out_day: str, days=(-1, 0, 1)
            ) -> pl.DataFrame:
    """(key, out_day) for each row's day +- the given offsets (a partition lookup)."""
    if frame.is_empty():
        return pl.DataFrame(schema={key: pl.String, out_day: pl.Date})
    return pl.concat([frame.select(pl.col(key), (pl.col(day) + pl.duration(days=k))
                                   .cast(pl.Date).alias(out_day)) for k in days]).unique()


# ---------------------------------------------------------------- the report


@dataclass
class LiveReport:
    batch_id: str
    skipped: bool = False  # the batch was applied before
    full_rebuild: bool = False  # no ledger yet (first run): a full build ran
    recovered: bool = False  # the ledger held the batch, positions did not: redone from it
    silver_rows: dict[str, int] = field(default_factory=dict)
    ledger_rows: int = 0  # ledger rows derived from the batch (and orders it touches)
    ledger_inserted: int = 0
    ledger_updated: int = 0
    rows_applied: int = 0  # rows folded into positions
    rows_retracted: int = 0  # folded rows taken back (replaced or moved)
    keys_touched: int = 0
    orders_rederived: int = 0
    orders_inferred: int = 0
    history_rows_read: int = 0  # stored ledger rows read (lookups, history, inference)
    ledger_files_read: int = 0
    positions_rows: int = 0
    channel_rows: int = 0
    versions: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def metadata(self) -> dict:
        out = {k: v for k, v in vars(self).items() if isinstance(v, int | float | str | bool)}
        out.update({f"silver_{k}": v for k, v in self.silver_rows.items()})
        out.update({f"seconds_{k}": round(v, 3) for k, v in self.seconds.items()})
        out.update({f"delta_version_{k}": v for k, v in self.versions.items()})
        return out


# ---------------------------------------------------------------- the micro-batch


def _winners(stored: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
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


def _orders_to_derive(silver: _Silver, ledger: LedgerTable, b: dict[str, pl.DataFrame],
                      today: date | None) -> pl.DataFrame:
    """``order_id, day``: orders whose shop rows this batch may change, with their order date:
    orders in the batch, open orders (placed in the last ``OPEN_ORDER_DAYS``) whose warehouse
    is still inferred (a pick or shipment in this batch places them), and orders whose shop
    visit gained events in this batch (the business day follows the visit)."""
    parts = []
    if b["orders"].height:
        parts.append(b["orders"].select("order_id",
                                        pl.col("created_at").dt.date().alias("day")))
    since = None if today is None else today - timedelta(days=OPEN_ORDER_DAYS)
    inferred = ledger.read(inferred=True, since=since, where=pl.col("source") == "shop")
    if inferred.height:
        open_ = (inferred.group_by("reference")
                 .agg((pl.col("kind") == "release").any().alias("_closed"),
                      pl.col("event_time").min().dt.date().alias("day"))
                 .filter(~pl.col("_closed")))
        parts.append(open_.select(pl.col("reference").alias("order_id"), "day"))
    clicks = b["clickstream_events"]
    if clicks.height and "session_id" in clicks.columns:
        sessions = clicks.select("session_id", pl.col("event_time").dt.date().alias("d")) \
            .drop_nulls()
        found = silver.lookup("clickstream_events", Layout(("session_id",), "event_date"),
                              _spread(sessions, "session_id", "d", "event_date"))
        if found.height:
            buys = found.filter((pl.col("event_type") == "purchase")
                                & pl.col("order_id").is_not_null())
            parts.append(buys.select("order_id", pl.col("event_time").dt.date().alias("day")))
    if not parts:
        return pl.DataFrame(schema={"order_id": pl.String, "day": pl.Date})
    return pl.concat([p.cast({"order_id": pl.String, "day": pl.Date}) for p in parts]) \
        .drop_nulls().unique()


def _shop(silver: _Silver, ledger: LedgerTable, b: dict[str, pl.DataFrame],
          locations: pl.DataFrame, rates: pl.DataFrame, base_new: pl.DataFrame,
          state: pl.DataFrame, report: LiveReport) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(shop rows, their stored rows)``: reserve and release rows of every order this batch
    may change, derived by ``shop_rows`` from those orders' silver rows exactly as the full
    build derives them, and the rows stored under the same event keys."""
    empty = pl.DataFrame(schema=LEDGER_SCHEMA)
    today = state["last_event_time"].max()
    todo = _orders_to_derive(silver, ledger, b, today.date() if today else None)
    if todo.is_empty():
        return empty, empty
    keys = _spread(todo, "order_id", "day", "order_date")
    orders = silver.lookup("orders", Layout(("order_id",), "order_date"), keys)
    lines = silver.lookup("order_lines", Layout(("order_id",), "order_date"), keys)
    if orders.is_empty() or lines.is_empty():
        return empty, empty
    ids = orders["order_id"].unique()
    report.orders_rederived = ids.len()
    # what is stored for these orders (where a pick or the carrier placed them before)
    event_keys = pl.concat([("shop:" + lines["line_id"] + ":reserve"),
                            ("shop:" + lines["line_id"] + ":release")]).implode()
    when = pl.concat([orders["created_at"], orders["cancelled_at"]]).drop_nulls().dt.date()
    days = {d + timedelta(days=k) for d in when.unique().to_list() for k in (-2, -1, 0, 1)}
    stored = ledger.read(days=days, where=pl.col("event_key").is_in(event_keys))
    # the shop visit each order was placed in (its business day)
    dates = orders.select("order_id", pl.col("created_at").dt.date().alias("d"))
    buys = silver.lookup("clickstream_events", Layout(("order_id",), "event_date"),
                         _spread(dates, "order_id", "d", "event_date"))
    sessions = pl.DataFrame()
    if buys.height:
        buys = buys.filter((pl.col("event_type") == "purchase")
                           & pl.col("session_id").is_not_null())
        visit = silver.lookup(
            "clickstream_events", Layout(("session_id",), "event_date"),
            _spread(buys.select("session_id", pl.col("event_time").dt.date().alias("d")),
                    "session_id", "d", "event_date"))
        if visit.height:
            sessions = order_sessions(visit.filter(
                pl.col("order_id").is_null() | pl.col("order_id").is_in(ids.implode())))
    # where each order was picked: this batch's picks, then where it was placed before (a
    # pick or the carrier), then this batch's shipments
    placed = stored.filter((pl.col("kind") == "reserve") & ~pl.col(INFERRED)).select(
        "reference", "location_id", pl.lit("PICK").alias("movement_type"))
    mv = b["inventory_movements"]
    picks = [placed]
    if mv.height:
        picks.append(mv.filter((pl.col("movement_type") == "PICK")
                               & pl.col("reference").is_in(ids.implode()))
                     .select("reference", "location_id", "movement_type"))
    # an order arriving after its pick: the pick is stored (a few days after the order)
    fresh = b["orders"]["order_id"].unique() if b["orders"].height else ids.clear()
    unplaced = orders.filter(pl.col("order_id").is_in(fresh.implode())
                             & ~pl.col("order_id").is_in(placed["reference"].implode()))
    if unplaced.height:
        when = unplaced["created_at"].dt.date().unique().to_list()
        pick_days = {d + timedelta(days=k) for d in when for k in range(-1, PICK_DAYS + 1)}
        picks.append(ledger.read(days=pick_days, where=(pl.col("kind") == "pick")
                                 & pl.col("reference").is_in(unplaced["order_id"].implode()))
                     .select("reference", "location_id", pl.lit("PICK").alias("movement_type")))
    movements = pl.concat(picks, how="vertical_relaxed")
    ships = silver.whole("shipments", ["order_id", "location_id", "zone"])
    ships_all = ships
    ships = ships.filter(pl.col("order_id").is_in(ids.implode())) if ships.height else ships
    where = order_locations(movements, ships)
    missing = lines.filter(~pl.col("order_id").is_in(where["order_id"].implode()))
    zones, base = None, pl.DataFrame(schema=LEDGER_SCHEMA)
    # no store list yet: no warehouse to infer from (the batch that brings it re-derives
    # every open order whose warehouse is still inferred)
    if missing.height and "type" in locations.columns:
        report.orders_inferred = missing["order_id"].n_unique()
        zones = zone_of_state(ships_all, silver.whole("orders", ["order_id", "ship_state"]))
        first = missing.join(orders.select("order_id", "created_at"), on="order_id")
        base = _infer_base(ledger, first, locations, base_new, state)
    inp = SilverInputs(movements=movements, pos_lines=pl.DataFrame(), orders=orders,
                       order_lines=lines, shipments=ships, returns=pl.DataFrame(),
                       purchase_orders=pl.DataFrame(), locations=locations,
                       shipping_rates=rates, order_sessions=sessions)
    return shop_rows(inp, base, zones), stored


def _infer_base(ledger: LedgerTable, orders: pl.DataFrame, locations: pl.DataFrame,
                base_new: pl.DataFrame, state: pl.DataFrame) -> pl.DataFrame:
    """The stock rows (no shop rows) the warehouse inference of ``orders`` (``product_id``,
    ``created_at``) reads: each candidate warehouse's rows of the product since its last
    count before the order (a count resets on hand), from the ``INFER_LOOKBACK_DAYS`` before
    the oldest order; a key with no such count is read whole (rare: counts are regular)."""
    warehouses = locations.filter(pl.col("type") == "warehouse")["location_code"].implode()
    need = (orders.group_by("product_id").agg(pl.col("created_at").min().alias("_at"))
            .join(locations.filter(pl.col("type") == "warehouse")
                  .select(pl.col("location_code").alias("location_id")), how="cross"))
    since = need["_at"].min().date() - timedelta(days=INFER_LOOKBACK_DAYS)
    stock = (pl.col("source") != "shop") & pl.col("location_id").is_in(warehouses)
    hist = ledger.read(since=since, where=stock & pl.col("product_id").is_in(
        need["product_id"].unique().implode()))
    # a key whose first event is inside the window, or with a count before the order in it,
    # is complete; else read it whole
    anchored = (hist.filter(pl.col("absolute_on_hand").is_not_null())
                .join(need, on=KEY).filter(pl.col("event_time") <= pl.col("_at"))
                .select(KEY).unique())
    young = state.filter(pl.col("first_event_time") >= pl.lit(
        datetime.combine(since, datetime.min.time(), tzinfo=UTC))).select(KEY)
    known = state.select(KEY)
    whole = (need.select(KEY).join(known, on=KEY, how="semi")
             .join(anchored, on=KEY, how="anti").join(young, on=KEY, how="anti"))
    if whole.height:
        more = ledger.read(where=stock & pl.col("product_id").is_in(
            whole["product_id"].unique().implode()))
        hist = pl.concat([hist.join(whole, on=KEY, how="anti"),
                          more.join(whole, on=KEY, how="semi")])
    fresh = base_new.filter(pl.col("product_id").is_in(need["product_id"].unique().implode()))
    return sort_fold_order(pl.concat([
        hist.join(fresh.select("event_key"), on="event_key", how="anti"), fresh]))


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
    if ledger.dt is None or not ledger.partitioned or not _has_live_columns(puri):
        # first run, or a ledger from before partitioning: one full build puts every table
        # in step
        from lakehouse.inventory.store import build_inventory

        run = build_inventory(home)
        _mark(luri, aid)
        _mark(puri, aid)
        if DeltaTable.is_deltatable(curi):
            _mark(curi, aid)
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
        locations = _Silver(home, batch_id).whole("locations")
        chan = channel_availability(pl.read_delta(puri), locations) if locations.height \
            else pl.DataFrame(schema=CHANNEL_SCHEMA)
        report.versions["inventory_channel_availability"] = _replace(curi, chan, aid)
        report.seconds["total"] = time.perf_counter() - started
        return report
    elif committed(ledger.dt, aid, APP_VERSION):
        report.skipped = True
        report.seconds["total"] = time.perf_counter() - started
        return report

    silver = _Silver(home, batch_id)
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
    base_new = _winners(stored_base, base_rows)
    lap("derive_base")
    shop, stored_shop = _shop(silver, ledger, b, locations, rates, base_new, state, report)
    shop_new = _winners(stored_shop, shop)
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
                            history=_history(ledger), retract=retract)
    lap("fold")
    pos = _positions(old, state_new, added, retract, purchase_orders, ledger)
    chan = channel_availability(pos, locations) if locations.height \
        else pl.DataFrame(schema=CHANNEL_SCHEMA)
    touched = pl.concat([added.select(KEY), retract.select(KEY)]).unique()
    report.keys_touched = touched.height
    lap("positions")

    if recovering:
        report.ledger_inserted, report.ledger_updated = _merge_counts(changed, stored)
    else:
        report.ledger_inserted, report.ledger_updated = _merge(ledger, changed, stored, aid)
    report.versions["inventory_ledger"] = DeltaTable(luri).version()
    report.versions["inventory_positions"] = _replace(puri, pos, aid)
    report.versions["inventory_channel_availability"] = _replace(curi, chan, aid)
    report.positions_rows, report.channel_rows = pos.height, chan.height
    report.history_rows_read, report.ledger_files_read = ledger.rows_read, ledger.files_read
    lap("write")
    report.seconds["total"] = time.perf_counter() - started
    return report


def _has_live_columns(uri: str) -> bool:
    if not DeltaTable.is_deltatable(uri):
        return False
    names = set(pa.schema(DeltaTable(uri).schema().to_arrow()).names)
    return set(LIVE_COLUMNS) <= names


def _history(ledger: LedgerTable):
    """Key-indexed reader for ``apply_batch``: rows of some keys since a time, read only from
    the partitions from that time on."""
    def read(want: pl.DataFrame) -> pl.DataFrame:
        since = want["since"].min()
        day = None if since is None or since <= EPOCH else since.date() - timedelta(days=2)
        keys = want.select(KEY)
        rows = ledger.read(since=day, where=pl.col("product_id").is_in(
            keys["product_id"].unique().implode()))
        return rows.join(want, on=KEY).filter(pl.col("event_time") >= pl.col("since")) \
            .drop("since")
    return read


def _positions(old: pl.DataFrame, state: pl.DataFrame, added: pl.DataFrame,
               retract: pl.DataFrame, purchase_orders: pl.DataFrame,
               ledger: LedgerTable) -> pl.DataFrame:
    """The gold positions table after the batch, in the full build's shape."""
    cols = old.columns
    prev = old.select(*KEY, "on_hand", "shrinkage", "in_transit_out", *LIVE_COLUMNS,
                      pl.lit(True).alias("_had"))
    # shrinkage = on hand - (every delta) - (the opening count): move it by the batch's change
    sign = pl.concat([added.select(*KEY, "delta_on_hand", "event_time"),
                      retract.select(*KEY, (-pl.col("delta_on_hand")).alias("delta_on_hand"),
                                     "event_time")])
    moved = sign.group_by(KEY).agg(pl.col("delta_on_hand").sum().alias("_dt"),
                                   pl.col("event_time").min().alias("_min"))
    pos = (state.join(prev, on=KEY, how="left", suffix="_old")
           .join(moved, on=KEY, how="left")
           .with_columns(pl.col("_dt").fill_null(0)))
    first_changes = (pl.col("first_event_time").is_null()
                     | (pl.col("_min") <= pl.col("first_event_time")).fill_null(False))
    exact = pos.filter(pl.col("_min").is_not_null() & first_changes & pl.col("_had"))
    fresh = pos.filter(pl.col("_had").is_null()).select(KEY)
    pos = pos.with_columns(
        (pl.col("shrinkage").fill_null(0) + pl.col("on_hand")
         - pl.col("on_hand_old").fill_null(0) - pl.col("_dt")).alias("shrinkage"))
    again = []
    if exact.height:  # the key's opening may have changed: fold its whole history
        again.append(_key_positions(exact.select(KEY), added, retract, ledger))
    if fresh.height:  # a new key: all its rows are in the batch
        again.append(_key_positions(fresh, added, retract, None))
    if again:
        pos = pos.join(pl.concat(again), on=KEY, how="left").with_columns(
            pl.coalesce("_shrinkage", "shrinkage").alias("shrinkage"),
            pl.coalesce("_first", "first_event_time").alias("first_event_time"))
    pos = _last_event_after_loss(pos, added, retract, ledger)
    pos = _in_transit(pos, added, retract, ledger)
    # at risk: the location's rate (last full build) over days since the last count
    loc_rate = old.group_by("location_id").agg(pl.col("shrinkage_rate").drop_nulls().first()
                                               .alias("_rate"))
    now = pos["last_event_time"].max()
    since = pl.coalesce("last_count_time", "first_event_time")
    elapsed = pl.lit(now, pl.Datetime("us", "UTC")) - since
    days = (elapsed.dt.total_seconds() / 86400.0).clip(lower_bound=0.0)
    pos = (pos.with_columns(pl.col("shrinkage_rate").fill_null(
                pl.col("shrinkage_rate").drop_nulls().first().over("location_id")),
                pl.col("in_transit_out").fill_null(0))
           .with_columns(pl.col("shrinkage_rate").fill_null(0.0))
           .with_columns((pl.col("on_hand").clip(lower_bound=0) * pl.col("shrinkage_rate")
                          * days.fill_null(0.0)).alias("at_risk"), atp()))
    now_dt = now if isinstance(now, datetime) else None
    inb = inbound_of(purchase_orders, now_dt) if purchase_orders.height else pl.DataFrame()
    pos = pos.select([c for c in cols if c not in ("inbound", "next_expected_date")])
    if inb.height:
        pos = pos.join(inb, on=KEY, how="full", coalesce=True)
    else:
        pos = pos.with_columns(pl.lit(None, pl.Int64).alias("inbound"),
                               pl.lit(None, pl.Date).alias("next_expected_date"))
    # every row of a location carries its rate (keys only on order too)
    pos = pos.join(loc_rate, on="location_id", how="left").with_columns(
        pl.coalesce("shrinkage_rate", "_rate").fill_null(0.0).alias("shrinkage_rate"))
    pos = pos.with_columns(pl.col("on_hand", "reserved", "available_to_promise", "events",
                                  "shrinkage", "inbound", "in_transit_out").fill_null(0),
                           pl.col("at_risk").fill_null(0.0))
    return pos.select(cols).cast(old.schema).sort(KEY)


def _last_event_after_loss(pos: pl.DataFrame, added: pl.DataFrame, retract: pl.DataFrame,
                           ledger: LedgerTable) -> pl.DataFrame:
    """``last_event_time`` of keys whose latest row was taken back (a reservation moved to the
    warehouse that picked it): the latest row they still hold, from their recent history."""
    if retract.is_empty():
        return pos
    lost = retract.group_by(KEY).agg(pl.col("event_time").max().alias("_rmax"))
    kept = added.group_by(KEY).agg(pl.col("event_time").max().alias("_amax"))
    todo = (pos.select(*KEY, "last_event_time").join(lost, on=KEY)
            .join(kept, on=KEY, how="left")
            .filter((pl.col("last_event_time") <= pl.col("_rmax"))
                    & (pl.col("_amax").is_null() | (pl.col("_amax") < pl.col("_rmax")))))
    if todo.is_empty():
        return pos
    found = []
    for since in (todo["_rmax"].min().date() - timedelta(days=3), None):
        hist = ledger.read(since=since, where=pl.col("product_id").is_in(
            todo["product_id"].unique().implode()))
        hist = (hist.join(todo.select(KEY), on=KEY, how="semi")
                .join(retract.select("event_key", *KEY), on=["event_key", *KEY], how="anti"))
        rows = pl.concat([hist.select(*KEY, "event_time"),
                          added.join(todo.select(KEY), on=KEY, how="semi")
                          .select(*KEY, "event_time")])
        found.append(rows.group_by(KEY).agg(pl.col("event_time").max().alias("_last")))
        todo = todo.join(found[-1], on=KEY, how="anti")
        if todo.is_empty():
            break
    best = pl.concat(found).group_by(KEY).agg(pl.col("_last").max())
    return pos.join(best, on=KEY, how="left").with_columns(
        pl.coalesce("_last", "last_event_time").alias("last_event_time")).drop("_last")


TRANSIT_LOOKBACK_DAYS = 7  # a transfer is booked in within this many days of leaving


def _in_transit(pos: pl.DataFrame, added: pl.DataFrame, retract: pl.DataFrame,
                ledger: LedgerTable) -> pl.DataFrame:
    """``in_transit_out`` moved by the batch's transfer rows: a ``transfer_out`` adds its units
    at the origin until a ``transfer_in`` with the same reference books them in anywhere. The
    other leg of a reference is looked up in the partitions of the last
    ``TRANSIT_LOOKBACK_DAYS``."""
    kinds = ["transfer_out", "transfer_in"]
    moved = pl.concat([added, retract]).filter(pl.col("kind").is_in(kinds)
                                               & pl.col("reference").is_not_null())
    if moved.is_empty():
        return pos
    refs = moved["reference"].unique().implode()
    since = moved["event_time"].min().date() - timedelta(days=TRANSIT_LOOKBACK_DAYS)
    before = ledger.read(since=since, where=pl.col("kind").is_in(kinds)
                         & pl.col("reference").is_in(refs),
                         columns=["event_key", *KEY, "kind", "reference", "delta_on_hand"])
    after = pl.concat([before.join(retract.select("event_key"), on="event_key", how="anti"),
                       added.filter(pl.col("kind").is_in(kinds)).select(before.columns)]).unique(
        subset=["event_key"], keep="last")

    def open_units(rows: pl.DataFrame, sign: int) -> pl.DataFrame:
        booked = rows.filter(pl.col("kind") == "transfer_in").select("reference").unique()
        return (rows.filter(pl.col("kind") == "transfer_out")
                .join(booked, on="reference", how="anti")
                .group_by(KEY).agg((-pl.col("delta_on_hand") * sign).sum().alias("_u")))
    change = pl.concat([open_units(after, 1), open_units(before, -1)]).group_by(KEY).agg(
        pl.col("_u").sum().alias("_transit"))
    return pos.join(change, on=KEY, how="left").with_columns(
        (pl.col("in_transit_out").fill_null(0) + pl.col("_transit").fill_null(0))
        .alias("in_transit_out")).drop("_transit")


def _key_positions(keys: pl.DataFrame, added: pl.DataFrame, retract: pl.DataFrame,
                   ledger: LedgerTable | None) -> pl.DataFrame:
    """Shrinkage and first event of some keys from their whole history (rare: a batch row at
    or before a key's first event; ``ledger`` None: new keys, all rows in the batch)."""
    hist = pl.DataFrame(schema=LEDGER_SCHEMA) if ledger is None else ledger.read(
        where=pl.col("product_id").is_in(keys["product_id"].unique().implode()))
    hist = hist.join(keys, on=KEY, how="semi").join(retract.select("event_key"),
                                                    on="event_key", how="anti")
    rows = pl.concat([hist, added.join(keys, on=KEY, how="semi").select(hist.columns)])
    p = positions(rows).select(*KEY, pl.col("shrinkage").alias("_shrinkage"))
    first = rows.group_by(KEY).agg(pl.col("event_time").min().alias("_first"))
    return p.join(first, on=KEY, how="full", coalesce=True)


# ---------------------------------------------------------------- writes


def _props(aid: str) -> CommitProperties:
    return CommitProperties(app_transactions=[Transaction(aid, APP_VERSION)])


def _mark(uri: str, aid: str) -> None:
    """Record the batch on a table without changing rows (an empty append)."""
    dt = DeltaTable(uri)
    empty = pa.schema(dt.schema().to_arrow()).empty_table()
    fault("live.mark.before", uri)
    write_deltalake(dt, empty, mode="append", commit_properties=_props(aid))
    fault("live.mark.after", uri)


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


def _merge_counts(changed: pl.DataFrame, stored: pl.DataFrame) -> tuple[int, int]:
    """(inserted, updated) of an upsert of ``changed`` over ``stored`` on ``event_key``."""
    replaced = stored.join(changed.select("event_key"), on="event_key", how="semi").height
    return changed.height - replaced, replaced


def _merge(ledger: LedgerTable, changed: pl.DataFrame, stored: pl.DataFrame,
           aid: str) -> tuple[int, int]:
    """Upsert the changed rows on ``event_key`` (one commit with the batch's app id), pruned
    to the partitions the new and the replaced rows live in."""
    dt = ledger.dt
    assert dt is not None
    if changed.is_empty():
        _mark(ledger.uri, aid)
        return 0, 0
    replaced = stored.join(changed.select("event_key"), on="event_key", how="semi")
    data = to_arrow(changed)
    if replaced.is_empty():
        fault("live.append.before", ledger.uri)
        write_deltalake(dt, data, mode="append", commit_properties=_props(aid),
                        writer_properties=writer_properties(changed))
        fault("live.append.after", ledger.uri)
        return changed.height, 0
    days = sorted(set(changed[PARTITION].drop_nulls().to_list())
                  | set(replaced[PARTITION].drop_nulls().to_list()))
    pred = "t.event_key = s.event_key"
    if days and not (changed[PARTITION].null_count() or replaced[PARTITION].null_count()):
        pred += f" AND t.{PARTITION} IN ({', '.join(repr(d.isoformat()) for d in days)})"
    fault("live.merge.before", ledger.uri)
    (dt.merge(data, predicate=pred, source_alias="s", target_alias="t",
              commit_properties=_props(aid), writer_properties=writer_properties(changed))
     .when_matched_update_all().when_not_matched_insert_all().execute())
    fault("live.merge.after", ledger.uri)
    return changed.height - replaced.height, replaced.height


def _replace(uri: str, frame: pl.DataFrame, aid: str) -> int:
    Path(uri).parent.mkdir(parents=True, exist_ok=True)
    fault("live.replace.before", uri)
    write_deltalake(uri, to_arrow(frame), mode="overwrite", schema_mode="overwrite",
                    commit_properties=_props(aid), writer_properties=writer_properties(frame))
    fault("live.replace.after", uri)
    return DeltaTable(uri).version()
