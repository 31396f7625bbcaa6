"""The feature definitions on polars frames, for tests and ad-hoc use (notebooks).

The functions :func:`customer_features` and :func:`product_features` run the same SQL as the
marts and training sets (``features.py``) on polars frames of the canonical relations (see
``lakehouse.ml.canonical``).
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import polars as pl

from lakehouse.ml.features import CUTOFF, customer_sql, product_sql, run
from lakehouse.ml.inputs import connect

CUSTOMER_RELATIONS = {
    "purchase_lines": {"person_id": pl.String, "order_key": pl.String, "channel": pl.String,
                       "event_time": pl.Datetime("us", "UTC"),
                       "cancelled_at": pl.Datetime("us", "UTC"), "category": pl.String,
                       "quantity": pl.Int64, "amount": pl.Float64},
    "customer_returns": {"person_id": pl.String, "event_time": pl.Datetime("us", "UTC"),
                         "quantity": pl.Int64, "refund": pl.Float64},
    "interactions": {"person_id": pl.String, "event_time": pl.Datetime("us", "UTC"),
                     "session_id": pl.String},
    "email_activity": {"person_id": pl.String, "event_time": pl.Datetime("us", "UTC"),
                       "event_type": pl.String, "campaign_id": pl.String},
}
PRODUCT_RELATIONS = {
    "sales": {"product_id": pl.String, "event_time": pl.Datetime("us", "UTC"),
              "cancelled_at": pl.Datetime("us", "UTC"), "channel": pl.String,
              "quantity": pl.Int64, "amount": pl.Float64, "list_amount": pl.Float64},
    "product_returns": {"product_id": pl.String, "event_time": pl.Datetime("us", "UTC"),
                        "quantity": pl.Int64},
    "product_reviews": {"product_id": pl.String, "event_time": pl.Datetime("us", "UTC"),
                        "rating": pl.Int64},
    "catalog": {"product_id": pl.String, "category": pl.String, "price": pl.Float64},
    "promos": {"category": pl.String, "discount_pct": pl.Float64, "start_date": pl.Date,
               "end_date": pl.Date},
    "stock_daily": {"product_id": pl.String, "date": pl.Date, "on_hand": pl.Int64,
                    "available": pl.Int64},
}
_KNOWLEDGE = {"known_at": pl.Datetime("us", "UTC"), "superseded_at": pl.Datetime("us", "UTC")}
for _schema in (*CUSTOMER_RELATIONS.values(), *PRODUCT_RELATIONS.values()):
    if "event_time" in _schema or "price" in _schema:  # relations of events and versions
        _schema.update(_KNOWLEDGE)
_MONEY = {"amount", "list_amount", "refund"}


def _register_frames(con: duckdb.DuckDBPyConnection, schemas: dict[str, dict],
                     frames: dict[str, pl.DataFrame | None]) -> None:
    for name, schema in schemas.items():
        frame = frames.get(name)
        frame = pl.DataFrame(schema=schema) if frame is None else frame
        missing = [c for c in schema if c not in frame.columns]
        frame = frame.with_columns(pl.lit(None, schema[c]).alias(c) for c in missing)
        frame = frame.select(pl.col(c).cast(t) for c, t in schema.items())
        con.register(f"_{name}", frame.to_arrow())
        cols = ", ".join(f"{c}::decimal(18, 2) as {c}" if c in _MONEY else c for c in schema)
        con.execute(f"create or replace view {name} as select {cols} from _{name}")


def _spine(con: duckdb.DuckDBPyConnection, spine: pl.DataFrame, key: str) -> None:
    frame = spine.select(pl.col(key).cast(pl.String),
                         pl.col(CUTOFF).cast(pl.Datetime("us", "UTC"))).unique()
    con.register("spine", frame.to_arrow())


def customer_features(spine: pl.DataFrame, categories: Sequence[str] = (),
                      cutoff_name: str = "as_of", **relations: pl.DataFrame) -> pl.DataFrame:
    """Customer features for ``spine(person_id, cutoff)`` from frames of the customer relations
    (``purchase_lines``, ``customer_returns``, ``interactions``, ``email_activity``; a missing
    relation or column is empty/null)."""
    con = connect()
    try:
        _register_frames(con, CUSTOMER_RELATIONS, relations)
        _spine(con, spine, "person_id")
        return run(con, customer_sql(categories, cutoff_name))
    finally:
        con.close()


def product_features(spine: pl.DataFrame, cutoff_name: str = "as_of",
                     **relations: pl.DataFrame) -> pl.DataFrame:
    """Product features for ``spine(product_id, cutoff)`` from frames of the product relations
    (``sales``, ``product_returns``, ``product_reviews``, ``catalog``, ``promos``,
    ``stock_daily``)."""
    con = connect()
    try:
        _register_frames(con, PRODUCT_RELATIONS, relations)
        _spine(con, spine, "product_id")
        return run(con, product_sql(cutoff_name))
    finally:
        con.close()
