"""How long pending quarantine rows wait: a warning when one waited longer than allowed.

Pending rows (a product, store, supplier or order not known yet) are released by a later build
once the reference lands. One that waits long means a feed is missing or a code is wrong. Age
is knowledge time, ``watermark - _delivered_at`` with the lake's newest delivery as the
watermark (``lakehouse.ingest.pending_age``), so a backfill of old files raises no false alarm.
The limit: the check's ``max_age_hours``, else ``$LAKEHOUSE_PENDING_MAX_AGE_HOURS``, else 24.

Evaluated after silver in the same run (silver releases rows and holds back new ones): in the
nightly batch and in every micro-batch (their runs always select ``quarantine/rows``).
"""


import dagster as dg
import polars as pl

from lakehouse.ingest.pending_age import ENV_MAX_AGE, max_age, pending_age
from lakehouse.silver import LAYOUTS
from orchestration.resources import LakehouseResource

CHECK_NAME = "pending_age"
QUARANTINE_KEY = dg.AssetKey(["quarantine", "rows"])


def _sums(overdue: pl.DataFrame, by: str) -> dict[str, int]:
    totals = overdue.group_by(by).agg(pl.col("overdue").sum()).sort(by)
    return {k: int(n) for k, n in totals.iter_rows()}


class PendingAgeConfig(dg.Config):
    # None: $LAKEHOUSE_PENDING_MAX_AGE_HOURS, else 24 hours
    max_age_hours: float | None = None


@dg.asset_check(
    asset=QUARANTINE_KEY,
    name=CHECK_NAME,
    blocking=False,
    # after silver: it releases pending rows and holds back new ones
    additional_deps=[dg.AssetKey(["silver", name]) for name in LAYOUTS],
    description="Warns when a pending quarantine row (waiting for a product, store, supplier "
    "or order to land) waited longer than the limit (24 h unless `max_age_hours` or "
    f"${ENV_MAX_AGE} says otherwise), measured on the lake's own clock: the newest delivery "
    "time in the lake minus the row's delivery time.",
)
def pending_age_check(config: PendingAgeConfig, lakehouse: LakehouseResource
                      ) -> dg.AssetCheckResult:
    verdict = pending_age(lakehouse.paths, max_age(config.max_age_hours))
    table = verdict.by_kind_channel
    overdue = table.filter(table["overdue"] > 0)
    return dg.AssetCheckResult(
        passed=verdict.passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=verdict.describe()[:1000],
        metadata={
            "pending_rows": verdict.pending,
            "overdue_rows": verdict.overdue,
            "max_age_hours": verdict.max_age.total_seconds() / 3600,
            "oldest_age_hours": round(verdict.oldest.total_seconds() / 3600, 2)
            if verdict.oldest is not None else 0.0,
            "watermark": verdict.watermark.isoformat() if verdict.watermark else "",
            "overdue_by_kind": _sums(overdue, "error_kind"),
            "overdue_by_channel": _sums(overdue, "channel"),
            "by_kind_and_channel": dg.MetadataValue.md(verdict.markdown()),
        },
    )
