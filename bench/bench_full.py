"""Full rebuild of a simulated retailer: ingest, silver, identity, inventory, dbt build, every
gate and the warehouse publish, as `lakehouse run` does it (one Dagster run, in-process).

Prints wall time, peak memory (largest process: the run or a dbt subprocess), and the time
spent in the quality gates with its share of the run. Targets: validation under 15% of the
run; 1M events in at most 60 s and 10M in at most 300 s within 6 GB (the scale issue; the
earlier 5-minute target for 1M is met and superseded). bench_scale.py runs this script at several
sizes and reports the curve. Simulation is not part of the figure (see bench_simulate.py).

    .venv/bin/python bench/bench_full.py [--persons 27000] [--days 60] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lakehouse.home import Home
from lakehouse.simulate import SimConfig, simulate


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=27_000)  # ~1M events over 60 days
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--keep", help="simulate into this directory and keep it")
    args = ap.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="bench_full_"))
    home = Home.resolve(root)
    try:
        started = time.perf_counter()
        report = simulate(home, SimConfig(persons=args.persons, days=args.days))
        print(f"simulated {report.events} events in {time.perf_counter() - started:.1f}s "
              f"(not counted)", flush=True)
        env = {**os.environ, "LAKEHOUSE_HOME": str(home.root)}
        started = time.perf_counter()
        done = subprocess.run([str(Path(sys.executable).with_name("lakehouse")), "run",
                               "--home", str(home.root)], env=env, capture_output=True,
                              text=True, check=False)
        wall = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if done.returncode != 0:
            print(done.stdout[-4000:], done.stderr[-4000:], sep="\n")
            print("RUN FAILED")
            return 1
        match = re.search(r"Validation: ([\d.]+)s", done.stdout)
        gates = float(match.group(1)) if match else float("nan")
        steps = re.findall(r"\[\s*([\d.]+)s\] (start|done ) (\S+)", done.stdout)
        started_at: dict[str, float] = {}
        print("\nstep                          seconds")
        for at, what, step in steps:
            if what == "start":
                started_at[step] = float(at)
            elif step in started_at:
                print(f"  {step:28s} {float(at) - started_at[step]:7.1f}")
        print(f"\nfull rebuild: {wall:.1f}s wall (target < 300 s), peak RSS {peak_mb:.0f} MB")
        print(f"validation:   {gates:.1f}s in quality gates = {100 * gates / wall:.1f}% of the "
              "run (target < 15%)")
        print(f"load average: {os.getloadavg()[0]:.1f} (2 cores)")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
