"""Identity resolution figures: accuracy on the default simulated retailer, and the time and
peak memory of resolving ~1M records (the simulated records and their identifier observations
replicated with every identifier made replica-specific, so replicas are distinct people of the
same shape).

Accuracy is printed against the full truth, against the truth without household-shared
devices/cards (whose registered owner no data shows), and next to the resolvable ceiling: the
score of an oracle that joins a true person's records only where the data links them (a shared
identifier value, or both named: optimistic), i.e. what no resolver can beat. The 1M run is
scored too, against the truth replicated alongside the records.

The probabilistic pass runs on ``--engine`` (``fellegi_sunter``, ours, or ``splink``); both
engines see the same data, so two runs on one ``--home`` compare them.

    .venv/bin/python bench/bench_identity.py [--home /tmp/id_bench] [--records 1000000]
        [--engine fellegi_sunter|splink]
"""

from __future__ import annotations

import argparse
import os
import resource
import string
import time
from itertools import combinations
from pathlib import Path

import polars as pl

from lakehouse.identity import evaluate, resolve_full
from lakehouse.identity.graph import components
from lakehouse.identity.resolve import DEFAULT_ENGINE, ENGINES
from lakehouse.identity.schema import OBSERVATION_TYPES

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


def _replicate(records: pl.DataFrame, obs: pl.DataFrame, truth: pl.DataFrame, n: int
               ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    k = -(-n // records.height)
    # a replica's surname suffix: two letters in increasing order, so no two replicas' surnames
    # are one swapped letter apart ("SMITHAB" / "SMITHBA" would read as a typo of one person)
    suffixes = [a + b for a, b in combinations(string.ascii_uppercase, 2)]
    if k > len(suffixes):
        raise ValueError(f"at most {len(suffixes)} replicas of the simulation")
    parts, oparts, tparts = [], [], []
    for r in range(k):
        tag = f"~{r}"
        parts.append(records.with_columns(
            *[(pl.col(c) + tag) for c in _IDS if c not in ("last_name", "email")],
            pl.col("email").str.replace("@", tag + "@", literal=True),
            pl.col("last_name") + pl.lit(suffixes[r]),
            pl.col("postcode") + tag))
        oparts.append(obs.with_columns(
            pl.col("record_id") + tag,
            pl.when(pl.col("identifier_type") == "email")
            .then(pl.col("value").str.replace("@", tag + "@", literal=True))
            .otherwise(pl.col("value") + tag)))
        tparts.append(truth.with_columns(pl.col("record_id") + tag, pl.col("person_id") + tag))
    big = pl.concat(parts).head(n)
    keys = big.select("source", "record_id")
    big_obs = pl.concat(oparts).join(keys, on=["source", "record_id"], how="semi")
    return big, big_obs, pl.concat(tparts).join(keys, on=["source", "record_id"], how="semi")


def resolvable_ceiling(records: pl.DataFrame, obs: pl.DataFrame, truth: pl.DataFrame) -> dict:
    """``evaluate`` of the oracle partition: a true person's records joined only through an
    identifier value they share or because both carry a name."""
    keys = ["source", "record_id"]
    t = truth.select(*keys, "person_id").join(records.select(keys), on=keys).with_row_index("_i")
    ids = obs.filter(pl.col("identifier_type").is_in(OBSERVATION_TYPES)).select(
        *keys, "identifier_type", "value")
    named = records.filter(pl.col("first_name").is_not_null()
                           & pl.col("last_name").is_not_null()).select(
        *keys, pl.lit("named").alias("identifier_type"), pl.lit("").alias("value"))
    long = pl.concat([ids, named]).join(t, on=keys)
    vals = long.select("person_id", "identifier_type", "value").unique().with_row_index("_v")
    long = long.join(vals, on=["person_id", "identifier_type", "value"])
    n = t.height
    lab = components(n + vals.height, long["_i"].to_numpy(), long["_v"].to_numpy() + n)[:n]
    oracle = t.select(*keys, pl.Series("person_id", lab).cast(pl.String))
    return evaluate(oracle, truth)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", default="/tmp/id_bench")
    ap.add_argument("--persons", type=int, default=2000)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE)
    args = ap.parse_args()
    home = Path(args.home)
    _prepare(home, args.persons)
    records = pl.read_delta(str(home / "lake" / "silver" / "customer_records"))
    obs = pl.read_delta(str(home / "lake" / "silver" / "identifier_observations")).select(
        "source", "record_id", "identifier_type", "value")
    truth = pl.read_parquet(home / "truth" / "identity.parquet")
    t0 = time.perf_counter()
    res = resolve_full(records, observations=obs, engine=args.engine)
    dt = time.perf_counter() - t0
    print(f"engine {args.engine}, default sim: {records.height:,} records resolved in {dt:.1f} s "
          f"(load {os.getloadavg()[0]:.1f})")
    unshared = truth.filter(~pl.col("shared"))
    for name, frame in (("all records", truth),
                        ("without household-shared devices/cards", unshared)):
        print(f"  {name}: {evaluate(res.records, frame)}")
        print(f"    resolvable ceiling: {resolvable_ceiling(records, obs, frame)}")
    print(f"  report: {res.report}")
    obs = obs.filter(pl.col("identifier_type").is_in(OBSERVATION_TYPES))
    big, big_obs, big_truth = _replicate(records.drop("first_seen", "last_seen"), obs, truth,
                                         args.records)
    del res, records, obs
    load = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    out = resolve_full(big, observations=big_obs, engine=args.engine)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"scale: {big.height:,} records ({big_obs.height:,} observations) -> "
          f"{out.records['person_id'].n_unique():,} persons in {dt:.1f} s wall, {cpu:.1f} s CPU "
          f"(load {load:.1f} before, {os.getloadavg()[0]:.1f} after), "
          f"peak RSS {peak:,.0f} MB")
    print(f"  accuracy at scale (replicated truth): {evaluate(out.records, big_truth)}")
    prob = out.report[args.engine]
    print(f"  probabilistic pass: {prob.get('pairs_linked', 0):,} pairs linked"
          + (f", seconds {prob['seconds']}" if "seconds" in prob else ""))


if __name__ == "__main__":
    main()
