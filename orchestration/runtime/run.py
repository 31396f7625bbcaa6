"""`lakehouse run`: materialize every asset in-process on one home, with progress and a summary.

Runs through the home's Dagster instance, so the run, its materializations and its check
results show up in the UI (`make dev`) afterwards. Exits non-zero, naming the asset and the
error, when a step or a blocking check fails.
"""

import argparse
import gc
import logging
import os
import socket
import sys
import time
import uuid
from collections.abc import Collection, Iterator
from contextlib import ExitStack, contextmanager

import dagster as dg

from data_quality.docs import one_index
from lakehouse.home import Home
from lakehouse.storage.lock import lake_writer
from orchestration.runtime.launcher import HOST_TAG, PID_TAG, worker_alive

# job name of the placeholder run an in-process run holds the queue with (`_queue_held`)
QUEUE_HOLD_JOB = "lakehouse_waiting_for_the_lake"

_PROGRESS_EVENTS = {
    "STEP_START": "start",
    "STEP_SUCCESS": "done ",
    "STEP_FAILURE": "FAIL ",
    "STEP_SKIPPED": "skip ",
}


class _ProgressHandler(logging.Handler):
    """Prints one line per step event and per check result, as they happen."""

    def __init__(self, started: float) -> None:
        super().__init__()
        self.started = started

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "dagster_meta", {}).get("dagster_event")
        if event is None:
            return
        label = _PROGRESS_EVENTS.get(event.event_type_value)
        elapsed = time.monotonic() - self.started
        if label:
            print(f"[{elapsed:6.1f}s] {label} {event.step_key}", flush=True)
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            status = "passed" if evaluation.passed else "FAILED"
            key = evaluation.asset_check_key
            print(
                f"[{elapsed:6.1f}s] check {key.asset_key.to_user_string()}:{key.name} {status}",
                flush=True,
            )


@dg.logger
def progress_logger(_init_context: dg.InitLoggerContext) -> logging.Logger:
    log = logging.getLogger("lakehouse.run.progress")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    if not log.handlers:
        log.addHandler(_ProgressHandler(time.monotonic()))
    return log


def _row_count(metadata: dict) -> str:
    value = metadata.get("dagster/row_count") or metadata.get("rows") or metadata.get("files")
    return "" if value is None else str(getattr(value, "value", value))


def _value(metadata_value) -> float:
    return float(getattr(metadata_value, "value", metadata_value) or 0)


def root_cause(failure: dg.DagsterEvent) -> str:
    """The innermost error message: the user's exception, not Dagster's wrapper around it."""
    error = failure.event_specific_data.error
    message = "unknown error"
    while error is not None:
        message = error.message.strip()
        error = error.cause
    return message


def summarize(result: dg.ExecuteInProcessResult, home: Home, seconds: float) -> tuple[str, bool]:
    """A human summary of a run, and whether it passed (steps and blocking checks)."""
    lines = [f"\nRun {result.run_id} on {home.root} in {seconds:.1f}s"]
    lines.append("\nMaterialized:")
    for event in result.get_asset_materialization_events():
        mat = event.step_materialization_data.materialization
        rows = _row_count(mat.metadata)
        lines.append(f"  {mat.asset_key.to_user_string():40s} {rows:>12s}")
    evaluations = result.get_asset_check_evaluations()
    failed_checks = [e for e in evaluations if not e.passed]
    lines.append(
        f"\nChecks: {len(evaluations) - len(failed_checks)} passed, {len(failed_checks)} failed"
    )
    gate_seconds = sum(_value(e.metadata.get("gate_seconds")) for e in evaluations)
    lines.append(f"Validation: {gate_seconds:.1f}s in quality gates "
                 f"({100 * gate_seconds / max(seconds, 1e-9):.1f}% of the run)")
    blocking_failed = False
    for evaluation in failed_checks:
        severity = evaluation.severity.value
        blocking_failed |= severity == "ERROR"
        lines.append(
            f"  FAILED [{severity}] {evaluation.asset_key.to_user_string()}:"
            f"{evaluation.check_name} {evaluation.description or ''}"
        )
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    for failure in failures:
        lines.append(f"\nFAILED step {failure.step_key}: {root_cause(failure)}")
    lines.append(f"\nWarehouse (DuckDB): {home.warehouse}")
    lines.append(f"Lake (Delta):       {home.lake}")
    lines.append(f"Dagster UI:         make dev  (then http://127.0.0.1:3000; home {home.root})")
    ok = result.success and not failures and not blocking_failed
    lines.append("\nOK" if ok else "\nRUN FAILED: see the failures above")
    return "\n".join(lines), ok


def _lake_writers(instance: dg.DagsterInstance, tags: dict[str, str],
                  exclude: Collection[str] = ()) -> list[dg.DagsterRun]:
    """Runs with the tag that are going: their worker is alive, or it is being launched
    (STARTING, no worker pid yet). One left STARTED by a killed process holds nothing; nor does
    another in-process run's placeholder (in-process runs take turns through the lock)."""
    from dagster._core.storage.dagster_run import ACTIVE_RUN_STATUSES

    return [r for r in instance.get_runs(filters=dg.RunsFilter(statuses=ACTIVE_RUN_STATUSES,
                                                                tags=tags))
            if r.run_id not in exclude and r.job_name != QUEUE_HOLD_JOB
            and (worker_alive(r) or (r.status == dg.DagsterRunStatus.STARTING
                                     and PID_TAG not in r.tags))]


def wait_for_lake_writers(instance: dg.DagsterInstance, tags: dict[str, str],
                          poll_seconds: float = 2.0, exclude: Collection[str] = ()) -> int:
    """Block while a launched run that writes the lake is going; returns how many polls it took.

    `lakehouse run` executes in this process, outside the run queue, so the queue's limit of
    one lake-writing run cannot stop it starting beside a micro-batch the daemon launched."""
    polls = 0
    while runs := _lake_writers(instance, tags, exclude):
        if polls == 0:
            print(f"waiting for run {runs[0].run_id} ({runs[0].job_name}), which writes the "
                  "lake, to finish ...", flush=True)
        polls += 1
        time.sleep(poll_seconds)
    return polls


@contextmanager
def _queue_held(instance: dg.DagsterInstance, tags: dict[str, str],
                holder: str) -> Iterator[str]:
    """A placeholder run in the queue's view (STARTED, the tag, this process as its worker)
    from before this process waits for the lake until its in-process run has ended, so the
    queue launches no lake-writing run meanwhile: without it, the queue cannot see the
    in-process run until it is registered, seconds after it took the lock, and a run it
    launched in between would wait for the lock in STARTING until run monitoring failed it.
    Deleted afterwards; if this process dies, run monitoring fails it (its worker is gone)."""
    run_id = str(uuid.uuid4())
    instance.add_run(dg.DagsterRun(
        job_name=QUEUE_HOLD_JOB, run_id=run_id, status=dg.DagsterRunStatus.STARTED,
        tags={**tags, PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname(),
              "lakehouse/holder": holder}))
    try:
        yield run_id
    finally:
        instance.delete_run(run_id)


@contextmanager
def lake_turn(instance: dg.DagsterInstance, home: Home, tags: dict[str, str],
              holder: str, poll_seconds: float = 0.5,
              settle_seconds: float = 2.0) -> Iterator[None]:
    """Hold the lake-writer lock for an in-process run, after the launched lake writers.

    Holds the queue first (`_queue_held`), lets a dequeue already under way land
    (`settle_seconds`: the daemon dequeues every second), waits for the launched writers,
    then takes the lock; a writer launched meanwhile gets the lock back and the turn starts
    over. The lock alone guarantees that writes never interleave; this keeps launched runs
    from failing while they wait for it.

    A dequeue can only be under way for a run that is still QUEUED when the placeholder is in
    place (the daemon marks it STARTING before it launches it, and decides on later runs with
    the placeholder in view), so with no queued lake writer there is nothing to settle: a
    `lakehouse run` on a home without a daemon or a queue starts at once."""
    with _queue_held(instance, tags, holder) as own:
        if instance.get_runs_count(filters=dg.RunsFilter(
                statuses=[dg.DagsterRunStatus.QUEUED], tags=tags)):
            time.sleep(settle_seconds)
        stack = ExitStack()
        while True:
            wait_for_lake_writers(instance, tags, poll_seconds, exclude={own})
            stack.enter_context(lake_writer(home, holder=holder))
            if not _lake_writers(instance, tags, exclude={own}):
                break
            stack.close()
        with stack:
            yield


def materialize_all(home: Home, definitions: dg.Definitions | None = None) -> int:
    """Run the `materialize_all` job of `definitions` (default: the code location)."""
    if definitions is None:
        from orchestration.definitions import defs as definitions

    started = time.monotonic()
    job = definitions.resolve_job_def("materialize_all").with_logger_defs(
        {"progress": progress_logger, "console": dg.colored_console_logger}
    )
    instance = dg.DagsterInstance.get()
    run_id = str(uuid.uuid4())  # known before the run starts: it names the lock's holder
    # Data Docs: each step writes its result pages; the index is rebuilt once, at the end
    # (after the lake is released: the docs site is not the lake's)
    with one_index(home.root), ExitStack() as stack:
        if job.tags.get("lakehouse/writes"):
            stack.enter_context(lake_turn(
                instance, home, {"lakehouse/writes": job.tags["lakehouse/writes"]},
                holder=f"lakehouse run (run {run_id})"))
        print(f"Materializing every asset on {home.root} ...", flush=True)
        result = job.execute_in_process(
            instance=instance,
            run_id=run_id,
            raise_on_error=False,
            # this process is the run's worker: run monitoring fails the run if it is killed
            tags={PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()},
            run_config={"loggers": {"progress": {},
                                    "console": {"config": {"log_level": "WARNING"}}}},
        )
    text, ok = summarize(result, home, time.monotonic() - started)
    print(text, flush=True)
    # closes the event log's kept connections (orchestration/runtime/event_log.py), which
    # checkpoints its write-ahead logs into the database files
    instance.dispose()
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lakehouse run")
    parser.add_argument("--home")
    args = parser.parse_args(argv)
    from orchestration.definitions import defs

    # once per process, here and not in materialize_all (which tests call again and again: a
    # freeze would keep their garbage for ever): the loaded code location lives as long as
    # the run, out of the garbage collector's sight, whose full collections walked it again
    # and again
    gc.freeze()
    return materialize_all(Home.resolve(args.home), defs)


if __name__ == "__main__":
    sys.exit(main())
