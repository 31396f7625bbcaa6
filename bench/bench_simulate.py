"""Benchmark the simulator: ~1 million events into a temporary home.

Prints events/s, wall seconds and peak memory (ru_maxrss). Not part of the test run.

    .venv/bin/python bench/bench_simulate.py [--persons N] [--days N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from lakehouse.home import Home
from lakehouse.simulate import SimConfig, simulate


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--persons", type=int, default=24_000)
    ap.add_argument("--products", type=int, default=1000)
    ap.add_argument("--stores", type=int, default=12)
    ap.add_argument("--warehouses", type=int, default=3)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--keep", type=Path, default=None, help="write here and keep the files")
    args = ap.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-sim-"))
    cfg = SimConfig(persons=args.persons, products=args.products, stores=args.stores,
                    warehouses=args.warehouses, days=args.days)
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    try:
        summary = simulate(Home.resolve(root), cfg, progress=lambda m: print("  " + m))
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        size = sum(f.stat().st_size for f in (root / "landing").rglob("*") if f.is_file())
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"config: persons={cfg.persons} products={cfg.products} stores={cfg.stores} "
          f"warehouses={cfg.warehouses} days={cfg.days}")
    print(f"events: {summary.events:,} in {summary.files} files ({size / 1e6:.0f} MB)")
    print(f"rows per channel: {summary.rows}")
    print(f"seconds: {wall:.1f} wall, {cpu:.1f} cpu")
    print(f"events/s: {summary.events / wall:,.0f}")
    print(f"peak memory (ru_maxrss): {peak_mb:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
