"""Micro-batch: a sensor turns each new set of landing files into one run.

What is new is decided by the lake, not by a list kept beside it (DESIGN rule 9): a file whose
content the lake has already ingested (``lakehouse.ingest.bronze.ingested``: its transaction is
in the quarantine table, committed after every bronze table it feeds) is never requested, so a
first `make dev` after `make run` requests nothing. The cursor stays small whatever the
history: a watermark on the files' inode change time (ctime, which no copy tool can set back,
unlike mtime) and the files seen in the last few seconds below it. Only files that changed
since the watermark are hashed and looked up; a tick hashes at most ``MAX_HASH_BYTES`` and
leaves the rest to the next one.

The run key is the set of new files with their content hash, so a re-scan, overlapping ticks or
a restarted daemon never request the same files twice, while a changed file under an old name
is new work (Dagster deduplicates run keys forever). Errors are caught so the cursor is kept.
"""

import hashlib
import json
import os
from dataclasses import dataclass

import dagster as dg

from lakehouse.channels import entity_for_file
from lakehouse.home import Home
from lakehouse.ingest.bronze import ingested
from lakehouse.ingest.landing import landing_file
from lakehouse.ingest.release import RELEASES
from lakehouse.silver.tables import IDENTITY_TABLES, tables_fed_by
from orchestration.assets.inventory import LIVE_KEY as INVENTORY_LIVE_KEY
from orchestration.assets.inventory import SOURCES as INVENTORY_SOURCES
from orchestration.resources import LakehouseResource

MAX_FILES_PER_RUN = 500
MAX_HASH_BYTES = 256 << 20  # per tick: a first tick over a big landing zone spreads out
SLACK_NS = 5_000_000_000  # files this close below the watermark are checked again
_SKIP_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload")


@dataclass(frozen=True)
class Seen:
    """A landed file as a stat sees it (no byte read)."""

    relpath: str
    size: int
    mtime_ns: int
    ctime_ns: int

    @property
    def sig(self) -> str:
        return f"{self.size}:{self.mtime_ns}:{self.ctime_ns}"


def scan_landing(home: Home) -> list[Seen]:
    """Every landed file, by stat only; in-flight and hidden names are not landed yet."""
    if not home.landing.exists():
        return []
    found = []
    with os.scandir(home.landing) as channels:
        for channel in channels:
            if not channel.is_dir() or channel.name.startswith("."):
                continue
            with os.scandir(channel.path) as entries:
                for e in entries:
                    if (e.name.startswith(".") or e.name.endswith(_SKIP_SUFFIXES)
                            or not e.is_file()):
                        continue
                    st = e.stat()
                    found.append(Seen(f"{channel.name}/{e.name}", st.st_size,
                                      st.st_mtime_ns, st.st_ctime_ns))
    return found


@dataclass
class Cursor:
    """The watermark (ctime, ns) below which every file has been dealt with, and the files
    dealt with in the ``SLACK_NS`` below it (relpath -> sig)."""

    watermark: int = 0
    recent: dict[str, str] | None = None

    @classmethod
    def parse(cls, text: str | None) -> "Cursor":
        data = json.loads(text) if text else {}
        if "watermark" not in data:  # none yet, or the old per-file map: the lake decides
            return cls(0, {})
        return cls(int(data["watermark"]), dict(data.get("recent", {})))

    def dump(self) -> str:
        return json.dumps({"watermark": self.watermark, "recent": self.recent or {}},
                          sort_keys=True)


def new_files(home: Home, scanned: list[Seen], cursor: Cursor,
              max_hash_bytes: int = MAX_HASH_BYTES,
              slack_ns: int = SLACK_NS) -> tuple[dict[str, str], Cursor]:
    """``relpath -> sha256`` of the files to ingest, and the next cursor: files changed since
    the watermark are hashed (up to ``max_hash_bytes``) and kept when the lake has not
    ingested their content."""
    recent = cursor.recent or {}
    low = cursor.watermark - slack_ns
    todo = sorted((f for f in scanned if f.ctime_ns >= low and recent.get(f.relpath) != f.sig),
                  key=lambda f: (f.ctime_ns, f.relpath))
    checked, budget = [], max_hash_bytes
    for f in todo:
        if checked and f.size > budget:
            break
        checked.append(f)
        budget -= f.size
    done = {f.relpath for f in checked}
    landed = [landing_file(home, home.landing / f.relpath) for f in checked]
    fresh = {lf.relpath: lf.sha256 for lf in landed}
    for identity in ingested(home, landed):
        fresh.pop(identity.rsplit("@", 1)[0], None)
    if len(checked) == len(todo):
        watermark = max([cursor.watermark, *(f.ctime_ns for f in scanned)])
    else:  # the rest waits: nothing at or above the last file checked is passed over
        watermark = max(cursor.watermark, checked[-1].ctime_ns) if checked else cursor.watermark
    keep = {f.relpath: f.sig for f in scanned if f.ctime_ns >= watermark - slack_ns
            and (f.relpath in done or recent.get(f.relpath) == f.sig)}
    return fresh, Cursor(watermark, keep)


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
        home = lakehouse.paths
        cursor = Cursor.parse(context.cursor)
        try:
            scanned = scan_landing(home)
            fresh, cursor = new_files(home, scanned, cursor)
        except OSError as exc:
            return dg.SkipReason(f"landing zone unreadable, cursor kept: {exc}")
        runs = plan_runs(fresh, {})
        if not runs:
            return dg.SensorResult(skip_reason=f"no new files ({len(scanned)} landed, all "
                                   "ingested or requested)", cursor=cursor.dump())
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
        return dg.SensorResult(run_requests=requests, cursor=cursor.dump())

    return landing_sensor
