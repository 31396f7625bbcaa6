"""What a gate pays to read the validation registry, after many micro-batches.

Every gate reads its table's validated pin from ``H/lake/quality/validations``; micro-batches
append to it on every step, between two nightly maintenances. The registry compacts itself
every ``COMPACT_EVERY`` commits so that read stays flat. Prints the read time after N steps of
20 gates each.

    .venv/bin/python bench/bench_registry.py [--steps 500]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from lakehouse.storage.validations import batched, record_validation, validated_versions


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=500)
    args = ap.parse_args()
    lake = Path(tempfile.mkdtemp(prefix="bench_registry_")) / "lake"
    started = time.perf_counter()
    for step in range(args.steps):
        with batched():
            for k in range(20):
                record_validation(lake / "silver" / f"t{k}", step, "bench", 1,
                                  from_version=step - 1)
    print(f"{args.steps} steps x 20 gates recorded in {time.perf_counter() - started:.1f}s")
    reads = []
    for _ in range(5):
        started = time.perf_counter()
        validated_versions(lake)
        reads.append(time.perf_counter() - started)
    print(f"registry read: best {min(reads) * 1000:.0f} ms, worst {max(reads) * 1000:.0f} ms "
          f"({args.steps * 20} outcomes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
