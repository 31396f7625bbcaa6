"""The sampled k search against fitting every k on every row, on one built home's validated
customer feature mart: time, k, silhouette, inertia, cluster sizes and how many persons land
in another cluster. Reads the home only.

    .venv/bin/python bench/bench_segments_sampled.py HOME

HOME: a home built by ``bench_full.py --keep DIR``. Above ``clustering.FIT_SAMPLE`` persons the
two differ; below it they are the same code path.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import lakehouse.segments.clustering as clustering
from lakehouse.home import Home
from lakehouse.segments.matrix import build_matrix
from lakehouse.segments.publish import customer_features


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("home")
    args = ap.parse_args()
    started = time.perf_counter()
    features = customer_features(Home.resolve(args.home))
    values = build_matrix(features).values
    print(f"{features.height} persons, {values.shape[1]} columns, "
          f"read and matrix {time.perf_counter() - started:.1f}s")
    found = {}
    for name, sample in (("sampled", clustering.FIT_SAMPLE), ("every row", 10**12)):
        clustering.FIT_SAMPLE = sample
        started = time.perf_counter()
        best, tried = clustering.choose(values, seed=0)
        seconds = time.perf_counter() - started
        found[name] = best
        print(f"{name}: {seconds:.1f}s k={best.k} silhouette={best.silhouette:.4f} "
              f"inertia={best.inertia:.0f} sizes={np.bincount(best.labels).tolist()} "
              f"silhouette per k={[(f.k, round(f.silhouette or 0.0, 4)) for f in tried]}")
    a, b = found["sampled"], found["every row"]
    if a.k == b.k:  # clusters are numbered by size in both: the diagonal is where they agree
        table = np.zeros((a.k, a.k), int)
        np.add.at(table, (a.labels, b.labels), 1)
        print(f"persons in another cluster: {len(a.labels) - int(np.trace(table))}")
    else:
        print(f"different k: {a.k} sampled, {b.k} on every row")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
