"""Any delivery order gives the same lake, through `lakehouse run` (issue 13, DESIGN.md rules 1
and 7): the CLI a data engineer uses, Dagster in-process on each home's instance, GX gates,
dbt into the home's DuckDB warehouse.

One small simulated retailer. Home A gets every landing file and one `lakehouse run`. Home B
gets the files in two deliveries, a `lakehouse run` after each; the first holds half of the
event files and no catalog or store list, the second the rest with the catalog and the store
list (suppliers and promotions split with the events). Both runs of B succeed; silver, gold
and every table of the analysts' `warehouse.duckdb` equal A's by fingerprint
(``tests/convergence.py``); B's quarantine holds A's dead rows and still waits only for what
never arrived (A's pending rows: checked against the delivered files and the simulator's truth),
every other row held back in the first run released by the second.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from lakehouse.simulate import SimConfig
from tests import convergence as cv

BIN = Path(sys.executable).parent
# small; twelve days so that returns and reviews (which follow deliveries) exist, and the
# fault knobs up: late and re-sent records, corrupted copies, unknown product codes
CONFIG = SimConfig(persons=100, products=12, stores=1, warehouses=1, days=12, seed=5,
                   malformed_rate=0.03, late_rate=0.05, duplicate_rate=0.03)
SECOND = ("catalog/", "locations/")  # held back until the second delivery

pytestmark = pytest.mark.slow


def _run(home: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "LAKEHOUSE_HMAC_KEY"}
    env["LAKEHOUSE_HOME"] = str(home)  # each home's own (shared) key: tests/convergence.py
    return subprocess.Popen([str(BIN / "lakehouse"), "run", "--home", str(home)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _failed(proc: subprocess.Popen, what: str, timeout: int = 600) -> str | None:
    """None when the run passed (exit 0, "OK"), else what failed (its summary's failures)."""
    out, _ = proc.communicate(timeout=timeout)
    if proc.returncode == 0 and out.rstrip().endswith("OK"):
        return None
    failed = [line.strip() for line in out.splitlines()
              if line.strip().startswith(("FAILED", "RUN FAILED", "Traceback"))]
    return f"{what}: exit {proc.returncode}\n  " + "\n  ".join(failed or [out[-3000:]])


def test_two_deliveries_and_two_runs_give_the_lake_of_one(tmp_path):
    source = cv.simulate_source(tmp_path / "source", CONFIG)
    rng = random.Random(13)
    first = [f for f in source.files if not f.startswith(SECOND) and rng.random() < 0.5]
    second = [f for f in source.files if f not in set(first)]
    assert source.of(*SECOND) and not set(source.of(*SECOND)) & set(first)

    one = cv.new_home(tmp_path / "one")
    two = cv.new_home(tmp_path / "two")
    cv.deliver(source, one, source.files)
    cv.deliver(source, two, first)
    started = time.monotonic()
    # A's run and B's first run are independent homes: side by side
    run_one, run_two = _run(one), _run(two)
    failed = _failed(run_one, "lakehouse run, every file")
    assert failed is None, failed  # the reference itself
    # a failed run of B is reported with the comparison after its second run, not instead
    failures = [f for f in [_failed(run_two, f"lakehouse run, first delivery ({len(first)} "
                                              f"files, no {' or '.join(SECOND)})")] if f]
    held = cv.quarantine(two).filter(pl.col("status") == "pending")
    cv.deliver(source, two, second)
    failures += [f for f in [_failed(_run(two), f"lakehouse run, second delivery "
                                                f"({len(second)} files)")] if f]
    seconds = time.monotonic() - started

    expected, got = cv.fingerprint(one), cv.fingerprint(two)
    assert any(n.startswith("warehouse/") for n in expected.tables), "no warehouse marts"
    failures += cv.differences(expected, got, ("one delivery", "two deliveries"))
    try:
        cv.check_truth(source, one)
        cv.check_quarantine(two, one)
    except AssertionError as e:
        failures.append(f"quarantine: {e}")
    if failures:  # raised, not asserted: pytest's rewriting would repeat the whole message
        raise AssertionError(f"first delivery {len(first)} files, second {len(second)} "
                             f"({', '.join(source.of(*SECOND))} in it); {seconds:.0f} s\n"
                             + "\n".join(failures))
    # the first run did hold rows back (the test would prove little otherwise), and the
    # second released every one of them that is not still waiting after one delivery too
    assert held.height > 0
    q = cv.quarantine(two).join(held.select("file", "line"), on=["file", "line"], how="semi")
    waiting = cv.quarantine(one).filter(pl.col("status") == "pending").select("file", "line")
    assert set(q.filter(pl.col("status") == "pending").select("file", "line").rows()) <= set(
        waiting.rows())
    assert q.filter(pl.col("status") == "released").height > 0
