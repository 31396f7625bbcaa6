"""Data Docs render time against the number of results the home has stored.

GX's site builder rebuilds the index from every stored result on each render, and every step
with gates renders once (8 renders in a `lakehouse run`). This validates ``--suites`` suites on
a small Delta table, fakes a history of ``--runs`` earlier runs (copies of those results under
older run names and times, as GX lays them out), renders a new run's results, then times the
render of the run after it: unbounded (every result kept) and with the retention `lakehouse
run` uses (``data_quality.docs.KEEP`` results per suite; its first render deletes the backlog,
which is not timed). Prints stored results and seconds.

Then a whole run's renders with that retention: the suites split over ``--steps`` renders, as
a run's steps with gates render (10 in a `lakehouse run`), once with the index rebuilt by
every render and once inside ``data_quality.docs.one_index`` (pages per render, the index
once at the end), which is how `lakehouse run` renders.

    .venv/bin/python bench/bench_data_docs.py [--suites 20] [--runs 0,100,1000] [--steps 10]
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pyarrow as pa
from deltalake import write_deltalake

from data_quality.docs import KEEP, docs_dir, one_index, render
from data_quality.gate import validate_table
from data_quality.suites import Expect, Suite


def _results(uri: str, suites: int) -> list:
    return [validate_table(uri, Suite(f"bench.table_{i}", (
        Expect("ExpectColumnValuesToNotBeNull", "order_id"),
        Expect("ExpectColumnValuesToBeBetween", "quantity", (("min_value", 0),
                                                            ("max_value", 100))),
    )), engine="gx").gx_result for i in range(suites)]


def _fake_history(site: Path, runs: int) -> None:
    """``runs`` copies of the stored run (one per suite) under older run names and times."""
    stored = site / "_results"
    originals = [p.parent for p in stored.rglob("*.json")]
    for run in range(runs):
        for time_dir in originals:
            target = time_dir.parent.parent / f"old-{run}" / f"20200101T{run:06d}.000000Z"
            shutil.copytree(time_dir, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suites", type=int, default=20)
    parser.add_argument("--runs", default="0,100,1000")
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        uri = str(root / "lake" / "t")
        write_deltalake(uri, pa.table({"order_id": [f"o{i}" for i in range(1000)],
                                       "quantity": list(range(1000))}))
        results = _results(uri, args.suites)
        render(root / "seed", results, run_id="seed", keep=10**9)
        print(f"{args.suites} suites; retention keeps {KEEP} results per suite")
        print(f"{'history runs':>12} {'stored':>8} {'unbounded s':>12} {'kept':>6} "
              f"{'retained s':>11} {'run, index per render s':>24} {'run, one index s':>17}")
        for runs in (int(r) for r in args.runs.split(",")):
            timings = []
            for keep in (10**9, KEEP):
                home = root / f"h{runs}-{keep}"
                shutil.copytree(docs_dir(root / "seed"), docs_dir(home))
                _fake_history(docs_dir(home), runs)
                render(home, results, run_id="new", keep=keep)  # the retention's first prune
                started = time.perf_counter()
                render(home, results, run_id="next", keep=keep)
                seconds = time.perf_counter() - started
                stored = sum(1 for _ in (docs_dir(home) / "_results").rglob("*.json"))
                timings.append((stored, seconds))
                if keep == KEEP:
                    per_render = _run(home, results, args.steps, "run-a", one=False)
                    once = _run(home, results, args.steps, "run-b", one=True)
                shutil.rmtree(home)
            (_, unbounded), (kept, retained) = timings
            print(f"{runs:>12} {args.suites * (runs + 3):>8} {unbounded:>12.2f} {kept:>6} "
                  f"{retained:>11.2f} {per_render:>24.2f} {once:>17.2f}", flush=True)


def _run(home: Path, results: list, steps: int, run_id: str, one: bool) -> float:
    """Seconds for one run's renders: ``results`` split over ``steps`` renders, inside
    ``one_index`` when ``one``."""
    size = -(-len(results) // steps)
    started = time.perf_counter()
    with one_index(home) if one else contextlib.nullcontext():
        for first in range(0, len(results), size):
            render(home, results[first:first + size], run_id=run_id)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
