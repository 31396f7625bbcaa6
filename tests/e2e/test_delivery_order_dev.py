"""Any delivery order gives the same lake, through micro-batches under `lakehouse dev` (issue 13,
DESIGN.md rules 1 and 7): the daemon's landing sensor, the run queue, the prefork launcher.

One small simulated retailer. The home gets a first delivery without the catalog (half of the
event files, and the store list, suppliers and promotions) through the batch path's functions
behind their gates, so rows that name a product are held back as pending. Then `lakehouse dev`
starts on it, the second delivery (the catalog and the other event files) lands in the landing
zone, and the sensor's micro-batch run(s) must succeed and release the held rows: every table a
micro-batch maintains then equals the same table after one delivery of every file (built
in-process by the same gated functions, ``tests/convergence.py``), and the quarantine holds the
same dead and pending rows.

Compared: every silver table but the identity inputs, and the live inventory tables
(``silver/inventory_ledger``, ``gold/inventory_positions``,
``gold/inventory_channel_availability``). Left out, because only the batch path refreshes them
(README, micro-batch): ``silver/identifier_observations`` and ``silver/customer_records`` (a
micro-batch leaves them to the next batch run, which folds in every batch they missed), the
identity tables, the other inventory tables (daily, alerts, discrepancies, days of cover,
fulfilment options), the ML marts and the warehouse.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from data_quality.docs import docs_dir, index_page
from lakehouse.silver import LAYOUTS
from lakehouse.silver.tables import IDENTITY_TABLES
from lakehouse.simulate import SimConfig
from tests import convergence as cv
from tests.servers import free_port, graphql, stop

BIN = Path(sys.executable).parent
CONFIG = SimConfig(persons=70, products=10, stores=1, warehouses=1, days=5, seed=19,
                   malformed_rate=0.05, late_rate=0.10, duplicate_rate=0.04)
SECOND = ("catalog/",)  # held back until dev runs
MICRO_TABLES = ({f"silver/{t}" for t in LAYOUTS if t not in IDENTITY_TABLES}
                | {"silver/inventory_ledger", "gold/inventory_positions",
                   "gold/inventory_channel_availability"})
TERMINAL = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE,
            dg.DagsterRunStatus.CANCELED}

pytestmark = pytest.mark.slow


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "LAKEHOUSE_HMAC_KEY"}
    env["LAKEHOUSE_HOME"] = str(home)  # the home's own (shared) key: tests/convergence.py
    return env


def _tail(log: Path, lines: int = 40) -> str:
    text = log.read_text(errors="replace") if log.exists() else "(no output)"
    return "\n".join(text.splitlines()[-lines:])


def _wait_for_ui(port: int, deadline: float, proc: subprocess.Popen, log: Path) -> None:
    """Until the UI on ``port`` serves a running landing sensor; fails at once, with dev's
    output, when dev exits (a port taken between ``free_port`` and its bind, a start error),
    and with that output at the deadline, instead of waiting blind."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"lakehouse dev exited with {proc.returncode} before its UI "
                                 f"served on port {port}; its output ends:\n{_tail(log)}")
        try:
            repos = graphql(port, "{ repositoriesOrError { ... on RepositoryConnection { "
                                  "nodes { sensors { name sensorState { status } } } } } }")
            sensors = {s["name"]: s["sensorState"]["status"]
                       for r in repos["data"]["repositoriesOrError"]["nodes"]
                       for s in r["sensors"]}
            if sensors.get("landing_sensor") == "RUNNING":
                return
        except (OSError, KeyError, TypeError):
            pass
        time.sleep(1)
    raise AssertionError("lakehouse dev did not serve a running landing_sensor in time; its "
                         f"output ends:\n{_tail(log)}")


def _micro_batches(home: Path) -> list[dg.DagsterRun]:
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        return [r.dagster_run for r in instance.get_run_records()
                if r.dagster_run.job_name == "micro_batch"]


def _files_of(run: dg.DagsterRun) -> set[str]:
    config = run.run_config.get("ops", {}).get("ingest_bronze", {}).get("config", {})
    return set(config.get("files", []))


def _why_failed(home: Path, runs: list[dg.DagsterRun]) -> list[str]:
    """For each run that did not succeed: its failed steps (innermost error) and checks."""
    out = []
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        for run in runs:
            out.append(f"micro-batch run {run.run_id} ({len(_files_of(run))} files): "
                       f"{run.status.value}")
            for record in instance.all_logs(run.run_id):
                event = record.dagster_event
                if event is None:
                    continue
                if event.event_type_value == "STEP_FAILURE":
                    error, message = event.event_specific_data.error, ""
                    while error is not None:
                        message, error = error.message.strip(), error.cause
                    out.append(f"  step {event.step_key} failed: {message[:500]}")
                elif (event.event_type_value == "ASSET_CHECK_EVALUATION"
                      and not event.event_specific_data.passed):
                    data = event.event_specific_data
                    out.append(f"  check {data.asset_check_key.asset_key.to_user_string()}:"
                               f"{data.asset_check_key.name} failed: {data.description}")
    return out


def test_micro_batches_release_what_the_first_delivery_held_back(tmp_path):
    source = cv.simulate_source(tmp_path / "source", CONFIG)
    rng = random.Random(7)
    first = [f for f in source.files if not f.startswith(SECOND)
             and (cv.is_reference(f) or rng.random() < 0.5)]
    second = [f for f in source.files if f not in set(first)]
    home = cv.new_home(tmp_path / "home")
    cv.deliver(source, home, first)
    t0 = time.monotonic()
    # the first delivery through the batch path's own functions behind their gates (what
    # `lakehouse run` calls, without dbt: nothing here reads the warehouse); the CLI path of
    # a first delivery without the catalog is test_delivery_order_run's
    cv.batch_run(home)
    failures: list[str] = []
    held = cv.quarantine(home).filter(pl.col("status") == "pending")
    assert held.height > 0, "the first delivery held nothing back: the test proves nothing"
    timing = {"first delivery, batch path": time.monotonic() - t0}

    port = free_port()
    log = tmp_path / "dev.log"
    with log.open("wb") as out:  # the child keeps its own descriptor
        proc = subprocess.Popen([str(BIN / "lakehouse"), "dev", "--home", str(home), "--port",
                                 str(port)], env=_env(home), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # The sensor's cursor starts empty, so its first tick requests every landed file, the
        # first delivery's too (bronze skips those: ingested once). Landing the second
        # delivery now, while dev starts, makes that one micro-batch instead of two queued one
        # behind the other (runs that write the lake never overlap): ~45 s less. If the tick
        # comes first, there are two runs, and the end state must be the same.
        dropped = time.monotonic()
        cv.deliver(source, home, second)
        # the reference lake, built in this process while dev starts
        one = cv.build(source, tmp_path / "one", [(list(source.files), "run")], ml=False)
        expected = cv.fingerprint(one, only=MICRO_TABLES, warehouse=False)
        deadline = time.monotonic() + 240
        _wait_for_ui(port, deadline, proc, log)
        timing["dev up (and the reference build)"] = time.monotonic() - dropped
        # wait until the second delivery is in runs that ended, and none is still going
        while time.monotonic() < deadline:
            runs = _micro_batches(home)
            covered = set().union(*(_files_of(r) for r in runs)) if runs else set()
            if set(second) <= covered and all(r.status in TERMINAL for r in runs):
                break
            time.sleep(1)
        timing["dev start to micro-batches done"] = time.monotonic() - dropped
        # each run's worker rebuilds the Data Docs index once, after its run ended
        # (data_quality.docs.one_index): it comes to list every micro-batch's results
        docs_index = index_page(home)
        while time.monotonic() < deadline + 30 and not (
                docs_index.exists() and all(r.run_id in docs_index.read_text()
                                            for r in _micro_batches(home))):
            time.sleep(0.5)
    finally:
        stop(proc, 30, group=True)
    runs = _micro_batches(home)
    assert runs and set(second) <= set().union(*(_files_of(r) for r in runs)), (
        f"the second delivery did not reach a micro-batch run in time ({timing}): "
        f"{[(r.run_id, r.status, len(_files_of(r))) for r in runs]}")
    failures += _why_failed(home, [r for r in runs if r.status != dg.DagsterRunStatus.SUCCESS])
    listed = index_page(home).read_text()
    failures += [f"the Data Docs index does not list micro-batch {r.run_id}" for r in runs
                 if r.run_id not in listed]
    failures += [f"a worker left its mark: {m.name}"
                 for m in docs_dir(home).glob(".index-stale-*")]

    got = cv.fingerprint(home, only=MICRO_TABLES, warehouse=False)
    failures += cv.differences(expected, got, ("one delivery", "run + micro-batches"),
                               tables=MICRO_TABLES)
    cv.raise_failures(f"seconds: {timing}", failures + cv.quarantine_failures(home, one))
    # what the first run held back for the catalog was released by a micro-batch
    q = cv.quarantine(home).join(held.select("file", "line"), on=["file", "line"], how="semi")
    assert q.filter(pl.col("status") == "released").height > 0
    print(f"seconds: {timing}")
