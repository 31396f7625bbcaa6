"""Is identity resolution reproducible? Resolves one home's validated records several times in
one process and prints, per run, a digest of the person partition (which records are one
person) and of the links kept, and how many Splink pair scores differ from the first run.

Training sets and every mart keyed by person inherit the partition, so two runs on the same
records must agree. Before the fix (Splink trained on all threads; links of equal score
judged in the order DuckDB returned them) 1 run in 6 made other persons from the same
1M-event home, and 16-38 of 1,820 pair scores differed in their last bits from the first run.

    .venv/bin/python bench/bench_identity_repeat.py HOME [--runs 6]

HOME is a lakehouse home after a build (e.g. `bench_nightly.py --keep DIR` leaves
DIR/home_after_first_build).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lakehouse.home import Home
from lakehouse.identity import splink_model
from lakehouse.identity.pii import load_key
from lakehouse.identity.store import without_erased
from lakehouse.storage.paths import table_uri
from lakehouse.storage.validations import read_validated

resolve = importlib.import_module("lakehouse.identity.resolve")  # the package exports a function


def digest(lines: list[str]) -> str:
    return hashlib.sha1("\n".join(sorted(lines)).encode()).hexdigest()[:12]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("home", type=Path)
    ap.add_argument("--runs", type=int, default=6)
    args = ap.parse_args()
    home = Home.resolve(args.home)
    records = read_validated(table_uri(home, "silver", "customer_records"))
    observations = read_validated(table_uri(home, "silver", "identifier_observations"),
                                  columns=["source", "record_id", "identifier_type", "value"])
    records, observations = without_erased(home, records, observations, load_key(home.root))
    scores: list[pl.DataFrame] = []
    link = splink_model.link

    def kept_scores(f, threshold=None, **kwargs):
        run = link(f, threshold, **kwargs)
        scores.append(run.pairs.select("a", "b", "match_probability"))
        return run

    splink_model.link = kept_scores
    at = datetime(2026, 1, 1, tzinfo=UTC)  # one clock: stable ids do not depend on it
    partitions, first = set(), None
    print(f"{records.height:,} records")
    for i in range(args.runs):
        started = time.perf_counter()
        out = resolve.resolve_full(records, None, at=at, observations=observations).records
        members = (out.group_by("person_id")
                   .agg((pl.col("source") + ":" + pl.col("record_id")).sort().str.join(","))
                   ["source"].to_list())
        partitions.add(digest(members))
        moved = "-"
        if scores:
            if first is None:
                first = scores[-1]
            joined = first.join(scores[-1], on=["a", "b"], how="full", suffix="_run")
            moved = str(joined.filter(pl.col("match_probability").ne_missing(
                pl.col("match_probability_run"))).height)
        print(f"run {i}: {time.perf_counter() - started:5.1f}s, {len(members):,} persons, "
              f"partition {digest(members)}, pair scores differing from run 0: {moved}",
              flush=True)
    print(f"{len(partitions)} distinct partition(s) in {args.runs} runs")
    return 0 if len(partitions) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
