"""The record of what each table's quality gate decided, and the validated pins it implies.

A table's *validated pin* is the newest version whose gate passed; readers that must only see
validated data (the warehouse build, identity, inventory, ML marts and training sets) read the
pin, never the latest commit. The pin only moves over checked data: the gate validates the
increment since the current pin (every row of every file added since that version, whatever
batch, retry or maintenance commit added it), so a version is recorded as passed only when
every commit since the previous pin passed. A failed gate is recorded too (``passed`` false),
for audit, and never moves the pin.

Gates of one step are recorded all or nothing (:func:`batched`): if one fails, or the step
raises, the passes of its siblings are dropped (only the failures are kept), so no reader can
combine one table of a step with another table of an older step.

The registry is itself a Delta table (``H/lake/quality/validations``). Rows written before
``passed`` and ``from_version`` existed were recorded only on a pass: a null ``passed`` reads
as true.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError

from lakehouse.storage.delta import writer_properties
from lakehouse.storage.faults import fault
from lakehouse.storage.objects import location

SCHEMA = pa.schema([
    ("table", pa.string()),  # "<layer>/<name>" under H/lake, e.g. "silver/orders"
    ("version", pa.int64()),
    ("suite", pa.string()),
    ("rows_validated", pa.int64()),
    ("run_id", pa.string()),
    ("validated_at", pa.timestamp("us", tz="UTC")),
    ("passed", pa.bool_()),
    # the pin the check started from: the increment checked is (from_version, version]
    ("from_version", pa.int64()),
])
NO_VERSION = -1  # from_version when the table had no pin yet: the whole table was checked
REGISTRY = "quality/validations"  # the registry's own ``<layer>/<name>`` under H/lake


def registry_uri(lake: Path) -> str:
    return str(lake / REGISTRY)


def table_name(uri: str | Path) -> tuple[Path, str]:
    """``H/lake/silver/orders`` -> (``H/lake``, ``silver/orders``); on an object store
    (``s3://b/lake/silver/orders``) the lake is an ``ObjectPath``."""
    path = location(uri).resolve()
    return path.parents[1], f"{path.parent.name}/{path.name}"  # type: ignore[return-value]


# set inside `batched()`: records wait there and are appended in one commit per lake
_PENDING: ContextVar[list[tuple[Path, dict]] | None] = ContextVar("validations", default=None)


def record_validation(uri: str | Path, version: int, suite: str, rows_validated: int,
                      run_id: str | None = None, at: datetime | None = None, *,
                      passed: bool = True, from_version: int | None = None) -> None:
    """Record that version ``version`` of the table at ``uri`` passed (or failed) ``suite``,
    checked over the commits after ``from_version``."""
    lake, name = table_name(uri)
    row = {"table": name, "version": int(version), "suite": suite,
           "rows_validated": int(rows_validated), "run_id": run_id,
           "validated_at": at or datetime.now(UTC), "passed": bool(passed),
           "from_version": NO_VERSION if from_version is None else int(from_version)}
    pending = _PENDING.get()
    if pending is None:
        _append(lake, [row])
    else:
        pending.append((lake, row))


COMPACT_EVERY = 50  # registry commits between compactions: a read opens at most ~this many files


def _append(lake: Path, rows: list[dict]) -> None:
    # merge: registries written before `passed` existed gain the columns
    uri = registry_uri(lake)
    fault("pins.before", uri)
    write_deltalake(uri, pa.Table.from_pylist(rows, schema=SCHEMA), mode="append",
                    schema_mode="merge", writer_properties=writer_properties(None))
    fault("pins.after", uri)
    # every gate reads the registry: its read must not grow with the micro-batches between
    # two nightly maintenances (rows are few; files and log entries are what cost)
    table = DeltaTable(uri)
    if table.version() % COMPACT_EVERY == 0:
        try:
            fault("pins.compact.before", uri)
            table.optimize.compact(writer_properties=writer_properties(None))
            fault("pins.compact.after", uri)
            DeltaTable(uri).create_checkpoint()
        except CommitFailedError:  # a concurrent append won: compact next time
            pass


def pending_versions(lake: Path) -> dict[str, int]:
    """Versions that passed inside the current :func:`batched` block and are not recorded
    yet: a sibling gate of the same step may reference them (they are recorded together or
    not at all)."""
    pending = _PENDING.get() or []
    return {row["table"]: row["version"] for at, row in pending
            if at == lake and row["passed"]}


@contextmanager
def batched() -> Iterator[None]:
    """Collect the gate outcomes recorded inside the block and append them in one commit when
    it ends, all or nothing: if any gate failed or the block raised, only the failures are
    recorded, and no table of the step gets a new pin."""
    pending: list[tuple[Path, dict]] = []
    token = _PENDING.set(pending)
    cache_token = _READ.set({})  # nothing is appended inside the block: read it once
    ok = False
    try:
        yield
        ok = True
    finally:
        _PENDING.reset(token)
        _READ.reset(cache_token)
        ok = ok and all(row["passed"] for _, row in pending)
        by_lake: dict[Path, list[dict]] = {}
        for lake, row in pending:
            if ok or not row["passed"]:
                by_lake.setdefault(lake, []).append(row)
        for lake, rows in by_lake.items():
            _append(lake, rows)


# pins by (registry, its table id, Delta version), in this process: the last version read
_PINS: dict[tuple[str, str, int], dict[str, int]] = {}
# set inside `batched()`: the pins as read once in the block, by lake
_READ: ContextVar[dict[Path, dict[str, int]] | None] = ContextVar("registry", default=None)


def outcomes(lake: Path) -> pl.DataFrame:
    """Every recorded gate outcome in the order recorded (``passed`` null in old registries
    read as true): the audit trail, read whole. Readers of pins use :func:`validated_versions`
    and :func:`passed_among`, which read two or three columns in batches."""
    uri = registry_uri(lake)
    if not DeltaTable.is_deltatable(uri):
        return pl.DataFrame(schema={name: pl.from_arrow(pa.array([], t)).dtype
                                    for name, t in zip(SCHEMA.names, SCHEMA.types, strict=True)})
    rows = pl.from_arrow(DeltaTable(uri).to_pyarrow_table())
    for name, t in zip(SCHEMA.names, SCHEMA.types, strict=True):
        if name not in rows.columns:
            rows = rows.with_columns(pl.lit(None, pl.from_arrow(pa.array([], t)).dtype)
                                     .alias(name))
    return rows.with_columns(pl.col("passed").fill_null(True)).sort("validated_at", "version")


def _registry(lake: Path) -> DeltaTable | None:
    uri = registry_uri(lake)
    return DeltaTable(uri) if DeltaTable.is_deltatable(uri) else None


def _passes(registry: DeltaTable, where: pc.Expression | None = None) -> Iterator[pa.Table]:
    """``table, version`` of the recorded passes (and ``where``), a batch at a time.

    The registry keeps every outcome for ever (the audit), so it grows with every
    micro-batch, and every gate and pinned reader reads it. Read whole, 2M outcomes took
    0.14-0.42 s and 854 MB per pins read, 1.8 s for a pinned reader's check; three columns
    read a batch at a time took 47 ms and 22 ms (``bench/bench_registry.py --outcomes``)."""
    dataset = registry.to_pyarrow_dataset()
    # `passed` is filtered after the scan: a scan filter on a column that older files lack
    # (registries before `passed`) drops their rows instead of reading them as null (= passed)
    columns = ["table", "version"] + (["passed"] if "passed" in dataset.schema.names else [])
    for batch in dataset.to_batches(columns=columns, filter=where):
        rows = pa.Table.from_batches([batch])
        if "passed" in columns:
            rows = rows.filter(pc.fill_null(rows["passed"], True)).drop_columns("passed")
        if rows.num_rows:
            yield rows


def validated_versions(lake: Path, as_of: datetime | None = None) -> dict[str, int]:
    """``{"silver/orders": 12, ...}``: the validated pin of every table (as it stood at
    ``as_of`` when given)."""
    cache = _READ.get() if as_of is None else None
    if cache is not None and lake in cache:
        return dict(cache[lake])
    registry = _registry(lake)
    if registry is None:
        return {}
    # a version of a Delta table never changes (the table's id tells a registry deleted and
    # made again at the same place): a process reads each version's pins once. A small
    # home's `lakehouse run` asked for pins 220 times: 87 registry reads, now 12
    key = (registry_uri(lake), registry.metadata().id, registry.version())
    if as_of is None and key in _PINS:
        newest = dict(_PINS[key])
    else:
        where = None if as_of is None else pc.field("validated_at") <= pa.scalar(
            as_of, pa.timestamp("us", tz="UTC"))
        newest = {}
        for rows in _passes(registry, where):
            top = rows.group_by("table").aggregate([("version", "max")])
            for name, version in zip(top["table"].to_pylist(), top["version_max"].to_pylist(),
                                     strict=True):
                if version > newest.get(name, version - 1):
                    newest[name] = version
        if as_of is None:
            _PINS.clear()  # the newest version's only
            _PINS[key] = dict(newest)
    if cache is not None:
        cache[lake] = dict(newest)
    return newest


def validated_version(uri: str | Path, as_of: datetime | None = None) -> int | None:
    """The validated pin of the table at ``uri``, or None if no version passed yet."""
    lake, name = table_name(uri)
    return validated_versions(lake, as_of).get(name)


def passed_among(lake: Path, pins: dict[str, int]) -> set[tuple[str, int]]:
    """The ``(table, version)`` of ``pins`` that a gate passed: what a pinned reader may ask
    for."""
    if not pins:
        return set()
    where = pc.field("table").isin(sorted(pins)) & pc.field("version").isin(
        sorted({int(v) for v in pins.values()}))
    wanted = {(t, int(v)) for t, v in pins.items()}
    found: set[tuple[str, int]] = set()
    registry = _registry(lake)
    for rows in _passes(registry, where) if registry is not None else ():
        found |= wanted & set(zip(rows["table"].to_pylist(), rows["version"].to_pylist(),
                                  strict=True))
    return found


class NotValidatedError(RuntimeError):
    """A table has no version that passed its quality gate (or a pinned version did not)."""


def pinned(uri: str | Path) -> DeltaTable | None:
    """The table at ``uri`` at its validated pin; None when the table does not exist (nothing
    unvalidated to read). Raises :class:`NotValidatedError` when it exists but no version of
    it passed its gate."""
    uri = str(uri)
    if not DeltaTable.is_deltatable(uri):
        return None
    version = validated_version(uri)
    if version is None:
        lake, name = table_name(uri)
        raise NotValidatedError(
            f"no version of {name} has passed its quality gate yet (registry "
            f"{registry_uri(lake)}): validated readers never read unchecked rows")
    return DeltaTable(uri, version=version)


def read_validated(uri: str | Path, columns: list[str] | None = None) -> pl.DataFrame | None:
    """The rows of the table at ``uri`` at its validated pin; None when the table does not
    exist. Raises :class:`NotValidatedError` when no version of it passed its gate."""
    table = pinned(uri)
    if table is None:
        return None
    return pl.read_delta(str(uri), version=table.version(), columns=columns)


def scan_validated(uri: str | Path) -> pl.LazyFrame | None:
    """:func:`read_validated`, lazily."""
    table = pinned(uri)
    return None if table is None else pl.scan_delta(str(uri), version=table.version())
