"""ML feature marts and training sets: wall time and peak memory of ``publish_feature_marts``
and of a labelled training set, on a built home (default: /work/home_demo, ~66k events) and on
that home's inputs replicated ``k`` times (every person, order, session, device, e-mail and
review id made replica-specific and re-hashed into the identity map, event times kept), so
``--scale 15`` is ~1M events of the same shape.

    .venv/bin/python bench/bench_ml.py [--source /work/home_demo] [--work /tmp/ml_bench] \
        [--scale 1 15] [--labels-per-person 4]

The source home is only read. Each measurement runs in a fresh process (peak RSS is its own).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
from deltalake import DeltaTable, write_deltalake

from lakehouse.identity.pii import load_key
from lakehouse.ml import FEATURE_SETS
from lakehouse.storage.delta import to_arrow
from lakehouse.storage.validations import record_validation

INPUTS = sorted({t for fs in FEATURE_SETS.values() for t in fs.tables})
# columns made replica-specific (suffix "~r"), per table
SUFFIX = {
    "silver/orders": ("order_id", "customer_id"),
    "silver/order_lines": ("order_id", "line_id"),
    "silver/pos_transaction_lines": ("transaction_id", "loyalty_card", "card_token"),
    "silver/clickstream_events": ("event_id", "anonymous_id", "session_id", "login_id"),
    "silver/email_events": ("event_id", "email"),
    "silver/returns": ("return_id", "order_id"),
    "silver/reviews": ("review_id",),
}
# identity source -> (table, raw record id column, filter)
RECORDS = {
    "shop_customer": ("silver/orders", "customer_id", pl.col("customer_id").is_not_null()),
    "shop_guest": ("silver/orders", "order_id", pl.col("customer_id").is_null()),
    "web": ("silver/clickstream_events", "anonymous_id", pl.col("channel") == "web"),
    "app": ("silver/clickstream_events", "anonymous_id", pl.col("channel") == "app"),
    "pos": ("silver/pos_transaction_lines", "transaction_id",
            pl.col("loyalty_card").is_not_null() | pl.col("card_token").is_not_null()),
    "email": ("silver/email_events", "email", pl.lit(True)),
}


def _read(lake: Path, table: str) -> tuple[pl.DataFrame, list[str]]:
    dt = DeltaTable(str(lake / table))
    return pl.from_arrow(dt.to_pyarrow_table()), list(dt.metadata().partition_columns)


def _write(lake: Path, table: str, frame: pl.DataFrame, partitions: list[str]) -> None:
    write_deltalake(str(lake / table), to_arrow(frame), mode="overwrite",
                    partition_by=partitions or None)


def build(source: Path, work: Path, scale: int) -> Path:
    """A home holding the ML inputs of ``source`` replicated ``scale`` times, all validated."""
    home = work / f"x{scale}"
    if (home / "lake" / "quality" / "validations").exists():
        return home
    shutil.rmtree(home, ignore_errors=True)
    (home / "secrets").mkdir(parents=True)
    shutil.copy(source / "secrets" / "hmac.key", home / "secrets" / "hmac.key")
    key = load_key(home)
    src, dst = source / "lake", home / "lake"
    frames = {t: _read(src, t) for t in INPUTS}
    for table, (frame, parts) in frames.items():
        if table in SUFFIX and scale > 1:
            cols = SUFFIX[table]
            frame = pl.concat([frame.with_columns(pl.col(c) + f"~{r}" for c in cols)
                               if r else frame for r in range(scale)])
        if table != "gold/identity_map":
            _write(dst, table, frame, parts)
    idmap, parts = frames["gold/identity_map"]
    if scale > 1:
        def h(values: list[str]) -> list[str]:
            return [hmac.new(key, v.encode(), hashlib.sha256).hexdigest() for v in values]
        records = idmap.filter(pl.col("identifier_type") == "record")
        raw = []
        for source_name, (table, col, where) in RECORDS.items():
            ids = frames[table][0].filter(where)[col].drop_nulls().unique().to_list()
            raw.append(pl.DataFrame({"source": source_name, "raw": ids,
                                     "identifier_hash": h(ids)}))
        known = pl.concat(raw).join(records, on=["source", "identifier_hash"])
        reps = [idmap]
        for r in range(1, scale):
            rec = known.with_columns(pl.Series("identifier_hash",
                                               h([f"{v}~{r}" for v in known["raw"]])),
                                     pl.col("person_id") + f"~{r}").select(idmap.columns)
            rest = idmap.filter(pl.col("identifier_type") != "record").with_columns(
                pl.col("person_id") + f"~{r}", pl.col("identifier_hash") + f"~{r}")
            reps += [rec, rest]
        idmap = pl.concat(reps)
    _write(dst, "gold/identity_map", idmap, parts)
    for t in INPUTS:
        record_validation(dst / t, DeltaTable(str(dst / t)).version(), f"bench.{t}", 0)
    return home


def measure(home: Path, labels_per_person: int) -> dict:
    """(In the child process.) Publish the marts, then a labelled customer training set."""
    from lakehouse.ml import publish_feature_marts, training_set
    from lakehouse.storage.delta import read_table

    start = time.perf_counter()
    meta = publish_feature_marts(home)
    publish = time.perf_counter() - start
    orders = read_table(str(home / "lake" / "silver" / "orders"))
    first, last = orders["created_at"].min(), orders["created_at"].max()
    persons = read_table(str(home / "lake" / "gold" / "ml_customer_features"))["person_id"]
    step = (last - first) / (labels_per_person + 1)
    times = [first + step * (i + 1) for i in range(labels_per_person)]
    labels = pl.DataFrame({"person_id": persons}).join(
        pl.DataFrame({"label_time": times}), how="cross")
    start = time.perf_counter()
    ts = training_set("customer", labels=labels, home=home)
    labelled = time.perf_counter() - start
    events = sum(read_table(str(home / "lake" / t)).height for t in (
        "silver/clickstream_events", "silver/email_events", "silver/pos_transaction_lines",
        "silver/order_lines", "silver/returns", "silver/reviews"))
    return {
        "events": events,
        "persons": meta["ml_customer_features"]["rows"],
        "products": meta["ml_product_features"]["rows"],
        "publish_s": round(publish, 2),
        "customer_mart_s": meta["ml_customer_features"]["seconds"],
        "product_mart_s": meta["ml_product_features"]["seconds"],
        "labelled_rows": ts.frame.height,
        "labelled_s": round(labelled, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", type=Path, default=Path("/work/home_demo"))
    ap.add_argument("--work", type=Path, default=Path("/tmp/ml_bench"))
    ap.add_argument("--scale", type=int, nargs="+", default=[1, 15])
    ap.add_argument("--labels-per-person", type=int, default=4)
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.labels_per_person)))
        return
    for k in args.scale:
        start = time.perf_counter()
        home = build(args.source, args.work, k)
        built = time.perf_counter() - start
        out = subprocess.run([sys.executable, __file__, "--measure", str(home),
                              "--labels-per-person", str(args.labels_per_person)],
                             check=True, capture_output=True, text=True)
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"scale x{k} (inputs built in {built:.1f} s): " + ", ".join(
            f"{name} {value}" for name, value in figures.items()), flush=True)


if __name__ == "__main__":
    main()
