"""`PooledSqliteEventLogStorage` on a real home's instance: events it writes are the ones
Dagster's own storage reads (same files), another process sees each as soon as it is stored,
a forked child never uses its parent's connections, and at most `MAX_OPEN` stay open."""

from __future__ import annotations

import os
import subprocess
import sys

import dagster as dg

from lakehouse.home import Home
from orchestration.runtime import event_log
from orchestration.runtime.event_log import PooledSqliteEventLogStorage

CHECKS = 30


@dg.asset(check_specs=[dg.AssetCheckSpec(f"c{i}", asset="thing") for i in range(CHECKS)])
def thing():
    yield dg.Output(1)
    for i in range(CHECKS):
        yield dg.AssetCheckResult(check_name=f"c{i}", passed=i % 7 != 3)


def _instance(tmp_path) -> tuple[Home, dg.DagsterInstance]:
    home = Home(tmp_path)
    home.environment()  # writes the home's dagster.yaml
    instance = dg.DagsterInstance.from_config(str(home.dagster_home))
    assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
    return home, instance


def _read_with_dagsters_own_storage(home: Home, run_id: str) -> list[str]:
    """Event types of ``run_id``, read in a fresh process by Dagster's `SqliteEventLogStorage`."""
    code = ("import sys\nfrom dagster._core.storage.event_log import SqliteEventLogStorage\n"
            "s = SqliteEventLogStorage(sys.argv[1])\n"
            "print('\\n'.join(e.dagster_event.event_type_value for e in "
            "s.get_logs_for_run(sys.argv[2]) if e.dagster_event))")
    done = subprocess.run([sys.executable, "-c", code,
                           str(home.dagster_home / "history" / "runs"), run_id],
                          capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_a_run_is_stored_where_and_as_dagster_reads_it(tmp_path):
    home, instance = _instance(tmp_path)
    result = dg.materialize([thing], instance=instance)
    assert result.success
    ours = [e.dagster_event.event_type_value for e in instance.all_logs(result.run_id)
            if e.dagster_event]
    assert ours.count("ASSET_CHECK_EVALUATION") == CHECKS
    # the other process reads the same events while this one still holds its connections
    assert _read_with_dagsters_own_storage(home, result.run_id) == ours
    # the cross-run index (asset and check events mirrored there) answers too
    records = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey("thing"), "c3"), limit=5)
    assert len(records) == 1 and records[0].status.value == "FAILED"
    instance.dispose()
    assert not instance.event_log_storage._engines


def test_a_forked_child_opens_its_own_connections(tmp_path):
    home, instance = _instance(tmp_path)
    first = dg.materialize([thing], instance=instance)
    storage = instance.event_log_storage
    parents = dict(storage._engines)
    assert parents  # the parent holds connections when it forks
    pid = os.fork()
    if pid == 0:  # the child: run, and report through the exit code only
        code = 1
        try:
            result = dg.materialize([thing], instance=instance)
            mine = storage._engines
            code = 0 if (result.success and "index" in mine
                         and all(mine[s] is not parents.get(s) for s in mine)
                         and all(e in event_log._INHERITED for e in parents.values())) else 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # the parent goes on with the connections it had, and sees the child's run
    assert storage._engines == parents
    second = dg.materialize([thing], instance=instance)
    assert second.success and storage._engines["index"] is parents["index"]
    runs = {r.run_id for r in instance.get_runs()}
    assert len(runs) == 3 and {first.run_id, second.run_id} < runs
    for run_id in runs:
        types = _read_with_dagsters_own_storage(home, run_id)
        assert types.count("ASSET_CHECK_EVALUATION") == CHECKS, run_id


def test_at_most_max_open_databases_stay_open(tmp_path, monkeypatch):
    monkeypatch.setattr(event_log, "MAX_OPEN", 3)
    _, instance = _instance(tmp_path)
    runs = [dg.materialize([thing], instance=instance).run_id for _ in range(4)]
    storage = instance.event_log_storage
    assert len(storage._engines) == 3
    assert list(storage._engines)[-2:] == [runs[-1], "index"]  # the last used are kept
    for run_id in runs:  # a closed database opens again when it is read
        assert len(instance.get_records_for_run(run_id, limit=1000).records) > CHECKS
    assert len(storage._engines) == 3


def test_a_wipe_closes_what_it_deletes(tmp_path):
    _, instance = _instance(tmp_path)
    first = dg.materialize([thing], instance=instance).run_id
    instance.wipe()
    assert not instance.all_logs(first)  # not read back from a deleted file kept open
    second = dg.materialize([thing], instance=instance).run_id
    assert len(instance.all_logs(second)) > CHECKS
