"""Point-in-time-correct training sets from validated table versions, as known at label time.

``training_set("customer", labels=labels)`` gives one row per label row: the label columns as
given, then the customer features of ``person_id`` as the lake knew them at ``label_time``.
Without labels it gives one row per entity as of ``as_of`` (default now): exactly what the
published feature marts hold.

Two times (DESIGN.md rule 8). Every record has an event time (when it happened) and a
knowledge time (``_delivered_at``: when the landing file that brought it was delivered, its
modification time). ``point_in_time`` chooses what "at label_time" means:

- ``"knowledge"`` (default): what a model serving at ``label_time`` could have seen. An event
  counts when ``event_time < label_time`` and ``_delivered_at <= label_time`` (a late event
  delivered after the label time is left out); an order counts in the version that was the
  latest *known* at ``label_time`` (a cancellation delivered later is not seen), and a catalog
  product with the category and price of the export known then. Versions come from bronze
  (``bronze/orders__orders``, ``bronze/catalog__products``: append-only, every version with its
  knowledge time), ranked with silver's own winner rules (``lakehouse.ml.history``). So a set
  built for label time T is identical before and after later files land.
- ``"event"``: the lake as it knows the past now: every event with ``event_time <
  label_time``, including late ones, orders and catalog in their latest version.

Not exact as of knowledge time yet (read as of the table version in both modes): the identity
map (which person a record belongs to: a link learnt from a file delivered after the label time
is used; records themselves only contribute through rows known by then), the promotion calendar
(published ahead) and the daily stock closes (``gold/inventory_daily``, folded in event time).

Tables written before ``_delivered_at`` existed read their rows' knowledge time as
``_ingested_at`` (later than the truth: such rows are never used too early). A label time
before the earliest knowledge time of every input read raises :class:`HistoryError`: nothing
was known then, and the usual cause is a history ingested without delivery times.

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
from lakehouse.ml.features import CUTOFF, customer_sql, known, product_sql, run, top_categories
from lakehouse.ml.history import (
    earliest_knowledge,
    register_order_history,
    register_product_history,
)
from lakehouse.ml.inputs import HISTORY, KNOWN, TABLES, connect, register_inputs, resolve_versions

LABEL_TIME = "label_time"
POINT_IN_TIME = ("knowledge", "event")


class HistoryError(ValueError):
    """A label time (or ``as_of``) before the earliest knowledge time of the inputs."""


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
    sql: Callable[[duckdb.DuckDBPyConnection, str, str | None], str]

    def inputs(self, point_in_time: str) -> tuple[str, ...]:
        """The tables read in a mode: the bronze version histories only in knowledge mode."""
        if point_in_time == "knowledge":
            return self.tables
        return tuple(t for t in self.tables if t not in HISTORY.values())


FEATURE_SETS = {
    "customer": FeatureSet(
        name="customer", key="person_id",
        tables=("silver/orders", "silver/order_lines", "silver/pos_transaction_lines",
                "silver/clickstream_events", "silver/email_events", "silver/returns",
                "silver/products", "gold/identity_map", HISTORY["orders"],
                HISTORY["products"]),
        entities="select person_id from persons",
        register=lambda con, home: register_customer_views(con, _hmac_key(home)),
        sql=lambda con, cutoff_name, at: customer_sql(top_categories(con, at=at),
                                                      cutoff_name)),
    "product": FeatureSet(
        name="product", key="product_id",
        tables=("silver/orders", "silver/order_lines", "silver/pos_transaction_lines",
                "silver/returns", "silver/reviews", "silver/products", "silver/promotions",
                "gold/inventory_daily", HISTORY["orders"], HISTORY["products"]),
        entities="select product_id from catalog c where {known}",
        register=lambda con, home: register_product_views(con),
        sql=lambda con, cutoff_name, at: product_sql(cutoff_name)),
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
    point_in_time: str = "knowledge"

    def rebuild(self) -> TrainingSet:
        """The same set again from the same table versions."""
        return training_set(self.name, as_of=self.as_of, labels=self.labels, home=self.home,
                            versions=self.versions, point_in_time=self.point_in_time)


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


def _instant(ts: datetime) -> str:
    return f"timestamptz '{ts.isoformat()}'"


def _check_history(con: duckdb.DuckDBPyConnection, versions: Mapping[str, int],
                   earliest_cutoff: datetime) -> None:
    """Raise :class:`HistoryError` when the earliest cutoff precedes every knowledge time."""
    views = [v for v in KNOWN if TABLES[v] in versions]
    first = earliest_knowledge(con, views) if views else None
    if first is not None and earliest_cutoff < first:
        raise HistoryError(
            f"label time {earliest_cutoff.isoformat()} is before the lake's history: the "
            f"earliest knowledge time of any input row is {first.isoformat()}, so nothing was "
            "known then (rows ingested before delivery times were recorded count as known "
            "when ingested). Use later label times, or point_in_time='event' to read the past "
            "as the lake knows it now")


def compute(name: str, home: Home, versions: Mapping[str, int], spine: pl.DataFrame | None,
            as_of: datetime, cutoff_name: str, point_in_time: str = "knowledge",
            ) -> pl.DataFrame:
    """Features of ``spine(key, cutoff)`` (every entity at ``as_of`` when None) from the
    tables at ``versions``, as known at each cutoff (``point_in_time="knowledge"``) or as
    known now (``"event"``)."""
    fs = _feature_set(name)
    knowledge = point_in_time == "knowledge"
    con = connect()
    try:
        register_inputs(con, home.lake, versions, knowledge=knowledge)
        latest = as_of if spine is None else spine[CUTOFF].max()
        if knowledge:
            earliest = as_of if spine is None else spine[CUTOFF].min()
            _check_history(con, versions, earliest)  # type: ignore[arg-type]
            if TABLES["orders"] in versions:
                register_order_history(con, home.lake, dict(versions))
            register_product_history(con, home.lake, dict(versions))
        fs.register(con, home)
        if spine is None:
            entities = fs.entities.format(known=known("c", _instant(as_of)))
            con.execute(f"create or replace view spine as select distinct {fs.key}, "
                        f"{_instant(as_of)} as {CUTOFF} from ({entities})")
        else:
            con.register("spine", spine.select(pl.col(fs.key).cast(pl.String),
                                               pl.col(CUTOFF)).unique().to_arrow())
        # the affinity columns: the catalog as known at the latest cutoff (knowledge mode)
        at = _instant(latest) if knowledge and latest is not None else None  # type: ignore[arg-type]
        return run(con, fs.sql(con, cutoff_name, at))
    finally:
        con.close()


def training_set(name: str, as_of: datetime | None = None, labels: pl.DataFrame | None = None,
                 home: str | Path | Home | None = None,
                 versions: Mapping[str, int] | None = None,
                 point_in_time: str = "knowledge") -> TrainingSet:
    """Point-in-time-correct features of ``name`` ("customer" or "product").

    - ``labels``: a frame with the entity key (``person_id`` / ``product_id``), ``label_time``
      and any label columns (kept as they are, in order); each row gets the features of its
      entity from events strictly before its ``label_time``.
    - ``point_in_time``: ``"knowledge"`` (default): only what had been delivered by each
      ``label_time`` (events, order and catalog versions; see the module docstring), so a set
      does not change when later files land; ``"event"``: every event before the label time
      as the lake knows it now (late events included, latest versions).
    - without labels: one row per entity (every person of the identity map, every catalog
      product) with features as of ``as_of`` (default now), stamped in column ``as_of``.
    - ``versions``: pin the table versions to read (from an earlier result's ``versions``);
      default: the newest version of each input that passed its quality gate. An input with
      no validated version raises :class:`lakehouse.ml.inputs.NotValidatedError`.
    """
    fs = _feature_set(name)
    if point_in_time not in POINT_IN_TIME:
        raise ValueError(f"point_in_time must be one of {', '.join(POINT_IN_TIME)}, "
                         f"not {point_in_time!r}")
    h = home if isinstance(home, Home) else Home.resolve(home)
    stamp = _utc(as_of)
    read = resolve_versions(h.lake, fs.inputs(point_in_time), versions)
    if labels is None:
        frame = compute(name, h, read, None, stamp, "as_of", point_in_time)
        return TrainingSet(name, frame, read, stamp, h.root, point_in_time=point_in_time)
    spine = _label_spine(labels, fs.key)
    features = compute(name, h, read, spine.rename({LABEL_TIME: CUTOFF}), stamp, LABEL_TIME,
                       point_in_time)
    clash = (set(features.columns) - {fs.key, LABEL_TIME}) & set(spine.columns)
    if clash:
        raise ValueError(f"label columns {', '.join(sorted(clash))} clash with feature names")
    frame = (spine.with_columns(pl.col(fs.key).cast(pl.String))
             .join(features, on=[fs.key, LABEL_TIME], how="left", maintain_order="left"))
    return TrainingSet(name, frame, read, stamp, h.root, labels, point_in_time)
