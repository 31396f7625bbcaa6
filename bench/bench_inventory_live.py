"""Micro-batch inventory: time per 10,000-event micro-batch through ``apply_micro_batch`` at two
ledger sizes (real Delta tables, the whole path: read the batch from silver by its log
statistics, derive ledger rows, look up stored rows of the same event keys, MERGE the ledger,
fold positions, rewrite positions and channel availability).

Usage: .venv/bin/python bench/bench_inventory_live.py [--sizes 1000000,10000000]
       [--batch 10000] [--runs 5] [--per-day 100000] [--keys 100000] [--root DIR]

``--root DIR`` keeps the homes (the 10M setup takes minutes); a later run with the same root
goes on applying batches to them.

Each size is a home whose history is ``size`` WMS movements at the same daily volume
(``--per-day``), so a larger ledger is a longer history, not a busier day: 1M rows = 10 days,
10M = 100 days. The ledger (partitioned by business day), silver movements (with their
``_batch_id``) and the positions of a full build are written once per size; then micro-batches
are applied in alternation between the sizes (one warm-up each) so load drift on a shared
machine stays out of the ratio. A batch: 10,000 movements, 94% in the hour after the last
one, 5% late by up to 3 days, 1% cycle counts (half of them late: their keys re-fold from
their own history). Not covered: shop orders (the warehouse inference for unpicked orders).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
from deltalake import write_deltalake

from lakehouse.home import Home
from lakehouse.inventory.api import Inventory
from lakehouse.inventory.ledger import canonical
from lakehouse.inventory.ledger_stock import wms_rows
from lakehouse.inventory.ledger_table import write_ledger
from lakehouse.inventory.live import apply_micro_batch
from lakehouse.inventory.store import gold_frames
from lakehouse.storage.delta import to_arrow
from lakehouse.storage.paths import table_uri

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LOCATIONS = 10


def movements(n: int, keys: int, rng: np.random.Generator, t_lo: float, t_hi: float,
              start: int, batch_id: str, count_share: float = 0.03) -> pl.DataFrame:
    """Silver ``inventory_movements`` rows: receipts, adjustments (sales, damage), transfers
    and cycle counts over ``keys`` product x location keys, event times in [t_lo, t_hi)."""
    k = rng.integers(0, keys, n)
    r = rng.random(n)
    mtype = np.where(r < count_share, "CYCLE_COUNT", np.where(
        r < 0.15, "RECEIPT", np.where(r < 0.17, "TRANSFER_OUT", np.where(
            r < 0.19, "TRANSFER_IN", "ADJUSTMENT"))))
    qty = rng.integers(1, 4, n)
    qty = np.where(mtype == "RECEIPT", qty * 10, np.where(mtype == "ADJUSTMENT", -qty, qty))
    ids = np.arange(start, start + n)
    t = pl.lit(T0) + pl.duration(microseconds=(pl.col("s") * 1e6).cast(pl.Int64))
    f = pl.DataFrame({"k": k, "s": rng.uniform(t_lo, t_hi, n), "movement_type": mtype,
                      "qty": qty, "id": ids, "c": rng.integers(0, 60, n)})
    return f.select(
        pl.format("M{}", pl.col("id")).alias("movement_id"), pl.col("id").alias("seq_no"),
        pl.format("L{}", pl.col("k") % LOCATIONS).alias("location_id"),
        pl.format("P{}", pl.col("k") // LOCATIONS).alias("product_id"),
        "movement_type", pl.col("qty").cast(pl.Int64),
        pl.when(pl.col("movement_type") == "CYCLE_COUNT").then(pl.col("c")).cast(pl.Int64)
        .alias("counted_qty"),
        pl.format("R{}", pl.col("id") // 2).alias("reference"),
        t.alias("event_time"), t.dt.date().alias("event_date"),
        pl.lit(batch_id).alias("_batch_id"),
        (pl.lit(T0) + pl.duration(seconds=pl.col("s").cast(pl.Int64) + 60))
        .dt.replace_time_zone("UTC").alias("_ingested_at"),
    ).with_columns(pl.col("_ingested_at").cast(pl.Datetime("us", "UTC")))


def setup(root: Path, size: int, per_day: int, keys: int, rng: np.random.Generator) -> dict:
    home = Home.resolve(root / f"ledger_{size}").ensure()
    ready = home.root / ".bench_ready.json"
    if ready.exists():  # set up by an earlier run with --root: go on from its last batch
        ctx = json.loads(ready.read_text())
        print(f"  {size:>11,} ledger rows: reusing {home.root} ({ctx['n']} batches applied)")
        return {**ctx, "home": home}
    days = size / per_day
    t = time.perf_counter()
    hist = movements(size, keys, rng, 0.0, days * 86400.0, 0, "history")
    silver = table_uri(home, "silver", "inventory_movements")
    write_deltalake(silver, to_arrow(hist), mode="overwrite", partition_by=["event_date"])
    locs = pl.DataFrame({"location_code": [f"L{i}" for i in range(LOCATIONS)],
                         "type": ["warehouse"] * 3 + ["store"] * (LOCATIONS - 3),
                         "zone": ["Z1"] * LOCATIONS})
    write_deltalake(table_uri(home, "silver", "locations"), to_arrow(locs), mode="overwrite")
    ledger = canonical(wms_rows(hist))
    del hist
    write_ledger(table_uri(home, "silver", "inventory_ledger"), ledger)
    frames = gold_frames(Inventory(ledger, pl.DataFrame(), locs))
    for name in ("inventory_positions", "inventory_channel_availability"):
        write_deltalake(table_uri(home, "gold", name), to_arrow(frames[name]),
                        mode="overwrite")
    print(f"  {size:>11,} ledger rows ({days:.0f} days, {frames['inventory_positions'].height:,}"
          f" keys) set up in {time.perf_counter() - t:.1f}s")
    ctx = {"home": home, "end": days * 86400.0, "next_id": size, "n": 0}
    save(ctx)
    return ctx


def save(ctx: dict) -> None:
    state = {k: v for k, v in ctx.items() if k != "home"}
    (ctx["home"].root / ".bench_ready.json").write_text(json.dumps(state))


def one_batch(ctx: dict, batch: int, keys: int, rng: np.random.Generator) -> dict:
    """Land one micro-batch in silver and apply it; returns the report's figures."""
    end, n_late, n_count = ctx["end"], int(batch * 0.05), int(batch * 0.01)
    bid = f"bench-{ctx['n']:05d}"
    now = movements(batch - n_late - n_count, keys, rng, end, end + 3600.0, ctx["next_id"],
                    bid, count_share=0.0)
    late = movements(n_late, keys, rng, end - 3 * 86400.0, end, ctx["next_id"] + batch, bid,
                     count_share=0.0)
    counts = movements(n_count, keys, rng, end - 3 * 86400.0, end + 3600.0,
                       ctx["next_id"] + 2 * batch, bid, count_share=1.0)
    rows = pl.concat([now, late, counts])
    ctx["next_id"] += 3 * batch
    ctx["end"] += 3600.0
    ctx["n"] += 1
    silver = table_uri(ctx["home"], "silver", "inventory_movements")
    write_deltalake(silver, to_arrow(rows), mode="append", partition_by=["event_date"])
    t = time.perf_counter()
    rep = apply_micro_batch(ctx["home"], bid)
    wall = time.perf_counter() - t
    assert not rep.full_rebuild and not rep.skipped
    save(ctx)
    return {"wall": wall, "applied": rep.rows_applied, "keys": rep.keys_touched,
            "read": rep.history_rows_read, "files": rep.ledger_files_read,
            **{f"s_{k}": v for k, v in rep.seconds.items()}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--per-day", type=int, default=100_000)
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--root", default=None,
                    help="keep the homes here; a later run reuses them (setup takes minutes)")
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    root = Path(a.root) if a.root else Path(tempfile.mkdtemp(prefix="bench_inv_live_"))
    rng = np.random.default_rng(7 + sum(1 for _ in root.glob("*/.bench_ready.json")))
    print(f"setting up {len(sizes)} homes under {root} ({a.per_day:,} movements a day, "
          f"{a.keys:,} product x location keys)")
    ctx = {s: setup(root, s, a.per_day, a.keys, rng) for s in sizes}
    loads = [os.getloadavg()[0]]
    results: dict[int, list[dict]] = {s: [] for s in sizes}
    for s in sizes:  # warm-up
        one_batch(ctx[s], a.batch, a.keys, rng)
    for _ in range(a.runs):
        for s in sizes:
            results[s].append(one_batch(ctx[s], a.batch, a.keys, rng))
            loads.append(os.getloadavg()[0])
    print(f"\n{a.batch:,}-event micro-batch through apply_micro_batch, median of {a.runs} "
          f"(load average {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores):")
    med = {}
    for s in sizes:
        r = results[s]
        med[s] = statistics.median(x["wall"] for x in r)
        phases = {k: statistics.median(x[k] for x in r) for k in r[0] if k.startswith("s_")}
        lo_, hi_ = min(x["wall"] for x in r), max(x["wall"] for x in r)
        print(f"  ledger {s:>11,} rows: {med[s]:.3f}s per batch (min {lo_:.3f}, max "
              f"{hi_:.3f}); rows applied "
              f"{statistics.median(x['applied'] for x in r):,.0f}, keys touched "
              f"{statistics.median(x['keys'] for x in r):,.0f}, stored rows read "
              f"{statistics.median(x['read'] for x in r):,.0f} from "
              f"{statistics.median(x['files'] for x in r):,.0f} files")
        print("    phases: " + ", ".join(f"{k[2:]} {v:.3f}s" for k, v in phases.items()))
    if len(sizes) == 2:
        lo, hi = sizes
        print(f"  ratio {hi:,} / {lo:,}: {med[hi] / med[lo]:.2f}x (target within 1.5x)")


if __name__ == "__main__":
    main()
