"""Replenishment: the cost-aware policy against the reorder-point baseline on the simulator's
true demand, and the planning time at 1,000 products x 15 locations.

    .venv/bin/python bench/bench_replenish.py [--source /tmp/h20run] [--work /tmp/bench_replenish]
        [--days 27] [--warmup 14] [--seeds 3] [--forecast auto|standin]

The source home is copied to ``--work`` first (the plan is published there, not in the
source). Quality: both policies replay the last ``--days`` days of ``truth/demand_daily``
(``lakehouse.replenish.evaluate``), from the true stock and the purchase orders in flight
before the window, each with the same lead-time draws (one seed per run). Printed twice: from
the true state at the window's start, and after ``--warmup`` days played but not scored (each
policy first moves the simulator's stock to its own levels; the short window would otherwise
score that move). The forecast is ``lakehouse.forecast`` when it is importable, else the
stand-in of ``tests/unit/replenish/standin_forecast.py`` (trailing mean of in-stock sales,
Poisson bounds); the output says which.

Scale: the source's inputs replicated to 1,000 products (each product copied with a suffix)
and 15 locations (warehouses and stores copied from the source's, zones kept), positions and
forecast copied with them; one planning run of each policy is timed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lakehouse.home import Home  # noqa: E402
from lakehouse.replenish import (  # noqa: E402
    evaluate,
    publish_replenishment,
    recommend_replenishment,
    reorder_point_baseline,
    start_from_truth,
)
from lakehouse.replenish.publish import INPUTS, read_input  # noqa: E402

SHOWN = ["lost_units", "fill_rate", "total_cost", "holding_cost", "order_cost", "shipping_cost",
         "lost_sales_value", "total_with_lost_sales", "orders", "transfers", "units_ordered",
         "end_stock_value", "seconds"]


STANDIN = False  # --forecast standin


def demand_forecast(home: Home, as_of: date, horizon: int) -> tuple[pl.DataFrame, str]:
    """``lakehouse.forecast`` on the history up to ``as_of`` when available, else the stand-in."""
    try:
        if STANDIN:
            raise ImportError
        from lakehouse.forecast import demand_history, forecast
    except ImportError:
        from tests.unit.replenish.standin_forecast import MODEL, standin_forecast
        return standin_forecast(home, as_of, horizon=horizon), f"stand-in ({MODEL})"
    return forecast(demand_history(home, as_of), horizon=horizon), "lakehouse.forecast"


def compare(home: Home, frames: dict, truth: pl.DataFrame, start: date, days: int,
            warmup: int, seeds: int) -> None:
    play_from = start - timedelta(days=warmup)
    fc, used = demand_forecast(home, play_from - timedelta(days=1), days + warmup + 28)
    state, pipeline = start_from_truth(pl.read_parquet(home.truth / "stock_daily.parquet"),
                                       frames["purchase_orders"], play_from)
    kw = {k: frames[k] for k in ("products", "suppliers", "purchase_orders", "locations",
                                 "shipping_rates")}
    print(f"\n== scored {start} .. {start + timedelta(days=days - 1)} ({days} d), warm-up "
          f"{warmup} d from {play_from}; forecast: {used}, made {play_from - timedelta(1)}")
    print(f"{'seed':>4} {'policy':<9} " + " ".join(f"{c:>16}" for c in SHOWN))
    totals: dict[str, list[float]] = {"policy": [0, 0, 0], "baseline": [0, 0, 0]}
    for seed in range(seeds):
        for name, fn in (("policy", recommend_replenishment), ("baseline",
                                                              reorder_point_baseline)):
            r = evaluate(fn, truth, state, forecast=fc, start=play_from, days=days + warmup,
                         pipeline=pipeline, seed=seed, warmup_days=warmup, **kw)
            totals[name][0] += r["lost_units"]
            totals[name][1] += r["total_cost"]
            totals[name][2] += r["total_with_lost_sales"]
            print(f"{seed:>4} {name:<9} " + " ".join(
                f"{r[c]:>16.3f}" if c == "fill_rate" else f"{r[c]:>16,}" for c in SHOWN))
            print(f"{'':>14} lost by location {r['lost_by_location']}")
    p, b = ([v / seeds for v in totals[k]] for k in ("policy", "baseline"))
    print(f"mean over {seeds} seed(s): policy lost {p[0]:,.1f} units, cost {p[1]:,.2f} "
          f"({p[2]:,.2f} with lost sales); baseline lost {b[0]:,.1f}, cost {b[1]:,.2f} "
          f"({b[2]:,.2f} with lost sales)")
    print("target, fewer lost units at equal or lower cost: holding+order+shipping "
          f"{'MET' if p[0] < b[0] and p[1] <= b[1] else 'NOT MET'}; with lost sales "
          f"{'MET' if p[0] < b[0] and p[2] <= b[2] else 'NOT MET'}")


def replicate(frames: dict, fc: pl.DataFrame, products: int, locations: int) -> tuple:
    """Inputs copied to ``products`` x ``locations`` (see the module docstring)."""
    base_p = frames["products"]["product_id"].to_list()
    copies = -(-products // len(base_p))
    pmap = pl.DataFrame({"product_id": [p for p in base_p for _ in range(copies)],
                         "new_p": [p if k == 0 else f"{p}-R{k}" for p in base_p
                                   for k in range(copies)]}).head(products * 1)
    loc = frames["locations"]
    wh = loc.filter(pl.col("type") == "warehouse")["location_code"].to_list()
    st = loc.filter(pl.col("type") != "warehouse")["location_code"].to_list()
    n_wh = max(len(wh), round(locations * len(wh) / len(loc)))
    new = [(w, w if k < len(wh) else f"WX{k:02d}") for k, w in
           enumerate(wh[i % len(wh)] for i in range(n_wh))]
    new += [(s, s if k < len(st) else f"SX{k:02d}") for k, s in
            enumerate(st[i % len(st)] for i in range(locations - n_wh))]
    lmap = pl.DataFrame(new, schema=["location_id", "new_l"], orient="row")

    def copy(frame: pl.DataFrame, lcol: str | None = "location_id") -> pl.DataFrame:
        out = frame.join(pmap, on="product_id").drop("product_id").rename(
            {"new_p": "product_id"})
        if lcol:
            out = out.join(lmap.rename({"location_id": lcol}), on=lcol).drop(lcol).rename(
                {"new_l": lcol})
        return out
    scaled = dict(frames)
    scaled["products"] = copy(frames["products"], None)
    scaled["positions"] = copy(frames["positions"])
    scaled["purchase_orders"] = copy(frames["purchase_orders"])
    scaled["locations"] = (loc.join(lmap.rename({"location_id": "location_code"}),
                                    on="location_code").drop("location_code")
                           .rename({"new_l": "location_code"}))
    return scaled, copy(fc)


def scale(home: Home, frames: dict, as_of: date, products: int, locations: int) -> None:
    fc, used = demand_forecast(home, as_of, 28)
    s, sfc = replicate(frames, fc, products, locations)
    keys = s["positions"].height
    print(f"\n== planning time at {s['products'].height:,} products x "
          f"{s['locations'].height} locations ({keys:,} positions, {sfc.height:,} forecast "
          f"rows, inputs replicated from the source; forecast: {used})")
    args = (sfc, s["positions"], s["products"], s["suppliers"], s["purchase_orders"],
            s["locations"], s["shipping_rates"], as_of)
    for name, fn in (("policy", recommend_replenishment), ("baseline",
                                                          reorder_point_baseline)):
        fn(*args)  # warm (imports, scipy)
        t = time.perf_counter()
        plan = fn(*args)
        secs = time.perf_counter() - t
        print(f"{name:<9} {secs:6.2f} s  {plan.height:,} actions "
              f"({plan.filter(pl.col('action') == 'order').height:,} orders, "
              f"{plan.filter(pl.col('action') == 'transfer').height:,} transfers)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", default="/tmp/h20run")
    ap.add_argument("--work", default="/tmp/bench_replenish")
    ap.add_argument("--days", type=int, default=27)
    ap.add_argument("--warmup", type=int, default=14)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--products", type=int, default=1000)
    ap.add_argument("--locations", type=int, default=15)
    ap.add_argument("--forecast", choices=["auto", "standin"], default="auto",
                    help="auto: lakehouse.forecast when importable, else the stand-in")
    a = ap.parse_args()
    global STANDIN
    STANDIN = a.forecast == "standin"
    shutil.rmtree(a.work, ignore_errors=True)
    shutil.copytree(a.source, a.work)
    home = Home.resolve(a.work)
    print(f"source {a.source} copied to {a.work}; load {os.getloadavg()}")
    frames = {k: read_input(home, *spec) for k, spec in INPUTS.items()}
    truth = pl.read_parquet(home.truth / "demand_daily.parquet")
    last = truth["date"].max()
    start = last - timedelta(days=a.days - 1)
    compare(home, frames, truth, start, a.days, 0, a.seeds)
    compare(home, frames, truth, start, a.days, a.warmup, a.seeds)
    fc, used = demand_forecast(home, last, 28)
    out = publish_replenishment(home, fc, as_of=last)
    print(f"\n== publish_replenishment as of {last} (forecast: {used}): {out}")
    scale(home, frames, last, a.products, a.locations)
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
