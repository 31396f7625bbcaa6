"""Identity resolution figures: accuracy on the default simulated retailer, and the time and
peak memory of resolving ~1M records (the simulated records replicated with every identifier
made replica-specific, so replicas are distinct people of the same shape).

    .venv/bin/python bench/bench_identity.py [--home /tmp/id_bench] [--records 1000000]
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import polars as pl

from lakehouse.identity import evaluate, resolve_full

_IDS = ("record_id", "email", "phone", "loyalty_id", "payment_fingerprint", "device_id",
        "login_id", "address_line1", "last_name")


def _prepare(home: Path, persons: int) -> None:
    from lakehouse.ingest import batch_id_for, discover, ingest_files
    from lakehouse.silver import build_silver
    from lakehouse.simulate import SimConfig, simulate
    if (home / "lake" / "silver" / "customer_records").exists():
        return
    from lakehouse.home import Home
    simulate(Home.resolve(home), SimConfig(persons=persons))
    files = discover(home)
    batch = batch_id_for(files)
    ingest_files(home, files, batch)
    build_silver(home, batch)


def _replicate(records: pl.DataFrame, n: int) -> pl.DataFrame:
    k = -(-n // records.height)
    parts = []
    for r in range(k):
        tag = f"~{r}"
        parts.append(records.with_columns(
            *[(pl.col(c) + tag) for c in _IDS if c != "last_name"],
            pl.col("last_name") + pl.lit(chr(65 + r % 26) + chr(65 + (r // 26) % 26)),
            pl.col("postcode") + tag))
    return pl.concat(parts).head(n)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", default="/tmp/id_bench")
    ap.add_argument("--persons", type=int, default=2000)
    ap.add_argument("--records", type=int, default=1_000_000)
    args = ap.parse_args()
    home = Path(args.home)
    _prepare(home, args.persons)
    records = pl.read_delta(str(home / "lake" / "silver" / "customer_records"))
    truth = pl.read_parquet(home / "truth" / "identity.parquet")
    t0 = time.perf_counter()
    res = resolve_full(records)
    dt = time.perf_counter() - t0
    print(f"default sim: {records.height:,} records resolved in {dt:.1f} s")
    unshared = truth.filter(~pl.col("shared"))
    for name, frame in (("all records", truth),
                        ("without household-shared devices/cards", unshared)):
        print(f"  {name}: {evaluate(res.records, frame)}")
    print(f"  report: {res.report}")
    big = _replicate(records.drop("first_seen", "last_seen"), args.records)
    t0 = time.perf_counter()
    out = resolve_full(big)
    dt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"scale: {big.height:,} records -> {out.records['person_id'].n_unique():,} persons in "
          f"{dt:.1f} s, peak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    main()
