"""Versioned inputs as the lake knew them: every version of an order and of a catalog product
with the knowledge interval in which it was the version silver would have held.

Silver keeps only the winning version of a versioned record (orders: the latest ``updated_at``;
catalog products: the latest export). A training set in knowledge mode needs, at each label
time, the version that had won among the versions *delivered* by then. Bronze is append-only and
keeps every version with its knowledge time (``_delivered_at``), so the history is read from the
validated bronze snapshot and ranked with silver's own winner rules:

- a version ``v`` is known from ``known_at(v)`` (its file's delivery time);
- it is superseded at the earliest knowledge time of any version that outranks it;
- so at time ``T`` the winner is the version with ``known_at <= T < superseded_at``: exactly
  what silver would have kept had it been built from the files delivered by ``T``.

Why bronze and not a silver history table: bronze already holds every version with its
knowledge time, is append-only (its history is never rewritten, so any label time is
reproducible from one pinned version) and passes its own gate; a silver history table would
duplicate it, cost a write per batch and need a gate of its own. Only records silver holds are
read (a record silver quarantined stays out), and only the records with more than one version
are parsed again (orders through ``lakehouse.silver.commerce.conform_orders``, so a bronze
version becomes exactly the columns silver would have made of it).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from lakehouse.ml.inputs import ABSENT, HISTORY, TABLES, snapshot_frame
from lakehouse.silver.commerce import conform_orders
from lakehouse.silver.frames import with_knowledge

UTC_US = pl.Datetime("us", "UTC")
_ORDER_RANK = (("updated_at", True), ("_source_file", False), ("_line", False))
_EXPORT_RANK = (("_source_file", True), ("_line", False))


def intervals(versions: pl.DataFrame, key: str, rank: tuple[tuple[str, bool], ...]
              ) -> pl.DataFrame:
    """``versions`` (each with ``known_at``) plus ``superseded_at``: the earliest knowledge time
    of a version ranked above it (null: none). Versions that never win (superseded no later
    than they became known) are dropped."""
    cols = [key, *(c for c, _ in rank)]
    desc = [False, *(d for _, d in rank)]
    ranked = versions.sort(cols, descending=desc, nulls_last=True, maintain_order=True)
    out = ranked.with_columns(
        pl.col("known_at").cum_min().shift(1).over(key).alias("superseded_at"))
    return out.filter(pl.col("superseded_at").is_null()
                      | (pl.col("known_at") < pl.col("superseded_at")))


def _known(frame: pl.DataFrame) -> pl.DataFrame:
    return with_knowledge(frame).with_columns(pl.col("_delivered_at").alias("known_at"))


def _table(con: duckdb.DuckDBPyConnection, view: str) -> pl.DataFrame:
    return con.sql(f"select * from {view}").pl()


def _register(con: duckdb.DuckDBPyConnection, view: str, frame: pl.DataFrame) -> None:
    con.register(f"_{view}_history", frame.to_arrow())
    con.execute(f"create or replace view {view} as select * from _{view}_history")


def register_order_history(con: duckdb.DuckDBPyConnection, lake: Path,
                           versions: dict[str, int]) -> None:
    """Replace views ``orders`` and ``order_lines`` by every version of every silver order
    with its knowledge interval (lines carry their version's interval)."""
    orders = _table(con, "orders").drop("superseded_at")
    lines = _table(con, "order_lines").drop("superseded_at")
    bronze_table = HISTORY["orders"]
    bronze = None
    if versions.get(bronze_table, ABSENT) != ABSENT and orders.height:
        uri = str(lake / bronze_table)
        con.register("_silver_order_ids", orders.select(pl.col("order_id").alias("id"))
                     .unique().to_arrow())
        ids = snapshot_frame(con, uri, versions[bronze_table], ["id"])
        assert ids is not None
        multi = ids.group_by("id").len().filter(pl.col("len") > 1).join(
            orders.select(pl.col("order_id").alias("id")), on="id", how="semi")
        if multi.height:
            con.register("_multi_version_ids", multi.select("id").to_arrow())
            bronze = snapshot_frame(con, uri, versions[bronze_table], None,
                                    "id in (select id from _multi_version_ids)")
    if bronze is not None and bronze.height:
        crosswalk = _crosswalk(con, lake, versions)
        old_orders, old_lines, _ = conform_orders(with_knowledge(bronze), crosswalk)
        vkey = ["order_id", "_source_file", "_line"]
        orders = pl.concat([orders, _known(old_orders).select(orders.columns)
                            .cast(orders.schema)  # type: ignore[arg-type]
                            .join(orders.select(vkey), on=vkey, how="anti")])
        lkey = ["order_id", "line_id", "_source_file", "_line"]
        lines = pl.concat([lines, _known(old_lines).select(lines.columns)
                           .cast(lines.schema)  # type: ignore[arg-type]
                           .join(lines.select(lkey), on=lkey, how="anti")])
    orders = intervals(orders, "order_id", _ORDER_RANK)
    span = orders.select("order_id", "_source_file", "_line", "known_at", "superseded_at")
    lines = lines.drop("known_at").join(span, on=["order_id", "_source_file", "_line"])
    _register(con, "orders", orders)
    _register(con, "order_lines", lines)


def _crosswalk(con: duckdb.DuckDBPyConnection, lake: Path,
               versions: dict[str, int]) -> pl.DataFrame:
    """Web variant -> product of the silver catalog read (what silver maps order lines with)."""
    products = snapshot_frame(con, str(lake / TABLES["products"]),
                              versions.get(TABLES["products"], ABSENT),
                              ["product_id", "web_variant_id"])
    schema = {"system": pl.String, "code": pl.String, "product_id": pl.String}
    if products is None:
        return pl.DataFrame(schema=schema)
    return products.select(pl.lit("web").alias("system"),
                           pl.col("web_variant_id").alias("code"), "product_id")


def register_product_history(con: duckdb.DuckDBPyConnection, lake: Path,
                             versions: dict[str, int]) -> None:
    """Replace view ``products`` by every catalog export row of every silver product with its
    knowledge interval (silver's rule: the latest export wins)."""
    products = _table(con, "products").drop("superseded_at")
    bronze_table = HISTORY["products"]
    if versions.get(bronze_table, ABSENT) != ABSENT and products.height:
        cols = [c for c in products.columns if c != "known_at"]
        bronze = snapshot_frame(con, str(lake / bronze_table), versions[bronze_table], cols)
        assert bronze is not None
        bronze = _known(bronze).select(products.columns).cast(products.schema)  # type: ignore[arg-type]
        key = ["product_id", "_source_file", "_line"]
        products = pl.concat([products, bronze.join(products.select("product_id").unique(),
                                                    on="product_id", how="semi")
                              .join(products.select(key), on=key, how="anti")])
    _register(con, "products", intervals(products, "product_id", _EXPORT_RANK))


def earliest_knowledge(con: duckdb.DuckDBPyConnection, views: list[str]) -> object:
    """The earliest knowledge time of any row of ``views`` (None: no rows)."""
    parts = " union all ".join(f"select min(known_at) as t from {v}" for v in views)
    return con.sql(f"select min(t) from ({parts})").fetchall()[0][0]
