"""The quarantine, listed (DESIGN.md rule 7: pending, not dead).

``summary`` / ``rows``: what ``H/lake/quarantine/rows`` holds, by status, kind, channel, entity
and file. Raw payloads are never shown (they carry e-mails and phones), and reasons about a PII
field have the value hidden.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from deltalake import DeltaTable

from lakehouse.channels import CHANNELS
from lakehouse.channels.spec import PII_FIELDS
from lakehouse.home import Home
from lakehouse.ingest.quarantine import ERROR_KINDS, KEY, SCHEMA, status_expr
from lakehouse.storage.paths import quarantine_uri

STATUSES = ("pending", "dead", "released")
# a row's identity in the quarantine: a bronze row, the batch and the kind that put it there
IDENTITY = (*KEY, "_batch_id", "error_kind")


def scan_quarantine(home: Home | str | Path, *, raw: bool = False) -> pl.LazyFrame:
    """Every quarantine row with its ``status`` (``pending``, ``dead``, ``released``). Columns a
    table written before them lacks (``released_by``, ``released_at``) read as null; ``raw`` is
    read only when asked for."""
    home = home if isinstance(home, Home) else Home.resolve(home)
    uri = quarantine_uri(home)
    wanted = {n: t for n, t in SCHEMA.items() if raw or n != "raw"}
    files: list[str] = []
    have = wanted
    if DeltaTable.is_deltatable(uri):
        dt = DeltaTable(uri)
        present = {f.name for f in dt.schema().fields}
        files = [u.removeprefix("file://") for u in dt.file_uris()]
        have = {n: t for n, t in wanted.items() if n in present}
    if files:
        scan = pl.scan_parquet(files, schema=have, missing_columns="insert",
                               extra_columns="ignore", hive_partitioning=False)
    else:
        scan = pl.LazyFrame(schema=have)
    return scan.with_columns(
        *(pl.lit(None, t).alias(n) for n, t in wanted.items() if n not in have)
    ).select(list(wanted)).with_columns(status_expr())


def read_quarantine(home: Home | str | Path, *, raw: bool = False) -> pl.DataFrame:
    return scan_quarantine(home, raw=raw).collect()


@dataclass(frozen=True)
class Selection:
    """Which quarantine rows: kinds, channels (empty: any), a file (substring of
    ``_source_file``) and statuses (default: every row not released, pending and dead)."""

    kinds: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    file: str | None = None
    statuses: tuple[str, ...] = ("pending", "dead")

    @classmethod
    def of(cls, kinds: Iterable[str] | None = None, channels: Iterable[str] | None = None,
           file: str | None = None, status: str | None = None) -> Selection:
        """From command-line style filters: ``status`` one of pending, dead, released, all, or
        None (pending and dead)."""
        if status in (None, ""):
            statuses: tuple[str, ...] = ("pending", "dead")
        elif status == "all":
            statuses = STATUSES
        elif status in STATUSES:
            statuses = (status,)
        else:
            raise ValueError(f"status {status!r}: expected one of {', '.join(STATUSES)}, all")
        kinds, channels = tuple(kinds or ()), tuple(channels or ())
        if unknown := sorted(set(kinds) - set(ERROR_KINDS)):
            raise ValueError(f"unknown error kind(s) {', '.join(unknown)}; known: "
                             f"{', '.join(ERROR_KINDS)}")
        names = [ch.name for ch in CHANNELS]
        if unknown := sorted(set(channels) - set(names)):
            raise ValueError(f"unknown channel(s) {', '.join(unknown)}; known: "
                             f"{', '.join(names)}")
        return cls(kinds, channels, file or None, statuses)

    def expr(self) -> pl.Expr:
        cond = pl.col("status").is_in(list(self.statuses))
        if self.kinds:
            cond &= pl.col("error_kind").is_in(list(self.kinds))
        if self.channels:
            cond &= pl.col("_source_channel").is_in(list(self.channels))
        if self.file:
            cond &= pl.col("_source_file").str.contains(self.file, literal=True)
        return cond

    def describe(self) -> str:
        parts = [f"status {'+'.join(self.statuses)}"]
        if self.kinds:
            parts.append(f"kind {','.join(self.kinds)}")
        if self.channels:
            parts.append(f"channel {','.join(self.channels)}")
        if self.file:
            parts.append(f"file ~ {self.file!r}")
        return ", ".join(parts)



SUMMARY_BY = ("status", "error_kind", "_source_channel", "_entity", "_source_file")


def summary(frame: pl.DataFrame) -> pl.DataFrame:
    """Row counts by status (pending, dead, released), kind, channel, entity and file (largest
    groups first)."""
    order = pl.col("status").replace_strict(
        {s: i for i, s in enumerate(STATUSES)}, default=len(STATUSES), return_dtype=pl.Int8)
    return (frame.group_by(list(SUMMARY_BY)).agg(pl.len().alias("rows"))
            .sort([order, pl.col("rows"), "error_kind", "_source_channel", "_source_file"],
                  descending=[False, True, False, False, False], nulls_last=True))


_VALUE = re.compile(r"(?P<lead>\bis |`[^`]*` is )(?P<value>.*?)(?P<tail>, expected|, not |, out "
                    r"of |, below |, above |$)")


def redacted(reason: str | None, field_name: str | None) -> str | None:
    """The reason, with the offending value hidden when the field holds personal data."""
    if reason is None or field_name is None:
        return reason
    leaf = field_name.rsplit(".", 1)[-1].split("[", 1)[0]
    if leaf not in PII_FIELDS:
        return reason
    return _VALUE.sub(lambda m: f"{m['lead']}<hidden: personal data>{m['tail']}", reason)


def rows(frame: pl.DataFrame, limit: int) -> pl.DataFrame:
    """Up to ``limit`` rows to act on: where (file, line, field), what and why; no payload."""
    return (frame.sort("status", "error_kind", "_source_file", "_line", nulls_last=True)
            .head(limit)
            .select("status", pl.col("error_kind").alias("kind"),
                    pl.col("_source_file").alias("file"), pl.col("_line").alias("line"),
                    "field",
                    pl.struct("reason", "field").map_elements(
                        lambda s: redacted(s["reason"], s["field"]), return_dtype=pl.String)
                    .alias("reason")))


def text_table(frame: pl.DataFrame, max_width: int = 160) -> str:
    """A frame as an aligned plain-text table (long cells cut), for the terminal."""
    if frame.is_empty():
        return "(none)"
    cells = [[("" if v is None else str(v)) for v in row] for row in frame.iter_rows()]
    cells = [[c if len(c) <= max_width else c[:max_width - 3] + "..." for c in row]
             for row in cells]
    header = [c.removeprefix("_") for c in frame.columns]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    numeric = [frame.schema[c].is_numeric() for c in frame.columns]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if n else v.ljust(w)
                         for v, w, n in zip(values, widths, numeric, strict=True)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, cells)])
