"""A micro-batch run as the sensor requests it: new files to bronze and silver, gated."""

import dagster as dg
from deltalake import DeltaTable

from lakehouse.home import Home
from lakehouse.ingest import discover
from lakehouse.simulate import SimConfig, simulate
from orchestration.assets.bronze import ingest_bronze
from orchestration.assets.inventory import inventory_live
from orchestration.assets.silver import silver_tables
from orchestration.definitions import defs
from orchestration.resources import LakehouseResource
from orchestration.sensors import plan_runs


def test_sensor_request_runs_bronze_and_silver_with_gx_gates(tmp_path):
    home = Home.resolve(tmp_path).ensure()
    simulate(home, SimConfig(persons=80, products=12, stores=1, warehouses=1, days=2))
    (key, files), = plan_runs({f.relpath: f.sha256 for f in discover(home)}, {})
    sensor = defs.resolve_sensor_def("landing_sensor")
    with dg.instance_for_test() as instance:
        tick = sensor.evaluate_tick(dg.build_sensor_context(
            instance=instance, resources={"lakehouse": LakehouseResource(home=str(home.root))}))
        (request,) = tick.run_requests
        assert request.run_key == key
        # identity inputs are left to the batch run (only identity resolution reads them)
        assert {k.to_user_string() for k in request.asset_selection} == {
            "quarantine/rows", "bronze/web__events", "silver/clickstream_events",
            "inventory/positions_live",
        } | _fed_by_other_files(files)
        assert not {"silver/identifier_observations", "silver/customer_records"} & {
            k.to_user_string() for k in request.asset_selection}
        # the micro_batch job's assets, run as the sensor's request selects them
        result = dg.materialize(
            [ingest_bronze, silver_tables, inventory_live], selection=request.asset_selection,
            run_config=request.run_config, instance=instance,
            resources={"lakehouse": LakehouseResource(home=str(home.root))})
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert evaluations and all(e.passed for e in evaluations)
    validated = [e for e in evaluations if e.metadata["rows_validated"].value]
    assert validated and {e.metadata["engine"].value for e in validated} == {"gx"}
    # every gate checked the commits since its pin: the run's tables are now pinned at their
    # latest versions, so a second look finds nothing unchecked
    from lakehouse.storage.validations import validated_versions

    pins = validated_versions(home.lake)
    for table in ("bronze/web__events", "silver/clickstream_events", "quarantine/rows"):
        assert pins[table] == DeltaTable(str(home.lake / table)).version()
    assert {e.check_name for e in evaluations} == {"gx_bronze_gate", "gx_silver_gate",
                                                   "gx_quarantine_gate", "gx_ledger_gate",
                                                   "gx_positions_gate",
                                                   "gx_channel_gate"}
    events = DeltaTable(str(home.lake / "silver/clickstream_events")).to_pyarrow_table()
    bronze = DeltaTable(str(home.lake / "bronze/web__events")).to_pyarrow_table()
    assert 0 < events.num_rows <= bronze.num_rows + DeltaTable(
        str(home.lake / "bronze/app__events")).to_pyarrow_table().num_rows
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert materialized == set(request.asset_selection)


def _fed_by_other_files(files: list[str]) -> set[str]:
    from orchestration.sensors import assets_fed_by
    others = [f for f in files if not f.startswith("web/")]
    return {k.to_user_string() for k in assets_fed_by(others)}


def test_batch_gates_can_run_great_expectations_itself(tmp_path):
    """`gate_engine: gx` runs GX on pandas chunks in a real run, with the same outcome."""
    home = Home.resolve(tmp_path).ensure()
    simulate(home, SimConfig(persons=40, products=8, stores=1, warehouses=1, days=1))
    config = {"config": {"gate_engine": "gx"}}
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [ingest_bronze, silver_tables],
            run_config={"ops": {"ingest_bronze": config, "build_silver": config}},
            instance=instance, resources={"lakehouse": LakehouseResource(home=str(home.root))})
    assert result.success
    validated = [e for e in result.get_asset_check_evaluations()
                 if e.metadata["rows_validated"].value]
    assert validated and all(e.passed for e in validated)
    assert {e.metadata["engine"].value for e in validated} == {"gx"}
