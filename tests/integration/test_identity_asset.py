"""The identity asset as Dagster runs it: its `engine` config reaches the resolver, the gold
tables it writes (persons and households) pass their gates, and each run shows what its model
learnt."""

import dagster as dg
import polars as pl
import pytest

from lakehouse.home import Home
from lakehouse.ingest import batch_id_for, discover, ingest_files
from lakehouse.simulate import SimConfig, simulate
from orchestration.assets.identity import identity_tables
from orchestration.resources import LakehouseResource
from tests.gated import build_silver


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Home:
    home = Home.resolve(tmp_path_factory.mktemp("idasset")).ensure()
    simulate(home, SimConfig(persons=120, products=12, stores=1, warehouses=1, days=4))
    files = discover(home.root)
    batch = batch_id_for(files)
    ingest_files(home.root, files, batch)
    build_silver(home.root, batch)
    return home


@pytest.mark.parametrize("engine", ["fellegi_sunter", "splink"])
def test_the_engine_config_reaches_the_resolver(home, engine):
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [identity_tables], instance=instance,
            resources={"lakehouse": LakehouseResource(home=str(home.root))},
            run_config={"ops": {"resolve_identity": {"config": {"engine": engine}}}})
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks)
    reports = [m.step_materialization_data.materialization.metadata
               for m in result.get_asset_materialization_events()]
    assert {r["engine"].value for r in reports if "engine" in r} == {engine}
    imap = pl.read_delta(str(home.lake / "gold" / "identity_map"))
    linked_by = set(imap["matched_by"])
    other = {"fellegi_sunter": "splink", "splink": "fellegi_sunter"}[engine]
    assert engine in linked_by and other not in linked_by  # only this engine linked pairs
    profiles = pl.read_delta(str(home.lake / "gold" / "customer_profiles"))
    _households_are_in_the_map_and_the_profiles(imap, profiles)
    _the_run_shows_what_the_model_learnt(reports, engine, profiles)


def _households_are_in_the_map_and_the_profiles(imap: pl.DataFrame,
                                                profiles: pl.DataFrame) -> None:
    for frame in (imap, profiles):
        assert frame["household_id"].null_count() == 0
        assert frame["household_id"].str.contains(r"^H[0-9a-f]{16}$").all()
    # a record is in exactly one household, and so is each of its identifiers
    records = imap.filter(pl.col("identifier_type") == "record")
    assert records.group_by("source", "identifier_hash").agg(
        pl.col("household_id").n_unique())["household_id"].max() == 1
    # every person's household is one its records are in; the households are the map's
    per_person = records.group_by("person_id").agg(pl.col("household_id").unique())
    joined = profiles.join(per_person, on="person_id", suffix="_map")
    assert joined.height == profiles.height
    assert all(h in hs for h, hs in zip(joined["household_id"], joined["household_id_map"],
                                        strict=True))
    assert set(profiles["household_id"]) <= set(records["household_id"])
    # households group persons: fewer households than persons, at least one of several
    sizes = profiles.group_by("household_id").len()["len"]
    assert sizes.sum() == profiles.height and sizes.max() > 1


def _the_run_shows_what_the_model_learnt(reports: list[dict], engine: str,
                                         profiles: pl.DataFrame) -> None:
    meta = next(r for r in reports if "model_parameters" in r)
    assert meta["persons"].value == profiles.height
    assert meta["households"].value == profiles["household_id"].n_unique() < profiles.height
    # m and u per comparison level, for either engine
    table = meta["model_parameters"]
    assert [c.name for c in table.schema.columns] == ["comparison", "level", "label", "m", "u",
                                                      "weight"]
    rows = [r.data for r in table.records]
    assert len({r["comparison"] for r in rows}) >= 4
    assert all(r["m"] is None or 0 <= r["m"] <= 1 for r in rows)
    assert all(r["u"] is None or 0 <= r["u"] <= 1 for r in rows)
    assert any(r["u"] for r in rows)  # u is always measured (random pairs)
    # a weight where both m and u were estimated (Splink's EM may find too few pairs in a
    # home this small: then no level has one, and the chart says so)
    estimated = [r for r in rows if r["weight"] is not None]
    assert all(r["m"] is not None and r["u"] for r in estimated)
    assert estimated or engine == "splink"
    # the match-weight chart: one row per level, bars both ways
    chart = meta["match_weight_chart"].value
    assert chart.count("\n| ") == len(rows) + 2  # header, separator, one row per level
    if estimated:
        assert any(r["weight"] > 0 for r in estimated) and "█" in chart
    else:
        assert "no weights to draw" in chart
    if engine == "fellegi_sunter":
        assert any(r["weight"] < 0 for r in estimated) and "░" in chart
    assert 0 < meta["match_threshold"].value <= 1
    if engine == "splink":  # the model estimates its own precision and recall
        assert 0 < meta["expected_precision"].value <= 1
        assert 0 < meta["expected_recall"].value <= 1
        assert meta["labelled_pairs"].value >= 0
    # the simulator's truth is reported on every run, and the full report as JSON
    assert 0 < meta["truth_precision"].value <= 1 and 0 < meta["truth_recall"].value <= 1
    # against what evidence connects (only splits persons: recall can only rise), households
    assert meta["truth_linkable_recall"].value >= meta["truth_recall"].value
    assert 0 < meta["truth_household_f1"].value <= 1
    assert meta["resolution_report"].value["households"]["multi_person"] > 0
