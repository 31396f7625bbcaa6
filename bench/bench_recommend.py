"""Recommendations: model quality on held-out purchases and nightly wall time at target scale.

1. On a copy of a built home (default /tmp/h20run: 200 products x 6 locations, 60 days):
   ``evaluate`` (hit rate@10 and recall@10 per model vs the popularity baseline, unavailable
   count), ``publish_recommendations`` (the nightly table) and ``recommend`` (cold, then
   cached).
2. Scale: the home's signals, stock, fulfilment options and quality replicated to
   ``--persons`` persons x ``--products`` products x 15 locations (2 warehouses serving web and
   app, 13 stores). Person replica r gets ids ``P...~r`` and product k of replica r becomes
   product ``k + r x 200`` (so co-occurrence spreads over the whole catalogue); stock and
   delivery come from the source product. Times the pure core ``build_recommendations``
   (hybrid, 10 per person x web, app and the home store) and the Delta write of the result.
   Not a simulated 24,000-person world (the simulator at that size does not build in a few
   minutes here): reading the signals is timed at the source scale in step 1 only.

    .venv/bin/python bench/bench_recommend.py [--source /tmp/h20run] [--work /tmp/rec_bench] \
        [--persons 24000] [--products 1000]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import time
from pathlib import Path

import polars as pl

from lakehouse.home import Home
from lakehouse.recommend import evaluate, publish_recommendations, recommend
from lakehouse.recommend import inputs as rec_inputs
from lakehouse.recommend.publish import home_stores
from lakehouse.recommend.rerank import build_recommendations, requests_for
from lakehouse.recommend.signals import read_interactions
from lakehouse.storage.tables import replace_table


def rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def product_map(products: list[str], copies: int) -> pl.DataFrame:
    """``product_id, copy, new_id``: product k of copy c -> a distinct id."""
    rows = [(p, c, f"{p}~{c}" if c else p) for c in range(copies) for p in products]
    return pl.DataFrame(rows, schema={"product_id": pl.String, "copy": pl.Int64,
                                      "new_id": pl.String}, orient="row")


def scale(frames: dict, persons: int, products: int) -> dict:
    inter = frames["interactions"]
    base_persons = sorted(inter["person_id"].unique())
    base_products = sorted(set(frames["quality"]["product_id"]) | set(inter["product_id"]))
    reps = -(-persons // len(base_persons))
    copies = max(1, products // len(base_products))
    pmap = product_map(base_products, copies)
    parts = []
    for r in range(reps):
        part = inter.with_columns(pl.lit(r % copies, pl.Int64).alias("copy"),
                                  (pl.col("person_id") + f"~{r}").alias("person_id"))
        parts.append(part)
    big = (pl.concat(parts).join(pmap, on=["product_id", "copy"])
           .with_columns(pl.col("new_id").alias("product_id")).drop("copy", "new_id"))
    keep = sorted(big["person_id"].unique())[:persons]
    big = big.filter(pl.col("person_id").is_in(keep))
    # stock: 2 warehouses (web, app) + 13 stores = 15 locations; the source's store rows cycle
    av = frames["availability"]
    stores = sorted(set(av["channel"]) - {"web", "app"})
    online = av.filter(pl.col("channel").is_in(["web", "app"]))
    shelf = av.filter(~pl.col("channel").is_in(["web", "app"]))
    shelves = pl.concat([shelf.filter(pl.col("channel") == stores[i % len(stores)])
                         .with_columns(pl.lit(f"S{i:03d}").alias("channel"),
                                       pl.lit(f"S{i:03d}").alias("location_id"))
                         for i in range(13)])

    def widen(frame: pl.DataFrame) -> pl.DataFrame:
        return (frame.join(pmap, on="product_id")
                .with_columns(pl.col("new_id").alias("product_id")).drop("copy", "new_id"))

    # persons' home stores follow their source store, spread over the 13 stores
    big = big.with_columns(pl.when(pl.col("channel") == "store").then(
        pl.lit("S") + (pl.col("location_id").rank("dense") - 1 + 4 * (
            pl.col("person_id").str.extract(r"~(\d+)$").cast(pl.Int64) % 3))
        .cast(pl.String).str.zfill(3)).otherwise(pl.col("location_id")).alias("location_id"))
    zones = pl.concat([frames["zones"].with_columns((pl.col("person_id") + f"~{r}")
                                                    .alias("person_id")) for r in range(reps)])
    return {"interactions": big, "availability": widen(pl.concat([online, shelves])),
            "fulfilment": widen(frames["fulfilment"]), "quality": widen(frames["quality"]),
            "categories": widen(frames["categories"]), "zones": zones}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", default="/tmp/h20run")
    ap.add_argument("--work", default="/tmp/rec_bench")
    ap.add_argument("--persons", type=int, default=24000)
    ap.add_argument("--products", type=int, default=1000)
    args = ap.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(args.source, work / "home")
    home = Home.resolve(work / "home")

    t = time.perf_counter()
    ev = evaluate(home)
    print(f"evaluate ({time.perf_counter() - t:.1f}s): cutoff {ev['cutoff']}, "
          f"{ev['test_persons']} test persons, k={ev['k']}")
    for name, m in ev["models"].items():
        print(f"  {name:13s} hit@10 {m['hit_rate']:.3f}  recall@10 {m['recall']:.3f}")
    print(f"  {'baseline':13s} hit@10 {ev['popularity']['hit_rate']:.3f}  recall@10 "
          f"{ev['popularity']['recall']:.3f}  (most purchased available, no re-rank)")
    print(f"  chosen {ev['chosen']}: lift {ev['lift']}x over the baseline; "
          f"unavailable recommended: {ev['unavailable']}")

    t = time.perf_counter()
    interactions = read_interactions(home)
    print(f"read signals (source scale): {interactions.height} rows, "
          f"{time.perf_counter() - t:.2f}s")
    pub = publish_recommendations(home)
    print(f"publish (source scale): {pub['rows']} rows, {pub['persons']} persons, "
          f"{pub['seconds']}s")
    person = interactions["person_id"][0]
    for label in ("cold", "cached"):
        t = time.perf_counter()
        recommend(person, "web", 10, home=home)
        print(f"recommend() {label}: {time.perf_counter() - t:.2f}s")

    frames = {"interactions": interactions,
              "availability": rec_inputs.read_availability(home),
              "fulfilment": rec_inputs.read_fulfilment(home),
              "quality": rec_inputs.read_quality(home), "zones": rec_inputs.read_zones(home),
              "categories": rec_inputs.read_categories(home)}
    print(f"peak RSS before scaling (evaluate, publish, recommend): {rss_mb()} MB")
    big = scale(frames, args.persons, args.products)
    av = big["availability"]
    persons = sorted(big["interactions"]["person_id"].unique())
    stores = sorted(set(av["channel"]) - {"web", "app"})
    requests = pl.concat([requests_for(persons, ("web", "app")),
                          home_stores(big["interactions"], stores)])
    print(f"scaled: {len(persons)} persons x {av['product_id'].n_unique()} products x "
          f"{av['location_id'].n_unique()} locations, {big['interactions'].height} signals, "
          f"{requests.height} (person, channel) lists")
    t = time.perf_counter()
    as_of = big["interactions"]["event_time"].max()
    recs = build_recommendations(big["interactions"], av, big["fulfilment"], big["quality"],
                                 10, as_of=as_of, zones=big["zones"], requests=requests,
                                 categories=big["categories"])
    built = time.perf_counter() - t
    t = time.perf_counter()
    replace_table(str(work / "scaled_ml_recommendations"), recs)
    wrote = time.perf_counter() - t
    print(json.dumps({"build_seconds": round(built, 2), "write_seconds": round(wrote, 2),
                      "rows": recs.height, "peak_rss_mb_whole_run": rss_mb()}))


if __name__ == "__main__":
    main()
