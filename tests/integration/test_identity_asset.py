"""The identity asset as Dagster runs it: its `engine` config reaches the resolver, and the
gold tables it writes pass their gates."""

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
    linked_by = set(pl.read_delta(str(home.lake / "gold" / "identity_map"))["matched_by"])
    other = {"fellegi_sunter": "splink", "splink": "fellegi_sunter"}[engine]
    assert engine in linked_by and other not in linked_by  # only this engine linked pairs
