"""Demand forecasting: accuracy per model against the simulator's true demand, and the nightly
cost at 1,000 products x 15 locations.

Usage: .venv/bin/python bench/bench_forecast.py [--source /tmp/h20run] [--work DIR]
       [--big DIR] [--origins 3] [--robust-origins 6] [--long-days 240] [--skip-scale]

Accuracy: copies ``--source`` (a home with a simulated, built lake and its truth; the default
simulation) to ``--work``, runs ``publish_forecast`` there (backtest: rolling origin,
``--origins`` weekly origins, 7 days ahead, against ``truth/demand_daily.parquet``) and prints
MASE / WAPE / biases per model with the MASE gain over the seasonal naive baseline, the same
over ``--robust-origins`` origins (more days scored: the after-stock-out and promotion figures
rest on a few hundred units), and how often true demand fell above the prediction intervals.

Scale: a simulated world of 1,000 products x 15 locations (13 stores, 2 warehouses, 25,000
persons, 60 days; built into ``--big`` unless it already holds one: about 2 minutes), then in
a child process (its own peak RSS): the history, the backtest of every default model, the
28-day forecast, and ``publish_forecast`` end to end. ``--long-days``: the same history tiled
back in time (each key's 60 days repeated) to time forecast and backtest on a longer history.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lakehouse.forecast import DEFAULT_MODELS, backtest, demand_history, publish_forecast  # noqa: E402
from lakehouse.forecast.backtest import cut, origins_of  # noqa: E402
from lakehouse.forecast.models import forecast  # noqa: E402

KEY = ["product_id", "location_id"]
BIG = dict(persons=25000, products=1000, stores=13, warehouses=2, days=60, seed=46)


def _table(acc: pl.DataFrame) -> None:
    summary = acc.filter(pl.col("origin").is_null())
    base = summary.filter(pl.col("model") == "seasonal_naive")["mase"][0]
    print(f"{'model':<18}{'MASE':>8}{'vs snaive':>11}{'WAPE':>8}{'bias':>8}{'promo':>8}"
          f"{'after SO':>10}{'series':>8}")
    for r in summary.sort("mase").iter_rows(named=True):
        def pct(v):
            return f"{v:+.1%}" if v is not None else "n/a"
        print(f"{r['model']:<18}{r['mase']:>8.4f}{1 - r['mase'] / base:>+11.1%}"
              f"{r['wape']:>8.3f}{pct(r['bias']):>8}{pct(r['bias_promo']):>8}"
              f"{pct(r['bias_after_stockout']):>10}{r['n_series']:>8}")


def _coverage(history: pl.DataFrame, truth: pl.DataFrame, origins: int) -> None:
    rows = []
    for origin in origins_of(history, origins, 7):
        train = cut(history, origin)
        planned = history.filter((pl.col("date") > origin) & (pl.col("discount_pct") > 0)) \
            .select(*KEY, "date", "discount_pct")
        fc = forecast(train, 7, (50, 80, 95), future=planned)
        rows.append(fc.join(truth.select(*KEY, "date", "demanded"), on=[*KEY, "date"],
                            how="left").with_columns(pl.col("demanded").fill_null(0)))
    j = pl.concat(rows)
    for lv in (50, 80, 95):
        inside = ((j["demanded"] >= j[f"lo_{lv}"]) & (j["demanded"] <= j[f"hi_{lv}"])).mean()
        above = (j["demanded"] > j[f"hi_{lv}"]).mean()
        print(f"  {lv}% interval: true demand inside {inside:.1%}, above hi {above:.2%} "
              f"(nominal at most {(100 - lv) / 2:.1f}%; counts are discrete)")


def accuracy(source: Path, work: Path, origins: int, robust: int) -> None:
    home = work / "h20"
    if home.exists():
        shutil.rmtree(home)
    shutil.copytree(source, home, ignore=shutil.ignore_patterns("dagster"))
    t = time.perf_counter()
    out = publish_forecast(home)
    print(f"publish_forecast on a copy of {source}: {time.perf_counter() - t:.1f}s, as_of "
          f"{out['as_of']}, chosen {out['chosen']}, {out['demand_forecast']['rows']:,} forecast "
          f"rows")
    acc = pl.read_delta(out["forecast_accuracy"]["uri"])
    print(f"\nbacktest: {origins} weekly origins, 7 days ahead, against true demand")
    _table(acc)
    history = demand_history(home)
    truth = pl.read_parquet(home / "truth" / "demand_daily.parquet")
    print(f"\nbacktest: {robust} weekly origins (more scored days)")
    _table(backtest(history, truth, origins=robust, horizon=7, models=DEFAULT_MODELS))
    print(f"\nintervals of {out['chosen']} over {robust} origins:")
    _coverage(history, truth, robust)


def build_big(path: Path) -> None:
    from data_quality.lake import gate_layers
    from lakehouse.home import Home
    from lakehouse.ingest import batch_id_for, discover, ingest_files
    from lakehouse.inventory.store import build_inventory
    from lakehouse.silver import build_silver
    from lakehouse.simulate import SimConfig, simulate

    t = time.perf_counter()
    home = Home.resolve(path)
    simulate(home, SimConfig(**BIG))
    files = discover(path)
    batch = batch_id_for(files)
    ingest_files(path, files, batch)
    gate_layers(home.lake, "bronze", "quarantine")
    build_silver(path, batch)
    gate_layers(home.lake, "silver", "quarantine")
    build_inventory(home)
    gate_layers(home.lake, "silver", "gold")
    print(f"built the 1,000 x 15 world into {path} in {time.perf_counter() - t:.0f}s")


def _tile(history: pl.DataFrame, days: int) -> pl.DataFrame:
    """Each key's history repeated back in time to ``days`` days (replicated series)."""
    span = (history["date"].max() - history["date"].min()).days + 1
    copies = -(-days // span)
    parts = [history.with_columns(pl.col("date") - timedelta(days=span * k))
             for k in range(copies)]
    out = pl.concat(parts)
    return out.filter(pl.col("date") > out["date"].max() - timedelta(days=days)).sort(*KEY,
                                                                                     "date")


def child(big: Path, long_days: int) -> None:
    """Timings at scale, in their own process."""
    work = big.parent / (big.name + "_publish")
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(big, work, ignore=shutil.ignore_patterns("dagster"))
    t = time.perf_counter()
    history = demand_history(work)
    t_hist = time.perf_counter() - t
    keys = history.select(KEY).unique().height
    t = time.perf_counter()
    backtest(history, None, models=DEFAULT_MODELS)
    t_bt = time.perf_counter() - t
    t = time.perf_counter()
    fc = forecast(history, 28)
    t_fc = time.perf_counter() - t
    t = time.perf_counter()
    out = publish_forecast(work)
    t_pub = time.perf_counter() - t
    res = {"keys": keys, "days": history["date"].n_unique(), "rows": history.height,
           "history_s": t_hist, "backtest_s": t_bt, "forecast_s": t_fc,
           "forecast_rows": fc.height, "publish_s": t_pub, "chosen": out["chosen"],
           "accuracy": [{k: r[k] for k in ("model", "mase", "bias", "bias_after_stockout")}
                        for r in out["accuracy"]]}
    res["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if long_days:
        longer = _tile(history, long_days)
        t = time.perf_counter()
        forecast(longer, 28)
        res["long_forecast_s"] = time.perf_counter() - t
        t = time.perf_counter()
        backtest(longer, None, models=DEFAULT_MODELS)
        res["long_backtest_s"] = time.perf_counter() - t
        res["long_days"] = long_days
        res["long_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    shutil.rmtree(work)
    print("RESULT " + json.dumps(res, default=str))


def scale(big: Path, long_days: int) -> None:
    if not (big / "lake" / "gold" / "inventory_daily").exists():
        build_big(big)
    proc = subprocess.run([sys.executable, __file__, "--child", str(big), "--long-days",
                           str(long_days)], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    r = json.loads(line[len("RESULT "):])
    print(f"\nscale: simulated world {BIG['products']} products x "
          f"{BIG['stores'] + BIG['warehouses']} locations ({BIG['persons']:,} persons, "
          f"{BIG['days']} days): {r['keys']:,} active keys, {r['rows']:,} history rows over "
          f"{r['days']} days")
    print(f"  demand_history {r['history_s']:.1f}s; backtest (3 origins x "
          f"{len(DEFAULT_MODELS)} models) {r['backtest_s']:.1f}s; 28-day forecast "
          f"{r['forecast_s']:.1f}s ({r['forecast_rows']:,} rows)")
    print(f"  publish_forecast end to end (history, backtest against truth, choice, forecast, "
          f"two gold tables): {r['publish_s']:.1f}s, chosen {r['chosen']}")
    print(f"  peak RSS of the forecasting process: {r['peak_mb']:,.0f} MB")
    if "long_days" in r:
        print(f"  the same keys over {r['long_days']} days (history tiled back in time: "
              f"replicated series): forecast {r['long_forecast_s']:.1f}s, backtest "
              f"{r['long_backtest_s']:.1f}s, peak RSS {r['long_peak_mb']:,.0f} MB")
    print("  accuracy on that world (3 origins, against truth):")
    snaive = next(a["mase"] for a in r["accuracy"] if a["model"] == "seasonal_naive")
    for a in r["accuracy"]:
        print(f"    {a['model']:<18} MASE {a['mase']:.4f} ({1 - a['mase'] / snaive:+.1%} vs "
              f"snaive), bias {a['bias']:+.1%}, after stock-out "
              f"{a['bias_after_stockout']:+.1%}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=Path("/tmp/h20run"))
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench_forecast"))
    ap.add_argument("--big", type=Path, default=None)
    ap.add_argument("--origins", type=int, default=3)
    ap.add_argument("--robust-origins", type=int, default=6)
    ap.add_argument("--long-days", type=int, default=240)
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--skip-accuracy", action="store_true")
    ap.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.long_days)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    if not args.skip_accuracy:
        if not (args.source / "truth" / "demand_daily.parquet").exists():
            sys.exit(f"{args.source} holds no simulated home with truth: make run "
                     f"LAKEHOUSE_HOME={args.source}, or pass --source")
        accuracy(args.source, args.work, args.origins, args.robust_origins)
    if not args.skip_scale:
        scale(args.big or args.work / "big", args.long_days)


if __name__ == "__main__":
    main()
