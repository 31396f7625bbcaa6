"""Silver benchmarks: (a) bronze + silver throughput on a simulated landing zone (~1M events
with the defaults), (b) the cost of one 10k-event micro-batch into silver holding 100k vs 5M
clickstream events, with and without a checkpoint of the stored history.

Usage: .venv/bin/python bench/bench_silver.py [--persons N] [--days D] [--skip-throughput]
       [--skip-incremental] [--small 100000] [--large 5000000] [--batch 10000] [--repeat 3]

(a) ingests the whole landing zone as one bronze batch, builds silver for that batch, then
rebuilds silver from all of bronze; wall and CPU seconds (the machine may be shared: CPU time
is the steadier figure) and the peak RSS of the process.
(b) synthesises the stored silver events directly (10k events per day, so 5M events span 500
days: history grows in days, not in the density of one day), stored identity tables in
proportion (one identifier observation per 10 stored events: 500k observations next to 5M
events, their customer records), and one bronze batch of 10k web events on the latest day
whose cookies are already known; then times ``build_silver(home, batch_id, identity=False)``,
what a micro-batch run does ("checkpoint" runs ``create_checkpoint()`` on every stored table
first, as nightly maintenance does), and prints the batch run's identity catch-up of that batch
separately (it folds into the stored observations, so its cost follows the history).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from deltalake import DeltaTable, write_deltalake

from data_quality.lake import gate_layers
from lakehouse.home import Home
from lakehouse.ingest import batch_id_for, discover, ingest_files
from lakehouse.silver import build_silver
from lakehouse.silver import identity_inputs as ii
from lakehouse.silver.clickstream import COLUMNS
from lakehouse.simulate import SimConfig, simulate
from lakehouse.storage.delta import to_arrow
from lakehouse.storage.paths import bronze_uri, table_uri

PER_DAY = 10_000
END = datetime(2026, 6, 1, tzinfo=UTC)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Clock:
    """Wall and CPU seconds of a block (CPU: this process, all threads)."""

    def __enter__(self) -> Clock:
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.w, time.process_time() - self.c

    def __str__(self) -> str:
        return f"{self.wall:.2f} s wall / {self.cpu:.2f} s CPU"


def throughput(persons: int, days: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Home.resolve(tmp).ensure()
        with Clock() as sim:
            simulate(home, SimConfig(persons=persons, products=1000, stores=12, warehouses=3,
                                     days=days))
        print(f"simulate: {sim}")
        files = discover(home)
        bid = batch_id_for(files)
        with Clock() as bronze:
            ingested = ingest_files(home, files, bid)
        gate_layers(home.lake, "bronze", "quarantine")  # silver reads validated bronze (untimed)
        with Clock() as silver:
            result = build_silver(home, bid)
        rows = ingested.rows_read
        print(f"rows landed: {rows:,} in {len(files)} files; silver rows in: {result.rows_in:,}")
        print(f"bronze: {bronze}; silver (batch): {silver}")
        for label, attr in (("wall", "wall"), ("CPU", "cpu")):
            both = getattr(bronze, attr) + getattr(silver, attr)
            print(f"  by {label} time: bronze+silver {rows / both:,.0f} events/s; "
                  f"silver alone {result.rows_in / getattr(silver, attr):,.0f} rows/s")
        print(f"peak RSS after bronze+silver: {rss_mb():,.0f} MB; load average "
              + "/".join(f"{x:.2f}" for x in os.getloadavg()))
        shutil.rmtree(home.silver)
        with Clock() as full:
            build_silver(home)
        print(f"silver full rebuild: {full} "
              f"({result.rows_in / full.wall:,.0f} rows/s wall, "
              f"{result.rows_in / full.cpu:,.0f} rows/s CPU); peak RSS {rss_mb():,.0f} MB")


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


def _observations(n: int, start: datetime) -> pl.DataFrame:
    """Stored identifier observations: web cookies seen over the history, device and login."""
    cookies = n // 2
    i = pl.int_range(0, cookies, eager=True)
    base = pl.DataFrame({"i": i}).select(
        "i", pl.format("ck-{}", pl.col("i")).alias("record_id"), pl.lit("web").alias("source"),
        (pl.lit(start) + pl.duration(seconds=pl.col("i") * 7)).alias("observed_at"),
        pl.format("web/events_{}.jsonl", pl.col("i") // PER_DAY).alias("_source_file"),
        (pl.col("i") % PER_DAY + 1).cast(pl.Int64).alias("_line"),
        pl.lit("b-history").alias("_batch_id"), pl.lit(start).alias("_ingested_at"),
        pl.lit(start).alias("_delivered_at"))
    device = base.with_columns(pl.lit("device_id").alias("identifier_type"),
                               pl.col("record_id").alias("value"))
    login = base.with_columns(pl.lit("login_id").alias("identifier_type"),
                              pl.format("user-{}", pl.col("i") % (cookies // 2 + 1))
                              .alias("value"))
    obs = pl.concat([device, login]).with_columns(
        pl.col("observed_at").alias("last_observed_at"))
    return obs.select(ii.OBSERVATION_COLUMNS).sort(list(ii.OBSERVATION_KEY))


def _history(stored: int, batch: int, tmp: str) -> Home:
    home = Home.resolve(tmp).ensure()
    days = stored // PER_DAY
    first = END - timedelta(days=days)
    uri = table_uri(home, "silver", "clickstream_events")
    Path(uri).parent.mkdir(parents=True, exist_ok=True)
    for lo in range(0, stored, 1_000_000):  # write history in bounded chunks
        chunk = _events(min(1_000_000, stored - lo), first + timedelta(days=lo // PER_DAY),
                        f"h{lo}")
        write_deltalake(uri, to_arrow(chunk), mode="append", partition_by=["event_date"])
    obs = _observations(stored // 10, first)
    write_deltalake(table_uri(home, "silver", "identifier_observations"), to_arrow(obs))
    write_deltalake(table_uri(home, "silver", "customer_records"),
                    to_arrow(ii.customer_records(obs)))
    write_deltalake(bronze_uri(home, "web", "events"),
                    to_arrow(_bronze_batch(batch, END - timedelta(days=1), BATCH_ID)))
    gate_layers(home.lake, "bronze", "silver")  # readers read validated pins (not timed)
    return home


BATCH_ID = "b-bench-incremental"


def incremental(stored: int, batch: int, repeat: int) -> dict[bool, Clock]:
    """Best (by wall) of ``repeat`` runs, on a fresh copy of the history each time; without and
    with a checkpoint of every stored table."""
    best: dict[bool, Clock] = {}
    with tempfile.TemporaryDirectory() as tmp:
        _history(stored, batch, f"{tmp}/history")
        for checkpoint in (False, True):
            for _ in range(repeat):
                shutil.rmtree(f"{tmp}/run", ignore_errors=True)
                shutil.copytree(f"{tmp}/history", f"{tmp}/run")
                home = Home.resolve(f"{tmp}/run")
                if checkpoint:
                    for table in home.silver.iterdir():
                        DeltaTable(str(table)).create_checkpoint()
                # what a micro-batch run does: the identity inputs wait for the batch run
                with Clock() as run:
                    result = build_silver(home, BATCH_ID, identity=False)
                ev = result.tables["clickstream_events"]
                assert ev.inserted == batch, ev
                if checkpoint not in best or run.wall < best[checkpoint].wall:
                    best[checkpoint] = run
            print(f"{batch:,}-event micro-batch into {stored:,} stored events"
                  f"{' checkpointed' if checkpoint else ''}: {best[checkpoint]}")
        # the batch run that follows folds the batch into the identity inputs
        with Clock() as catch_up:
            result = build_silver(home, BATCH_ID, identity=True)
        obs = result.tables["identifier_observations"]
        print(f"  then the batch run's identity catch-up ({stored // 10:,} observations stored): "
              f"{catch_up} (observations +{obs.inserted:,} ~{obs.updated:,})")
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=24_000)  # ~1M events over 60 days
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--skip-incremental", action="store_true")
    ap.add_argument("--small", type=int, default=100_000)
    ap.add_argument("--large", type=int, default=5_000_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not args.skip_throughput:
        throughput(args.persons, args.days)
    if args.skip_incremental:
        return
    small = incremental(args.small, args.batch, args.repeat)
    large = incremental(args.large, args.batch, args.repeat)
    for checkpoint in (False, True):
        s, big = small[checkpoint], large[checkpoint]
        print(f"incremental ratio {args.large:,}/{args.small:,}"
              f"{' checkpointed' if checkpoint else ''}: {big.wall / s.wall:.2f} wall, "
              f"{big.cpu / s.cpu:.2f} CPU (target <= 1.5)")


if __name__ == "__main__":
    main()
