"""Inventory ledger: accuracy against the simulator's true stock, and incremental update cost.

Usage: .venv/bin/python bench/bench_inventory.py [--home HOME] [--persons N --days D]
       [--sizes 1000000,10000000] [--batch 10000] [--skip-accuracy] [--skip-incremental]

Accuracy: simulates the default world (late, duplicate, malformed and out-of-order delivery
all on) into HOME unless it already holds a simulation, ingests every landed file as one batch,
builds silver, the ledger and daily positions, and prints the share of product x location x day
positions equal to ``truth/stock_daily`` with every mismatch put in a class.

Incremental: synthesises ledgers of each size (200k product x location keys, 60 days, 3%
cycle counts), folds them once into a position state, then times ``apply_batch`` for a
10,000-event micro-batch (5% late by up to 3 days, 1% counts of which some late: those re-fold
their key from its own rows since the count, read from the ledger clustered by key). Checks
the result equals a full re-fold (up to 2M rows).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from lakehouse.home import Home
from lakehouse.ingest import batch_id_for, discover, ingest_files
from lakehouse.inventory import build_ledger, daily_positions, discrepancies, evaluate, read_silver
from lakehouse.inventory.evaluate import SETTLE_DAYS, explain
from lakehouse.inventory.fold import apply_batch, state_of
from lakehouse.inventory.ledger_rows import LEDGER_SCHEMA, SilverInputs
from lakehouse.inventory.reconcile import STOCK_CHANNELS
from lakehouse.silver import build_silver
from lakehouse.simulate import SimConfig, simulate


def accuracy(home: Path, persons: int | None, days: int | None,
             shrinkage: float | None) -> None:
    if not (home / "truth" / "stock_daily.parquet").exists():
        base = SimConfig()
        cfg = SimConfig(persons=persons or base.persons, days=days or base.days,
                        shrinkage_rate=base.shrinkage_rate if shrinkage is None else shrinkage)
        print(f"simulating {cfg.persons} persons x {cfg.days} days (shrinkage "
              f"{cfg.shrinkage_rate}) into {home} ...")
        simulate(Home.resolve(home), cfg)
    if not (home / "lake" / "silver" / "inventory_movements").exists():
        files = discover(home)
        bid = batch_id_for(files)
        ingest_files(home, files, bid)
        build_silver(home, bid)
    t = time.perf_counter()
    inp = read_silver(home)
    ledger = build_ledger(inp)
    t_ledger = time.perf_counter() - t
    truth = pl.read_parquet(home / "truth" / "stock_daily.parquet")
    t = time.perf_counter()
    daily = daily_positions(ledger, truth["date"].min(), truth["date"].max(),
                            truth.select("product_id", "location_id").unique())
    t_daily = time.perf_counter() - t
    score = evaluate(daily, truth)
    e = explain(ledger, daily, truth)
    print(f"home {home}: ledger rows {ledger.height:,} built in {t_ledger:.2f}s; daily "
          f"positions {daily.height:,} in {t_daily:.2f}s")
    print(f"equal to truth, all days: {score['share_equal']:.4f} (on hand "
          f"{score['share_on_hand_equal']:.4f}, reserved {score['share_reserved_equal']:.4f}, "
          f"|on hand error| {score['abs_on_hand_error']})")
    print(f"equal to truth, settled days (all events landed; last {SETTLE_DAYS} days left out):"
          f" {e['share_equal_settled']:.4f} of {e['settled_positions']:,}")
    print(f"equal to truth on settled positions without uncounted shrinkage: "
          f"{e['share_equal_without_uncounted_shrinkage']:.4f} "
          f"({e['uncounted_shrinkage_positions']:,} positions differ only by shrinkage no "
          f"record shows yet)")
    for title, classes in (("all days", e["classes"]), ("settled days", e["classes_settled"])):
        print(f"positions by class, {title}:")
        for cls, n in classes.items():
            print(f"  {cls:<70} {n:>7,}")
    print("discrepancies found vs injected:")
    found_vs_injected(home, ledger, inp)


INJECT = {  # WMS movement type removed -> (discrepancy systems, reference column)
    "RECEIPT": ("suppliers vs wms", "reference"),
    "RETURN_RESTOCK": ("returns vs wms", "reference"),
    "TRANSFER_IN": ("wms (warehouse) vs wms (store)", "reference"),
    "PICK": ("shop/carrier vs wms", "reference"),
}


def found_vs_injected(home: Path, ledger: pl.DataFrame, inp: SilverInputs, n: int = 25) -> None:
    """Discrepancies found vs injected: drop ``n`` WMS movements of each kind another system
    also reports (receipt, restock, transfer in, pick), rebuild, and count those the
    discrepancy table names with the right systems and an age-consistent cause; plus unmapped
    product codes the simulator injected into stock feeds, and counts revealing shrinkage."""
    m = inp.movements
    rng = np.random.default_rng(1)
    drop = []
    for mtype in INJECT:
        rows = m.filter(pl.col("movement_type") == mtype)
        if mtype == "TRANSFER_IN":  # one booking-in per transfer reference
            rows = rows.unique(subset=["reference"], keep="first")
        take = rng.choice(rows.height, size=min(n, rows.height), replace=False)
        drop.append(rows[sorted(take.tolist())])
    gone = pl.concat(drop)
    cut = replace(inp, movements=m.join(gone.select("movement_id"), on="movement_id",
                                         how="anti"))
    led = build_ledger(cut)
    now = led["event_time"].max()
    d = discrepancies(cut, led, now=now, lag=timedelta(days=1), home=home)
    for mtype, (systems, _) in INJECT.items():
        inj = gone.filter(pl.col("movement_type") == mtype)
        hits = inj.join(d.filter(pl.col("systems") == systems), on="reference", how="semi")
        print(f"  injected: {mtype.lower():<15} removed {inj.height:>3}; found by "
              f"'{systems}': {hits.height}")
    injected = 0
    f = home / "truth" / "faults.parquet"
    if f.exists():
        injected = pl.read_parquet(f).filter(
            (pl.col("kind") == "unknown_product")
            & pl.col("channel").is_in(list(STOCK_CHANNELS))).height
    unmapped = d.filter(pl.col("cause") == "unmapped product code").height
    print(f"  unmapped product codes in stock feeds: injected {injected}, found {unmapped}")
    base = discrepancies(inp, ledger, home=home)
    print("  discrepancies of the unmodified data by cause: " + ", ".join(
        f"{c} {k}" for c, k in base.group_by("cause").len().sort("cause").iter_rows()))


T0 = datetime(2026, 1, 1, tzinfo=UTC)


def synth(n: int, keys: int, days: int, rng: np.random.Generator, t_lo: float = 0.0,
          t_hi: float | None = None, count_share: float = 0.03, start_id: int = 0
          ) -> pl.DataFrame:
    """Ledger rows: receipts, sales, picks, reservations and counts over ``keys`` keys."""
    t_hi = days * 86400.0 if t_hi is None else t_hi
    k = rng.integers(0, keys, n)
    secs = rng.uniform(t_lo, t_hi, n)
    r = rng.random(n)
    kind = np.where(r < count_share, "cycle_count", np.where(
        r < 0.15, "receipt", np.where(r < 0.6, "sale", np.where(r < 0.8, "reserve", "pick"))))
    qty = rng.integers(1, 4, n)
    d_oh = np.select([kind == "receipt", kind == "sale", kind == "pick"],
                     [qty * 10, -qty, -qty], 0)
    d_res = np.select([kind == "reserve", kind == "pick"], [qty, -qty], 0)
    ids = np.arange(start_id, start_id + n)
    f = pl.DataFrame({"k": k, "s": secs, "kind": kind, "d_oh": d_oh, "d_res": d_res,
                      "qty": qty * 20, "id": ids})
    t = pl.lit(T0) + pl.duration(microseconds=(pl.col("s") * 1e6).cast(pl.Int64))
    out = f.select(
        pl.format("P{}", pl.col("k") // 10).alias("product_id"),
        pl.format("L{}", pl.col("k") % 10).alias("location_id"),
        t.alias("event_time"), (t - pl.duration(hours=7)).dt.date().alias("business_day"),
        pl.lit("synthetic").alias("source"), pl.col("id").cast(pl.String).alias(
            "source_event_id"),
        pl.format("s:{}", pl.col("id")).alias("event_key"), "kind",
        pl.col("d_oh").alias("delta_on_hand"), pl.col("d_res").alias("delta_reserved"),
        pl.when(pl.col("kind") == "cycle_count").then(pl.col("qty")).alias("absolute_on_hand"),
        pl.col("id").alias("sequence"), pl.lit(None, pl.String).alias("reference"),
        pl.lit(False).alias("location_inferred"),
        pl.lit(None, pl.Datetime("us", "UTC")).alias("arrived_at"))
    return out.cast(LEDGER_SCHEMA)


class KeyedHistory:
    """The stored ledger clustered by product x location (as the ledger table would be, e.g.
    Z-ordered on the key): a late count reads only its key's rows since the count, so the
    cost of a re-fold does not grow with the ledger."""

    def __init__(self, ledger: pl.DataFrame) -> None:
        self.rows = ledger.sort("product_id", "location_id", "event_time")
        spans = (self.rows.select("product_id", "location_id").with_row_index("i")
                 .group_by("product_id", "location_id")
                 .agg(pl.col("i").min().alias("lo"), pl.len().alias("n")))
        self.index = {(p, loc): (lo, k) for p, loc, lo, k in spans.iter_rows()}

    def __call__(self, want: pl.DataFrame) -> pl.DataFrame:
        parts = [self.rows.slice(*self.index[(p, loc)])
                 for p, loc in want.select("product_id", "location_id").iter_rows()
                 if (p, loc) in self.index]
        if not parts:
            return self.rows.clear()
        h = pl.concat(parts).join(want, on=["product_id", "location_id"])
        return h.filter(pl.col("event_time") >= pl.col("since")).drop("since")


def prepare(n: int, batch_n: int, keys: int, days: int) -> tuple:
    """A ledger of ``n`` rows folded into a state, its key-clustered history and a
    micro-batch (the same for every ``n``); checks the update against a full re-fold."""
    rng = np.random.default_rng(n)
    t = time.perf_counter()
    ledger = synth(n, keys, days, rng)
    t_gen = time.perf_counter() - t
    t = time.perf_counter()
    state = state_of(ledger)
    t_full = time.perf_counter() - t
    history = KeyedHistory(ledger)
    now = days * 86400.0
    brng = np.random.default_rng(7)  # the same micro-batch for every ledger size
    on_time = synth(int(batch_n * 0.95), keys, days, brng, now, now + 900, 0.01, 10 ** 9)
    late = synth(batch_n - on_time.height, keys, days, brng, now - 3 * 86400, now, 0.01,
                 2 * 10 ** 9)
    # the late counts land on keys with events after them: each re-folds its key
    recent = ledger.filter(pl.col("event_time") >= T0 + timedelta(seconds=now - 3600))
    counts = late.filter(pl.col("absolute_on_hand").is_not_null())
    pick = recent.sample(counts.height, seed=1).select("product_id", "location_id")
    late = pl.concat([late.filter(pl.col("absolute_on_hand").is_null()),
                      counts.with_columns(pick["product_id"], pick["location_id"])])
    batch = pl.concat([on_time, late])
    refolds = batch.filter(pl.col("absolute_on_hand").is_not_null()).join(
        state, on=["product_id", "location_id"]).filter(
        pl.col("event_time") < pl.col("last_event_time")).height
    ok = "not checked (> 2M rows)"
    if n <= 2_000_000:
        out = apply_batch(state, batch, history)
        full = state_of(pl.concat([ledger, batch]))
        cols = ["product_id", "location_id", "on_hand", "reserved", "events"]
        ok = "equal" if out.select(cols).sort(cols[:2]).equals(
            full.select(cols).sort(cols[:2])) else "DIFFERENT"
    print(f"ledger {n:>11,} rows ({state.height:,} keys): generated {t_gen:.1f}s, full fold "
          f"{t_full:.1f}s; micro-batch {batch.height:,} events ({late.height} late, {refolds} "
          f"late counts re-fold their key); incremental vs full re-fold: {ok}")
    return state, history, batch


def incremental(sizes: list[int], batch_n: int, keys: int, days: int,
                repeat: int = 15) -> None:
    """Set every size up first, then time the sizes in alternation (the machine is shared:
    load drifts, alternating keeps it out of the ratio)."""
    setups = {n: prepare(n, batch_n, keys, days) for n in sizes}
    times: dict[int, list[float]] = {n: [] for n in sizes}
    loads = []
    for state, history, batch in setups.values():  # warm-up, untimed
        apply_batch(state, batch, history)
    for _ in range(repeat):
        loads.append(os.getloadavg()[0])
        for n, (state, history, batch) in setups.items():
            t = time.perf_counter()
            apply_batch(state, batch, history)
            times[n].append(time.perf_counter() - t)
    for n in sizes:
        print(f"ledger {n:>11,} rows: {batch_n:,}-event micro-batch update median "
              f"{statistics.median(times[n]) * 1000:.0f} ms, min {min(times[n]) * 1000:.0f} ms "
              f"({repeat} runs)")
    print(f"1-min load average during the runs: {min(loads):.1f} to {max(loads):.1f} "
          f"({os.cpu_count()} cores)")
    if len(sizes) >= 2:
        a, b = sorted(sizes)[:2]
        med = statistics.median(times[b]) / statistics.median(times[a])
        print(f"ratio {b:,} / {a:,} rows: median {med:.2f}x, min "
              f"{min(times[b]) / min(times[a]):.2f}x (target <= 1.5x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, default=Path("/tmp/bench_inventory_home"))
    ap.add_argument("--persons", type=int)
    ap.add_argument("--days", type=int)
    ap.add_argument("--shrinkage", type=float, help="shrinkage_rate of a new simulation "
                    "(0 switches unrecorded shrinkage off)")
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--keys", type=int, default=200_000)
    ap.add_argument("--skip-accuracy", action="store_true")
    ap.add_argument("--skip-incremental", action="store_true")
    a = ap.parse_args()
    if not a.skip_accuracy:
        accuracy(a.home, a.persons, a.days, a.shrinkage)
    if not a.skip_incremental:
        incremental([int(s) for s in a.sizes.split(",")], a.batch, a.keys, 60)


if __name__ == "__main__":
    main()
