"""What a gate pays to read the validation registry, after many micro-batches.

Every gate and every pinned reader reads validated pins from ``H/lake/quality/validations``;
micro-batches append to it on every step, and it keeps every outcome for ever (the audit).
Two measures:

- ``--steps N``: N steps of 20 gates each recorded through the registry's own API; the
  registry compacts itself every ``COMPACT_EVERY`` commits, so the read stays flat in files.
- ``--outcomes N``: a registry already holding N outcomes (a year of micro-batches is tens of
  millions), written in one commit; prints the pins read, a pinned reader's check, and the
  whole audit read, each three times in a fresh process, with the memory it added. The worst
  of the pins reads is the process's first; the best, a read of a registry version already
  read (a `lakehouse run` asked for pins 220 times on a small home: 87 registry reads before
  that cache, 12 with it).

    .venv/bin/python bench/bench_registry.py [--steps 500] [--outcomes 2000000]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
from deltalake import write_deltalake

from lakehouse.storage.validations import (
    SCHEMA,
    batched,
    outcomes,
    passed_among,
    record_validation,
    registry_uri,
    validated_versions,
)


def _steps(lake: Path, steps: int) -> None:
    started = time.perf_counter()
    for step in range(steps):
        with batched():
            for k in range(20):
                record_validation(lake / "silver" / f"t{k}", step, "bench", 1,
                                  from_version=step - 1)
    print(f"{steps} steps x 20 gates recorded in {time.perf_counter() - started:.1f}s")
    _time("pins read (validated_versions)", lambda: validated_versions(lake),
          f"({steps * 20} outcomes)")


def _outcomes(lake: Path, n: int) -> None:
    """N outcomes over 40 tables, one in 97 failed."""
    names = np.array([f"silver/t{i}" for i in range(40)])
    i = np.arange(n)
    write_deltalake(registry_uri(lake), pa.table({
        "table": names[i % 40], "version": i // 40, "suite": np.char.add("suite.", names[i % 40]),
        "rows_validated": np.full(n, 100), "run_id": np.char.add("run-", (i // 40).astype(str)),
        "validated_at": pa.array(np.datetime64("2026-01-01", "us") + i.astype("timedelta64[s]"))
        .cast(pa.timestamp("us", tz="UTC")),
        "passed": i % 97 != 5, "from_version": i // 40 - 1}).cast(SCHEMA))
    del names, i
    print(f"registry of {n} outcomes written; each read in a fresh process")
    for what in READS:
        subprocess.run([sys.executable, __file__, "--read", str(lake), what], check=True)


READS = {
    "pins read (validated_versions)": lambda lake: validated_versions(lake),
    "pinned reader check (passed_among, 3 pins)":
        lambda lake: passed_among(lake, {"silver/t1": 5, "silver/t2": 7, "silver/t5": 0}),
    "audit read (outcomes, every column)": lambda lake: outcomes(lake),
}


def _time(what: str, read, note: str = "") -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    reads = []
    for _ in range(3):
        started = time.perf_counter()
        read()
        reads.append(time.perf_counter() - started)
    grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(f"{what}: best {min(reads) * 1000:.0f} ms, worst {max(reads) * 1000:.0f} ms, "
          f"peak memory +{grew:.0f} MB {note}".rstrip(), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--outcomes", type=int, default=0,
                    help="instead of --steps: read a registry holding this many outcomes")
    ap.add_argument("--read", nargs=2, metavar=("LAKE", "WHAT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.read:
        lake, what = Path(args.read[0]), args.read[1]
        _time(what, lambda: READS[what](lake))
        return 0
    lake = Path(tempfile.mkdtemp(prefix="bench_registry_")) / "lake"
    if args.outcomes:
        _outcomes(lake, args.outcomes)
    else:
        _steps(lake, args.steps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
