"""Where the systems disagree: WMS vs tills vs shop platform vs returns desk vs suppliers.

Each row says which systems, about which product and location, by how many units, since when,
and the likely cause:

- ``lagging sync``: one system reported an event the other has not booked yet, younger than
  ``lag`` (it will most likely arrive);
- ``missing event``: the same, older than ``lag``;
- ``shrinkage``: a cycle count found fewer units than the ledger expected;
- ``unmapped product code``: a source row whose product code the crosswalk does not know
  (quarantined by silver, so its stock effect is missing everywhere).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from lakehouse.inventory.fold import running
from lakehouse.inventory.ledger import canonical
from lakehouse.inventory.ledger_rows import SilverInputs
from lakehouse.storage.objects import lake_root
from lakehouse.storage.validations import read_validated

# source systems whose rows move stock: an unmapped code elsewhere (clickstream) is not a stock
# discrepancy
STOCK_CHANNELS = ("wms", "pos", "orders", "returns", "suppliers", "shipments")

COLUMNS = {"systems": pl.String, "product_id": pl.String, "location_id": pl.String,
           "reference": pl.String, "units": pl.Int64, "since": pl.Datetime("us", "UTC"),
           "cause": pl.String, "detail": pl.String}


def _frame(df: pl.DataFrame) -> pl.DataFrame:
    return df.select([pl.col(c).cast(t) if c in df.columns else pl.lit(None, t).alias(c)
                      for c, t in COLUMNS.items()])


def _age_cause(now: datetime, lag: timedelta) -> pl.Expr:
    return pl.when(pl.col("since") >= now - lag).then(pl.lit("lagging sync")) \
        .otherwise(pl.lit("missing event"))


def _unbooked(led: pl.DataFrame, kind: str, source: str, systems: str, detail: str,
              now: datetime, lag: timedelta) -> pl.DataFrame:
    """Ledger rows another system stood in for because the WMS never booked them."""
    rows = led.filter((pl.col("kind") == kind) & (pl.col("source") == source))
    return rows.select(
        pl.lit(systems).alias("systems"), "product_id", "location_id",
        pl.col("source_event_id").alias("reference"), pl.col("delta_on_hand").alias("units"),
        pl.col("event_time").alias("since"), pl.lit(detail).alias("detail"),
    ).with_columns(_age_cause(now, lag).alias("cause"))


def discrepancies(inp: SilverInputs, ledger: pl.DataFrame, now: datetime | None = None,
                  lag: timedelta = timedelta(days=1), home: str | Path | None = None
                  ) -> pl.DataFrame:
    """The discrepancy table (``COLUMNS``), newest first."""
    led = canonical(ledger)
    now = now or led["event_time"].max() or datetime.now(UTC)  # an empty ledger: wall clock
    out = []
    m = inp.movements
    # shop platform vs WMS: the carrier picked the parcel up, the WMS booked no pick
    if inp.shipments.height and inp.order_lines.height:
        # units per order and product: one line (of several, maybe of the same product) can
        # miss its pick
        picked = (m.filter(pl.col("movement_type") == "PICK")
                  .unique(subset=["movement_id"], keep="first")
                  .group_by(pl.col("reference").alias("order_id"), "product_id")
                  .agg(pl.col("qty").sum().alias("_picked"))
                  if m.height else pl.DataFrame(schema={"order_id": pl.String,
                                                        "product_id": pl.String,
                                                        "_picked": pl.Int64}))
        lines = (inp.order_lines.unique(subset=["line_id"])
                 .group_by("order_id", "product_id").agg(pl.col("quantity").sum()))
        shipped = inp.shipments.unique(subset=["shipment_id"]).group_by("order_id").agg(
            pl.col("location_id").first(), pl.col("shipped_at").min())
        short = (shipped.join(lines, on="order_id")
                 .join(picked, on=["order_id", "product_id"], how="left")
                 .with_columns((pl.col("quantity") - pl.col("_picked").fill_null(0))
                               .alias("quantity"))
                 .filter(pl.col("quantity") > 0))
        out.append(short.select(
            pl.lit("shop/carrier vs wms").alias("systems"), "product_id", "location_id",
            pl.col("order_id").alias("reference"), pl.col("quantity").alias("units"),
            pl.col("shipped_at").alias("since"),
            pl.lit("shipped per carrier, no WMS pick").alias("detail"),
        ).with_columns(_age_cause(now, lag).alias("cause")))
    # WMS vs shop platform: a pick for an order the shop feed has not delivered; until it
    # does, the pick releases a reservation the ledger never saw (reserved dips below zero)
    if m.height:
        picks = m.filter(pl.col("movement_type") == "PICK")
        if "movement_id" in picks.columns:
            picks = picks.unique(subset=["movement_id"], keep="first")
        known = (inp.order_lines.select("order_id").unique()
                 if "order_id" in inp.order_lines.columns
                 else pl.DataFrame(schema={"order_id": pl.String}))
        orphan = picks.join(known, left_on="reference", right_on="order_id", how="anti")
        out.append(orphan.select(
            pl.lit("wms vs shop").alias("systems"), "product_id", "location_id", "reference",
            pl.col("qty").alias("units"), pl.col("event_time").alias("since"),
            pl.lit("WMS picked for an order the shop platform has not delivered").alias("detail"),
        ).with_columns(_age_cause(now, lag).alias("cause")))
    # returns desk vs WMS: accepted for restock, not back on the WMS books
    out.append(_unbooked(led, "return_restock", "returns", "returns vs wms",
                         "restock accepted at the desk, no WMS restock", now, lag))
    # suppliers vs WMS: delivered per supplier, no receipt; or quantities differ
    out.append(_unbooked(led, "receipt", "suppliers", "suppliers vs wms",
                         "delivered per supplier, no WMS receipt", now, lag))
    if inp.purchase_orders.height and m.height:
        rec = m.filter(pl.col("movement_type") == "RECEIPT").group_by("reference").agg(
            pl.col("qty").sum().alias("wms_qty"))
        diff = inp.purchase_orders.join(rec, left_on="po_number", right_on="reference").filter(
            pl.col("delivered_qty").is_not_null() & (pl.col("delivered_qty") != pl.col("wms_qty")))
        out.append(diff.select(
            pl.lit("suppliers vs wms").alias("systems"), "product_id", "location_id",
            pl.col("po_number").alias("reference"),
            (pl.col("wms_qty") - pl.col("delivered_qty")).alias("units"),
            pl.col("delivered_at").alias("since"), pl.lit("missing event").alias("cause"),
            pl.lit("received quantity differs from delivered").alias("detail")))
    # WMS transfer out of a warehouse never booked in at a store
    if m.height:
        outs = m.filter(pl.col("movement_type") == "TRANSFER_OUT")
        ins = m.filter(pl.col("movement_type") == "TRANSFER_IN").select("reference").unique()
        open_ = outs.join(ins, on="reference", how="anti")
        out.append(open_.select(
            pl.lit("wms (warehouse) vs wms (store)").alias("systems"), "product_id",
            "location_id", "reference", "qty", pl.col("event_time").alias("since"),
            pl.lit("transfer shipped, not booked in").alias("detail"),
        ).rename({"qty": "units"}).with_columns(
            pl.when(pl.col("since") >= now - 2 * lag).then(pl.lit("lagging sync"))
            .otherwise(pl.lit("missing event")).alias("cause")))
    # WMS counts vs the ledger of WMS + tills: shrinkage
    run = running(led, presorted=True).filter(pl.col("shrinkage").fill_null(0) != 0)
    out.append(run.select(
        pl.lit("wms count vs ledger (wms + tills + shop)").alias("systems"), "product_id",
        "location_id", pl.col("event_key").alias("reference"),
        pl.col("shrinkage").alias("units"), pl.col("event_time").alias("since"),
        pl.when(pl.col("shrinkage") < 0).then(pl.lit("shrinkage"))
        .otherwise(pl.lit("missing event")).alias("cause"),
        pl.lit("cycle count differs from the ledger").alias("detail")))
    if home is not None:
        out.append(_unmapped(Path(home)))
    frames = [_frame(f) for f in out if f.height]
    if not frames:
        return pl.DataFrame(schema=COLUMNS)
    return pl.concat(frames).sort("since", descending=True)


def _unmapped(home: Path) -> pl.DataFrame:
    """Quarantined rows whose product code is unknown, per source system: those still waiting
    (a row a later catalog released is in the ledger), since their delivery."""
    q = read_validated(lake_root(home / "lake") / "quarantine" / "rows")
    if q is None:
        return pl.DataFrame()
    kind = next((c for c in ("kind", "error_kind") if c in q.columns), None)
    if kind is None:
        return pl.DataFrame()
    q = q.filter(pl.col(kind) == "unknown_product")
    if "released_by" in q.columns:
        q = q.filter(pl.col("released_by").is_null())
    src = next((c for c in ("_source_channel", "source") if c in q.columns), None)
    if src is not None:
        q = q.filter(pl.col(src).is_in(list(STOCK_CHANNELS)))
    return q.select(
        (pl.lit("catalog vs ") + (pl.col(src) if src else pl.lit("?"))).alias("systems"),
        pl.lit(1).alias("units"), pl.col("_source_file").alias("reference"),
        pl.coalesce(*(c for c in ("_delivered_at", "_ingested_at") if c in q.columns))
        .alias("since"), pl.lit("unmapped product code").alias("cause"),
        pl.lit("quarantined: product code not in the crosswalk").alias("detail"))
