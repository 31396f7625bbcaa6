"""Customer segments: wall time, k chosen, silhouette and segment sizes of ``publish_segments``
on a copy of a built home, from the validated feature mart and from a fresh feature set at a
given cutoff; then ``segment_customers`` alone on the mart's rows replicated ``--replicate``
times (person ids made replica-specific, values jittered by 1%) to see how it scales.

    .venv/bin/python bench/bench_segments.py [--source /tmp/h20run] [--work /tmp/seg_bench] \
        [--as-of 2026-03-03] [--replicate 6]

The source home is only read (it is copied to ``--work`` first).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from lakehouse.home import Home
from lakehouse.segments import MEMBERS, PROFILES, publish_segments, segment_customers
from lakehouse.segments.publish import customer_features
from lakehouse.storage.delta import read_table


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def publish(home: Home, as_of: datetime | None = None) -> tuple[dict, float]:
    """``publish_segments`` and the CPU seconds it took (wall time is in its result)."""
    cpu = time.process_time()
    out = publish_segments(home, as_of)
    return out, time.process_time() - cpu


def report(title: str, out: dict, cpu: float) -> None:
    members = read_table(out[MEMBERS]["uri"])
    profiles = read_table(out[PROFILES]["uri"])
    print(f"\n== {title}: {out['seconds']} s wall, {cpu:.2f} s CPU, {members.height} "
          f"persons, as_of {out['as_of']}")
    print(f"k chosen {out['k']}, silhouette {out['silhouette']}; tried {out['silhouettes']}")
    for row in profiles.iter_rows(named=True):
        print(f"  cluster {row['cluster']} {row['cluster_name']!r}: {row['persons']} "
              f"({row['share']:.1%})\n      {row['description']}")
    rfm = members.group_by("rfm_segment").len().sort("len", descending=True)
    print("  RFM: " + ", ".join(f"{s} {n}" for s, n in rfm.rows()))


def replicate(features: pl.DataFrame, times: int, seed: int = 0) -> pl.DataFrame:
    """``times`` copies with replica-specific ids and float features jittered by 1%."""
    rng = np.random.default_rng(seed)
    floats = [c for c, t in features.schema.items()
              if t == pl.Float64 and not c.startswith(("share_", "affinity_"))]
    parts = []
    for r in range(times):
        jitter = {c: 1 + rng.normal(0, 0.01, features.height) for c in floats}
        parts.append(features.with_columns(
            (pl.col("person_id") + f"~{r}").alias("person_id"),
            *[(pl.col(c) * pl.Series(jitter[c])).alias(c) for c in floats]))
    return pl.concat(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=Path("/tmp/h20run"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/seg_bench"))
    parser.add_argument("--as-of", default="2026-03-03")
    parser.add_argument("--replicate", type=int, default=6)
    args = parser.parse_args()

    shutil.rmtree(args.work, ignore_errors=True)
    shutil.copytree(args.source, args.work)
    home = Home.resolve(args.work)

    report("validated gold/ml_customer_features", *publish(home))
    as_of = datetime.fromisoformat(args.as_of).replace(tzinfo=UTC)
    report(f"training_set at {args.as_of} (features computed)", *publish(home, as_of))

    features = customer_features(home)
    big = replicate(features, args.replicate)
    start, cpu = time.perf_counter(), time.process_time()
    seg = segment_customers(big, big["as_of"].max())
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"\n== segment_customers on {big.height} persons ({args.replicate}x): "
          f"{seconds:.2f} s wall, {cpu:.2f} s CPU, k {seg.k}, silhouette {seg.silhouette:.4f}")
    print("  " + ", ".join(f"{n} {p}" for n, p in
                           seg.profiles.select("cluster_name", "persons").rows()))
    print(f"\npeak RSS {rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
