"""The identifier-free mode of the simulator: shape, determinism, households and the errors."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from lakehouse.home import Home
from lakehouse.simulate import SimConfig, crm_records, simulate
from lakehouse.simulate.crm import RECORD_COLUMNS, edit, typed_dob
from lakehouse.simulate.dice import Dice

CFG = SimConfig(persons=2000)


@pytest.fixture(scope="module")
def crm() -> tuple[pl.DataFrame, pl.DataFrame]:
    return crm_records(CFG)


def test_records_carry_names_addresses_and_dobs_only(crm) -> None:
    records, truth = crm
    assert tuple(records.columns) == RECORD_COLUMNS
    assert truth.columns == ["source", "record_id", "person_id", "household_id"]
    assert records.select("source", "record_id").equals(truth.select("source", "record_id"))
    assert not records.select(pl.struct("source", "record_id").is_duplicated().any()).item()
    assert set(records["source"]) == {"crm", "loyalty", "store_signup"}
    # blanks are null, never ""
    assert not records.select(pl.any_horizontal(pl.all() == "").any()).item()


def test_every_person_has_a_record_and_duplicates_follow_the_share(crm) -> None:
    records, truth = crm
    assert truth["person_id"].n_unique() == CFG.persons
    dup = 1 - CFG.persons / records.height
    assert dup == pytest.approx(CFG.duplicate_share, abs=0.01)
    assert truth.group_by("person_id").len()["len"].max() >= 3  # some persons appear often


def test_deterministic_for_a_seed(crm) -> None:
    records, truth = crm
    again, again_truth = crm_records(CFG)
    assert records.equals(again) and truth.equals(again_truth)
    other, _ = crm_records(SimConfig(persons=2000, seed=7))
    assert not records.equals(other)
    one, _ = crm_records(CFG, sources=["crm"])
    assert set(one["source"]) == {"crm"}


def test_households_share_surname_and_address_not_first_name(crm) -> None:
    records, truth = crm
    j = records.join(truth, on=["source", "record_id"])
    hh = j.group_by("household_id").agg(pl.col("person_id").n_unique().alias("n"))
    assert hh.filter(pl.col("n") > 1).height > 100
    # twins: two persons of one household with the same dob (as typed on some record)
    dobs = (j.drop_nulls("date_of_birth").group_by("household_id", "date_of_birth")
            .agg(pl.col("person_id").n_unique().alias("n")))
    assert dobs.filter(pl.col("n") > 1).height >= 5


def test_errors_real_benchmarks_contain(crm) -> None:
    records, truth = crm
    n = records.height
    null = records.select(pl.all().null_count()).row(0, named=True)
    assert 0.1 < null["date_of_birth"] / n < 0.3
    assert 0.02 < null["postcode"] / n < 0.15
    assert null["first_name"] > 0
    assert records.filter(pl.col("postcode").str.contains(" ")).height > 0
    line1 = records["address_line1"].drop_nulls()
    assert line1.str.contains(r" (St|Street|St\.|STREET)( |$)").any()
    # a person's names as typed: nicknames, initials, case, slips and swaps
    j = records.join(truth, on=["source", "record_id"]).drop_nulls("first_name")
    firsts = j.group_by("person_id").agg(pl.col("first_name").str.strip_chars()
                                         .str.to_lowercase().n_unique().alias("k"))
    assert firsts.filter(pl.col("k") > 1).height > 50


def test_edit_is_one_slip() -> None:
    d = Dice(np.random.default_rng(1))
    kinds = set()
    for _ in range(400):
        e = edit(d, "Margaret")
        diff = len(e) - len("Margaret")
        if diff == 0:  # a substitution or a transposition
            moved = sorted(e) == sorted("Margaret")
            assert moved or sum(a != b for a, b in zip(e, "Margaret", strict=True)) == 1
            kinds.add("swap" if moved else "sub")
        else:
            assert abs(diff) == 1
            kinds.add(diff)
    assert kinds == {"swap", "sub", -1, 1}


def test_typed_dob_variants() -> None:
    d = Dice(np.random.default_rng(3))
    dob = dt.date(1980, 3, 11)
    got = [typed_dob(d, dob) for _ in range(4000)]
    assert None in got and "1980-03-11" in got
    assert "1980-11-03" in got  # day and month swapped
    off = {g for g in got if g and g not in ("1980-03-11", "1980-11-03")}
    assert off and all(sum(a != b for a, b in zip(g, "1980-03-11", strict=True)) == 1
                       for g in off)


def test_same_persons_as_the_full_simulation(tmp_path) -> None:
    cfg = SimConfig(persons=60, products=5, stores=1, warehouses=1, days=1)
    simulate(Home.resolve(tmp_path), cfg)
    persons = pl.read_parquet(tmp_path / "truth" / "persons.parquet")
    _, truth = crm_records(cfg)
    pairs = truth.select("person_id", "household_id").unique()
    assert pairs.sort("person_id").equals(
        persons.select("person_id", "household_id").sort("person_id"))
