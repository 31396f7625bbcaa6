"""Micro-batch freshness: time from a file landing to its rows in the lake, with `make dev` up.

Starts `lakehouse dev` (UI + daemon, landing sensor on) on a temporary home, lets the sensor
ingest an initial simulated landing, then lands 20 micro-batches one at a time (each one
simulated hour of arrivals from `simulate --live`, moved in atomically) and polls the target
table until every file's rows are there. Prints p50 / p95 / max seconds and where a run's
time goes. Target: p95 < 10 s.

    .venv/bin/python bench/bench_freshness.py [--batches 20] [--layer bronze|silver]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
from deltalake import DeltaTable

from lakehouse.channels import entity_for_file
from lakehouse.home import Home
from lakehouse.simulate import SimConfig, live, simulate
from lakehouse.storage.paths import bronze_uri, table_uri

TICK_NAME = re.compile(r"_(\d{8}_\d{6})_\d{3}\.\w+$")
CONFIG = SimConfig(persons=300, products=40, stores=2, warehouses=1, days=2)


def _target(home: Home, layer: str, relpath: str) -> str:
    channel, name = relpath.split("/")
    if layer == "bronze":
        return bronze_uri(home, channel, entity_for_file(channel, name).name)
    return table_uri(home, "silver", "clickstream_events")


def _measured(layer: str, relpath: str) -> bool:
    """Bronze: every file. Silver: the clickstream files, whose rows all reach one table (a
    file of other channels may hold only duplicates or updates, which leave no row of its own)."""
    return layer == "bronze" or relpath.split("/")[0] in ("web", "app")


@functools.cache
def _event_ids(path: Path) -> list[str]:
    ids = []
    for line in path.read_bytes().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a malformed line goes to quarantine, not silver
        ids.append(record.get("event_id") or record.get("eventId"))
    return [i for i in ids if isinstance(i, str)]


def _landed(home: Home, layer: str, relpath: str) -> bool:
    """Bronze: the file's rows are in its table. Silver: every event id of the file is (the
    kept copy of a re-delivered event may come from an earlier file)."""
    uri = _target(home, layer, relpath)
    if not DeltaTable.is_deltatable(uri):
        return False
    # polars reads files of mixed string / string_view physical types; pyarrow filters do not
    table = pl.scan_delta(uri)
    if layer == "bronze":
        return table.filter(pl.col("_source_file") == relpath).select(pl.len()).collect().item() > 0
    ids = _event_ids(home.landing / relpath)
    found = table.filter(pl.col("event_id").is_in(ids)).select(pl.len()).collect().item()
    return found >= len(set(ids))


def _wait(home: Home, layer: str, relpaths: list[str], timeout: float) -> float | None:
    start = time.monotonic()
    pending = set(relpaths)
    while pending and time.monotonic() - start < timeout:
        pending = {p for p in pending if not _landed(home, layer, p)}
        time.sleep(0.1)
    return None if pending else time.monotonic() - start


def _phases(home: Home, landed: list[float]) -> None:
    """Where a micro-batch's time goes, from the Dagster instance's event log (medians over the
    last runs, one per measured batch): the sensor noticing the files and creating the run, the
    queue, the run worker starting (launch, imports, instance), and bronze plus silver until the
    last silver table is committed."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home.root / "dagster")) as instance:
        records = sorted(instance.get_run_records(), key=lambda r: r.create_timestamp)
        recent = records[-len(landed):]
        spans: dict[str, list[float]] = {"sensor: landed -> run created": [],
                                         "queue: created -> dequeued": [],
                                         "worker: dequeued -> run started": [],
                                         "run started -> silver committed": []}
        for at, record in zip(landed, recent, strict=False):
            times: dict[str, float] = {}
            for event in instance.all_logs(record.dagster_run.run_id):
                kind = event.dagster_event.event_type_value if event.dagster_event else ""
                if kind in ("PIPELINE_STARTING", "PIPELINE_START"):
                    times.setdefault(kind, event.timestamp)
                elif kind == "ASSET_MATERIALIZATION" and event.step_key == "build_silver":
                    times["silver"] = event.timestamp
            if len(times) < 3:
                continue
            created = record.create_timestamp.timestamp()
            spans["sensor: landed -> run created"].append(created - at)
            spans["queue: created -> dequeued"].append(times["PIPELINE_STARTING"] - created)
            spans["worker: dequeued -> run started"].append(
                times["PIPELINE_START"] - times["PIPELINE_STARTING"])
            spans["run started -> silver committed"].append(
                times["silver"] - times["PIPELINE_START"])
    for name, values in spans.items():
        if values:
            print(f"  {name:34} p50 {statistics.median(values):5.2f}s  max {max(values):5.2f}s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--layer", choices=["bronze", "silver"], default="silver")
    ap.add_argument("--port", type=int, default=3333)
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench_fresh_"))
    staging, home = Home(root / "staging").ensure(), Home(root / "home").ensure()
    simulate(staging, CONFIG)
    live(staging, CONFIG, 0, max_batches=3 * args.batches)  # not every hour has clickstream
    initial, ticks = [], {}
    for p in sorted(staging.landing.glob("*/*")):
        tick = TICK_NAME.search(p.name)  # <entity>_<YYYYMMDD>_<HHMMSS>_000: a live tick
        if tick:
            ticks.setdefault(tick.group(1), []).append(p)
        else:
            initial.append(p)
    for p in initial:
        dest = home.landing / p.parent.name / p.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(p.read_bytes())

    env = home.environment()
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("lakehouse")), "dev", "--home", str(home.root),
         "--port", str(args.port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        first = [f"{p.parent.name}/{p.name}" for p in initial
                 if p.stat().st_size > 200 and _measured(args.layer, f"{p.parent.name}/{p.name}")]
        took = _wait(home, args.layer, first[:5], timeout=600)
        print(f"initial landing ({len(initial)} files) ingested in {took}s (includes start-up)")
        figures, landed = [], []
        measured_ticks = [t for t in sorted(ticks) if any(
            _measured(args.layer, f"{p.parent.name}/{p.name}") for p in ticks[t])]
        for stamp in measured_ticks[: args.batches]:
            files = ticks[stamp]
            rel = []
            for p in files:
                dest = home.landing / p.parent.name / p.name
                dest.parent.mkdir(parents=True, exist_ok=True)
                tmp = dest.with_name("." + dest.name)
                tmp.write_bytes(p.read_bytes())
                os.replace(tmp, dest)  # atomic: the sensor never sees half a file
                if p.stat().st_size and _measured(args.layer, f"{p.parent.name}/{p.name}"):
                    rel.append(f"{p.parent.name}/{p.name}")
            landed.append(time.time())
            took = _wait(home, args.layer, rel, timeout=300)
            print(f"batch {stamp}: {len(rel)} files -> {args.layer} in "
                  f"{'timeout' if took is None else f'{took:.1f}s'}", flush=True)
            figures.append(took if took is not None else float("inf"))
        figures.sort()
        p95 = figures[max(0, round(0.95 * len(figures)) - 1)]
        print(f"freshness to {args.layer} over {len(figures)} micro-batches: "
              f"p50 {statistics.median(figures):.1f}s, p95 {p95:.1f}s, max {figures[-1]:.1f}s "
              f"(target p95 < 10 s)")
        print(f"load average {os.getloadavg()[0]:.2f} (1 min)")
        if args.layer == "silver":
            _phases(home, landed)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
