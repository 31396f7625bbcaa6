"""`lakehouse run` names failed assets and blocking checks, exits non-zero
(`orchestration/runtime/run.py`)."""

import socket
import subprocess
import threading
import time

import dagster as dg

from lakehouse.home import Home
from orchestration.runtime.launcher import HOST_TAG, PID_TAG
from orchestration.runtime.run import materialize_all, wait_for_lake_writers


def _definitions(fail_asset: bool, fail_check: bool) -> dg.Definitions:
    @dg.asset
    def upstream() -> int:
        if fail_asset:
            raise ValueError("landing/web/events_1.jsonl line 3: field `ts` is not a timestamp")
        return 1

    @dg.asset_check(asset=upstream, blocking=True)
    def upstream_gate() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=not fail_check, description="row count 0 < 1")

    @dg.asset(deps=[upstream])
    def downstream() -> None:
        return None

    job = dg.define_asset_job("materialize_all", selection=dg.AssetSelection.all())
    return dg.Definitions(assets=[upstream, downstream], asset_checks=[upstream_gate], jobs=[job])


def _run(tmp_path, capsys, fail_asset: bool = False, fail_check: bool = False
         ) -> tuple[int, str]:
    """`lakehouse run` of the toy definitions on a home at ``tmp_path``: (exit code, output)."""
    with dg.instance_for_test():
        code = materialize_all(Home.resolve(tmp_path), _definitions(fail_asset, fail_check))
    return code, capsys.readouterr().out


def test_run_passes_and_summarises(tmp_path, capsys):
    code, out = _run(tmp_path, capsys)
    assert code == 0
    assert "done  upstream" in out and "done  downstream" in out
    assert "Checks: 1 passed, 0 failed" in out
    assert str(Home.resolve(tmp_path).warehouse) in out
    assert out.rstrip().endswith("OK")


def test_run_fails_with_the_asset_and_error_named(tmp_path, capsys):
    code, out = _run(tmp_path, capsys, fail_asset=True)
    assert code == 1
    assert "FAILED step upstream" in out
    assert "field `ts` is not a timestamp" in out
    assert "RUN FAILED" in out


def test_failed_blocking_check_fails_the_run_and_stops_downstream(tmp_path, capsys):
    code, out = _run(tmp_path, capsys, fail_check=True)
    assert code == 1
    assert "FAILED [ERROR] upstream:upstream_gate row count 0 < 1" in out
    assert "done  downstream" not in out


def test_run_waits_for_a_launched_lake_writing_run_to_finish(capsys):
    tags = {"lakehouse/writes": "lake"}
    worker = subprocess.Popen(["sleep", "60"])  # stands in for a forked run worker
    try:
        with dg.instance_for_test() as instance:
            running = instance.add_run(dg.DagsterRun(
                job_name="micro_batch", run_id="mb-1", status=dg.DagsterRunStatus.STARTED,
                tags={**tags, PID_TAG: str(worker.pid), HOST_TAG: socket.gethostname()}))
            instance.add_run(dg.DagsterRun(  # not a lake writer
                job_name="other", run_id="other-1", status=dg.DagsterRunStatus.STARTED,
                tags={PID_TAG: str(worker.pid), HOST_TAG: socket.gethostname()}))
            instance.add_run(dg.DagsterRun(  # left STARTED by a killed `lakehouse run`
                job_name="materialize_all", run_id="dead-1", status=dg.DagsterRunStatus.STARTED,
                tags=tags))
            threading.Timer(1.0, instance.report_run_failed, args=[running]).start()
            started = time.monotonic()
            polls = wait_for_lake_writers(instance, tags, poll_seconds=0.2)
            assert polls >= 3 and time.monotonic() - started >= 1.0
            assert instance.get_run_by_id("mb-1").status == dg.DagsterRunStatus.FAILURE
            assert wait_for_lake_writers(instance, tags) == 0  # the dead run holds nothing
    finally:
        worker.kill()
        worker.wait()
    assert "waiting for run mb-1 (micro_batch)" in capsys.readouterr().out
