"""Erasing rows from a Delta table so that no byte of them stays under the home.

A Delta ``delete`` only adds a commit: the old data files stay for time travel, and the old
commit files keep per-file statistics (min/max of every column: an e-mail can be a file's
minimum). So after the delete the table's history is purged: ``vacuum`` with retention 0
removes every file the current version does not reference, a checkpoint at the current version
carries the table state (files, app transactions, metadata) forward, and every older commit
and checkpoint file is deleted. Time travel to versions before the erasure is gone, by design.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake

from lakehouse.privacy.footprint import marks

_LOG_FILE = re.compile(r"^(\d{20})\.(json|crc|checkpoint(\.\d+\.\d+)?\.parquet)$")


@dataclass
class TablePlan:
    uri: str
    name: str  # "<layer>/<table>"
    version: int
    rows: int  # current rows that are the person's
    predicate: str | None  # SQL delete predicate for those rows
    history: bool  # older versions or commit files hold the person's values

    @property
    def dirty(self) -> bool:
        return bool(self.rows) or self.history


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def lineage_predicate(rows: pl.DataFrame) -> str:
    """``(_source_file = .. AND _line IN (..)) OR ..``: the landed lines the rows came from."""
    parts = []
    for (source,), group in rows.group_by("_source_file", maintain_order=True):
        lines = ", ".join(str(n) for n in sorted(set(group["_line"].drop_nulls().to_list())))
        where = '"_source_file" IS NULL' if source is None else \
            f'"_source_file" = {sql_string(source)}'
        parts.append(f"({where} AND \"_line\" IN ({lines}))" if lines else f"({where})")
    return " OR ".join(parts)


def value_predicate(rows: pl.DataFrame, exact: set[str]) -> str:
    """``"col" IN (..) OR ..`` over top-level string columns holding a wanted value."""
    parts = []
    for name, dtype in rows.schema.items():
        if dtype != pl.String:
            continue
        found = sorted(set(rows[name].drop_nulls().to_list()) & exact)
        if found:
            parts.append(f'"{name}" IN ({", ".join(sql_string(v) for v in found)})')
    return " OR ".join(parts)


def read(uri: str, version: int | None = None) -> pl.DataFrame:
    frame = pl.from_arrow(DeltaTable(uri, version=version).to_pyarrow_table())
    assert isinstance(frame, pl.DataFrame)
    return frame


def _unreferenced(uri: str) -> list[str]:
    """Data files the current version does not reference (what a full vacuum removes)."""
    return DeltaTable(uri).vacuum(retention_hours=0, dry_run=True,
                                  enforce_retention_duration=False, full=True)


def _text_holds(path: Path, needles: list[bytes]) -> bool:
    data = path.read_bytes().lower()
    return any(n in data for n in needles)


def history_holds(uri: str, exact: set[str], substrings: list[str],
                  in_rows: list[str] = ()) -> bool:
    """Whether an unreferenced data file (its rows as ``plan_table`` marks them: whole
    ``exact`` values, ``in_rows`` inside text), a commit file or a checkpoint (their text:
    statistics are JSON strings) holds a value."""
    needles = [s.lower().encode() for s in substrings]
    log = Path(uri) / "_delta_log"
    for path in sorted(log.iterdir()):
        if path.suffix == ".json" and _text_holds(path, needles):
            return True
        if path.name.endswith(".parquet"):  # a checkpoint: stats as strings or structs
            frame = pl.read_parquet(path)
            if frame.select(marks(frame, exact, substrings).any()).item():
                return True
    for rel in _unreferenced(uri):
        path = Path(rel) if Path(rel).is_absolute() else Path(uri) / rel
        if not path.exists():
            continue
        frame = pl.read_parquet(path)
        if frame.height and frame.select(marks(frame, exact, list(in_rows)).any()).item():
            return True
    return False


def plan_table(uri: str, name: str, exact: set[str], substrings: list[str] = (),
               in_rows: bool = False, by_lineage: bool = True) -> TablePlan:
    """What erasing the values from one table would remove (reads only): rows holding a
    whole ``exact`` value (and, with ``in_rows``, a ``substrings`` value inside any text, for
    raw payloads); history holding any of them."""
    table = DeltaTable(uri)
    frame = read(uri)
    inside = list(substrings) if in_rows else []
    rows = frame.filter(marks(frame, exact, inside)) if frame.height else frame
    predicate = None
    if rows.height:
        lineage = by_lineage and {"_source_file", "_line"} <= set(frame.columns)
        predicate = lineage_predicate(rows) if lineage else value_predicate(rows, exact)
        if not predicate:  # a value found only inside a struct, in a table without lineage
            predicate = value_predicate(rows, exact) or None
    return TablePlan(uri, name, table.version(), rows.height, predicate,
                     history_holds(uri, exact, list(substrings), inside))


def delete_rows(plan: TablePlan, app_ids: list[str] = ()) -> int:
    """Delete the planned rows (and record ``app_ids`` as committed in the same commit);
    returns rows deleted."""
    txns = CommitProperties(app_transactions=[Transaction(a, 1) for a in app_ids]) \
        if app_ids else None
    table = DeltaTable(plan.uri)
    if plan.predicate:
        metrics = table.delete(plan.predicate, commit_properties=txns)
        return int(metrics.get("num_deleted_rows", 0))
    if txns is not None:
        mark_committed(plan.uri, app_ids)
    return 0


def mark_committed(uri: str, app_ids: list[str]) -> None:
    """Commit ``Transaction(app_id, 1)`` for each id with no rows: "this file was handled"."""
    table = DeltaTable(uri)
    todo = [a for a in app_ids if (table.transaction_version(a) or 0) < 1]
    if not todo:
        return
    empty = pa.Table.from_batches([], schema=pa.schema(table.schema().to_arrow()))
    write_deltalake(table, empty, mode="append",
                    commit_properties=CommitProperties(
                        app_transactions=[Transaction(a, 1) for a in todo]))


def purge_history(uri: str) -> int:
    """Remove every file and log entry older than the current version; returns the version
    readers now start from (the checkpoint's)."""
    DeltaTable(uri).vacuum(retention_hours=0, dry_run=False, enforce_retention_duration=False,
                           full=True)
    table = DeltaTable(uri)
    table.create_checkpoint()
    version = table.version()
    for path in (Path(uri) / "_delta_log").iterdir():
        m = _LOG_FILE.match(path.name)
        if m and int(m.group(1)) < version:
            path.unlink()
    return version
