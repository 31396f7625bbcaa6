"""The shop rows one micro-batch may change (``live.py``), derived by ``shop_rows`` exactly as
the full build derives them, for the batch's orders and for every open order whose warehouse is
still inferred (nothing picked or shipped it yet): a pick or shipment, a late WMS movement or a
new shipment zone can move it, exactly as a full rebuild would.

Known reads that grow with history: the shipments and orders columns that teach the shopper zone
per state, and the history of the candidate warehouses of an order whose warehouse must be
inferred (only when such an order exists).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl

from lakehouse.inventory.fold import KEY
from lakehouse.inventory.ledger import sort_fold_order
from lakehouse.inventory.ledger_rows import LEDGER_SCHEMA, SilverInputs
from lakehouse.inventory.ledger_shop import (
    order_locations,
    order_sessions,
    shop_rows,
    zone_of_state,
)
from lakehouse.inventory.ledger_table import INFERRED, LedgerTable
from lakehouse.inventory.live_report import LiveReport
from lakehouse.inventory.live_silver import SilverBatch, spread
from lakehouse.silver.delta_io import Layout

OPEN_ORDER_DAYS = 30  # an order still unpicked this long after it was placed is left alone
PICK_DAYS = 7  # an order that arrives after its pick: the pick is looked up this long after it
INFER_LOOKBACK_DAYS = 14  # history read before an order to find its warehouses' last count


def _orders_to_derive(silver: SilverBatch, ledger: LedgerTable, b: dict[str, pl.DataFrame],
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
                              spread(sessions, "session_id", "d", "event_date"))
        if found.height:
            buys = found.filter((pl.col("event_type") == "purchase")
                                & pl.col("order_id").is_not_null())
            parts.append(buys.select("order_id", pl.col("event_time").dt.date().alias("day")))
    if not parts:
        return pl.DataFrame(schema={"order_id": pl.String, "day": pl.Date})
    return pl.concat([p.cast({"order_id": pl.String, "day": pl.Date}) for p in parts]) \
        .drop_nulls().unique()


def batch_shop_rows(silver: SilverBatch, ledger: LedgerTable, b: dict[str, pl.DataFrame],
                    locations: pl.DataFrame, rates: pl.DataFrame, base_new: pl.DataFrame,
                    state: pl.DataFrame, report: LiveReport
                    ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(shop rows, their stored rows)``: reserve and release rows of every order this batch
    may change, derived by ``shop_rows`` from those orders' silver rows exactly as the full
    build derives them, and the rows stored under the same event keys."""
    empty = pl.DataFrame(schema=LEDGER_SCHEMA)
    today = state["last_event_time"].max()
    todo = _orders_to_derive(silver, ledger, b, today.date() if today else None)
    if todo.is_empty():
        return empty, empty
    keys = spread(todo, "order_id", "day", "order_date")
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
                         spread(dates, "order_id", "d", "event_date"))
    sessions = pl.DataFrame()
    if buys.height:
        buys = buys.filter((pl.col("event_type") == "purchase")
                           & pl.col("session_id").is_not_null())
        visit = silver.lookup(
            "clickstream_events", Layout(("session_id",), "event_date"),
            spread(buys.select("session_id", pl.col("event_time").dt.date().alias("d")),
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
