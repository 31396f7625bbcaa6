"""PreforkRunLauncher on a real Dagster instance: runs are forked from a warm process, finish as
Dagster runs, can be cancelled, a changed source file replaces the warm process, and nothing is
launched once the warm process was stopped with the daemon's process group."""

import os
import signal
import textwrap
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.reconstruct import ReconstructableJob, ReconstructableRepository

from orchestration.runtime.launcher import PID_TAG, PreforkRunLauncher

JOBS = textwrap.dedent("""
    import os, time
    from pathlib import Path
    import dagster as dg

    @dg.op(config_schema={"out": str, "sleep": float})
    def write(context):
        time.sleep(context.op_config["sleep"])
        Path(context.op_config["out"]).write_text(f"{os.getpid()} {MARK}")

    @dg.job(executor_def=dg.in_process_executor)
    def work():
        write()

    MARK = "v1"
    defs = dg.Definitions(jobs=[work])
""")


@pytest.fixture
def instance(tmp_path: Path):
    overrides = {"run_launcher": {"module": "orchestration.runtime.launcher",
                                  "class": "PreforkRunLauncher"}}
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(overrides=overrides, temp_dir=str(tmp_path / "dagster")) as inst:
        yield inst


def _submit(instance: dg.DagsterInstance, module: Path, out: Path, sleep: float = 0.0) -> str:
    repo = ReconstructableRepository.for_file(str(module), "defs", str(module.parent))
    recon = ReconstructableJob(repo, "work")
    job = recon.get_definition()
    run = instance.create_run_for_job(
        job, run_config={"ops": {"write": {"config": {"out": str(out), "sleep": sleep}}}},
        job_code_origin=recon.get_python_origin())
    instance.launch_run(run.run_id, workspace=None)
    return run.run_id


def _wait(instance: dg.DagsterInstance, run_id: str, timeout: float = 120) -> dg.DagsterRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        if run.is_finished:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} not finished after {timeout} s")


def test_runs_are_forked_from_one_warm_process_and_succeed(instance, tmp_path):
    module = tmp_path / "jobs.py"
    module.write_text(JOBS)
    assert isinstance(instance.run_launcher, PreforkRunLauncher)
    first = _submit(instance, module, tmp_path / "a.txt")
    second = _submit(instance, module, tmp_path / "b.txt")
    runs = [_wait(instance, first), _wait(instance, second)]
    assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS] * 2
    pids = [r.tags[PID_TAG] for r in runs]
    assert len(set(pids)) == 2  # one worker per run ...
    assert (tmp_path / "a.txt").read_text() == f"{pids[0]} v1"
    assert (tmp_path / "b.txt").read_text() == f"{pids[1]} v1"
    warm = list(instance.run_launcher._warm.values())
    assert len(warm) == 1  # ... both forked from the same warm process
    events = instance.all_logs(first)
    assert any("Forked run worker" in (e.message or "") for e in events)


def test_a_changed_source_replaces_the_warm_process(instance, tmp_path):
    module = tmp_path / "jobs.py"
    module.write_text(JOBS)
    _wait(instance, _submit(instance, module, tmp_path / "a.txt"))
    before = next(iter(instance.run_launcher._warm.values())).process.pid
    module.write_text(JOBS.replace('MARK = "v1"', 'MARK = "v2"'))
    os.utime(module, ns=(time.time_ns() + 10**9,) * 2)  # a later mtime even on coarse clocks
    run = _wait(instance, _submit(instance, module, tmp_path / "b.txt"))
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert (tmp_path / "b.txt").read_text().endswith("v2")
    assert next(iter(instance.run_launcher._warm.values())).process.pid != before


@pytest.fixture
def default_stop_signals():
    """SIGTERM and SIGINT as a terminal's foreground process has them, for the processes this
    test starts. A pytest run in the background (CI) starts with SIGINT ignored, and every
    in-process Dagster run of the worker since then left SIGTERM ignored too (Dagster's
    `setup_interrupt_handlers` gives SIGTERM the SIGINT handler): the warm process would
    inherit both and survive the very signals the test sends."""
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    for s, handler in before.items():
        signal.signal(s, handler)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_nothing_is_launched_once_the_warm_process_was_stopped(default_stop_signals, instance,
                                                               tmp_path, stop):
    """`lakehouse dev` stopped as a group (SIGTERM to it, Ctrl-C): the warm process dies of the
    signal with the daemon. A warm process or worker started after it would never receive it
    and would run on alone, so the launcher refuses the runs still leaving the queue. A warm
    process killed otherwise (SIGKILL: out of memory) is replaced as before."""
    module = tmp_path / "jobs.py"
    module.write_text(JOBS)
    _wait(instance, _submit(instance, module, tmp_path / "a.txt"))
    warm = next(iter(instance.run_launcher._warm.values())).process
    warm.send_signal(stop)
    warm.wait(timeout=30)
    if stop == signal.SIGKILL:
        run = _wait(instance, _submit(instance, module, tmp_path / "b.txt"))
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert next(iter(instance.run_launcher._warm.values())).process.pid != warm.pid
        return
    for _ in range(2):  # and stays refused: no warm process is started for the next one
        with pytest.raises(RuntimeError, match=f"stopped by {stop.name}"):
            _submit(instance, module, tmp_path / "b.txt")
        assert [w.process for w in instance.run_launcher._warm.values()] == [warm]
    assert not (tmp_path / "b.txt").exists()


def test_terminate_cancels_the_run(instance, tmp_path):
    module = tmp_path / "jobs.py"
    module.write_text(JOBS)
    run_id = _submit(instance, module, tmp_path / "slow.txt", sleep=60)
    deadline = time.monotonic() + 60
    while instance.get_run_by_id(run_id).status != dg.DagsterRunStatus.STARTED:
        assert time.monotonic() < deadline, "run never started"
        time.sleep(0.1)
    health = instance.run_launcher.check_run_worker_health(instance.get_run_by_id(run_id))
    assert health.status.value == "RUNNING"
    assert instance.run_launcher.terminate(run_id)
    run = _wait(instance, run_id, timeout=90)
    assert run.status == dg.DagsterRunStatus.CANCELED
    assert not (tmp_path / "slow.txt").exists()


def test_run_monitoring_fails_a_run_whose_worker_died(instance):
    """Dagster's run monitoring (enabled in the home's dagster.yaml) asks the launcher about
    every STARTED run: a dead worker fails its run, a live one or a run we did not fork is left
    alone."""
    import logging
    import socket
    import subprocess

    from dagster._daemon.monitoring.run_monitoring import monitor_started_run

    from orchestration.runtime.launcher import HOST_TAG

    dead = subprocess.Popen(["true"])
    dead.wait()
    live = subprocess.Popen(["sleep", "60"])
    host = socket.gethostname()
    try:
        for run_id, tags in [("dead", {PID_TAG: str(dead.pid), HOST_TAG: host}),
                             ("live", {PID_TAG: str(live.pid), HOST_TAG: host}),
                             ("foreign", {})]:
            instance.add_run(dg.DagsterRun(job_name="micro_batch", run_id=run_id,
                                           status=dg.DagsterRunStatus.STARTED, tags=tags))
        for record in instance.get_run_records():
            monitor_started_run(instance, None, record, logging.getLogger("test"))
        status = {r: instance.get_run_by_id(r).status for r in ("dead", "live", "foreign")}
    finally:
        live.kill()
        live.wait()
    assert status == {"dead": dg.DagsterRunStatus.FAILURE, "live": dg.DagsterRunStatus.STARTED,
                      "foreign": dg.DagsterRunStatus.STARTED}
    assert any("is gone" in (e.message or "") for e in instance.all_logs("dead"))
