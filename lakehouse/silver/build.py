"""Build silver from bronze: one batch incrementally, or everything as a full rebuild.

Per table: read the batch's bronze rows -> conform (pure) -> keep the winner per key within the
batch -> fold with the stored rows of the same keys (only the partitions the batch touches) ->
write what changed, with ``Transaction("lakehouse.silver/<batch>", 1)`` in the same commit.
A batch already committed to a table is skipped there, so a re-run, or a retry after a crash
part-way through the tables, changes nothing that is done.

Rows whose reference is not known yet (a product code the crosswalk lacks, a location, the order
of a shipment: ``references.py``) go to the quarantine as *pending*, once per batch. Every build
retries the rows still pending next to its own batch (``pending.py``); tables are built in
stages, each after the tables it references, so a batch that brings an order and its return
releases both. A released row keeps its lineage and carries the releasing batch.

Counts per table: ``rows_in = inserted + updated + duplicates + quarantined + waiting``, where
``updated`` rows replaced a stored row with the same key (a later order version, or an earlier
copy of an event that arrived later), ``duplicates`` are rows that lost to another row and
``waiting`` are pending rows retried and still unresolved (``released`` counts those that went
through: they are inside the first three).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import polars as pl

from lakehouse.home import Home
from lakehouse.ingest.quarantine import SCHEMA as QUARANTINE_SCHEMA
from lakehouse.silver import commerce, identity_inputs, operations, reference
from lakehouse.silver.delta_io import (
    APP_VERSION,
    RELEASED,
    Layout,
    PinnedTables,
    Tables,
    Written,
    app_id,
    batches_in,
    overwrite,
    read_batches,
    read_bronze,
    read_existing,
    sync,
)
from lakehouse.silver.pending import Pending
from lakehouse.silver.products import CROSSWALK_SCHEMA, MAPPING_FILE, read_mapping
from lakehouse.silver.references import Reference, hold_back, stages
from lakehouse.silver.tables import (
    CROSSWALK,
    CUSTOMER_RECORDS,
    EVENT_TABLES,
    FIRST_ARRIVAL,
    IDENTITY_SOURCES,
    LATEST_UPDATE,
    OBSERVATIONS,
    ORDER_LINES,
    ORDERS,
    PRODUCTS,
    PURCHASE_ORDERS,
    SilverTable,
    keep_best,
)
from lakehouse.storage.delta import append_files_once, committed
from lakehouse.storage.paths import bronze_uri, quarantine_uri, table_uri

# silver tables built at once (LAKEHOUSE_THREADS=1: one at a time)
WORKERS = int(os.environ.get("LAKEHOUSE_THREADS") or min(2, os.cpu_count() or 1))


@dataclass
class TableResult:
    table: str
    rows_in: int = 0  # bronze rows of the batch feeding this table (0 for derived tables)
    inserted: int = 0
    updated: int = 0
    duplicates: int = 0
    quarantined: int = 0  # newly quarantined (pending: a reference not known yet)
    waiting: int = 0  # pending rows retried that still wait
    released: int = 0  # pending rows retried that reached silver (within the counts above)
    skipped: bool = False  # the batch was already in this table
    derived: bool = False  # built from other silver rows, not from bronze: no balance

    @property
    def balanced(self) -> bool:
        kept = (self.inserted + self.updated + self.duplicates + self.quarantined
                + self.waiting)
        return self.skipped or self.derived or self.rows_in == kept


@dataclass
class SilverResult:
    batch_id: str | None
    tables: dict[str, TableResult] = field(default_factory=dict)

    @property
    def rows_in(self) -> int:
        return sum(t.rows_in for t in self.tables.values())

    @property
    def quarantined(self) -> int:
        return sum(t.quarantined for t in self.tables.values())

    @property
    def released(self) -> int:
        return sum(t.released for t in self.tables.values())

    @property
    def waiting(self) -> int:
        return sum(t.waiting for t in self.tables.values())

    def metadata(self) -> dict:
        return {"batch_id": self.batch_id, "rows_in": self.rows_in,
                "quarantined": self.quarantined, "released": self.released,
                "waiting": self.waiting,
                "tables": {k: vars(v) for k, v in sorted(self.tables.items())}}


class _Run:
    """State of one build: the home, the batch, the app ids it commits, its quarantine rows."""

    def __init__(self, home: Home, batch_id: str | None, release_id: str,
                 only: set[str] | None = None) -> None:
        self.home = home
        self.batch_id = batch_id
        self.only = only
        self.pending = Pending(quarantine_uri(home), release_id)
        self.result = SilverResult(batch_id)
        self.quarantine: dict[str, list[pl.DataFrame]] = {}  # by table, written in fixed order
        self.tables = Tables()  # each table loaded once per run
        self.inputs = PinnedTables()  # bronze at its validated pins: checked rows only
        self._batches: dict[tuple[str, str], list[str]] = {}
        self._created: dict[str, pl.DataFrame] = {}  # tables this run created: their rows

    def uri(self, name: str) -> str:
        return table_uri(self.home, "silver", name)

    def bronze(self, channel: str, entity: str) -> pl.DataFrame | None:
        """The batch's bronze rows (every row on a rebuild), with the rows of this entity that
        still wait in the quarantine: retried on every build."""
        uri = bronze_uri(self.home, channel, entity)
        rows = read_bronze(self.inputs, uri, self.batch_id)
        if self.batch_id is None:
            return rows
        return self.pending.retry(self.inputs, uri, channel, entity, rows)

    def known(self, ref: Reference, values: pl.Series) -> pl.Series:
        """The ``values`` that ``ref.table`` holds now (tables are built after the tables they
        reference, so this batch's rows of it are in)."""
        dt = self.tables.get(self.uri(ref.table)) if len(values) else None
        if dt is None:
            return values.clear()
        files = [u.removeprefix("file://") for u in dt.file_uris()]
        if not files:
            return values.clear()
        found = pl.scan_parquet(files, hive_partitioning=False, missing_columns="insert",
                                extra_columns="ignore").select(ref.key).filter(
            pl.col(ref.key).is_in(values.implode())).unique().collect()
        return found[ref.key]

    def refuse(self, res: TableResult, table: str, channel: str, entity: str,
               good: pl.DataFrame, bad: pl.DataFrame, bronze: pl.DataFrame) -> pl.DataFrame:
        """Hold back rows whose references are not known yet, stamp released rows (released
        here, or already in bronze: ``release.py``), queue new quarantine rows (rows already
        waiting there stay as they are); returns the good rows."""
        good, held = hold_back(good, table, self.known, channel=channel, entity=entity)
        # conform functions that refuse nothing return an empty frame of any shape
        bad = pl.concat([b for b in (bad, held) if b.height]
                        or [pl.DataFrame(schema=QUARANTINE_SCHEMA)])
        before = len(self.pending.released)
        good = self.pending.stamp(good, channel, entity)
        if RELEASED in bronze.columns and bronze[RELEASED].null_count() < bronze.height:
            on = ["_source_file", "_line", "_batch_id"]
            carried = bronze.filter(pl.col(RELEASED).is_not_null()).select(
                *on, pl.col(RELEASED).alias("_carried"))
            good = good.join(carried, on=on, how="left", maintain_order="left").with_columns(
                pl.coalesce(RELEASED, "_carried").alias(RELEASED)).drop("_carried")
        res.released += sum(f.height for f in self.pending.released[before:])
        waiting = self.pending.still_waiting(bad)
        n_waiting = int(waiting.sum())
        res.waiting += n_waiting
        res.quarantined += bad.height - n_waiting
        bad = bad.filter(~waiting)
        # written once per batch that brought the row to silver: its own, or the batch that
        # released it from bronze (whose own batch may have written its quarantine rows)
        via = pl.col("_batch_id")
        if RELEASED in bronze.columns and bad.height:
            on = ["_source_file", "_line", "_batch_id"]
            bad = bad.join(bronze.select(*on, RELEASED), on=on, how="left",
                           maintain_order="left")
            via = pl.coalesce(RELEASED, "_batch_id")
        self.quarantine.setdefault(table, []).append(
            bad.with_columns(via.alias("_via")).drop(RELEASED, strict=False))
        return good

    def app_ids(self, sources: list[tuple[str, str]]) -> list[str]:
        """The batch's id, or on a full rebuild every batch found in the source tables."""
        if self.batch_id is not None:
            return [app_id(self.batch_id)]
        found: set[str] = set()
        for source in sources:
            if source not in self._batches:
                self._batches[source] = batches_in(self.inputs, bronze_uri(self.home, *source))
            found.update(self._batches[source])
        return [app_id(b) for b in sorted(found)]

    def write(self, name: str, layout: Layout, rows: pl.DataFrame, app_ids: list[str],
              combine=None) -> Written:
        if self.batch_id is None:
            return overwrite(self.tables, self.uri(name), layout, rows, app_ids)
        w = sync(self.tables, self.uri(name), layout, rows, app_ids, combine)
        if w.created:
            self._created[name] = rows
        return w

    def table(self, spec: SilverTable, crosswalk: pl.DataFrame) -> pl.DataFrame:
        """Conform, dedupe and write one table; return the batch's conformed good rows."""
        res = self.result.tables.setdefault(spec.name, TableResult(spec.name))
        goods = []
        for channel, entity, conform in spec.sources:
            bronze = self.bronze(channel, entity)
            if bronze is None or bronze.is_empty():
                continue
            good, bad = conform(bronze, crosswalk)
            res.rows_in += bronze.height
            goods.append(self.refuse(res, spec.name, channel, entity, good, bad, bronze))
        if not goods:
            return pl.DataFrame()
        good = pl.concat(goods, how="diagonal_relaxed")
        combine = keep_best(spec.layout, spec.rank)
        winners = combine(good.clear(), good)
        app_ids = self.app_ids([(c, e) for c, e, _ in spec.sources])
        self._count(res, self.write(spec.name, spec.layout, winners, app_ids, combine),
                    good.height)
        return good

    @staticmethod
    def _count(res: TableResult, w: Written, good: int) -> None:
        res.skipped = w.skipped
        res.inserted, res.updated = w.inserted, w.updated
        res.duplicates = 0 if w.skipped else good - w.inserted - w.updated

    def derived(self, name: str, layout: Layout, rows: pl.DataFrame, app_ids: list[str],
                combine=None) -> None:
        w = self.write(name, layout, rows, app_ids, combine)
        self.result.tables[name] = TableResult(name, inserted=w.inserted, updated=w.updated,
                                               skipped=w.skipped, derived=True)

    def stored(self, name: str, layout: Layout, keys: pl.DataFrame) -> pl.DataFrame:
        """Stored rows of a silver table for the given keys (after this run's writes): what
        this run wrote when it created the table (no need to read back what was just written),
        else read from the table."""
        if name in self._created:
            on = [k for k in layout.key if k in keys.columns]
            return self._created[name].join(keys.select(on).unique(), on=on, how="semi",
                                            nulls_equal=True)
        dt = self.tables.get(self.uri(name))
        return keys.clear() if dt is None else read_existing(self.uri(name), dt, layout, keys)


def _crosswalk(run: _Run) -> pl.DataFrame:
    """Catalog first: every later table maps product codes through the current crosswalk:
    the catalog's codes, plus the home's hand-kept mapping for codes the catalog lacks."""
    run.table(PRODUCTS, pl.DataFrame(schema=CROSSWALK_SCHEMA))
    # every row (batch None), read by polars: deltalake's to_pyarrow_table imports pandas
    products = read_bronze(run.tables, run.uri("products"), None)
    mapping_file = run.home.mappings / MAPPING_FILE
    mapping = read_mapping(mapping_file) if mapping_file.is_file() else None
    if products is None and mapping is None:
        return pl.DataFrame(schema=CROSSWALK_SCHEMA)
    parts = [reference.product_crosswalk(products)] if products is not None else []
    if mapping is not None:  # the catalog wins where both map a code
        known = parts[0].select("system", "code") if parts else mapping.clear().select(
            "system", "code")
        parts.append(mapping.join(known, on=["system", "code"], how="anti"))
    crosswalk = pl.concat(parts, how="diagonal_relaxed")
    res = run.result.tables.get("products")
    if ((res is not None and res.rows_in) or mapping is not None) and (
            run.only is None or "product_crosswalk" in run.only):
        # the mapping's content is part of what the table reflects: an edit is new work
        edits = [] if mapping is None else [
            f"lakehouse.mapping/{hashlib.sha256(mapping_file.read_bytes()).hexdigest()[:20]}"]
        run.derived("product_crosswalk", CROSSWALK, crosswalk,
                    run.app_ids([("catalog", "products")]) + edits)
    return crosswalk.select(list(CROSSWALK_SCHEMA))


def _orders(run: _Run, crosswalk: pl.DataFrame) -> pl.DataFrame:
    """Orders (latest version) and the lines of that version; returns conformed orders."""
    bronze = run.bronze("orders", "orders")
    res = run.result.tables.setdefault("orders", TableResult("orders"))
    if bronze is None or bronze.is_empty():
        return pl.DataFrame()
    orders, lines, bad = commerce.conform_orders(bronze, crosswalk)
    res.rows_in = bronze.height
    orders = run.refuse(res, "orders", "orders", "orders", orders, bad, bronze)
    delivered = ["_source_file", "_line", "_batch_id"]  # one delivered version of an order
    lines = lines.join(orders.select(*delivered, RELEASED), on=delivered, how="left",
                       maintain_order="left")
    app_ids = run.app_ids([("orders", "orders")])
    combine = keep_best(ORDERS, LATEST_UPDATE)
    winners = combine(orders.clear(), orders)
    _Run._count(res, run.write("orders", ORDERS, winners, app_ids, combine), orders.height)
    version = ["order_id", "_source_file", "_line"]
    lines = lines.join(winners.select(version), on=version, how="semi")

    def latest_lines(existing: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
        both = pl.concat([existing, new], how="diagonal_relaxed")
        best = keep_best(ORDERS, LATEST_UPDATE)(both.clear(), both).select(version)
        return both.join(best, on=version, how="semi").unique(
            subset=list(ORDER_LINES.key), keep="first", maintain_order=True)

    run.derived("order_lines", ORDER_LINES, lines, app_ids, latest_lines)
    return orders


def _purchase_orders(run: _Run, events: pl.DataFrame) -> None:
    if events.is_empty():
        return
    app_ids = run.app_ids([("suppliers", "purchase_orders")])
    if run.batch_id is not None:
        keys = events.select("po_number").unique()
        events = run.stored("purchase_order_events", PURCHASE_ORDERS, keys)
    else:
        events = keep_best(Layout(("event_id",)), FIRST_ARRIVAL)(events.clear(), events)
    run.derived("purchase_orders", PURCHASE_ORDERS,
                operations.fold_purchase_orders(events), app_ids)


# silver tables whose rows carry customer identifiers, and how each yields observations
_IDENTITY_EXTRACT = {
    "orders": identity_inputs.from_orders, "loyalty_members": identity_inputs.from_loyalty,
    "clickstream_events": identity_inputs.from_clickstream,
    "pos_transaction_lines": identity_inputs.from_pos,
    "email_events": identity_inputs.from_email, "reviews": identity_inputs.from_reviews,
}


# the silver table each identity source lands in (orders: its own fold, not an event table)
_IDENTITY_TABLE_OF = {**{(c, e): t.name for t in EVENT_TABLES for c, e, _ in t.sources
                         if (c, e) in IDENTITY_SOURCES},
                      ("orders", "orders"): "orders"}


def _pending_identity_batches(run: _Run) -> list[str]:
    """Batches that silver has absorbed but the identity tables have not: micro-batches leave
    them to the next batch run (only identity resolution, a batch job, reads them). A batch
    counts only once its silver table committed it, so a batch whose silver build has not run
    yet is never marked done here without its rows. A batch that only released quarantined
    rows into a table is found through the quarantine's ``released_by``."""
    # both identity tables: a crash between their commits leaves the batch in the
    # observations only, and its customer records still to write
    identity = [run.tables.get(run.uri(t)) for t in ("identifier_observations",
                                                     "customer_records")]
    pending: set[str] = set()
    released = run.pending.rows.filter(pl.col("released_by").is_not_null())
    for source, table in sorted(_IDENTITY_TABLE_OF.items()):
        silver = run.tables.get(run.uri(table))
        if silver is None:
            continue
        releases = released.filter((pl.col("_source_channel") == source[0])
                                   & (pl.col("_entity") == source[1]))["released_by"]
        for b in {*batches_in(run.inputs, bronze_uri(run.home, *source)), *releases}:
            if (b != run.batch_id and committed(silver, app_id(b), APP_VERSION)
                    and not all(t is not None and committed(t, app_id(b), APP_VERSION)
                                for t in identity)):
                pending.add(b)
    return sorted(pending)


def _alongside(work: Callable[[], pl.DataFrame], other: Callable[[], None]) -> pl.DataFrame:
    """``work()``, with ``other()`` run meanwhile on a second thread (one after the other when
    LAKEHOUSE_THREADS=1)."""
    if WORKERS < 2:
        other()
        return work()
    with ThreadPoolExecutor(1) as pool:
        done = pool.submit(other)
        result = work()
        done.result()
    return result


def _observed(name: str, good: pl.DataFrame) -> pl.DataFrame | None:
    """Folded identifier observations of one silver table's rows (None: it carries none)."""
    extract = _IDENTITY_EXTRACT.get(name)
    return extract(good) if extract is not None and not good.is_empty() else None


def _identity(run: _Run, good: dict[str, pl.DataFrame],
              observed: dict[str, pl.DataFrame | None] | None, pending: list[str]) -> None:
    """Identifier observations from this batch's records (``observed``: already extracted),
    and from the ``pending`` earlier batches that skipped them, then the customer records of
    every record they touch."""
    app_ids = run.app_ids(sorted(IDENTITY_SOURCES))
    if pending:
        app_ids = [*app_ids, *(app_id(b) for b in pending)]
        good = dict(good)
        for name in _IDENTITY_EXTRACT:
            frames = [f for f in (good[name], read_batches(run.tables, run.uri(name), pending))
                      if f is not None and not f.is_empty()]
            if frames:
                good[name] = pl.concat(frames, how="diagonal_relaxed")
        observed = None
    if observed is None:
        observed = {name: _observed(name, good[name]) for name in _IDENTITY_EXTRACT}
    parts = [p for p in observed.values() if p is not None]
    if not parts:
        return
    obs = identity_inputs.observations(parts)

    def write_observations() -> None:
        run.derived("identifier_observations", OBSERVATIONS, obs, app_ids,
                    lambda existing, new: identity_inputs.fold_observations(
                        pl.concat([existing, new], how="diagonal_relaxed")))

    # A rebuild, or a first batch (the table is created with exactly these rows), builds the
    # records from these observations: while they are written. Else from the stored history
    # of the records touched, once the batch's observations are folded into it.
    if run.batch_id is None or run.tables.get(run.uri("identifier_observations")) is None:
        records = _alongside(partial(identity_inputs.customer_records, obs), write_observations)
    else:
        write_observations()
        keys = obs.select("record_id", "source").unique()
        records = identity_inputs.customer_records(
            run.stored("identifier_observations", OBSERVATIONS, keys))
    run.derived("customer_records", CUSTOMER_RECORDS, records, app_ids)


def _write_quarantine(run: _Run) -> None:
    order = [PRODUCTS.name, *(t.name for t in EVENT_TABLES), "orders"]
    found = [q for name in order for q in run.quarantine.get(name, []) if not q.is_empty()]
    if not found:
        return
    bad = pl.concat(found)
    bad = bad.sort("_source_channel", "_entity", "_source_file", "_line", maintain_order=True)
    parts = [([app_id(b)], bad.filter(pl.col("_via") == b).drop("_via"))
             for b in bad["_via"].unique().sort()]
    append_files_once(quarantine_uri(run.home), parts)


def build_silver(home: Home | str | Path, batch_id: str | None = None,
                 identity: bool = True, release_id: str | None = None,
                 only: set[str] | None = None) -> SilverResult:
    """Merge the bronze rows of ``batch_id`` into silver (None: rebuild silver from all of
    bronze), retrying every row still pending in the quarantine. Safe to re-run: a batch
    already in a table leaves it untouched, and a row is released once.

    ``release_id`` names the build in ``released_by`` (default: the batch id; a rebuild
    ``rebuild@<UTC time>``). ``only`` (a micro-batch's selection) builds, and retries the
    pending rows of, only those event tables and orders; the others wait for a build that
    selects them. ``identity=False`` (micro-batches) leaves the identity tables
    (identifier observations, customer records) to the next run with ``identity=True``, which
    folds in every batch they have not absorbed yet: their consumer, identity resolution, runs
    in the batch path, and re-folding the observation history on every micro-batch would make
    its cost grow with the history instead of the batch."""
    home = home if isinstance(home, Home) else Home.resolve(home)
    now = datetime.now(UTC)
    run = _Run(home, batch_id, release_id or batch_id or f"rebuild@{now:%Y%m%dT%H%M%SZ}", only)
    crosswalk = _crosswalk(run)
    pending = _pending_identity_batches(run) if identity and batch_id is not None else []
    # a table's identity inputs are extracted by the worker that built it, while the other
    # still writes; when earlier batches' rows must join them, only afterwards (_identity)
    early = identity and not pending

    def build(name: str, make: Callable[[], pl.DataFrame],
              ) -> tuple[pl.DataFrame, pl.DataFrame | None]:
        good = make()
        return good, (_observed(name, good) if early else None)

    makers: dict[str, Callable[[], pl.DataFrame]] = {
        "orders": lambda: _orders(run, crosswalk),
        **{spec.name: partial(run.table, spec, crosswalk) for spec in EVENT_TABLES}}
    if only is not None:
        makers = {name: (make if name in only else pl.DataFrame)
                  for name, make in makers.items()}
    good: dict[str, pl.DataFrame] = {}
    observed: dict[str, pl.DataFrame | None] = {}
    # The event tables (and orders) are independent of each other except for references (a
    # shipment's order, a till line's store): each stage reads its own bronze and writes its
    # own silver tables on a small thread pool (polars and Delta writes run outside the GIL),
    # after the stages holding what it references.
    for stage in stages(list(makers)):
        jobs = [(name, makers[name]) for name in stage]
        if WORKERS > 1 and len(jobs) > 1:
            with ThreadPoolExecutor(WORKERS) as pool:
                done = list(pool.map(lambda job: build(*job), jobs))
        else:
            done = [build(*job) for job in jobs]
        for (name, _), (g, o) in zip(jobs, done, strict=True):
            good[name] = g
            if name in _IDENTITY_EXTRACT:
                observed[name] = o
    _purchase_orders(run, good["purchase_order_events"])
    if identity:
        _identity(run, good, observed if early else None, pending)
    _write_quarantine(run)
    run.pending.record(now)
    for res in run.result.tables.values():
        if not res.balanced:
            raise AssertionError(f"silver {res.table}: counts do not balance: {res}")
    return run.result
