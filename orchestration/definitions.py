"""The one Dagster `Definitions` of the lakehouse."""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from lakehouse.home import Home
from orchestration.assets.dbt import dbt_models, dbt_project
from orchestration.assets.landing import landing_assets
from orchestration.resources import LakehouseResource

all_assets_job = dg.define_asset_job("materialize_all", selection=dg.AssetSelection.all())

defs = dg.Definitions(
    assets=[*landing_assets, dbt_models],
    jobs=[all_assets_job],
    resources={
        "lakehouse": LakehouseResource(home=str(Home.resolve().root)),
        "dbt": DbtCliResource(
            project_dir=dbt_project,
            # The venv's dbt, whether or not the venv is on PATH.
            dbt_executable=str(Path(sys.executable).with_name("dbt")),
        ),
    },
)
