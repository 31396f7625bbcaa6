"""Micro-batch: a sensor turns each new set of landing files into one run.

The run key is the set of new files with their size and modification time, so a re-scan,
overlapping ticks or a restarted daemon never request the same files twice, while a changed
file under an old name is new work (Dagster deduplicates run keys forever). The cursor keeps
the last seen state of every file; errors are caught so the cursor is never lost.
"""

import hashlib
import json

import dagster as dg

from lakehouse.channels.spec import entity_for_file
from lakehouse.home import Home
from lakehouse.ingest.release import RELEASES
from lakehouse.silver.tables import IDENTITY_TABLES, tables_fed_by
from orchestration.assets.inventory import LIVE_KEY as INVENTORY_LIVE_KEY
from orchestration.assets.inventory import SOURCES as INVENTORY_SOURCES
from orchestration.resources import LakehouseResource

MAX_FILES_PER_RUN = 500


def scan_landing(home: Home) -> dict[str, str]:
    """relpath -> "size:mtime_ns" for every landed file (cheap: no file is read)."""
    if not home.landing.exists():
        return {}
    state = {}
    for path in sorted(home.landing.glob("*/*")):
        if path.is_file() and not path.name.startswith(".") and not path.name.endswith(
                (".tmp", ".part", ".partial")):
            stat = path.stat()
            state[path.relative_to(home.landing).as_posix()] = f"{stat.st_size}:{stat.st_mtime_ns}"
    return state


def plan_runs(current: dict[str, str], seen: dict[str, str],
              max_files: int = MAX_FILES_PER_RUN) -> list[tuple[str, list[str]]]:
    """(run_key, files) for every file new or changed since `seen`, in stable chunks."""
    new = sorted(p for p, sig in current.items() if seen.get(p) != sig)
    runs = []
    for i in range(0, len(new), max_files):
        chunk = new[i:i + max_files]
        digest = hashlib.sha256("\n".join(f"{p}@{current[p]}" for p in chunk).encode())
        runs.append((f"landing-{digest.hexdigest()[:24]}", chunk))
    return runs


def assets_fed_by(files: list[str]) -> list[dg.AssetKey]:
    """Bronze and silver tables (and quarantine) that a set of landing files can change; the
    identity inputs wait for the batch run (only identity resolution reads them)."""
    keys = {dg.AssetKey(["quarantine", "rows"])}
    for relpath in files:
        channel, name = relpath.split("/", 1)
        try:
            ent = entity_for_file(channel, name)
        except ValueError:
            continue  # a stray file only reaches quarantine
        entities = [ent.name, "shipping_rates"] if channel == "locations" else [ent.name]
        # a store list can release till rows that waited in quarantine for its time zones
        fed = [(channel, e) for e in entities] + list(RELEASES.get((channel, ent.name), ()))
        for ch, entity in fed:
            keys.add(dg.AssetKey(["bronze", f"{ch}__{entity}"]))
            keys |= {dg.AssetKey(["silver", t]) for t in tables_fed_by(ch, entity)
                     if t not in IDENTITY_TABLES}
    # positions move with every stock-relevant silver table a batch writes
    if any(dg.AssetKey(["silver", s]) in keys for s in INVENTORY_SOURCES):
        keys.add(INVENTORY_LIVE_KEY)
    return sorted(keys, key=lambda k: k.to_user_string())


def build_landing_sensor(job) -> dg.SensorDefinition:
    @dg.sensor(job=job, minimum_interval_seconds=1, default_status=dg.DefaultSensorStatus.RUNNING,
               description="One micro-batch run per new set of landing files.")
    def landing_sensor(context: dg.SensorEvaluationContext, lakehouse: LakehouseResource):
        seen = json.loads(context.cursor) if context.cursor else {}
        try:
            current = scan_landing(lakehouse.paths)
        except OSError as exc:
            return dg.SkipReason(f"landing zone unreadable, cursor kept: {exc}")
        runs = plan_runs(current, seen)
        if not runs:
            return dg.SkipReason(f"no new files ({len(current)} landed, all requested)")
        requests = [
            dg.RunRequest(
                run_key=key,
                asset_selection=assets_fed_by(files),
                # gates run GX, imported once by the warm process runs are forked from
                run_config={"ops": {"ingest_bronze": {"config": {"files": files}}}},
                tags={"lakehouse/files": str(len(files))},
            )
            for key, files in runs
        ]
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(current, sort_keys=True))

    return landing_sensor
