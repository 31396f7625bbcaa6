"""How long pending quarantine rows have waited, on the lake's own clock.

A pending row waits for a reference (a product, a store, an order) that has not landed yet
(DESIGN.md rule 7). Waiting a little is normal: feeds do not land in dependency order. Waiting
long means a feed is missing or a code is wrong, and someone should look.

Age is measured in knowledge time, not wall-clock time: ``watermark - _delivered_at``, where the
watermark is the newest ``_delivered_at`` the lake knows (read from the Delta log's per-file
statistics of every bronze table and the quarantine: no data is scanned). Replaying a month of
old files therefore raises no alarm about rows that were delivered, in that history, minutes
before the reference they wait for; and a lake that stopped receiving files does not age.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
from deltalake import DeltaTable

from lakehouse.home import Home
from lakehouse.storage.objects import join
from lakehouse.storage.paths import quarantine_uri

DEFAULT_MAX_AGE = timedelta(hours=24)
ENV_MAX_AGE = "LAKEHOUSE_PENDING_MAX_AGE_HOURS"
_DELIVERED = "_delivered_at"


def max_age(hours: float | None = None) -> timedelta:
    """The age a pending row may reach: ``hours`` if given, else ``$LAKEHOUSE_PENDING_MAX_AGE_
    HOURS``, else 24 hours."""
    if hours is None:
        raw = os.environ.get(ENV_MAX_AGE, "").strip()
        if not raw:
            return DEFAULT_MAX_AGE
        try:
            hours = float(raw)
        except ValueError as exc:
            raise ValueError(f"{ENV_MAX_AGE}={raw!r}: expected a number of hours") from exc
    if hours <= 0:
        raise ValueError(f"the maximum age of pending rows must be positive, got {hours} h")
    return timedelta(hours=hours)


def _newest_delivery(uri: str) -> datetime | None:
    """The largest ``_delivered_at`` of a Delta table from its log's statistics (files without
    statistics for it are read, that column only)."""
    if not DeltaTable.is_deltatable(uri):
        return None
    from lakehouse.silver.delta_io import add_actions

    dt = DeltaTable(uri)
    if _DELIVERED not in {f.name for f in dt.schema().fields}:
        return None
    actions = add_actions(dt, [f"max.{_DELIVERED}"])
    column = f"max.{_DELIVERED}"
    newest = None
    unknown = actions["path"].to_list()
    if column in actions.columns:
        stats = actions[column].cast(pl.Datetime("us", "UTC"))
        newest = stats.max()
        unknown = actions.filter(stats.is_null())["path"].to_list()
    if unknown:
        scanned = pl.scan_parquet([join(uri, p) for p in unknown],
                                  schema={_DELIVERED: pl.Datetime("us", "UTC")},
                                  missing_columns="insert", extra_columns="ignore",
                                  hive_partitioning=False).select(pl.col(_DELIVERED).max())
        value = scanned.collect().item()
        if value is not None and (newest is None or value > newest):
            newest = value
    return newest  # type: ignore[return-value]


def watermark(home: Home | str | Path) -> datetime | None:
    """The newest delivery time known in the lake: the bronze tables and the quarantine (a file
    whose every row was refused still moved the lake's clock)."""
    home = home if isinstance(home, Home) else Home.resolve(home)
    uris = [str(p) for p in sorted(home.bronze.glob("*"))] + [quarantine_uri(home)]
    times = [t for t in map(_newest_delivery, uris) if t is not None]
    return max(times) if times else None


@dataclass(frozen=True)
class PendingAge:
    """The verdict: ``overdue`` pending rows waited longer than ``max_age`` at ``watermark``."""

    watermark: datetime | None
    max_age: timedelta
    pending: int
    overdue: int
    oldest: timedelta | None  # age of the oldest pending row
    by_kind_channel: pl.DataFrame  # error_kind, channel, pending, overdue, oldest_hours

    @property
    def passed(self) -> bool:
        return self.overdue == 0

    def describe(self) -> str:
        limit = f"{self.max_age.total_seconds() / 3600:g} h"
        if not self.pending:
            return "no pending rows in the quarantine"
        oldest = f"{self.oldest.total_seconds() / 3600:.1f} h" if self.oldest else "?"
        if self.passed:
            return (f"{self.pending} pending row(s), none waited longer than {limit} (oldest "
                    f"{oldest} before the lake's newest delivery)")
        worst = self.by_kind_channel.filter(pl.col("overdue") > 0).sort(
            "overdue", descending=True)
        parts = [f"{k} from {c}: {n}" for k, c, n in
                 worst.select("error_kind", "channel", "overdue").head(5).iter_rows()]
        return (f"{self.overdue} of {self.pending} pending row(s) waited longer than {limit} "
                f"(oldest {oldest}): " + "; ".join(parts))

    def markdown(self) -> str:
        lines = ["| kind | channel | pending | overdue | oldest (h) |",
                 "| --- | --- | ---: | ---: | ---: |"]
        for kind, channel, pending, overdue, hours in self.by_kind_channel.iter_rows():
            lines.append(f"| {kind} | {channel} | {pending} | "
                         f"{'**' + str(overdue) + '**' if overdue else 0} | {hours:.1f} |")
        return "\n".join(lines)


def judge(pending: pl.DataFrame, at: datetime | None, limit: timedelta) -> PendingAge:
    """Pure verdict over pending rows (``error_kind``, ``_source_channel``, ``_delivered_at``,
    falling back to ``_ingested_at`` when absent) at watermark ``at``."""
    empty = pl.DataFrame(schema={"error_kind": pl.String, "channel": pl.String,
                                 "pending": pl.UInt32, "overdue": pl.UInt32,
                                 "oldest_hours": pl.Float64})
    if pending.is_empty():
        return PendingAge(at, limit, 0, 0, None, empty)
    delivered = pl.col(_DELIVERED)
    if "_ingested_at" in pending.columns:
        delivered = delivered.fill_null(pl.col("_ingested_at"))
    newest = pending.select(delivered.max()).item()
    at = newest if at is None or (newest is not None and newest > at) else at
    aged = pending.select(
        "error_kind", pl.col("_source_channel").alias("channel"),
        (pl.lit(at).cast(pl.Datetime("us", "UTC")) - delivered).alias("age"))
    aged = aged.with_columns(pl.col("age").fill_null(timedelta(0)))
    table = (aged.group_by("error_kind", "channel")
             .agg(pl.len().alias("pending"),
                  (pl.col("age") > limit).sum().cast(pl.UInt32).alias("overdue"),
                  (pl.col("age").max().dt.total_microseconds() / 3.6e9).alias("oldest_hours"))
             .sort("overdue", "oldest_hours", descending=True))
    return PendingAge(at, limit, aged.height, int((aged["age"] > limit).sum()),
                      aged["age"].max(), table)  # type: ignore[arg-type]


def pending_age(home: Home | str | Path, limit: timedelta | None = None) -> PendingAge:
    """The verdict for a home's quarantine (only the columns it needs are read)."""
    from lakehouse.ingest.replay.listing import scan_quarantine

    home = home if isinstance(home, Home) else Home.resolve(home)
    rows = (scan_quarantine(home).filter(pl.col("status") == "pending")
            .select("error_kind", "_source_channel", _DELIVERED, "_ingested_at").collect())
    return judge(rows, watermark(home), limit or max_age())
