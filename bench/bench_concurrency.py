"""Concurrency, full form (issue 16): on a small simulated retailer under `lakehouse dev`
(webserver, daemon, queue, prefork launcher), start together a nightly (`lakehouse run`), a
materialization launched as the UI launches it (GraphQL, every asset of the identity and
inventory groups), three micro-batches (submitted to the queue as the landing sensor's run
requests, one landing file each) and table maintenance in a process of its own. Then replay
what held the lake, in the order it held it, one after another on a second home, and compare
the two lakes (bronze, silver, gold and the warehouse).

Prints the lock's intervals, waits and the seconds of each phase. The small form, without the
queue, the webserver and dbt, is tests/integration/test_concurrency.py.

    .venv/bin/python bench/bench_concurrency.py [--persons 40] [--days 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent

from tests.servers import free_port, graphql, stop  # noqa: E402 (ROOT on sys.path first)

LAUNCH = """
mutation($p: ExecutionParams!) { launchPipelineExecution(executionParams: $p) {
  __typename ... on LaunchRunSuccess { run { runId } }
  ... on PythonError { message } ... on RunConfigValidationInvalid { errors { message } } } }
"""
SENSORS = """{ repositoriesOrError { ... on RepositoryConnection { nodes { name
  location { name } sensors { name sensorState { id status } } } } } }"""
STOP_SENSOR = """mutation($id: String) { stopSensor(id: $id) { __typename } }"""


def _up(port: int, deadline: float) -> dict:
    """The code location's repository once the UI serves a running landing sensor."""
    while time.monotonic() < deadline:
        try:
            repos = graphql(port, SENSORS, timeout=30)["data"]["repositoriesOrError"]["nodes"]
            for repo in repos:
                states = {s["name"]: s["sensorState"] for s in repo["sensors"]}
                if states.get("landing_sensor", {}).get("status") == "RUNNING":
                    return repo
        except (OSError, KeyError, TypeError):
            pass
        time.sleep(1)
    raise SystemExit("lakehouse dev did not come up in time")


def _launch(port: int, repo: dict, job: str, assets: list, config: dict,
            tags: dict[str, str]) -> str:
    """Launch a run as the UI does: through the instance's queue."""
    params = {"selector": {"repositoryLocationName": repo["location"]["name"],
                           "repositoryName": repo["name"], "pipelineName": job,
                           "assetSelection": [{"path": k.path} for k in assets]},
              "runConfigData": config,
              "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]}}
    answer = graphql(port, LAUNCH, {"p": params}, timeout=30)
    result = answer["data"]["launchPipelineExecution"]
    if result["__typename"] != "LaunchRunSuccess":
        raise SystemExit(f"launch of {job} failed: {result}")
    return result["run"]["runId"]


def _wait_runs(home: Path, run_ids: list[str], deadline: float) -> dict[str, str]:
    import dagster as dg

    while True:
        with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
            status = {r: instance.get_run_by_id(r).status for r in run_ids}
        if all(s.value in ("SUCCESS", "FAILURE", "CANCELED") for s in status.values()):
            return {r: s.value for r, s in status.items()}
        if time.monotonic() > deadline:
            raise SystemExit(f"runs not finished: {status}")
        time.sleep(1)


def replay(held: list[tuple[str, float, float]], together: Path, serial: Path) -> list[str]:
    """What held the lake on `together`, in that order, one after another on `serial`."""
    import dagster as dg

    from orchestration.definitions import defs
    from tests.integration.test_concurrency import PROCESS, _env

    env = _env(serial)
    done = []
    with dg.DagsterInstance.from_config(str(together / "dagster")) as source, \
            dg.DagsterInstance.from_config(str(serial / "dagster")) as instance:
        for holder, _, _ in held:
            if holder.startswith("lakehouse run"):
                subprocess.run([str(BIN / "lakehouse"), "run", "--home", str(serial)], env=env,
                               cwd=ROOT, check=True, capture_output=True)
            elif holder.startswith("lake maintenance"):
                subprocess.run([sys.executable, "-c", PROCESS, "maintenance", str(serial)],
                               env=env, cwd=ROOT, check=True, capture_output=True)
            else:
                run = source.get_run_by_id(holder.split()[1])
                if not run.asset_selection:  # checks only (a sensor's): they write nothing
                    print(f"  not replayed (checks only): {holder}")
                    continue
                job = (defs.resolve_implicit_global_asset_job_def()
                       if run.job_name == "__ASSET_JOB" else defs.resolve_job_def(run.job_name))
                config = {**run.run_config, "resources": {
                    "lakehouse": {"config": {"home": str(serial)}}}}
                result = job.execute_in_process(
                    run_config=config, instance=instance, raise_on_error=False,
                    asset_selection=sorted(run.asset_selection or []) or None)
                # the same outcome: a run that failed there (on a lake not ready for it)
                # fails here too
                assert result.success == (run.status == dg.DagsterRunStatus.SUCCESS), holder
            done.append(holder)
    return done


def _dagster_queue(home) -> None:
    """The home's instance with Dagster's `QueuedRunCoordinator` in place of
    `LakeRunCoordinator` (same config); without the marker line, so the home keeps it."""
    from lakehouse.home import INSTANCE_YAML_MARKER, instance_yaml

    ours = "  module: orchestration.runtime.launcher\n  class: LakeRunCoordinator\n"
    text = instance_yaml(home.dagster_home)
    assert ours in text
    (home.dagster_home / "dagster.yaml").write_text(
        text.replace(INSTANCE_YAML_MARKER + "\n", "").replace(
            ours, "  module: dagster._core.run_coordinator\n  class: QueuedRunCoordinator\n"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=40)
    parser.add_argument("--days", type=int, default=2)
    parser.add_argument("--keep", help="keep the homes in this directory")
    parser.add_argument("--queue", choices=["lake", "dagster"], default="lake",
                        help="run coordinator: orchestration.runtime.launcher.LakeRunCoordinator "
                        "(default) or the home's QueuedRunCoordinator")
    args = parser.parse_args()
    os.environ.pop("LAKEHOUSE_HMAC_KEY", None)
    with TemporaryDirectory() as tmp:
        return _bench(Path(args.keep or tmp), args)


def _bench(tmp: Path, args) -> int:
    from lakehouse.home import Home
    from lakehouse.simulate import SimConfig
    from lakehouse.storage.lock import read_log
    from tests import convergence as cv
    from tests.integration.test_concurrency import (
        MICRO_PREFIXES,
        PROCESS,
        _env,
        commits_outside,
        intervals,
        last_turns,
    )

    seconds: dict[str, float] = {}
    t0 = time.monotonic()
    source = cv.simulate_source(tmp / "source", SimConfig(
        persons=args.persons, products=8, stores=1, warehouses=1, days=args.days, seed=3))
    homes = {n: cv.new_home(tmp / n) for n in ("together", "serial")}
    for home in homes.values():
        Home.resolve(home).ensure()
        if args.queue == "dagster":
            _dagster_queue(Home.resolve(home))
    together = homes["together"]
    os.environ["LAKEHOUSE_HOME"] = str(homes["serial"])  # what this process replays on
    from orchestration.assets.identity import identity_tables
    from orchestration.assets.inventory import inventory_tables
    from orchestration.sensors import assets_fed_by

    port = free_port()
    dev = subprocess.Popen([str(BIN / "lakehouse"), "dev", "--home", str(together), "--port",
                            str(port)], env=_env(together), cwd=ROOT, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        repo = _up(port, time.monotonic() + 300)
        # the micro-batches below are the sensor's requests, submitted by hand so that every
        # file is landed before the race: the content is then the same in any order
        sensor = {s["name"]: s["sensorState"]["id"] for s in repo["sensors"]}["landing_sensor"]
        graphql(port, STOP_SENSOR, {"id": sensor}, timeout=30)
        seconds["dev up"] = time.monotonic() - t0
        for home in homes.values():
            cv.deliver(source, home, source.files)
        micro = [next(f for f in source.events if f.startswith(p)) for p in MICRO_PREFIXES]
        home_config = {"resources": {"lakehouse": {"config": {"home": str(together)}}}}
        env = _env(together)
        started, t1 = time.time(), time.monotonic()
        procs = {"nightly": subprocess.Popen(
            [str(BIN / "lakehouse"), "run", "--home", str(together)], env=env, cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True),
            "maintenance": subprocess.Popen(
            [sys.executable, "-c", PROCESS, "maintenance", str(together)], env=env, cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)}
        runs = {"ui": _launch(port, repo, "__ASSET_JOB",
                              sorted([*identity_tables.keys, *inventory_tables.keys]),
                              home_config, {})}
        for i, f in enumerate(micro):
            runs[f"micro-batch {i + 1}"] = _launch(
                port, repo, "micro_batch", assets_fed_by([f]),
                {**home_config, "ops": {"ingest_bronze": {"config": {"files": [f]}}}},
                {"lakehouse/files": "1"})
        outcome = {}
        for name, proc in procs.items():
            out, _ = proc.communicate(timeout=3600)
            outcome[name] = f"exit {proc.returncode}"
            if proc.returncode:
                print(out[-4000:])
        status = _wait_runs(together, list(runs.values()), time.monotonic() + 3600)
        outcome |= {name: status[r] for name, r in runs.items()}
        seconds["together"] = time.monotonic() - t1
    finally:
        stop(dev, 30, group=True)
    print(f"outcome: {json.dumps(outcome)}")
    held = intervals(together)
    base = held[0][1]
    for holder, a, r in held:
        print(f"  held {a - base:7.1f} .. {r - base:7.1f} s  {holder}")
    waits = [e["waited"] for e in read_log(together) if e["event"] == "acquired"]
    print(f"lock waits (s): {sorted(waits)}")
    outside = commits_outside(together, held, started)
    print(f"commits outside a writer's interval: {len(outside)} {outside[:5]}")
    t2 = time.monotonic()
    replay(last_turns(held), together, homes["serial"])
    seconds["one after another"] = time.monotonic() - t2
    layers = ("bronze", "silver", "gold")
    differences = cv.differences(cv.fingerprint(homes["serial"], layers),
                                 cv.fingerprint(together, layers),
                                 ("one after another", "together"))
    print(f"tables compared: {len(cv.fingerprint(together, layers).tables)}; "
          f"differences: {len(differences)}")
    for line in differences[:20]:
        print("  " + line)
    print(f"seconds: {json.dumps({k: round(v, 1) for k, v in seconds.items()})}")
    ok = (all(v in ("SUCCESS", "exit 0") for v in outcome.values()) and not outside
          and not differences and len(last_turns(held)) == len(outcome))
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
