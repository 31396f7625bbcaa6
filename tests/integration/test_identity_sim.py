"""Identity resolution on real small simulations: the default retailer (landing -> bronze ->
silver -> resolve) and the identifier-free customer exports (names, addresses, dobs only)."""

from __future__ import annotations

from itertools import combinations

import polars as pl
import pytest
from deltalake import write_deltalake

from lakehouse.home import Home
from lakehouse.identity import evaluate, resolve_full
from lakehouse.identity.evaluate import linkable_truth
from lakehouse.identity.resolve import ENGINES
from lakehouse.ingest import batch_id_for, discover, ingest_files
from lakehouse.silver.identity_inputs import normalise_records
from lakehouse.simulate import SimConfig, crm_records, simulate
from lakehouse.storage.delta import read_table
from lakehouse.storage.paths import table_uri
from tests.gated import build_silver, resolve_home

F1_FLOOR = 0.70  # measured here (200 persons, 15 days); see bench/bench_identity.py for 2000
OVERMERGE_UNSHARED_CEILING = 0.01  # ids merging people, household-shared records left out
# identifier-free records (400 persons, 667 records, seed 42), measured 2026-12-03: before EM
# training and constrained clustering, splink F1 0.664 (P 1.0, R 0.497: it linked almost nothing
# on names alone) and fellegi_sunter 0.618 (households merged); now splink 0.907 (P 0.919,
# R 0.896) and fellegi_sunter 0.832. Most false links left join two members of one household
# (twins, or a record without a date of birth). Floors sit a little under the measured figures.
IDENTIFIER_FREE_F1_FLOOR = {"splink": 0.88, "fellegi_sunter": 0.80}
IDENTIFIER_FREE = SimConfig(persons=400)


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    home = tmp_path_factory.mktemp("idsim")
    simulate(Home.resolve(home), SimConfig(persons=200, days=15))
    files = discover(home)
    batch = batch_id_for(files)
    ingest_files(home, files, batch)
    build_silver(home, batch)
    records = pl.read_delta(str(home / "lake" / "silver" / "customer_records"))
    obs = pl.read_delta(str(home / "lake" / "silver" / "identifier_observations"))
    return records, pl.read_parquet(home / "truth" / "identity.parquet"), obs


@pytest.mark.parametrize("engine", ENGINES)
def test_accuracy_on_a_small_simulation(sim, engine: str) -> None:
    records, truth, obs = sim
    res = resolve_full(records, observations=obs, engine=engine)
    assert res.records.height == records.height
    m = evaluate(res.records, truth)
    assert m["f1"] >= F1_FLOOR, m
    assert m["precision"] >= 0.95, m
    unshared = evaluate(res.records, truth.filter(~pl.col("shared")))
    assert unshared["overmerged_id_share"] <= OVERMERGE_UNSHARED_CEILING, unshared
    # every observed identifier counts: resolving the latest value per record only is worse
    assert evaluate(resolve_full(records, engine=engine).records, truth)["recall"] < m["recall"]


def test_anonymous_activity_is_stitched_back_in_time(sim) -> None:
    records, truth, obs = sim
    out = resolve_full(records, observations=obs).records
    j = out.join(truth, on=["source", "record_id"], suffix="_true")
    # a cookie or app device that ever logged in or bought joins a person with named records
    anon = j.filter(pl.col("source").is_in(["web", "app"]) & ~pl.col("shared"))
    logged = obs.filter(pl.col("identifier_type").is_in(["login_id", "order_id"])).select(
        "source", "record_id").unique()
    stitched = anon.join(logged, on=["source", "record_id"])
    named = j.join(records.filter(pl.col("last_name").is_not_null()).select(
        "source", "record_id"), on=["source", "record_id"])
    with_person = stitched.join(named.select("person_id").unique(), on="person_id")
    assert stitched.height and with_person.height / stitched.height >= 0.95
    # ... and to the right one
    right = with_person.join(named.select("person_id", pl.col("person_id_true").alias("_t")),
                             on="person_id").filter(pl.col("_t") == pl.col("person_id_true"))
    assert right.select("source", "record_id").n_unique() / with_person.height >= 0.97


def test_incremental_run_keeps_ids(sim) -> None:
    records, _, obs = sim
    cut = records["first_seen"].sort()[records.height * 2 // 3]
    early_records = records.filter(pl.col("first_seen") < cut)
    early = resolve_full(early_records, observations=obs.join(
        early_records.select("source", "record_id"), on=["source", "record_id"]).filter(
        pl.col("observed_at") < cut))
    full = resolve_full(records, previous=early.records, observations=obs)
    j = early.records.join(full.records, on=["source", "record_id"], suffix="_now")
    kept = (j["person_id"] == j["person_id_now"]).mean()
    assert kept >= 0.95  # the rest were merged into a survivor, and recorded
    merged = set(full.history.filter(pl.col("event") == "merge")["other_ids"].explode())
    moved = set(j.filter(pl.col("person_id") != pl.col("person_id_now"))["person_id"])
    split_from = set(full.history.filter(pl.col("event") == "split")["other_ids"].explode())
    assert moved <= merged | split_from  # every moved record's old id: merged or split off


def test_no_raw_pii_in_any_gold_identity_table(sim, tmp_path) -> None:
    records, _, obs = sim
    home = Home.resolve(tmp_path)
    for name, frame in (("customer_records", records), ("identifier_observations", obs)):
        write_deltalake(table_uri(home, "silver", name), frame.to_arrow())
    resolve_home(home, key=b"k")
    raw = set()
    for c in ("email", "phone", "first_name", "last_name", "payment_fingerprint", "device_id",
              "address_line1", "login_id"):
        raw |= set(records[c].drop_nulls().to_list())
    raw |= set(obs.filter(pl.col("identifier_type").is_in(["email", "phone"]))["value"])
    tables = [p.name for p in (home.lake / "gold").iterdir()]
    assert {"identity_map", "customer_profiles", "person_id_history"} <= set(tables)
    for name in tables:
        frame = read_table(table_uri(home, "gold", name))
        cells = {str(v) for col in frame.columns for v in frame[col].explode().to_list()}
        assert not raw & cells, name


@pytest.fixture(scope="module")
def crm() -> tuple[pl.DataFrame, pl.DataFrame]:
    records, truth = crm_records(IDENTIFIER_FREE)
    return normalise_records(records), truth


def _brute_force(resolved: pl.DataFrame, truth: pl.DataFrame, source: str | None = None
                 ) -> tuple[float, float]:
    """Precision and recall from explicit sets of record pairs (``source``: pairs with at least
    one record of it), to check ``evaluate``'s counting."""
    def pairs(frame: pl.DataFrame) -> set[tuple[str, str]]:
        out = set()
        for recs in frame.group_by("person_id").agg(
                pl.concat_str("source", "record_id", separator="|").sort())["source"]:
            out |= {p for p in combinations(recs, 2)
                    if source is None or any(r.split("|")[0] == source for r in p)}
        return out

    pred, true = pairs(resolved), pairs(truth)
    return len(pred & true) / len(pred), len(pred & true) / len(true)


@pytest.mark.parametrize("engine", ENGINES)
def test_accuracy_without_identifiers(crm, engine: str) -> None:
    records, truth = crm
    assert not {"email", "phone", "login_id", "loyalty_id", "payment_fingerprint",
                "device_id"} & set(records.columns)
    out = resolve_full(records, engine=engine).records
    assert out.height == records.height
    m = evaluate(out, truth, by_source=True)
    assert m["f1"] >= IDENTIFIER_FREE_F1_FLOOR[engine], m
    # the evaluation itself: pair counts checked against explicit pair sets, overall and per
    # source; per-source records add up; linkable truth can only split persons
    resolved = out.select("source", "record_id", "person_id")
    assert (m["precision"], m["recall"]) == tuple(round(x, 5) for x in _brute_force(
        resolved, truth))
    for src, sm in m["per_source"].items():
        assert (sm["precision"], sm["recall"]) == tuple(
            round(x, 5) for x in _brute_force(resolved, truth, src)), src
    assert sum(sm["records"] for sm in m["per_source"].values()) == records.height
    linkable = linkable_truth(records, None, truth)
    assert linkable["person_id"].n_unique() >= truth["person_id"].n_unique()
    assert evaluate(linkable, truth)["precision"] == 1.0
    assert evaluate(truth, truth)["f1"] == evaluate(linkable, linkable)["f1"] == 1.0
