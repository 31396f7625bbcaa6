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

The state of a build and its per-table step are in ``run.py``, the identity-input tables in
``identity_tables.py``, the counts each table reports in ``results.py``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import polars as pl

from lakehouse.home import Home
from lakehouse.silver import commerce, operations, reference
from lakehouse.silver.delta_io import RELEASED, Layout, app_id, read_bronze
from lakehouse.silver.identity_tables import (
    IDENTITY_EXTRACT,
    build_identity_tables,
    observed_in,
    pending_identity_batches,
)
from lakehouse.silver.products import CROSSWALK_SCHEMA, MAPPING_FILE, read_mapping
from lakehouse.silver.references import stages
from lakehouse.silver.results import SilverResult, TableResult
from lakehouse.silver.run import BuildRun
from lakehouse.silver.tables import (
    CROSSWALK,
    EVENT_TABLES,
    FIRST_ARRIVAL,
    LATEST_UPDATE,
    ORDER_LINES,
    ORDERS,
    PRODUCTS,
    PURCHASE_ORDERS,
    keep_best,
)
from lakehouse.storage.delta import append_files_once
from lakehouse.storage.paths import quarantine_uri

Observe = Callable[[pl.DataFrame], "pl.DataFrame | None"]  # identity extraction of good rows
# builds one table: (observe, keep) -> (its good rows if kept, else none; what observe saw)
Maker = Callable[["Observe | None", bool], "tuple[pl.DataFrame, pl.DataFrame | None]"]

# silver tables built at once (LAKEHOUSE_THREADS=1: one at a time)
WORKERS = int(os.environ.get("LAKEHOUSE_THREADS") or min(2, os.cpu_count() or 1))


def _crosswalk(run: BuildRun) -> pl.DataFrame:
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


def _orders(run: BuildRun, crosswalk: pl.DataFrame) -> pl.DataFrame:
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
    BuildRun.count(res, run.write("orders", ORDERS, winners, app_ids, combine), orders.height)
    version = ["order_id", "_source_file", "_line"]
    lines = lines.join(winners.select(version), on=version, how="semi")

    def latest_lines(existing: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
        both = pl.concat([existing, new], how="diagonal_relaxed")
        best = keep_best(ORDERS, LATEST_UPDATE)(both.clear(), both).select(version)
        return both.join(best, on=version, how="semi").unique(
            subset=list(ORDER_LINES.key), keep="first", maintain_order=True)

    run.derived("order_lines", ORDER_LINES, lines, app_ids, latest_lines)
    return orders


def _purchase_orders(run: BuildRun, events: pl.DataFrame) -> None:
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


def _write_quarantine(run: BuildRun) -> None:
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
    run = BuildRun(home, batch_id, release_id or batch_id or f"rebuild@{now:%Y%m%dT%H%M%SZ}",
                   only)
    crosswalk = _crosswalk(run)
    pending = pending_identity_batches(run) if identity and batch_id is not None else []
    # a table's identity inputs are extracted by the worker that built it, while the other
    # still writes; when earlier batches' rows must join them, only afterwards
    # (build_identity_tables)
    early = identity and not pending

    def keeps(name: str) -> bool:
        """Good rows held to the end only where read again: the purchase orders' events, and
        the identity sources when their observations are extracted after all tables."""
        return name == "purchase_order_events" or (
            identity and not early and name in IDENTITY_EXTRACT)

    def build(name: str, make: Maker) -> tuple[pl.DataFrame, pl.DataFrame | None]:
        return make(partial(observed_in, name) if early else None, keeps(name))

    def orders(observe: Observe | None, keep: bool) -> tuple[pl.DataFrame, pl.DataFrame | None]:
        rows = _orders(run, crosswalk)
        return (rows if keep else rows.clear()), (observe(rows) if observe else None)

    def skipped(observe: Observe | None, keep: bool) -> tuple[pl.DataFrame, pl.DataFrame | None]:
        rows = pl.DataFrame()
        return rows, (observe(rows) if observe else None)

    makers: dict[str, Maker] = {
        "orders": orders,
        **{spec.name: partial(run.table, spec, crosswalk) for spec in EVENT_TABLES}}
    if only is not None:
        makers = {name: (make if name in only else skipped) for name, make in makers.items()}
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
            if keeps(name):
                good[name] = g
            if name in IDENTITY_EXTRACT:
                observed[name] = o
        del done
    _purchase_orders(run, good.get("purchase_order_events", pl.DataFrame()))
    if identity:
        build_identity_tables(run, good, observed if early else None, pending, WORKERS)
    _write_quarantine(run)
    run.pending.record(now)
    for res in run.result.tables.values():
        if not res.balanced:
            raise AssertionError(f"silver {res.table}: counts do not balance: {res}")
    return run.result
