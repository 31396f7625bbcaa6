"""Every silver table: which bronze entities feed it, how they conform, its key, partition and
which row wins among rows with the same key.

Winner rules (deterministic, so the arrival order of the same files never changes a table):
events keep the smallest ``(_source_file, _line)``; versioned records keep the latest version
(orders: ``updated_at``; shipments: the delivered state) and then the smallest lineage;
reference exports keep the latest export file (file names carry the export date).

Knowledge time (``_delivered_at``): a versioned or reference row carries the knowledge time of
the version that won; an event (first arrival wins) carries the earliest knowledge time of all
its copies, since an event is known once any copy of it has been delivered (and the min keeps
the result independent of arrival order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from lakehouse.silver import clickstream, commerce, marketing, operations, reference
from lakehouse.silver.delta_io import Layout
from lakehouse.silver.frames import KNOWLEDGE, known_at
from lakehouse.silver.references import REFERENCES
from lakehouse.storage.delta import Picked

Conform = Callable[[pl.DataFrame, pl.DataFrame], tuple[pl.DataFrame, pl.DataFrame]]
Rank = tuple[tuple[str, bool], ...]  # (column, descending), nulls last

FIRST_ARRIVAL: Rank = (("_source_file", False), ("_line", False))
LATEST_EXPORT: Rank = (("_source_file", True), ("_line", False))
LATEST_UPDATE: Rank = (("updated_at", True), ("_source_file", False), ("_line", False))
DELIVERED_FIRST: Rank = (("delivered_at", True), ("_source_file", False), ("_line", False))


@dataclass(frozen=True)
class SilverTable:
    name: str
    layout: Layout
    rank: Rank
    sources: tuple[tuple[str, str, Conform], ...]  # (channel, entity, conform)


def keep_best(layout: Layout, rank: Rank):
    """combine(existing, new) -> the winning row per key (stored rows first on exact ties)."""
    best = _best(layout, rank)

    def combine(existing: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
        both = pl.concat([existing, new], how="diagonal_relaxed") if existing.height else new
        return best(both).collect()
    return combine


def pick_best(layout: Layout, rank: Rank, rows: pl.DataFrame) -> Picked:
    """The winning row per key of ``rows``, as ``keep_best`` picks it, without copying the
    uncontested rows: a writer filters them a slice at a time (a first build's clickstream
    is 1.7 GB at 10M events, and a filtered copy of it was the peak of silver)."""
    return _best(layout, rank)(rows)


def _best(layout: Layout, rank: Rank) -> Callable[[pl.DataFrame], Picked]:
    cols = [c for c, _ in rank]
    desc = [d for _, d in rank]
    earliest = rank == FIRST_ARRIVAL
    key = list(layout.key)

    def best(both: pl.DataFrame) -> Picked:
        # only keys that occur more than once need ranking: sort those few rows, not all.
        # Found on a 64-bit hash of the key (4x cheaper than on string keys); a collision only
        # sends rows of distinct keys through the exact ranking below, which keeps them all.
        # The hash of a struct expression, not ``hash_rows``: on a first build's clickstream
        # (5.5M conformed rows at 10M events) hash_rows took 2.8 s and 1.1 GB more memory,
        # this 0.55 s and 0.2 GB
        dup = both.select(pl.struct(key).hash().is_duplicated()).to_series()
        if not dup.any():
            return Picked(both)
        contested = both.filter(dup).sort(cols, descending=desc, nulls_last=True,
                                          maintain_order=True)
        winners = contested.unique(subset=key, keep="first", maintain_order=True)
        if earliest and KNOWLEDGE in both.columns:  # known once any copy was delivered
            first = contested.group_by(key).agg(known_at().min().alias("_known"))
            winners = winners.join(first, on=key, how="left", nulls_equal=True,
                                   maintain_order="left").with_columns(
                pl.col("_known").alias(KNOWLEDGE)).drop("_known")
        return Picked(both, ~dup, winners)
    return best


def _t(name, key, partition, rank, *sources) -> SilverTable:
    return SilverTable(name, Layout(tuple(key), partition), rank, tuple(sources))


PRODUCTS = _t("products", ["product_id"], None, LATEST_EXPORT,
              ("catalog", "products", reference.conform_products))
# Biggest first: build_silver runs these in this order on its thread pool, so a big table
# never starts last and leaves one worker alone at the end.
EVENT_TABLES: tuple[SilverTable, ...] = (
    _t("clickstream_events", ["event_id", "channel"], "event_date", FIRST_ARRIVAL,
       ("web", "events", clickstream.conform_web_events),
       ("app", "events", clickstream.conform_app_events)),
    _t("email_events", ["event_id"], "event_date", FIRST_ARRIVAL,
       ("email", "events", marketing.conform_email_events)),
    _t("inventory_movements", ["movement_id"], "event_date", FIRST_ARRIVAL,
       ("wms", "movements", operations.conform_wms_movements)),
    _t("suppliers", ["supplier_id"], None, LATEST_EXPORT,
       ("suppliers", "suppliers", reference.conform_suppliers)),
    _t("promotions", ["promo_id"], None, LATEST_EXPORT,
       ("promotions", "promotions", reference.conform_promotions)),
    _t("locations", ["location_code"], None, LATEST_EXPORT,
       ("locations", "locations", reference.conform_locations)),
    _t("shipping_rates", ["rate_id"], None, LATEST_EXPORT,
       ("locations", "shipping_rates", reference.conform_shipping_rates)),
    _t("loyalty_members", ["member_id"], None, FIRST_ARRIVAL,
       ("loyalty", "members", reference.conform_loyalty_members)),
    _t("pos_transaction_lines", ["transaction_id", "line_no"], "event_date", FIRST_ARRIVAL,
       ("pos", "transactions", commerce.conform_pos_transactions)),
    _t("purchase_order_events", ["event_id"], None, FIRST_ARRIVAL,
       ("suppliers", "purchase_orders", operations.conform_purchase_orders)),
    _t("ad_clicks", ["click_id"], "event_date", FIRST_ARRIVAL,
       ("ads", "clicks", marketing.conform_ad_clicks)),
    _t("ad_spend", ["spend_id"], None, FIRST_ARRIVAL,
       ("ads", "spend", marketing.conform_ad_spend)),
    _t("shipments", ["shipment_id"], None, DELIVERED_FIRST,
       ("shipments", "shipments", commerce.conform_shipments)),
    _t("returns", ["return_id"], None, FIRST_ARRIVAL,
       ("returns", "returns", commerce.conform_returns)),
    _t("reviews", ["review_id"], None, FIRST_ARRIVAL,
       ("reviews", "reviews", commerce.conform_reviews)),
)
ORDERS = Layout(("order_id",), "order_date")
ORDER_LINES = Layout(("order_id", "line_id"), "order_date")
CROSSWALK = Layout(("system", "code"))
PURCHASE_ORDERS = Layout(("po_number",))
OBSERVATIONS = Layout(("record_id", "source", "identifier_type", "value"))
CUSTOMER_RECORDS = Layout(("record_id", "source"))

# name -> (key columns, partition column) of every silver table, for checks and docs
LAYOUTS: dict[str, Layout] = {
    PRODUCTS.name: PRODUCTS.layout, "product_crosswalk": CROSSWALK,
    **{t.name: t.layout for t in EVENT_TABLES},
    "orders": ORDERS, "order_lines": ORDER_LINES, "purchase_orders": PURCHASE_ORDERS,
    "identifier_observations": OBSERVATIONS, "customer_records": CUSTOMER_RECORDS,
}
# name -> what the table holds, for the asset graph (a table not listed gets a generic line)
DESCRIPTIONS: dict[str, str] = {
    "clickstream_events": "Web and app events in one schema, deduplicated by event id, in "
    "event time (skewed app clocks fall back to receipt time), product ids canonical.",
    "orders": "Shop orders, the latest version of each (cancellations update the order).",
    "order_lines": "Lines of the current version of each order, with canonical product ids.",
    "pos_transaction_lines": "Till sales lines in UTC, with canonical product and location.",
    "inventory_movements": "WMS movements and cycle counts with canonical product and location, "
    "source sequence kept.",
    "products": "The product master, latest export.",
    "product_crosswalk": "Every system's product code (web variant, till SKU, WMS item) to the "
    "canonical product id.",
    "purchase_orders": "Purchase orders folded from created and delivered events: ordered and "
    "delivered quantities, promised and actual dates, delay.",
    "identifier_observations": "Every identifier seen on every source record, normalised "
    "(e-mail provider rules, E.164 phones, cased names, standardised addresses).",
    "customer_records": "One row per source customer record: the input of identity resolution.",
}

# Bronze entities whose records carry customer identifiers (see identity_tables.py).
IDENTITY_SOURCES = {("orders", "orders"), ("loyalty", "members"), ("web", "events"),
                    ("app", "events"), ("pos", "transactions"), ("email", "events"),
                    ("reviews", "reviews")}


# Silver tables only identity resolution (a batch job) reads: micro-batches leave them to the
# next batch run, which folds in every batch they missed (see identity_tables.py).
IDENTITY_TABLES = ("identifier_observations", "customer_records")


# silver tables whose rows carry a product code mapped through the crosswalk
PRODUCT_MAPPED = ("clickstream_events", "orders", "pos_transaction_lines", "inventory_movements",
                  "purchase_order_events", "returns", "reviews")
# tables written from another table's rows in the same build
_DERIVED = {"orders": {"order_lines"}, "purchase_order_events": {"purchase_orders"},
            "products": {"product_crosswalk"}}


def tables_fed_by(channel: str, entity: str) -> set[str]:
    """The silver tables a batch of this bronze entity can change: what a micro-batch run
    materializes, so its cost follows the files it carries, not the number of tables. A batch
    that brings reference data (the catalog, the store list, orders) can release pending rows
    of the tables that reference it: those are included."""
    sources = {(channel, entity)}
    fed = {t.name for t in (PRODUCTS, *EVENT_TABLES)
           if any((c, e) == (channel, entity) for c, e, _ in t.sources)}
    if (channel, entity) == ("orders", "orders"):
        fed.add("orders")
    while True:  # what references a table in ``fed`` can be released by this batch
        more = {name for name, refs in REFERENCES.items()
                if name not in fed and any(r.table in fed for r in refs)}
        if "products" in fed:
            more |= set(PRODUCT_MAPPED) - fed
        if not more:
            break
        fed |= more
    for name in list(fed):
        fed |= _DERIVED.get(name, set())
        sources |= {(c, e) for t in (PRODUCTS, *EVENT_TABLES) if t.name == name
                    for c, e, _ in t.sources}
    if "orders" in fed:
        sources.add(("orders", "orders"))
    if sources & IDENTITY_SOURCES:
        fed |= {"identifier_observations", "customer_records"}
    return fed


def reads(name: str) -> tuple[set[tuple[str, str]], set[str]]:
    """What building silver table ``name`` reads: the bronze entities ``(channel, entity)``
    whose rows it conforms, and the silver tables it looks values up in (references, the
    product crosswalk, the table it is derived from). Its lineage, for the asset graph."""
    derived_from = {d: src for src, ds in _DERIVED.items() for d in ds}
    if name in IDENTITY_TABLES:
        return set(IDENTITY_SOURCES), set()
    if name in derived_from:
        bronze, _ = reads(derived_from[name])
        return bronze, {derived_from[name]}
    bronze = {(c, e) for t in (PRODUCTS, *EVENT_TABLES) if t.name == name
              for c, e, _ in t.sources}
    if name == "orders":
        bronze.add(("orders", "orders"))
    silver = {r.table for r in REFERENCES.get(name, ())}
    if name in PRODUCT_MAPPED:
        silver.add("product_crosswalk")
    if not bronze:
        raise KeyError(f"silver table {name!r} is not defined")
    return bronze, silver
