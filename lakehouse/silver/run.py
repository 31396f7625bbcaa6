"""One silver build's state and its per-table step.

The state: the home, the batch, the app ids it commits, the bronze tables at their validated
pins, the pending quarantine rows it retries and the quarantine rows it queues. The step
(``BuildRun.table``): read the batch's bronze rows, conform, hold back rows whose references
are not known yet, keep the winner per key, write.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from lakehouse.home import Home
from lakehouse.ingest.quarantine import SCHEMA as QUARANTINE_SCHEMA
from lakehouse.silver.delta_io import (
    RELEASED,
    Layout,
    PinnedTables,
    Tables,
    Written,
    app_id,
    batches_in,
    overwrite,
    read_bronze,
    read_existing,
    sync,
)
from lakehouse.silver.pending import Pending
from lakehouse.silver.references import Reference, hold_back
from lakehouse.silver.results import SilverResult, TableResult
from lakehouse.silver.tables import SilverTable, keep_best, pick_best
from lakehouse.storage.delta import Picked
from lakehouse.storage.paths import bronze_uri, quarantine_uri, table_uri

# the tables a build reads back after writing them (``BuildRun.stored``): purchase orders fold
# their events, customer records fold the identifier observations
READ_BACK = frozenset({"purchase_order_events", "identifier_observations"})


class BuildRun:
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
        # rows of the tables this run created that it reads back (``stored``); the others are
        # not held: a first build would otherwise keep all of silver in memory to the end
        self._created: dict[str, pl.DataFrame] = {}

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

    def write(self, name: str, layout: Layout, rows: pl.DataFrame | Picked, app_ids: list[str],
              combine=None) -> Written:
        if self.batch_id is None:
            return overwrite(self.tables, self.uri(name), layout, rows, app_ids)
        w = sync(self.tables, self.uri(name), layout, rows, app_ids, combine)
        if w.created and name in READ_BACK:
            self._created[name] = rows.collect() if isinstance(rows, Picked) else rows
        return w

    def table(self, spec: SilverTable, crosswalk: pl.DataFrame,
              observe: Callable[[pl.DataFrame], pl.DataFrame | None] | None = None,
              keep: bool = True) -> tuple[pl.DataFrame, pl.DataFrame | None]:
        """Conform, dedupe and write one table; return the batch's conformed good rows (none
        unless ``keep``) and what ``observe`` returned for them."""
        res = self.result.tables.setdefault(spec.name, TableResult(spec.name))
        goods: list[pl.DataFrame] = []
        observed: list[pl.DataFrame] = []
        for channel, entity, conform in spec.sources:
            bronze = self.bronze(channel, entity)
            if bronze is None or bronze.is_empty():
                continue
            good, bad = conform(bronze, crosswalk)
            res.rows_in += bronze.height
            good = self.refuse(res, spec.name, channel, entity, good, bad, bronze)
            # let go of this source's frames before the next source's are read (a rebuild
            # reads every row of each)
            del bronze, bad
            # observed per source, while the others are not in memory: an extraction folds
            # per source (channel), and a table's sources are distinct channels
            seen = observe(good) if observe else None
            if seen is not None:
                observed.append(seen)
            goods.append(good)
            del good
        if not goods:
            empty = pl.DataFrame()
            return empty, (observe(empty) if observe else None)
        good = pl.concat(goods, how="diagonal_relaxed")
        goods.clear()
        # the winner per key, written a slice at a time from ``good`` (no second copy)
        winners = pick_best(spec.layout, spec.rank, good)
        rows = good.height
        app_ids = self.app_ids([(c, e) for c, e, _ in spec.sources])
        written = self.write(spec.name, spec.layout, winners, app_ids,
                             keep_best(spec.layout, spec.rank))
        del winners
        self.count(res, written, rows)
        return (good if keep else good.clear()), (pl.concat(observed) if observed else None)

    @staticmethod
    def count(res: TableResult, w: Written, good: int) -> None:
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
