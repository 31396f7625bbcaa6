"""The warm process behind `PreforkRunLauncher`: imports a code location once, then forks one
run worker per request.

Protocol, one JSON object per line: the launcher starts ``python -m
orchestration.runtime.prefork <code pointer> <instance ref> [module ...]`` (serialized by
dagster's serdes); this process loads the code location (dagster, polars, deltalake, the asset
graph) and the instance's storage stack, imports the named modules, and answers ``{"ready":
true, "sources": [...]}`` with the project files it loaded, so the launcher can tell when they
change. Then each ``{"input_json": ...}`` line (the serialized `ExecuteRunArgs` that `dagster
api execute_run` takes) forks a worker and is answered ``{"pid": N}``. With ``"lake": {"home",
"holder", "deadline"}`` the worker holds the home's lake-writer lock (`lakehouse.storage.lock`)
for the whole run, step processes included; this process never takes it. End of input ends
this process; workers already running carry on.

Forking is safe here because this process never runs a query or a polars expression, so no
library thread pool exists yet; only allocator housekeeping threads do, and jemalloc is
fork-aware. Each worker starts its own pools.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import random
import signal
import sys
import threading
import time
import traceback
from contextlib import ExitStack
from pathlib import Path

# Loaded code whose change makes a warm process stale: the project's own modules and the files
# it reads while building definitions (the dbt project).
_WATCHED_SUFFIXES = (".py", ".sql", ".yml", ".yaml")
_SKIPPED_DIRS = {"target", "dbt_packages", "logs", "__pycache__", "node_modules", "site-packages"}


def project_sources(root: Path) -> list[str]:
    """Files under `root` that the loaded definitions depend on: every imported module below it
    and the dbt project's models, macros and YAML."""
    files = {
        str(Path(module.__file__).resolve())
        for module in list(sys.modules.values())
        if getattr(module, "__file__", None)
    }
    sources = {f for f in files if f.startswith(str(root) + os.sep) and not _skipped(root, f)}
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not (d.startswith(".") or d in _SKIPPED_DIRS)]
        sources |= {os.path.join(folder, n) for n in names if n.endswith(_WATCHED_SUFFIXES[1:])}
    return sorted(s for s in sources if s.endswith(_WATCHED_SUFFIXES))


def _skipped(root: Path, path: str) -> bool:
    parts = Path(path).relative_to(root).parts[:-1]
    return any(p.startswith(".") or p in _SKIPPED_DIRS for p in parts)


def _run_worker(input_json: str, lake: dict | None = None) -> None:
    """The forked child: exactly what `dagster api execute_run` does, then exit; holding the
    lake-writer lock for the whole run when the run writes the lake (`lake`, from the
    launcher)."""
    from dagster._cli.api import execute_run_command

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the worker waits on its own subprocesses
    random.seed()
    os.dup2(2, 1)  # stdout is the reply pipe: worker output goes to the daemon's stderr
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # stdin is the request pipe: only the warm process reads it
    os.close(devnull)
    code = 0
    try:
        with ExitStack() as stack:
            if lake is not None:
                # Data Docs: the steps (in this process or in step processes it starts) write
                # their result pages; the index is rebuilt once, after the run and the lake
                from data_quality.docs import one_index

                stack.enter_context(one_index(Path(lake["home"])))
                if not stack.enter_context(_LakeTurn(input_json, lake)):
                    return
            execute_run_command.callback(input_json, None)  # the body of `dagster api execute_run`
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


class _LakeTurn:
    """The run worker's hold on the lake: entered, it is True once the lock is held, False when
    the run ended without it (waited too long, cancelled while waiting), the run's log saying
    why. The warm process never holds the lock: only the forked child takes it."""

    def __init__(self, input_json: str, lake: dict) -> None:
        self.input_json, self.lake = input_json, lake
        self.lock: ExitStack | None = None
        self._instance = None

    def _run_and_instance(self):
        from dagster import DagsterInstance, deserialize_value
        from dagster._grpc.types import ExecuteRunArgs

        args = deserialize_value(self.input_json, ExecuteRunArgs)
        if self._instance is None:
            self._instance = DagsterInstance.from_ref(args.instance_ref)
        return self._instance.get_run_by_id(args.run_id), self._instance

    def _waiting(self, message: str) -> None:
        run, instance = self._run_and_instance()
        instance.report_engine_event(message, run)

    def __enter__(self) -> bool:
        from lakehouse.storage.lock import LakeBusy, lake_writer

        self.lock = ExitStack()
        try:
            deadline = self.lake.get("deadline")
            self.lock.enter_context(lake_writer(
                self.lake["home"],
                timeout=None if deadline is None else max(1.0, deadline - time.time()),
                holder=self.lake["holder"], on_wait=self._waiting))
        except LakeBusy as exc:
            run, instance = self._run_and_instance()
            instance.report_run_failed(run, f"{exc}; no table was written: launch it again")
            return False
        except KeyboardInterrupt:  # terminated (cancelled) while waiting
            run, instance = self._run_and_instance()
            instance.report_run_canceled(run, "Cancelled while waiting for the lake.")
            return False
        return True

    def __exit__(self, *exc_info) -> None:
        if self.lock is not None:
            self.lock.close()
        if self._instance is not None:
            self._instance.dispose()


def warm_up(pointer, instance_ref, modules: list[str]) -> None:
    """Import what every run worker needs before its first step: the code location, the
    instance's storage stack (SQLAlchemy, Alembic: opened once on the real instance, then
    closed) and any modules the launcher's config names."""
    from dagster import DagsterInstance
    from dagster._cli.api import execute_run_command  # noqa: F401

    pointer.load_target()
    with DagsterInstance.from_ref(instance_ref) as instance:
        instance.get_run_records(limit=1)
    for name in modules:
        importlib.import_module(name)


def main(argv: list[str]) -> int:
    from dagster import deserialize_value
    from dagster._core.code_pointer import CodePointer
    from dagster._core.instance.ref import InstanceRef

    pointer = deserialize_value(argv[0], CodePointer)
    root = Path(getattr(pointer, "working_directory", None)
                or os.path.dirname(getattr(pointer, "python_file", "") or ".")).resolve()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    warm_up(pointer, deserialize_value(argv[1], InstanceRef), argv[2:])
    # what warm-up loaded lives as long as this process: out of the garbage collector's
    # sight, a worker's collections neither walk it nor write to (and so copy) its pages
    gc.freeze()
    if threading.active_count() > 1:  # a Python thread would not survive the fork consistently
        raise RuntimeError(f"threads running after warm-up: {threading.enumerate()}")
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # finished workers are reaped by the kernel
    reply = sys.stdout
    reply.write(json.dumps({"ready": True, "sources": project_sources(root)}) + "\n")
    reply.flush()
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _run_worker(request["input_json"], request.get("lake"))
        reply.write(json.dumps({"pid": pid}) + "\n")
        reply.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
