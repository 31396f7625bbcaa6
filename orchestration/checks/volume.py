"""Increment volume of every bronze table against the table's own history of increments.

Each bronze materialization records ``batch_rows_appended``; this check reads the asset's last
materializations from the Dagster instance and warns when the newest increment is far outside
the robust band of the earlier ones (``data_quality.monitors.volume_verdict``). One step
checks every selected table; its cost is one indexed event-log query per table.
"""

from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg

from data_quality.monitors import sparkline, volume_verdict
from data_quality.suites import bronze_entities
from lakehouse.storage.paths import bronze_table_name

CHECK_NAME = "batch_volume"
HISTORY = 30  # earlier non-empty increments the band is computed from
FETCH = 3 * HISTORY  # materializations read (empty increments are skipped, not judged)
METADATA_KEY = "batch_rows_appended"
KEYS = [dg.AssetKey(["bronze", bronze_table_name(e.channel, e.name)])
        for e in bronze_entities()]


def _rows(record) -> int | None:
    value = record.asset_materialization.metadata.get(METADATA_KEY)
    return None if value is None else int(value.value)


def history(instance: dg.DagsterInstance, key: dg.AssetKey,
            limit: int = FETCH) -> list[tuple[float, str, int]]:
    """(timestamp, batch id, rows appended) of the asset's newest materializations, newest
    first; materializations without the metadata are left out."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key), limit=limit, ascending=False).records
    out = []
    for record in records:
        rows = _rows(record)
        if rows is not None:
            batch = record.asset_materialization.metadata.get("batch_id")
            out.append((record.timestamp, "" if batch is None else str(batch.value), rows))
    return out


def _plot(points: list[tuple[float, str, int]], lower: float | None,
          upper: float | None) -> str:
    chronological = list(reversed(points[:HISTORY + 1]))
    lines = [f"`{sparkline([p[2] for p in chronological])}` (oldest to newest, log scale)", "",
             "| materialized (UTC) | batch | rows appended | in band |",
             "| --- | --- | ---: | --- |"]
    for ts, batch, rows in reversed(chronological):
        when = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")
        band = "" if lower is None or not rows else ("yes" if lower <= rows <= upper else "**no**")
        lines.append(f"| {when} | `{batch}` | {rows} | {band} |")
    return "\n".join(lines)


def volume_result(instance: dg.DagsterInstance, key: dg.AssetKey) -> dg.AssetCheckResult:
    points = history(instance, key)
    if not points:
        return dg.AssetCheckResult(
            asset_key=key, check_name=CHECK_NAME, passed=True,
            severity=dg.AssetCheckSeverity.WARN,
            description="never materialized with batch_rows_appended: nothing to judge")
    (_, batch, rows), earlier = points[0], points[1:]
    verdict = volume_verdict(rows, [p[2] for p in earlier if p[2] > 0][:HISTORY])
    metadata = {
        "batch_id": batch,
        "rows_appended": rows,
        "history_points": verdict.history,
        "history": dg.MetadataValue.md(_plot(points, verdict.lower, verdict.upper)),
    }
    if verdict.median is not None:
        metadata.update(median=round(verdict.median, 1), lower_bound=round(verdict.lower, 1),
                        upper_bound=round(verdict.upper, 1))
    return dg.AssetCheckResult(
        asset_key=key, check_name=CHECK_NAME, passed=verdict.passed,
        severity=dg.AssetCheckSeverity.WARN, description=verdict.reason, metadata=metadata)


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec(
        CHECK_NAME, asset=key, blocking=False,
        description="Rows this increment appended against the table's last "
        f"{HISTORY} non-empty increments (median +- 4 robust deviations of log rows, at "
        "least x2 either way); warns outside the band, passes with too little history.")
        for key in KEYS],
    can_subset=True,
    name="bronze_batch_volume",
)
def bronze_batch_volume(context: dg.AssetCheckExecutionContext
                        ) -> Iterator[dg.AssetCheckResult]:
    for check_key in sorted(context.selected_asset_check_keys,
                            key=lambda k: k.asset_key.to_user_string()):
        yield volume_result(context.instance, check_key.asset_key)
