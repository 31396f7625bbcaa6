"""Bronze ingestion throughput on a generated web events file (1M lines by default).

Usage: .venv/bin/python bench/bench_bronze.py [--lines N] [--bad-every K]
       .venv/bin/python bench/bench_bronze.py --simulated HOME
Prints events/s for parse + validate + Delta commit of one file, CPU seconds (all threads),
peak RSS and the load average (the machine may be shared: CPU time is the steadier figure). With
``--simulated``, ingests every file of a simulated landing zone (``lakehouse simulate --home HOME
--persons 52000 --products 500 --days 30`` gives ~1M rows in 387 files) as one batch; the
home's lake/ is deleted first, so each run starts from empty tables.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from lakehouse.home import Home
from lakehouse.ingest import batch_id_for, discover, ingest_files


def generate(path: Path, lines: int, bad_every: int) -> None:
    """A web events file like the simulator's: ~400 bytes a line, optional bad lines."""
    base = datetime(2026, 3, 1, tzinfo=UTC)
    i = pl.col("i")
    frame = pl.DataFrame({"i": pl.int_range(0, lines, eager=True)}).select(
        pl.format("ev-{}-8b1c-4d5e-9f00", i).alias("event_id"),
        pl.lit("product_view").alias("event_type"),
        (pl.lit(base) + pl.duration(milliseconds=i * 37))
        .dt.to_string("%Y-%m-%dT%H:%M:%S%.3f+00:00").alias("ts"),
        pl.format("ck-{}", i % 50000).alias("cookie_id"),
        pl.format("ss-{}", i % 200000).alias("session_id"),
        pl.when(i % 3 == 0).then(pl.format("u-{}", i % 20000)).alias("user_id"),
        pl.format("/products/p-{}", i % 5000).alias("page_url"),
        pl.format("v-{}", i % 5000).alias("variant_id"),
        pl.when(i % 4 == 2).then(1 + i % 3).alias("quantity"),
        pl.lit("https://www.google.com/").alias("referrer"),
        pl.lit("google").alias("utm_source"),
        pl.lit("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126")
        .alias("user_agent"),
    )
    frame.write_ndjson(path)
    if bad_every:
        text = path.read_text().split("\n")
        for n in range(bad_every // 2, lines, bad_every):
            text[n] = text[n].replace('"cookie_id":"', '"cookie_id":7,"x":"', 1) if n % 2 \
                else text[n][:40]
        path.write_text("\n".join(text))


def load() -> str:
    """The machine's 1/5/15-minute load averages: on a shared machine, read figures with it."""
    return "load=" + "/".join(f"{x:.2f}" for x in os.getloadavg())


def simulated(root: Path) -> None:
    home = Home.resolve(root)
    shutil.rmtree(home.lake, ignore_errors=True)
    cpu0 = time.process_time()
    start = time.perf_counter()
    files = discover(home)
    found = time.perf_counter()
    result = ingest_files(home, files, batch_id_for(files))
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = sum(f.size for f in files) / 1e6
    print(f"files={len(files)} landing_mb={size:.0f} rows={result.rows_read} "
          f"bronze={result.rows_bronze} quarantined={result.rows_quarantined} "
          f"discover_s={found - start:.2f} seconds={elapsed:.2f} cpu_s={cpu:.2f} "
          f"events_per_s={result.rows_read / elapsed:,.0f} peak_rss_mb={peak_mb:.0f} "
          f"{load()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--bad-every", type=int, default=0,
                        help="make every K-th line broken JSON or wrongly typed (0: clean)")
    parser.add_argument("--simulated", metavar="HOME",
                        help="ingest a simulated landing zone instead of a generated file")
    args = parser.parse_args()
    if args.simulated:
        simulated(Path(args.simulated))
        return
    with tempfile.TemporaryDirectory() as tmp:
        home = Home.resolve(tmp).ensure()
        (home.landing / "web").mkdir(parents=True, exist_ok=True)
        path = home.landing / "web" / "events_20260301_000.jsonl"
        generate(path, args.lines, args.bad_every)
        files = discover(home)
        cpu0 = time.process_time()
        start = time.perf_counter()
        result = ingest_files(home, files, batch_id_for(files))
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu0
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"lines={args.lines} file_mb={path.stat().st_size / 1e6:.0f} "
              f"bronze={result.rows_bronze} quarantined={result.rows_quarantined} "
              f"seconds={elapsed:.2f} cpu_s={cpu:.2f} events_per_s={args.lines / elapsed:,.0f} "
              f"peak_rss_mb={peak_mb:.0f} {load()}")


if __name__ == "__main__":
    main()
