"""Freshness of every landing channel against the cadence its source promises.

A landing asset is materialized by the batch run, not when files arrive, so freshness is
judged on the newest file's modification time (its delivery time): the landing asset records
it as ``dagster/last_updated_timestamp``, and the ``landing_arrivals`` sensor reports it as an
observation whenever a channel's newest file advances (a stat per file, nothing read).
Dagster's last-update freshness checks compare it with the channel's ``cadence``
(``lakehouse.channels.registry``); ``landing_freshness_sensor`` re-evaluates them once they could
be overdue, and ``landing_arrivals`` re-evaluates a failed one as soon as a file lands.
"""

import json
import warnings
from collections import defaultdict
from datetime import timedelta

import dagster as dg

from data_quality.landing_files import newest_file_mtime
from lakehouse.channels import CHANNELS
from orchestration.resources import LakehouseResource

LAST_UPDATED = "dagster/last_updated_timestamp"


def landing_key(channel: str) -> dg.AssetKey:
    return dg.AssetKey(["landing", channel])


def _build_checks() -> list[dg.AssetChecksDefinition]:
    by_cadence: dict[timedelta, list[dg.AssetKey]] = defaultdict(list)
    for ch in CHANNELS:
        if ch.cadence is not None:
            by_cadence[ch.cadence].append(landing_key(ch.name))
    checks = []
    with warnings.catch_warnings():
        # superseded by FreshnessPolicy (evaluated outside runs, not shown as a check); the
        # checks are what the UI's Checks tab and `lakehouse run` list, so we keep them
        warnings.simplefilter("ignore")
        for cadence, keys in sorted(by_cadence.items()):
            checks += dg.build_last_update_freshness_checks(
                assets=keys, lower_bound_delta=cadence,
                severity=dg.AssetCheckSeverity.WARN)
    return checks


landing_freshness_checks = _build_checks()
FRESHNESS_CHECK_KEYS = {spec.key.asset_key: spec.key for c in landing_freshness_checks
                        for spec in c.check_specs}

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    landing_freshness_sensor = dg.build_sensor_for_freshness_checks(
        freshness_checks=landing_freshness_checks, name="landing_freshness_sensor",
        minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)


def observation(channel: str, mtime: float) -> dg.AssetObservation:
    return dg.AssetObservation(asset_key=landing_key(channel), metadata={
        LAST_UPDATED: dg.MetadataValue.timestamp(mtime),
        "observed_by": "landing_arrivals sensor (newest file modification time)",
    })


def _failed(instance: dg.DagsterInstance, check_key: dg.AssetCheckKey) -> bool:
    summary = instance.event_log_storage.get_asset_check_summary_records([check_key])[check_key]
    record = summary.last_completed_check_execution_record
    evaluation = record.event.asset_check_evaluation if record and record.event else None
    return evaluation is not None and not evaluation.passed


@dg.sensor(
    name="landing_arrivals",
    asset_selection=dg.AssetSelection.checks(*landing_freshness_checks),
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Reports each landing channel's newest file time as an observation (what "
    "the freshness checks read) and re-evaluates a failed freshness check when a file lands.",
)
def landing_arrivals(context: dg.SensorEvaluationContext, lakehouse: LakehouseResource):
    seen: dict[str, float] = json.loads(context.cursor) if context.cursor else {}
    landing = lakehouse.paths.landing
    events, recheck, newest = [], [], dict(seen)
    for ch in CHANNELS:
        try:
            mtime = newest_file_mtime(landing, ch.name)
        except OSError as exc:  # keep the cursor: a later tick sees the files
            context.log.warning(f"landing/{ch.name} unreadable: {exc}")
            continue
        if mtime is None or mtime <= seen.get(ch.name, float("-inf")):
            continue
        newest[ch.name] = mtime
        events.append(observation(ch.name, mtime))
        check_key = FRESHNESS_CHECK_KEYS.get(landing_key(ch.name))
        if check_key is not None and _failed(context.instance, check_key):
            recheck.append(check_key)
    if not events:
        return dg.SkipReason("no channel has a newer file")
    requests = []
    if recheck:
        stamp = ",".join(f"{k.asset_key.path[-1]}@{newest[k.asset_key.path[-1]]}"
                         for k in recheck)
        requests.append(dg.RunRequest(run_key=f"freshness-{stamp}", asset_check_keys=recheck))
    return dg.SensorResult(asset_events=events, run_requests=requests,
                           cursor=json.dumps(newest, sort_keys=True))
