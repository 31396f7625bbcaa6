"""Silver benchmarks: (a) bronze + silver throughput on a simulated landing zone, (b) the cost
of one 10k-event micro-batch into silver holding 100k vs 5M clickstream events.

Usage: .venv/bin/python bench/bench_silver.py [--persons N] [--days D] [--skip-throughput]
       [--small 100000] [--large 5000000] [--batch 10000]

(b) synthesises the stored silver events directly (10k events per day, so 5M events span 500
days: history grows in days, not in the density of one day) and one bronze batch of 10k web
events on the latest day, then times ``build_silver(home, batch_id)``.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from deltalake import write_deltalake

from lakehouse.home import Home
from lakehouse.ingest import batch_id_for, discover, ingest_files
from lakehouse.silver import build_silver
from lakehouse.silver.clickstream import COLUMNS
from lakehouse.simulate import SimConfig, simulate
from lakehouse.storage.delta import to_arrow
from lakehouse.storage.paths import bronze_uri, table_uri

PER_DAY = 10_000
END = datetime(2026, 6, 1, tzinfo=UTC)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def throughput(persons: int, days: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Home.resolve(tmp).ensure()
        t = time.perf_counter()
        simulate(home, SimConfig(persons=persons, products=200, days=days))
        print(f"simulate: {time.perf_counter() - t:.1f} s")
        files = discover(home)
        bid = batch_id_for(files)
        t = time.perf_counter()
        ingested = ingest_files(home, files, bid)
        t_bronze = time.perf_counter() - t
        t = time.perf_counter()
        result = build_silver(home, bid)
        t_silver = time.perf_counter() - t
        rows = ingested.rows_read
        print(f"rows landed: {rows:,} in {len(files)} files; bronze {t_bronze:.1f} s, "
              f"silver {t_silver:.1f} s")
        print(f"bronze+silver: {rows / (t_bronze + t_silver):,.0f} events/s; "
              f"silver alone: {result.rows_in / t_silver:,.0f} rows/s; "
              f"peak RSS {rss_mb():,.0f} MB")


def _events(n: int, start: datetime, prefix: str) -> pl.DataFrame:
    """Silver clickstream rows, PER_DAY per day from ``start``."""
    i = pl.int_range(0, n, eager=True)
    df = pl.DataFrame({"i": i}).select(
        pl.format(f"{prefix}-{{}}", pl.col("i")).alias("event_id"),
        pl.lit("web").alias("channel"), pl.lit("page_view").alias("event_type"),
        (pl.lit(start) + pl.duration(milliseconds=pl.col("i") * (86_400_000 // PER_DAY)))
        .alias("event_time"),
        pl.lit("client").alias("event_time_source"),
        pl.format("ck-{}", pl.col("i") % 50_000).alias("anonymous_id"),
        pl.format("ss-{}", pl.col("i") % 200_000).alias("session_id"),
        pl.lit("/").alias("page"), pl.lit("ua").alias("user_agent"),
        pl.format("web/events_{}.jsonl", pl.col("i") // PER_DAY).alias("_source_file"),
        (pl.col("i") % PER_DAY + 1).cast(pl.Int64).alias("_line"),
        pl.lit("b-history").alias("_batch_id"), pl.lit(start).alias("_ingested_at"),
    ).with_columns(pl.col("event_time").dt.date().alias("event_date"))
    typed = {"received_at": pl.Datetime("us", "UTC"), "quantity": pl.Int64(),
             "push_opt_in": pl.Boolean()}
    return df.select([pl.col(c) if c in df.columns
                      else pl.lit(None, typed.get(c, pl.String())).alias(c) for c in COLUMNS])


def _bronze_batch(n: int, start: datetime, bid: str) -> pl.DataFrame:
    i = pl.col("i")
    return pl.DataFrame({"i": pl.int_range(0, n, eager=True)}).select(
        pl.format("new-{}", i).alias("event_id"), pl.lit("page_view").alias("event_type"),
        (pl.lit(start) + pl.duration(milliseconds=i * 8640)).alias("ts"),
        pl.format("ck-{}", i % 3000).alias("cookie_id"), pl.format("ss-{}", i % 800)
        .alias("session_id"), pl.lit(None, pl.String).alias("user_id"),
        pl.lit("/").alias("page_url"), *[pl.lit(None, pl.String).alias(c) for c in (
            "variant_id",)], pl.lit(None, pl.Int64).alias("quantity"),
        *[pl.lit(None, pl.String).alias(c) for c in (
            "search_query", "order_id", "referrer", "utm_source", "utm_medium", "utm_campaign",
            "gclid")], pl.lit("ua").alias("user_agent"),
        pl.format("web/events_new_{}.jsonl", i // 5000).alias("_source_file"),
        (i % 5000 + 1).cast(pl.Int64).alias("_line"), pl.lit(bid).alias("_batch_id"),
        pl.lit(start).alias("_ingested_at"), pl.lit(None, pl.String).alias("_extra"))


def incremental(stored: int, batch: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        home = Home.resolve(tmp).ensure()
        days = stored // PER_DAY
        first = END - timedelta(days=days)
        uri = table_uri(home, "silver", "clickstream_events")
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
        for lo in range(0, stored, 1_000_000):  # write history in bounded chunks
            chunk = _events(min(1_000_000, stored - lo), first + timedelta(days=lo // PER_DAY),
                            f"h{lo}")
            write_deltalake(uri, to_arrow(chunk), mode="append", partition_by=["event_date"])
        bid = "b-bench-incremental"
        write_deltalake(bronze_uri(home, "web", "events"),
                        to_arrow(_bronze_batch(batch, END - timedelta(days=1), bid)))
        t = time.perf_counter()
        result = build_silver(home, bid)
        took = time.perf_counter() - t
        ev = result.tables["clickstream_events"]
        assert ev.inserted == batch, ev
        print(f"{batch:,}-event batch into {stored:,} stored events: {took:.3f} s")
        return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=20_000)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--small", type=int, default=100_000)
    ap.add_argument("--large", type=int, default=5_000_000)
    ap.add_argument("--batch", type=int, default=10_000)
    args = ap.parse_args()
    if not args.skip_throughput:
        throughput(args.persons, args.days)
    small = min(incremental(args.small, args.batch) for _ in range(2))
    large = min(incremental(args.large, args.batch) for _ in range(2))
    print(f"incremental ratio 5M/100k: {large / small:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
