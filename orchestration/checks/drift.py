"""Drift of every ML feature column against the previous validated version of its mart.

The feature marts are replaced whole on every publish; this check compares the version the
newest materialization wrote with the mart's validated pin as it stood before that
materialization (``lakehouse.storage.validations.validated_version(uri, as_of=...)``): PSI for
numeric columns (over the reference's deciles, KS D alongside) and for categorical columns
(over category shares). A drifted column warns; it does not block.
"""

from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg
import polars as pl
from deltalake import DeltaTable

from data_quality.monitors import PSI_THRESHOLD, drift_markdown, feature_drift
from lakehouse.ml import MARTS
from lakehouse.ml.marts import mart_uri
from lakehouse.storage.validations import validated_version
from orchestration.resources import LakehouseResource

CHECK_NAME = "feature_drift"
KEYS = {dg.AssetKey(["ml", mart]): mart for mart in MARTS}
KEY_COLUMNS = {"person_id", "product_id"}  # the mart's entity key: an identifier, not a feature


def _read(uri: str, version: int) -> pl.DataFrame:
    return pl.from_arrow(DeltaTable(uri, version=version).to_pyarrow_table())


def drift_result(instance: dg.DagsterInstance, home, key: dg.AssetKey) -> dg.AssetCheckResult:
    uri = mart_uri(home, KEYS[key])

    def result(passed: bool, description: str, **metadata) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(asset_key=key, check_name=CHECK_NAME, passed=passed,
                                   severity=dg.AssetCheckSeverity.WARN,
                                   description=description[:1000], metadata=metadata)

    if not DeltaTable.is_deltatable(uri):
        return result(True, "the mart has not been written yet: nothing to compare")
    latest = instance.get_latest_materialization_event(key)
    version_value = latest.asset_materialization.metadata.get("delta_version") if latest else None
    current = int(version_value.value) if version_value is not None else DeltaTable(uri).version()
    # the pin before this materialization: its own gate records its version after it
    before = datetime.fromtimestamp(latest.timestamp, UTC) if latest else None
    previous = validated_version(uri, as_of=before)
    if previous is None or previous >= current:
        return result(True, f"version {current}: no earlier validated version to compare with",
                      current_version=current)
    try:
        reference = _read(uri, previous)
    except Exception as exc:  # vacuumed past retention, or unreadable
        return result(True, f"validated version {previous} is no longer readable ({exc}): "
                      "nothing to compare", current_version=current, reference_version=previous)
    frame = _read(uri, current)
    rows = feature_drift(reference, frame,
                         skip={c: "entity key" for c in KEY_COLUMNS if c in frame.columns})
    drifted = [r.column for r in rows if r.drifted]
    judged = [r for r in rows if r.kind != "skipped"]
    description = (f"{len(drifted)} of {len(judged)} feature column(s) drifted (PSI > "
                   f"{PSI_THRESHOLD}) from validated version {previous} to {current}"
                   + (f": {', '.join(drifted)}" if drifted else ""))
    return result(not drifted, description, current_version=current,
                  reference_version=previous, rows_current=frame.height,
                  rows_reference=reference.height, psi_threshold=PSI_THRESHOLD,
                  drifted_columns=drifted,
                  max_psi=max((r.psi for r in judged if r.psi is not None), default=0.0),
                  columns=dg.MetadataValue.md(drift_markdown(rows)))


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec(
        CHECK_NAME, asset=key, blocking=False,
        description="Every feature column of the newest version against the previous "
        f"validated version: PSI (numeric: deciles, with KS D; categorical: shares) above "
        f"{PSI_THRESHOLD} warns.")
        for key in KEYS],
    can_subset=True,
    name="ml_feature_drift",
)
def ml_feature_drift(context: dg.AssetCheckExecutionContext, lakehouse: LakehouseResource
                     ) -> Iterator[dg.AssetCheckResult]:
    for check_key in sorted(context.selected_asset_check_keys,
                            key=lambda k: k.asset_key.to_user_string()):
        yield drift_result(context.instance, lakehouse.paths, check_key.asset_key)
