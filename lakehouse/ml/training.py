"""Point-in-time-correct training sets from validated table versions.

``training_set("customer", labels=labels)`` gives one row per label row: the label columns as
given, then the customer features of ``person_id`` computed from events with
``event_time < label_time`` only. Without labels it gives one row per entity as of ``as_of``
(default now): exactly what the published feature marts hold.

Point in time means event time. A late event (ingested after ``label_time`` but with an event
time before it) is used: the features describe what had happened by ``label_time`` as the
lake knows it now, not what a model serving at ``label_time`` could have seen. Reference data
(catalog price and category, promotion calendar, identity links) is read as of the table
version; see ``lakehouse.ml.features``.

Only versions that passed their quality gate are read (``lakehouse.storage.validations``); the
result names them, and ``training_set(..., versions=result.versions, as_of=result.as_of)`` (or
``result.rebuild()``) re-reads exactly those versions through Delta time travel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from lakehouse.home import Home
from lakehouse.ml.canonical import register_customer_views, register_product_views
from lakehouse.ml.features import CUTOFF, customer_sql, product_sql, run, top_categories
from lakehouse.ml.inputs import connect, register_inputs, resolve_versions

LABEL_TIME = "label_time"


def _hmac_key(home: Home) -> bytes:
    from lakehouse.identity.pii import load_key  # only the customer set needs identity

    return load_key(home.root)


@dataclass(frozen=True)
class FeatureSet:
    name: str
    key: str  # entity key column
    tables: tuple[str, ...]  # inputs under H/lake, each read at a validated version
    entities: str  # SQL: every entity of the set (the spine of a mart)
    register: Callable[[duckdb.DuckDBPyConnection, Home], None]
    sql: Callable[[duckdb.DuckDBPyConnection, str], str]


FEATURE_SETS = {
    "customer": FeatureSet(
        name="customer", key="person_id",
        tables=("silver/orders", "silver/order_lines", "silver/pos_transaction_lines",
                "silver/clickstream_events", "silver/email_events", "silver/returns",
                "silver/products", "gold/identity_map"),
        entities="select person_id from persons",
        register=lambda con, home: register_customer_views(con, _hmac_key(home)),
        sql=lambda con, cutoff_name: customer_sql(top_categories(con), cutoff_name)),
    "product": FeatureSet(
        name="product", key="product_id",
        tables=("silver/orders", "silver/order_lines", "silver/pos_transaction_lines",
                "silver/returns", "silver/reviews", "silver/products", "silver/promotions",
                "gold/inventory_daily"),
        entities="select product_id from catalog",
        register=lambda con, home: register_product_views(con),
        sql=lambda con, cutoff_name: product_sql(cutoff_name)),
}


@dataclass(frozen=True)
class TrainingSet:
    """A feature frame and what it was built from: enough to rebuild it exactly."""

    name: str
    frame: pl.DataFrame
    versions: dict[str, int]  # {"silver/orders": 12, ...}: the table versions read
    as_of: datetime  # the cutoff of an unlabelled set; when a labelled set was built
    home: Path
    labels: pl.DataFrame | None = field(default=None, repr=False)

    def rebuild(self) -> TrainingSet:
        """The same set again from the same table versions."""
        return training_set(self.name, as_of=self.as_of, labels=self.labels, home=self.home,
                            versions=self.versions)


def _utc(ts: datetime | None) -> datetime:
    ts = ts or datetime.now(UTC)
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _feature_set(name: str) -> FeatureSet:
    if name not in FEATURE_SETS:
        raise ValueError(f"unknown feature set {name!r}; one of {', '.join(FEATURE_SETS)}")
    return FEATURE_SETS[name]


def _label_spine(labels: pl.DataFrame, key: str) -> pl.DataFrame:
    """Labels with ``label_time`` as UTC microseconds (naive: taken as UTC; a date: its
    midnight UTC)."""
    missing = [c for c in (key, LABEL_TIME) if c not in labels.columns]
    if missing:
        raise ValueError(f"labels need columns {key!r} and {LABEL_TIME!r}; missing "
                         f"{', '.join(missing)} (have {', '.join(labels.columns)})")
    dtype = labels.schema[LABEL_TIME]
    t = pl.col(LABEL_TIME)
    if dtype == pl.Date:
        t = t.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    elif isinstance(dtype, pl.Datetime):
        t = (t.dt.replace_time_zone("UTC") if dtype.time_zone is None
             else t.dt.convert_time_zone("UTC"))
        t = t.dt.cast_time_unit("us")
    else:
        raise ValueError(f"labels.{LABEL_TIME} must be a datetime or date, not {dtype}")
    out = labels.with_columns(t)
    nulls = out.select(pl.col(key).is_null().sum(), pl.col(LABEL_TIME).is_null().sum()).row(0)
    if any(nulls):
        raise ValueError(f"labels have {nulls[0]} null {key} and {nulls[1]} null {LABEL_TIME}")
    return out


def compute(name: str, home: Home, versions: Mapping[str, int], spine: pl.DataFrame | None,
            as_of: datetime, cutoff_name: str) -> pl.DataFrame:
    """Features of ``spine(key, cutoff)`` (every entity at ``as_of`` when None) from the
    tables at ``versions``."""
    fs = _feature_set(name)
    con = connect()
    try:
        register_inputs(con, home.lake, versions)
        fs.register(con, home)
        if spine is None:
            con.execute(f"create or replace view spine as select distinct {fs.key}, "
                        f"timestamptz '{as_of.isoformat()}' as {CUTOFF} from ({fs.entities})")
        else:
            con.register("spine", spine.select(pl.col(fs.key).cast(pl.String),
                                               pl.col(CUTOFF)).unique().to_arrow())
        return run(con, fs.sql(con, cutoff_name))
    finally:
        con.close()


def training_set(name: str, as_of: datetime | None = None, labels: pl.DataFrame | None = None,
                 home: str | Path | Home | None = None,
                 versions: Mapping[str, int] | None = None) -> TrainingSet:
    """Point-in-time-correct features of ``name`` ("customer" or "product").

    - ``labels``: a frame with the entity key (``person_id`` / ``product_id``), ``label_time``
      and any label columns (kept as they are, in order); each row gets the features of its
      entity from events strictly before its ``label_time``.
    - without labels: one row per entity (every person of the identity map, every catalog
      product) with features as of ``as_of`` (default now), stamped in column ``as_of``.
    - ``versions``: pin the table versions to read (from an earlier result's ``versions``);
      default: the newest version of each input that passed its quality gate. An input with
      no validated version raises :class:`lakehouse.ml.inputs.NotValidatedError`.
    """
    fs = _feature_set(name)
    h = home if isinstance(home, Home) else Home.resolve(home)
    stamp = _utc(as_of)
    read = resolve_versions(h.lake, fs.tables, versions)
    if labels is None:
        frame = compute(name, h, read, None, stamp, "as_of")
        return TrainingSet(name, frame, read, stamp, h.root)
    spine = _label_spine(labels, fs.key)
    features = compute(name, h, read, spine.rename({LABEL_TIME: CUTOFF}), stamp, LABEL_TIME)
    clash = (set(features.columns) - {fs.key, LABEL_TIME}) & set(spine.columns)
    if clash:
        raise ValueError(f"label columns {', '.join(sorted(clash))} clash with feature names")
    frame = (spine.with_columns(pl.col(fs.key).cast(pl.String))
             .join(features, on=[fs.key, LABEL_TIME], how="left", maintain_order="left"))
    return TrainingSet(name, frame, read, stamp, h.root, labels)
