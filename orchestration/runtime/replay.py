"""`lakehouse quarantine replay`: the `quarantine_replay` job, run in-process on one home.

Runs through the home's Dagster instance like `lakehouse run` (the run, its materializations
and gate evaluations show in the UI), holding the lake-writer lock (`lakehouse.storage.lock`)
once any launched lake-writing run has finished. Prints what became of the selected rows;
exits non-zero when the run failed (a gate, an error).
"""

import argparse
import os
import socket
import sys
import uuid
from collections.abc import Sequence
from contextlib import ExitStack

import dagster as dg

from lakehouse.cli import add_selection_arguments
from lakehouse.home import Home
from orchestration.assets.quarantine_ops import JOB_NAME, OP_NAME
from orchestration.runtime.launcher import HOST_TAG, PID_TAG
from orchestration.runtime.run import lake_turn, root_cause


def run_replay(home: Home, args: argparse.Namespace,
               definitions: dg.Definitions | None = None,
               instance: dg.DagsterInstance | None = None) -> int:
    if definitions is None:
        from orchestration.definitions import defs as definitions
    job = definitions.resolve_job_def(JOB_NAME).with_logger_defs(
        {"console": dg.colored_console_logger})
    instance = instance or dg.DagsterInstance.get()
    config = {"kinds": list(args.kind or []), "channels": list(args.channel or []),
              "file": args.file or "", "status": args.status or "", "rows": args.rows}
    if args.gate_engine:
        config["gate_engine"] = args.gate_engine
    run_id = str(uuid.uuid4())
    with ExitStack() as stack:
        if job.tags.get("lakehouse/writes"):
            stack.enter_context(lake_turn(
                instance, home, {"lakehouse/writes": job.tags["lakehouse/writes"]},
                holder=f"lakehouse quarantine replay (run {run_id})"))
        result = job.execute_in_process(
            instance=instance, raise_on_error=False, run_id=run_id,
            tags={PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()},
            run_config={"ops": {OP_NAME: {"config": config}},
                        "resources": {"lakehouse": {"config": {"home": str(home.root)}}},
                        "loggers": {"console": {"config": {"log_level": "WARNING"}}}})
    if not result.success:
        failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        cause = root_cause(failures[0]) if failures else "the run failed"
        print(f"REPLAY FAILED (run {result.run_id}): {cause}", flush=True)
        return 1
    print(result.output_for_node(OP_NAME), flush=True)
    print(f"\nrun {result.run_id} (Dagster UI: `make dev`, home {home.root})", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lakehouse quarantine replay")
    parser.add_argument("--home")
    add_selection_arguments(parser)
    parser.add_argument("--gate-engine", choices=["gx", "duckdb"],
                        help="engine of the gates (default: the pipeline's, GX)")
    args = parser.parse_args(argv)
    return run_replay(Home.resolve(args.home), args)


if __name__ == "__main__":
    sys.exit(main())
