"""A run launcher that forks run workers from a warm process instead of spawning them cold.

Dagster's default launcher has the code server spawn each run worker, which imports dagster and
the whole code location again (about 3 s on this machine) before the first step runs: most of a
micro-batch's freshness budget. `PreforkRunLauncher` keeps one process per code location that
has imported it already (`orchestration.runtime.prefork`) and forks each worker from it; the
worker then runs what `dagster api execute_run` runs, so events, logs, failure handling and
cancellation are Dagster's own. The warm process is replaced when a file it loaded changes, so
a run never executes stale code.

A worker of a run that writes the lake (`writes_lake`) holds the home's lake-writer lock
(`lakehouse.storage.lock`) for the whole run, waiting for it before the run starts and failing
the run with the holder's name if it cannot get it before run monitoring's start timeout. The
queue's tag limit keeps such waits rare (and short); the lock is what guarantees that an
in-process `lakehouse run` and a launched run never write at the same time.

The warm process shares the daemon's process group, so stopping the group (`lakehouse dev`
stopped by a supervisor, `kill -- -PGID`, Ctrl-C in its terminal) stops it and every worker
with their steps. A process started after that signal never receives it: so once a warm
process has died of a stop signal (SIGTERM, SIGINT, SIGHUP; the launcher itself only ever
closes its input or SIGKILLs it), the launcher starts no warm process and forks no worker
again. A run leaving the queue while the daemon stops fails, saying so, instead of running
unsupervised after everything around it has exited.

Configured in the home's `dagster.yaml` (`lakehouse.home.instance_yaml`):

    run_launcher:
      module: orchestration.runtime.launcher
      class: PreforkRunLauncher

and, so that a UI materialization queues behind a lake-writing run like a micro-batch does,

    run_coordinator:
      module: orchestration.runtime.launcher
      class: LakeRunCoordinator   # QueuedRunCoordinator's config, unchanged
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dagster import DagsterRun, QueuedRunCoordinator, SubmitRunContext, serialize_value
from dagster._core.launcher.base import (
    CheckRunHealthResult,
    LaunchRunContext,
    RunLauncher,
    WorkerStatus,
)
from dagster._serdes import ConfigurableClass, ConfigurableClassData

PID_TAG = "lakehouse/run_worker_pid"
HOST_TAG = "lakehouse/run_worker_host"
WRITES_TAG = "lakehouse/writes"  # "lake" on jobs that write it; the queue runs one at a time
READY_TIMEOUT_S = 120.0
LANDING = "landing"  # asset key prefix of the landing zone: files, not the lake
LOCK_MARGIN_S = 15.0  # a worker gives up on the lake this long before monitoring would fail it
# What stops a whole process group; the launcher never sends them to its warm processes.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def writes_lake(run) -> bool:
    """Whether a run writes the lake, so its worker must hold the lake-writer lock: a job
    tagged to (a job opts out with another value of the tag), or, untagged, any run of assets
    (every asset here writes the lake or the warehouse) or of checks beyond the landing zone
    (gates record their validations in the lake). Checks of landing assets only (the
    freshness sensor's runs, the landing file gate) read files and the instance: no lock."""
    tag = run.tags.get(WRITES_TAG)
    if tag is not None:
        return tag == "lake"
    if run.asset_selection:
        return True
    return any(key.asset_key.path[0] != LANDING for key in run.asset_check_selection or ())


def lake_home(run) -> str:
    """The home a run writes: its `lakehouse` resource's, else the launcher's own."""
    from lakehouse.home import Home

    resources = (run.run_config or {}).get("resources", {})
    home = resources.get("lakehouse", {}).get("config", {}).get("home")
    return str(Home.resolve(home).root)


@dataclass
class _WarmProcess:
    """One warm process and the files whose change makes it stale."""

    process: subprocess.Popen
    sources: dict[str, int] = field(default_factory=dict)  # path -> mtime_ns at load

    def fresh(self) -> bool:
        if self.process.poll() is not None:
            return False
        for path, mtime in self.sources.items():
            try:
                if os.stat(path).st_mtime_ns != mtime:
                    return False
            except FileNotFoundError:
                return False
        return True

    def stopped_by(self) -> signal.Signals | None:
        """The stop signal this warm process died of, if it did: its process group (the
        daemon's) is being stopped."""
        code = self.process.poll()
        if code is not None and code < 0 and -code in STOP_SIGNALS:
            return signal.Signals(-code)
        return None

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()  # end of input: it exits, running workers carry on
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _start(executable: str, pointer: str, instance_ref: str, modules: list[str]) -> _WarmProcess:
    """A warm process, started; `_ready` waits for it to answer."""
    return _WarmProcess(subprocess.Popen(
        [executable, "-m", "orchestration.runtime.prefork", pointer, instance_ref, *modules],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1))


def _ready(warm: _WarmProcess) -> None:
    """Wait for the warm process to have loaded the code; note the files it loaded."""
    for path in _read_reply(warm.process, READY_TIMEOUT_S)["sources"]:
        try:
            warm.sources[path] = os.stat(path).st_mtime_ns
        except FileNotFoundError:
            continue


def _read_reply(process: subprocess.Popen, timeout: float) -> dict[str, Any]:
    """One JSON line from the warm process; an exit or silence is an error naming the cause."""
    assert process.stdout is not None
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(process.stdout.readline()),
                              daemon=True)
    reader.start()
    reader.join(timeout)
    if not result or not result[0]:
        process.kill()
        raise RuntimeError(
            "the warm run-worker process (orchestration.runtime.prefork) "
            + (f"did not answer within {timeout:.0f} s" if not result
               else f"exited with code {process.wait()}; its error is in the daemon's log"))
    return json.loads(result[0])


def worker_pid(run) -> int | None:
    """The pid of the run's worker if this launcher forked it on this machine."""
    pid = run.tags.get(PID_TAG)
    return int(pid) if pid and run.tags.get(HOST_TAG) == socket.gethostname() else None


def worker_alive(run) -> bool:
    """Whether the run's forked worker still exists (a STARTED run whose worker was killed
    holds nothing)."""
    pid = worker_pid(run)
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class LakeRunCoordinator(QueuedRunCoordinator):
    """Dagster's run queue, with every run that writes the lake tagged as such when it is
    submitted, so the queue's limit on the tag covers it: a materialization launched from the
    UI (an asset job run, untagged) then waits in the queue, not in a worker that holds a
    queue slot while it waits for the lake-writer lock (and fails at monitoring's start
    timeout behind a long nightly)."""

    def submit_run(self, context: SubmitRunContext) -> DagsterRun:
        run = context.dagster_run
        if WRITES_TAG not in run.tags and writes_lake(run):
            self._instance.add_run_tags(run.run_id, {WRITES_TAG: "lake"})
            tagged = self._instance.get_run_by_id(run.run_id) or run
            context = SubmitRunContext(tagged, context.workspace)
        return super().submit_run(context)


class PreforkRunLauncher(RunLauncher, ConfigurableClass):
    """Launches each run in a worker forked from a process that imported the code already."""

    def __init__(self, inst_data: ConfigurableClassData | None = None,
                 preload_modules: list[str] | None = None):
        self._inst_data = inst_data
        self._preload_modules = list(preload_modules or [])
        self._warm: dict[tuple[str, str], _WarmProcess] = {}
        self._lock = threading.Lock()
        self._run_ids: set[str] = set()
        self._stopped: str | None = None  # why no run is launched any more, once stopping
        super().__init__()

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict:
        from dagster import Field

        return {"preload_modules": Field(
            [str], is_required=False, default_value=[],
            description="Modules the warm process imports beyond the code location: what the "
            "runs import lazily (each one saves its import time on every run).")}

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData,
                          config_value: Mapping[str, Any]) -> PreforkRunLauncher:
        return cls(inst_data=inst_data, preload_modules=config_value.get("preload_modules"))

    def launch_run(self, context: LaunchRunContext) -> None:
        from dagster._grpc.types import ExecuteRunArgs

        run = context.dagster_run
        origin = run.job_code_origin
        if origin is None:
            raise RuntimeError(f"run {run.run_id} has no code origin to load its job from")
        key = (origin.executable_path or sys.executable,
               serialize_value(origin.repository_origin.code_pointer))
        args = ExecuteRunArgs(job_origin=origin, run_id=run.run_id,
                              instance_ref=self._instance.get_ref())
        started = time.monotonic()
        request: dict[str, Any] = {"input_json": serialize_value(args)}
        if writes_lake(run):  # before the warm process may (re)start: monitoring's clock runs
            request["lake"] = self._lake_request(run)
        with self._lock:
            self._refuse_when_stopping()
            warm = self._warm.get(key)
            if warm is None or not warm.fresh():
                if warm is not None:
                    warm.close()
                # kept before it is ready: if a stop signal kills it while it warms up, the
                # next launch sees that (`_refuse_when_stopping`)
                warm = self._warm[key] = _start(
                    *key, serialize_value(self._instance.get_ref()), self._preload_modules)
                _ready(warm)
            assert warm.process.stdin is not None
            warm.process.stdin.write(json.dumps(request) + "\n")
            warm.process.stdin.flush()
            pid = _read_reply(warm.process, 30.0)["pid"]
        self._instance.add_run_tags(run.run_id, {PID_TAG: str(pid),
                                                 HOST_TAG: socket.gethostname()})
        self._instance.report_engine_event(
            f"Forked run worker (pid {pid}) from the warm process in "
            f"{time.monotonic() - started:.2f} s.", run, cls=self.__class__)
        self._run_ids.add(run.run_id)

    def _refuse_when_stopping(self) -> None:
        """Raise once a warm process has died of a stop signal: the daemon's process group
        is being stopped, and a warm process or worker started now would not receive the
        signal (it was sent before they existed) and would run on alone."""
        for warm in self._warm.values():
            signal_ = warm.stopped_by()
            if signal_ is not None and self._stopped is None:
                self._stopped = (
                    f"the warm run-worker process (pid {warm.process.pid}) was stopped by "
                    f"{signal_.name}, as everything in the daemon's process group is when the "
                    "daemon is stopped: no run is launched until the daemon restarts")
        if self._stopped is not None:
            raise RuntimeError(f"run not launched: {self._stopped}")

    def _lake_request(self, run) -> dict[str, Any]:
        """What the worker needs to hold the lake for the run. An untagged lake writer (a UI
        materialization of assets) gets the tag now, so the queue holds the next lake-writing
        runs back while it runs instead of letting their workers wait on the lock."""
        if WRITES_TAG not in run.tags:
            self._instance.add_run_tags(run.run_id, {WRITES_TAG: "lake"})
        deadline = None  # wall clock: the worker gives up then, before monitoring fails the run
        if self._instance.run_monitoring_enabled and \
                self._instance.run_monitoring_start_timeout_seconds > 0:
            deadline = time.time() + max(
                1.0, self._instance.run_monitoring_start_timeout_seconds - LOCK_MARGIN_S)
        return {"home": lake_home(run), "holder": f"run {run.run_id} ({run.job_name})",
                "deadline": deadline}

    def terminate(self, run_id: str) -> bool:
        """Interrupt the worker as Ctrl-C would: Dagster stops at the next step boundary and
        marks the run canceled."""
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            return False
        pid = worker_pid(run)
        if pid is None:
            return False
        self._instance.report_run_canceling(run)
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            return False
        return True

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run) -> CheckRunHealthResult:
        """What run monitoring asks: a worker that died (killed, out of memory) fails its run,
        so a lake-writing run left STARTED cannot hold the queue's next runs back for ever.
        A run with no worker pid here (not forked by this launcher) is not judged."""
        pid = worker_pid(run)
        if pid is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING,
                                        "no worker pid on this host: not monitored")
        if not worker_alive(run):
            return CheckRunHealthResult(WorkerStatus.NOT_FOUND, f"worker pid {pid} is gone")
        return CheckRunHealthResult(WorkerStatus.RUNNING)

    def join(self, timeout: float = 30) -> None:
        """Wait for the runs this launcher started (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = [self._instance.get_run_by_id(r) for r in self._run_ids] if self.has_instance \
                else []
            if all(r is None or r.is_finished for r in runs):
                return
            time.sleep(0.1)
        raise TimeoutError(f"runs still going after {timeout} s")

    def dispose(self) -> None:
        with self._lock:
            for warm in self._warm.values():
                warm.close()
            self._warm.clear()
