"""Lake writers started together serialise and give what running them one after another gives
(issue 16, "Concurrency"; DESIGN.md rule 2).

One small simulated retailer, every file landed. Started at the same moment on that home, as
real processes: an in-process nightly (`orchestration.runtime.run.materialize_all`, the code of
`lakehouse run`, on a smaller job: bronze and silver), three
micro-batches and a materialization of assets (what the UI launches: an untagged asset-job
run), each a run launched through the home's `PreforkRunLauncher` as the daemon launches a
dequeued run, and table maintenance materialized by a process of its own. The queue is left
out on purpose: with it, the launched runs would rarely meet; without it, every writer relies
on the lake-writer lock alone. `bench/bench_concurrency.py` runs the full form (`lakehouse
dev`: queue, daemon, webserver; the real `lakehouse run`).

Asserted: every run succeeds; the lock's log shows one writer at a time, each writer once;
every Delta commit of the lake falls inside its writer's interval; and the lake (bronze,
silver and gold, `tests/convergence.py`'s fingerprint) equals the lake of a second home on
which the same runs ran one after another (in this process), in the order the lock gave them.

Why one module of ~450 lines: the tests share one landed home and the helpers that start each
kind of writer as a real process and read the lock's log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import pytest
from deltalake import DeltaTable

from lakehouse.home import Home
from lakehouse.simulate import SimConfig
from lakehouse.storage.lock import read_log
from tests import convergence as cv

ROOT = Path(__file__).parents[2]
CONFIG = SimConfig(persons=40, products=8, stores=1, warehouses=1, days=2, seed=3)
MICRO_PREFIXES = ("web/", "app/", "wms/")  # one micro-batch each: its channel's first file
TERMINAL = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE,
            dg.DagsterRunStatus.CANCELED}
SLACK_S = 0.05  # clock granularity between a commit's timestamp and the lock log

pytestmark = pytest.mark.slow



def _nightly_defs(home: str) -> dg.Definitions:
    """The small form's nightly job: the batch path's bronze and silver (`lakehouse run` runs
    every asset; the full form, in the bench, runs it)."""
    from orchestration import definitions as d
    from orchestration.jobs import LAKE_WRITER

    job = dg.define_asset_job("materialize_all", tags=LAKE_WRITER,
                              selection=dg.AssetSelection.assets(d.ingest_bronze,
                                                                 d.silver_tables))
    from orchestration.resources import LakehouseResource

    # the home named here, not the one `orchestration.definitions` saw when first imported
    resources = {**d.defs.resources, "lakehouse": LakehouseResource(home=home)}
    return dg.Definitions(assets=d.defs.assets, asset_checks=d.defs.asset_checks,
                          resources=resources, jobs=[job])


def nightly(home: str) -> int:
    """`lakehouse run`'s code (lake turn, in-process run on the home's instance) on the small
    nightly job."""
    from orchestration.runtime.run import materialize_all

    return materialize_all(Home.resolve(home), _nightly_defs(home))


def maintenance(home: str) -> int:
    """Maintenance materialized outside any run worker: the asset takes the lock itself."""
    from orchestration.assets.maintenance import lake_maintenance
    from orchestration.resources import LakehouseResource

    result = dg.materialize([lake_maintenance],
                            resources={"lakehouse": LakehouseResource(home=home)})
    return 0 if result.success else 1


PROCESS = ("import sys; from tests.integration import test_concurrency as t; "
           "sys.exit(getattr(t, sys.argv[1])(sys.argv[2]))")


@dataclass
class Writer:
    """One lake writer of the scenario: a launched run (job, assets, config) or a process."""

    name: str
    job: str = ""
    assets: list[dg.AssetKey] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    function: str = ""  # a process running this function of this module

    def run_config(self, home: Path) -> dict:
        config: dict = {"resources": {"lakehouse": {"config": {"home": str(home)}}}}
        if self.files:
            config["ops"] = {"ingest_bronze": {"config": {"files": self.files}}}
        return config


def scenario(source: cv.Source) -> list[Writer]:
    """The small form's writers: nightly, three micro-batches, a UI materialization,
    maintenance."""
    from orchestration.assets.inventory import inventory_tables
    from orchestration.sensors import assets_fed_by

    micro = [next(f for f in source.events if f.startswith(p)) for p in MICRO_PREFIXES]
    return [Writer("nightly", function="nightly"),
            *[Writer(f"micro-batch {i + 1}", job="micro_batch", files=[f],
                     assets=assets_fed_by([f])) for i, f in enumerate(micro)],
            Writer("ui", job="__ASSET_JOB", assets=sorted(inventory_tables.keys)),
            Writer("maintenance", function="maintenance")]


def _env(home: Path) -> dict[str, str]:
    env = Home.resolve(home).environment()
    env.pop("LAKEHOUSE_HMAC_KEY", None)  # the home's own (shared) key: tests/convergence.py
    env["PYTHONPATH"] = str(ROOT)
    return env


def _launch(instance: dg.DagsterInstance, writer: Writer, home: Path) -> str:
    """Create and launch a run as the daemon does once the queue lets it go."""
    from dagster._core.definitions.reconstruct import ReconstructableJob, ReconstructableRepository

    from orchestration.definitions import defs

    repo = ReconstructableRepository.for_module("orchestration.definitions", "defs",
                                                working_directory=str(ROOT))
    recon = ReconstructableJob(repo, writer.job)
    job = (defs.resolve_implicit_global_asset_job_def() if writer.job == "__ASSET_JOB"
           else defs.resolve_job_def(writer.job))
    run = instance.create_run_for_job(
        job.get_subset(asset_selection=set(writer.assets)),
        run_config=writer.run_config(home), tags=dict(job.tags),
        asset_selection=frozenset(writer.assets), job_code_origin=recon.get_python_origin())
    instance.launch_run(run.run_id, workspace=None)
    return run.run_id


def _wait_runs(instance: dg.DagsterInstance, run_ids: list[str], deadline: float) -> None:
    while time.monotonic() < deadline:
        if all(instance.get_run_by_id(r).status in TERMINAL for r in run_ids):
            return
        time.sleep(0.2)
    raise AssertionError(f"runs not finished in time: "
                         f"{[(r, instance.get_run_by_id(r).status) for r in run_ids]}")


def intervals(home: Path) -> list[tuple[str, float, float]]:
    """(holder, acquired, released) from the lock's log, in order; fails on an overlap or on
    an acquisition without its release."""
    out, open_ = [], None
    for entry in read_log(home):
        if entry["event"] == "acquired":
            assert open_ is None, f"{entry['holder']} acquired while {open_[0]} held the lake"
            open_ = (entry["holder"], entry["at"], entry["pid"])
        else:
            assert open_ is not None and entry["pid"] == open_[2], f"stray release {entry}"
            out.append((open_[0], open_[1], entry["at"]))
            open_ = None
    assert open_ is None, f"{open_[0]} never released the lake"
    return out


def last_turns(held: list[tuple[str, float, float]]) -> list[tuple[str, float, float]]:
    """Each holder's last interval, in order: an in-process run that found a launched run
    dequeued meanwhile gives the lock back before writing anything and takes it again later
    (`orchestration.runtime.run.lake_turn`), so its last interval is its write."""
    last = {holder: (holder, a, r) for holder, a, r in held}
    return sorted(last.values(), key=lambda t: t[1])


def commits_outside(home: Path, held: list[tuple[str, float, float]], since: float) -> list[str]:
    """Delta commits of the lake made after `since` outside every writer's interval."""
    bad = []
    for path in sorted((home / "lake").glob("*/*")):
        if not DeltaTable.is_deltatable(str(path)):
            continue
        for h in DeltaTable(str(path)).history():
            at = int(h["timestamp"]) / 1000
            if at >= since and not any(a - SLACK_S <= at <= r + SLACK_S for _, a, r in held):
                bad.append(f"{path.relative_to(home / 'lake')} v{h['version']} "
                           f"{h.get('operation')} at {at:.3f}")
    return bad


def run_together(writers: list[Writer], home: Path, timeout: float) -> dict[str, str]:
    """Start every writer at once on `home`; their outcome (run status or exit code)."""
    from dagster._core.instance import DagsterInstance

    env = _env(home)
    instance = DagsterInstance.from_config(str(Path(home) / "dagster"))
    outcome: dict[str, str] = {}
    try:
        # the warm process starts with the first launch; start it before the race so every
        # launched run is forked within the same second as the processes start
        procs = {w.name: subprocess.Popen(
            [sys.executable, "-c", PROCESS, w.function, str(home)], env=env, cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for w in writers if w.function}
        runs = {w.name: _launch(instance, w, home) for w in writers if w.job}
        deadline = time.monotonic() + timeout
        for name, proc in procs.items():
            out, _ = proc.communicate(timeout=max(1, deadline - time.monotonic()))
            outcome[name] = f"exit {proc.returncode}"
            if proc.returncode:
                outcome[name] += ": " + out[-3000:]
        _wait_runs(instance, list(runs.values()), deadline)
        for name, run_id in runs.items():
            outcome[name] = instance.get_run_by_id(run_id).status.value
    finally:
        instance.dispose()
    return outcome


def run_serially(writers: list[Writer], home: Path, monkeypatch) -> None:
    """The same writers one after another in this process (no process starts to pay), each
    finished before the next starts."""
    from orchestration.definitions import defs

    monkeypatch.setenv("DAGSTER_HOME", str(Path(home) / "dagster"))  # for `nightly`
    with dg.DagsterInstance.from_config(str(Path(home) / "dagster")) as instance:
        for w in writers:
            if w.function:
                assert globals()[w.function](str(home)) == 0, w.name
                continue
            job = (defs.resolve_implicit_global_asset_job_def() if w.job == "__ASSET_JOB"
                   else defs.resolve_job_def(w.job))
            result = job.execute_in_process(run_config=w.run_config(home), instance=instance,
                                            asset_selection=w.assets, raise_on_error=False)
            assert result.success, w.name


def holder_order(held: list[tuple[str, float, float]], writers: list[Writer],
                 home: Path) -> list[Writer]:
    """The writers in the order they held the lake (matched by run id, or by kind)."""
    with dg.DagsterInstance.from_config(str(Path(home) / "dagster")) as instance:
        by_run = {}
        for record in instance.get_run_records():
            run = record.dagster_run
            files = run.run_config.get("ops", {}).get("ingest_bronze", {}).get("config", {})
            by_run[run.run_id] = (run.job_name, tuple(files.get("files", [])))
    order = []
    for holder, _, _ in held:
        for w in writers:
            if w in order:
                continue
            if ((w.name == "nightly" and holder.startswith("lakehouse run"))
                    or (w.name == "maintenance" and holder.startswith("lake maintenance"))
                    or (w.job and any(holder.startswith(f"run {rid} ")
                                      and (job, files) == (w.job, tuple(w.files))
                                      for rid, (job, files) in by_run.items()))):
                order.append(w)
                break
    return order


def test_writers_started_together_serialise_and_equal_one_after_another(tmp_path, monkeypatch):
    source = cv.simulate_source(tmp_path / "source", CONFIG)
    homes = {}
    for name in ("together", "serial"):
        homes[name] = cv.new_home(tmp_path / name)
        cv.deliver(source, homes[name], source.files)
        Home.resolve(homes[name]).ensure()
    writers = scenario(source)
    monkeypatch.delenv("LAKEHOUSE_HMAC_KEY", raising=False)  # launched runs: the home's key
    monkeypatch.setenv("LAKEHOUSE_HOME", str(homes["together"]))
    started = time.time()
    t0 = time.monotonic()
    outcome = run_together(writers, homes["together"], timeout=600)
    seconds = {"together": time.monotonic() - t0}
    assert all(v in ("SUCCESS", "exit 0") for v in outcome.values()), json.dumps(outcome,
                                                                                  indent=1)
    held = intervals(homes["together"])
    assert len(last_turns(held)) == len(writers), held  # each writer held the lake
    assert not commits_outside(homes["together"], held, started)
    order = holder_order(last_turns(held), writers, homes["together"])
    assert len(order) == len(writers), (held, order)

    monkeypatch.setenv("LAKEHOUSE_HOME", str(homes["serial"]))
    t0 = time.monotonic()
    run_serially(order, homes["serial"], monkeypatch)
    seconds["one after another"] = time.monotonic() - t0
    layers = ("bronze", "silver", "gold")
    got = cv.fingerprint(homes["together"], layers, warehouse=False)
    expected = cv.fingerprint(homes["serial"], layers, warehouse=False)
    assert got.tables, "nothing was written"
    cv.assert_same(expected, got, ("one after another", "together"))
    waits = [e["waited"] for e in read_log(homes["together"]) if e["event"] == "acquired"]
    print(f"seconds: {seconds}; order: {[w.name for w in order]}; "
          f"lock waits: {sorted(waits)}; pid {os.getpid()}")


TOY = """
import dagster as dg

@dg.asset
def table() -> int:
    return 1

defs = dg.Definitions(assets=[table])
"""


def test_a_launched_run_that_cannot_get_the_lake_fails_naming_the_holder(tmp_path, monkeypatch):
    """A worker waits for the lake before its run starts; when run monitoring would time the
    start out first, it fails the run itself, naming the holder; nothing was written."""
    from dagster._core.definitions.reconstruct import ReconstructableJob, ReconstructableRepository

    from orchestration.runtime.launcher import WRITES_TAG

    home = Home.resolve(tmp_path / "home").ensure()
    monkeypatch.setenv("LAKEHOUSE_HOME", str(home.root))
    module = tmp_path / "toy.py"
    module.write_text(TOY)
    recon = ReconstructableJob(
        ReconstructableRepository.for_file(str(module), "defs", str(tmp_path)), "__ASSET_JOB")
    overrides = {"run_launcher": {"module": "orchestration.runtime.launcher",
                                  "class": "PreforkRunLauncher"},
                 # the worker gives up 15 s before this: after 1 s
                 "run_monitoring": {"enabled": True, "start_timeout_seconds": 16}}
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from lakehouse.storage.lock import "
         "lake_writer\nwith lake_writer(sys.argv[1], holder='the nightly'):\n"
         " print('held', flush=True); time.sleep(120)", str(home.root)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        (tmp_path / "dagster").mkdir()
        with dg.instance_for_test(overrides=overrides,
                                  temp_dir=str(tmp_path / "dagster")) as instance:
            def launch() -> dg.DagsterRun:
                run = instance.create_run_for_job(
                    recon.get_definition(), asset_selection={dg.AssetKey("table")},
                    job_code_origin=recon.get_python_origin())
                instance.launch_run(run.run_id, workspace=None)
                _wait_runs(instance, [run.run_id], time.monotonic() + 120)
                return instance.get_run_by_id(run.run_id)

            blocked = launch()
            assert blocked.status == dg.DagsterRunStatus.FAILURE
            assert blocked.tags[WRITES_TAG] == "lake"  # untagged asset run: tagged at launch
            messages = [e.message or "" for e in instance.all_logs(blocked.run_id)]
            assert any(m.startswith(f"waiting for the nightly (pid {holder.pid} ")
                       for m in messages), messages
            assert any("gave up after 1 s waiting for the nightly" in m
                       and "no table was written" in m for m in messages), messages
            holder.kill()  # SIGKILL: the kernel releases its lock
            holder.wait()
            done = launch()
            assert done.status == dg.DagsterRunStatus.SUCCESS
    finally:
        holder.kill()
        holder.wait()
    worker = f"run {done.run_id} (__ASSET_JOB)"
    assert [(e["event"], e["holder"]) for e in read_log(home.root)] == [
        ("acquired", "the nightly"), ("acquired", worker), ("released", worker)]


def test_which_launched_runs_hold_the_lake():
    from orchestration.runtime.launcher import writes_lake

    def run(tags=None, assets=None, checks=None) -> dg.DagsterRun:
        return dg.DagsterRun(job_name="j", tags=tags or {}, asset_selection=assets,
                             asset_check_selection=checks)

    silver, landing = dg.AssetKey(["silver", "orders"]), dg.AssetKey(["landing", "web"])
    assert writes_lake(run({"lakehouse/writes": "lake"}))  # micro_batch, materialize_all
    assert not writes_lake(run({"lakehouse/writes": "none"}, assets={silver}))  # opted out
    assert writes_lake(run(assets={silver}))  # the UI's asset job
    assert writes_lake(run(checks={dg.AssetCheckKey(silver, "gx_silver_gate")}))
    assert not writes_lake(run(checks={dg.AssetCheckKey(landing, "freshness_check")}))
    assert not writes_lake(run())  # an op job of another code location


def test_the_queue_tags_a_ui_materialization_as_a_lake_writer():
    """Submitted to the queue, an untagged asset run (what the UI launches) gets the tag the
    queue limits to one run, like a micro-batch; a freshness check run does not."""
    from dagster._core.remote_origin import (  # a queued run needs an origin; no server here
        RegisteredCodeLocationOrigin,
        RemoteJobOrigin,
        RemoteRepositoryOrigin,
    )

    from orchestration.runtime.launcher import WRITES_TAG

    origin = RemoteJobOrigin(RemoteRepositoryOrigin(
        RegisteredCodeLocationOrigin("orchestration.definitions"), "__repository__"),
        "__ASSET_JOB")

    overrides = {"run_coordinator": {"module": "orchestration.runtime.launcher",
                                     "class": "LakeRunCoordinator",
                                     "config": {"tag_concurrency_limits": [
                                         {"key": WRITES_TAG, "value": "lake", "limit": 1}]}}}
    landing = dg.AssetCheckKey(dg.AssetKey(["landing", "web"]), "freshness_check")
    with dg.instance_for_test(overrides=overrides) as instance:
        for run in (dg.DagsterRun(job_name="__ASSET_JOB", run_id="ui", remote_job_origin=origin,
                                  asset_selection=frozenset({dg.AssetKey(["silver", "x"])})),
                    dg.DagsterRun(job_name="__ASSET_JOB", run_id="fresh", remote_job_origin=origin,
                                  asset_check_selection=frozenset({landing}))):
            instance.add_run(run)
            instance.run_coordinator.submit_run(dg.SubmitRunContext(run, workspace=None))
        ui, fresh = instance.get_run_by_id("ui"), instance.get_run_by_id("fresh")
    assert ui.status == fresh.status == dg.DagsterRunStatus.QUEUED
    assert ui.tags[WRITES_TAG] == "lake" and WRITES_TAG not in fresh.tags


TURN = """
import sys, time
import dagster as dg
from lakehouse.home import Home
from orchestration.runtime.run import QUEUE_HOLD_JOB, lake_turn

home = Home.resolve(sys.argv[1])
with dg.DagsterInstance.from_config(str(home.dagster_home)) as instance:
    with lake_turn(instance, home, {"lakehouse/writes": "lake"}, holder=sys.argv[2],
                   poll_seconds=0.1, settle_seconds=0.2):
        # the queue sees this process as a lake writer while it waits and while it writes
        assert any(r.job_name == QUEUE_HOLD_JOB and r.tags["lakehouse/holder"] == sys.argv[2]
                   for r in instance.get_runs())
        time.sleep(1)
"""


def test_two_in_process_runs_take_turns(tmp_path):
    """Two `lakehouse run`s started together: each holds the queue while it waits, neither
    waits for the other's placeholder (no deadlock), the lock puts one after the other."""
    home = Home.resolve(tmp_path / "home").ensure()
    env = _env(home.root)
    with dg.DagsterInstance.from_config(str(home.dagster_home)):
        pass  # storage created once: two processes creating it together collide in SQLite
    procs = [subprocess.Popen([sys.executable, "-c", TURN, str(home.root), f"run {i}"],
                              env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True)
             for i in (1, 2)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    held = intervals(home.root)
    assert sorted(h for h, _, _ in held) == ["run 1", "run 2"]
    with dg.DagsterInstance.from_config(str(home.dagster_home)) as instance:
        assert not instance.get_runs()  # the placeholders are gone
