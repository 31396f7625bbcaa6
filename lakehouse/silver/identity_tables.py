"""The identity-input tables of a silver build: ``identifier_observations`` and
``customer_records``, from the silver rows that carry customer identifiers.

Micro-batches leave them to the next batch run (only identity resolution, a batch job, reads
them), which folds in every batch they missed (:func:`pending_identity_batches`). The
observations and records themselves are pure functions of the rows (``identity_inputs.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import polars as pl

from lakehouse.silver import identity_inputs
from lakehouse.silver.delta_io import APP_VERSION, app_id, batches_in, read_batches
from lakehouse.silver.run import BuildRun
from lakehouse.silver.tables import CUSTOMER_RECORDS, EVENT_TABLES, IDENTITY_SOURCES, OBSERVATIONS
from lakehouse.storage.delta import committed
from lakehouse.storage.paths import bronze_uri

# silver tables whose rows carry customer identifiers, and how each yields observations
IDENTITY_EXTRACT = {
    "orders": identity_inputs.from_orders, "loyalty_members": identity_inputs.from_loyalty,
    "clickstream_events": identity_inputs.from_clickstream,
    "pos_transaction_lines": identity_inputs.from_pos,
    "email_events": identity_inputs.from_email, "reviews": identity_inputs.from_reviews,
}


# the silver table each identity source lands in (orders: its own fold, not an event table)
_IDENTITY_TABLE_OF = {**{(c, e): t.name for t in EVENT_TABLES for c, e, _ in t.sources
                         if (c, e) in IDENTITY_SOURCES},
                      ("orders", "orders"): "orders"}


def pending_identity_batches(run: BuildRun) -> list[str]:
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


def _alongside(work: Callable[[], pl.DataFrame], other: Callable[[], None],
               workers: int) -> pl.DataFrame:
    """``work()``, with ``other()`` run meanwhile on a second thread (one after the other when
    ``workers`` is 1: LAKEHOUSE_THREADS=1)."""
    if workers < 2:
        other()
        return work()
    with ThreadPoolExecutor(1) as pool:
        done = pool.submit(other)
        result = work()
        done.result()
    return result


def observed_in(name: str, good: pl.DataFrame) -> pl.DataFrame | None:
    """Folded identifier observations of one silver table's rows (None: it carries none)."""
    extract = IDENTITY_EXTRACT.get(name)
    return extract(good) if extract is not None and not good.is_empty() else None


def build_identity_tables(run: BuildRun, good: dict[str, pl.DataFrame],
                          observed: dict[str, pl.DataFrame | None] | None, pending: list[str],
                          workers: int) -> None:
    """Identifier observations from this batch's records (``observed``: already extracted),
    and from the ``pending`` earlier batches that skipped them, then the customer records of
    every record they touch (``workers``: the build's thread count)."""
    app_ids = run.app_ids(sorted(IDENTITY_SOURCES))
    if pending:
        app_ids = [*app_ids, *(app_id(b) for b in pending)]
        good = dict(good)
        for name in IDENTITY_EXTRACT:
            frames = [f for f in (good[name], read_batches(run.tables, run.uri(name), pending))
                      if f is not None and not f.is_empty()]
            if frames:
                good[name] = pl.concat(frames, how="diagonal_relaxed")
        observed = None
    if observed is None:
        observed = {name: observed_in(name, good[name]) for name in IDENTITY_EXTRACT}
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
        records = _alongside(partial(identity_inputs.customer_records, obs), write_observations,
                             workers)
    else:
        write_observations()
        keys = obs.select("record_id", "source").unique()
        records = identity_inputs.customer_records(
            run.stored("identifier_observations", OBSERVATIONS, keys))
    run.derived("customer_records", CUSTOMER_RECORDS, records, app_ids)
