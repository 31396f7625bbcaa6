"""The Dagster code location loads, shows the landing zone first, and wires dbt (orchestration/)."""

import json
import subprocess
import sys
from pathlib import Path

import dagster as dg

from lakehouse.channels import CHANNELS
from orchestration.assets.dbt import DBT_PROJECT_DIR
from orchestration.definitions import defs

ROOT = Path(__file__).resolve().parents[2]


def test_code_location_loads_with_landing_layer_first():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    landing = {f"landing/{ch.name}" for ch in CHANNELS}
    assert landing <= keys
    for key in landing:
        node = graph.get(dg.AssetKey.from_user_string(key))
        assert node.group_name == "landing"
        assert not node.parent_keys, f"{key} must be a root of the graph"
        assert node.owners == ["team:data-platform"]
    assert "dim_dates" in keys
    assert graph.get(dg.AssetKey("dim_dates")).group_name == "marts"
    defs.resolve_job_def("materialize_all")


def test_each_silver_table_depends_on_what_it_reads_not_on_every_bronze_table():
    graph = defs.resolve_asset_graph()

    def parents(key: str) -> set[str]:
        return {k.to_user_string() for k in graph.get(dg.AssetKey.from_user_string(key))
                .parent_keys}

    assert parents("silver/orders") == {"bronze/orders__orders", "silver/product_crosswalk",
                                        "quarantine/rows"}
    assert parents("silver/order_lines") == {"bronze/orders__orders", "silver/orders",
                                             "quarantine/rows"}
    returns = parents("silver/returns")
    assert {"bronze/returns__returns", "silver/orders", "silver/locations"} <= returns
    assert not any(p.startswith("bronze/") and p != "bronze/returns__returns" for p in returns)
    every_bronze = {k.to_user_string() for k in graph.get_all_asset_keys()
                    if k.path[0] == "bronze"}
    for key in graph.get_all_asset_keys():
        if key.path[0] == "silver":  # every parent exists, and none depends on all of bronze
            assert parents(key.to_user_string()) <= {
                k.to_user_string() for k in graph.get_all_asset_keys()}
            assert not every_bronze <= parents(key.to_user_string()), key


def test_workspace_yaml_loads_the_code_location():
    # `dagster definitions validate` is what `dagster dev` does first with workspace.yaml.
    done = subprocess.run(
        [str(Path(sys.executable).with_name("dagster")), "definitions", "validate",
         "-w", str(ROOT / "workspace.yaml")],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Validation successful" in done.stdout + done.stderr


def test_dbt_project_parses_offline_without_packages():
    assert not (DBT_PROJECT_DIR / "packages.yml").exists()
    assert not (DBT_PROJECT_DIR / "dependencies.yml").exists()
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    assert "dim_dates" in models
    for name, node in models.items():
        assert node["description"], f"model {name} has no description"
        for column, props in node["columns"].items():
            assert props["description"], f"{name}.{column} has no description"
    # The profile's path is a constant (the plugin opens the home's file): a path rendered from
    # the environment would enter dbt's partial-parse check and re-parse for every new home.
    profile = (DBT_PROJECT_DIR / "profiles.yml").read_text()
    assert "env_var(" not in profile
    assert "path: warehouse.duckdb" in profile


def test_every_dbt_test_is_a_blocking_check_on_the_model_it_is_attached_to():
    """The translator's checks (dagster-dbt's, through `get_asset_check_spec`): one per dbt
    test, named as the test, on its model, blocking even for a `warn` test."""
    from orchestration.assets.dbt import asset_key, dbt_models

    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    specs = {(s.asset_key, s.name): s for s in dbt_models.check_specs}
    assert len(specs) == len(tests)
    for test in tests:
        spec = specs[(asset_key(manifest["nodes"][test["attached_node"]]), test["name"])]
        assert spec.blocking and spec.metadata["dbt_unique_id"] == test["unique_id"]
        assert not spec.additional_deps


def test_a_mart_rebuilt_outside_the_nightly_job_gets_the_warehouse_published():
    """Dagster's own evaluation of the warehouse's automation condition: after a mart is
    materialized on its own (from the UI), the warehouse is requested; once published, not."""
    from orchestration.assets.warehouse import RELATIONS

    selection = dg.AssetSelection.keys("warehouse")
    with dg.instance_for_test() as instance:
        for key in [*RELATIONS, dg.AssetKey("warehouse")]:  # a nightly run: all, then publish
            instance.report_runless_asset_event(dg.AssetMaterialization(key))
        result = dg.evaluate_automation_conditions(defs, instance, selection)
        assert result.total_requested == 0  # published after its models: nothing to do
        mart = next(k for k, r in RELATIONS.items() if r == "main.dim_products")
        instance.report_runless_asset_event(dg.AssetMaterialization(mart))  # from the UI
        result = dg.evaluate_automation_conditions(defs, instance, selection,
                                                   cursor=result.cursor)
        assert result.total_requested == 1
        assert result.get_requested_partitions(dg.AssetKey("warehouse")) == {None}
    assert defs.resolve_sensor_def("warehouse_automation").default_status == (
        dg.DefaultSensorStatus.RUNNING)


def test_ml_marts_follow_a_micro_batch_and_nothing_else():
    """A micro-batch that moved a silver input requests both marts (they are built in one
    step); a mart built after its inputs requests nothing; the sensor runs by default."""
    from orchestration.assets.ml import ml_feature_marts
    from orchestration.assets.silver import silver_key

    selection = dg.AssetSelection.assets(ml_feature_marts)
    marts = list(ml_feature_marts.keys)
    inputs = set(defs.resolve_asset_graph().get(marts[0]).parent_keys)
    with dg.instance_for_test() as instance:
        for key in [*inputs, *marts]:  # a nightly run: inputs, then the marts
            instance.report_runless_asset_event(dg.AssetMaterialization(key))
        result = dg.evaluate_automation_conditions(defs, instance, selection)
        assert result.total_requested == 0
        assert silver_key("orders") in inputs
        instance.report_runless_asset_event(dg.AssetMaterialization(silver_key("orders")))
        result = dg.evaluate_automation_conditions(defs, instance, selection,
                                                   cursor=result.cursor)
        assert result.total_requested == 2
        assert {k for k in marts if result.get_requested_partitions(k) == {None}} == set(marts)
    assert defs.resolve_sensor_def("ml_automation").default_status == (
        dg.DefaultSensorStatus.RUNNING)


def test_every_asset_past_landing_says_when_it_is_stale():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        policy = graph.get(key).freshness_policy
        if key.path[0] == "landing":  # per-channel freshness checks instead (feed cadence)
            assert policy is None
            continue
        assert policy is not None, key
        assert policy.fail_window.to_timedelta().total_seconds() == 26 * 3600, key
