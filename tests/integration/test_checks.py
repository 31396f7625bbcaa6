"""Checks beyond the contracts, in real Dagster runs on real files and Delta tables:
the landing file gate, landing freshness, bronze increment volume, ML feature drift and the
byte-for-byte warehouse publish (orchestration/checks, orchestration/assets/warehouse.py)."""

from __future__ import annotations

import os
import time

import dagster as dg
import numpy as np
import polars as pl
import pytest
from deltalake import write_deltalake

from lakehouse.home import Home
from lakehouse.ml.marts import mart_uri
from lakehouse.storage.validations import record_validation
from lakehouse.warehouse.publish import build_path, checkpoint, published_path, record_audit
from orchestration.assets.bronze import ingest_bronze
from orchestration.assets.landing import landing_assets
from orchestration.assets.warehouse import (
    PUBLISH_CHECK,
    published_bytes_match_audit,
    warehouse,
)
from orchestration.checks.drift import ml_feature_drift
from orchestration.checks.freshness import (
    FRESHNESS_CHECK_KEYS,
    landing_arrivals,
    landing_freshness_checks,
)
from orchestration.checks.landing import landing_files_gate
from orchestration.checks.volume import bronze_batch_volume
from orchestration.definitions import defs
from orchestration.resources import LakehouseResource
from tests.integration.conftest import jsonl, standard_landing, web_event, write_landing

WEB = dg.AssetKey(["landing", "web"])


def _resources(home: Home) -> dict:
    return {"lakehouse": LakehouseResource(home=str(home.root))}


def _evaluations(result) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.asset_key.to_user_string(), e.check_name): e
            for e in result.get_asset_check_evaluations()}


def _materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_every_asset_has_a_check_and_the_new_checks_are_wired():
    graph = defs.resolve_asset_graph()
    checked = {key.asset_key for key in graph.asset_check_keys}
    unchecked = [k.to_user_string() for k in graph.get_all_asset_keys() if k not in checked]
    # table maintenance writes no data of its own (compaction, checkpoints, vacuum)
    assert set(unchecked) <= {"lake_maintenance"}, f"assets without any check: {unchecked}"
    names = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert ("landing/web", "landing_files_gate") in names
    assert ("landing/web", "freshness_check") in names
    assert ("bronze/web__events", "batch_volume") in names
    assert ("ml/ml_customer_features", "feature_drift") in names
    assert ("warehouse", PUBLISH_CHECK) in names
    assert {"landing_arrivals", "landing_freshness_sensor"} <= {
        s.name for s in defs.sensors}
    # freshness is evaluated by the sensors, not as an outcome of the nightly batch
    nightly = defs.resolve_job_def("materialize_all").graph.node_dict
    assert "landing_files_gate" in nightly and not [n for n in nightly if "freshness" in n]
    # the micro-batch job checks the volume of what it appends
    job = defs.resolve_job_def("micro_batch")
    assert "bronze_batch_volume" in job.get_subset(
        asset_selection={dg.AssetKey(["bronze", "web__events"])}).graph.node_dict


def test_a_bad_landing_file_fails_the_blocking_gate_and_bronze_does_not_run(home):
    landed = standard_landing()  # its catalog export is truncated
    landed["web/readme.txt"] = "not a landing file"
    landed["pos/transactions_20260302_000.csv"] = "\n".join(
        "ab,cd" for _ in range(3)).encode("utf-16")
    write_landing(home, landed)
    with dg.instance_for_test() as instance:
        result = dg.materialize([*landing_assets, landing_files_gate, ingest_bronze],
                                instance=instance, resources=_resources(home),
                                raise_on_error=False)
    checks = _evaluations(result)
    catalog = checks[("landing/catalog", "landing_files_gate")]
    assert not catalog.passed and catalog.severity == dg.AssetCheckSeverity.ERROR
    assert catalog.metadata["failed_files"].value == ["catalog/products_20260301_000.json"]
    assert "does not parse" in catalog.metadata["findings"].value
    pos = checks[("landing/pos", "landing_files_gate")]
    assert not pos.passed and "UTF-16" in pos.description
    assert pos.metadata["files_checked"].value == 2 and pos.metadata["files_failed"].value == 1
    # a stray file only warns; a broken line among good ones is the row-level quarantine's
    web = checks[("landing/web", "landing_files_gate")]
    assert not web.passed and web.severity == dg.AssetCheckSeverity.WARN
    assert web.metadata["unrecognised_files"].value == ["web/readme.txt"]
    assert checks[("landing/locations", "landing_files_gate")].passed
    assert not any(k.startswith("bronze/") for k in _materialized(result))
    assert not (home.lake / "bronze" / "web__events").exists()

    # fixed delivery: the gate passes (the stray file still warns) and bronze runs
    (home.landing / "catalog/products_20260301_000.json").write_text(
        '{"exported_at": "x", "products": []}')
    (home.landing / "pos/transactions_20260302_000.csv").unlink()
    with dg.instance_for_test() as instance:
        result = dg.materialize([*landing_assets, landing_files_gate, ingest_bronze],
                                instance=instance, resources=_resources(home),
                                raise_on_error=False)
    checks = _evaluations(result)
    assert all(e.passed for (key, name), e in checks.items()
               if name == "landing_files_gate" and key != "landing/web")
    assert "bronze/web__events" in _materialized(result)


def _web_asset():
    return next(a for a in landing_assets if a.key == WEB)


def _drop(home: Home, rel: str, content: str) -> None:
    """A file delivered now (its modification time is its arrival)."""
    path = home.landing / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)


def test_freshness_is_judged_on_file_arrival_against_the_channel_cadence(home):
    _drop(home, "web/events_20260301_000.jsonl", jsonl([web_event(1)]))
    stale = time.time() - 3 * 3600  # web promises a file every hour
    os.utime(home.landing / "web/events_20260301_000.jsonl", (stale, stale))
    check_key = FRESHNESS_CHECK_KEYS[WEB]
    checks = [c for c in landing_freshness_checks if check_key in c.check_keys]
    with dg.instance_for_test() as instance:
        result = dg.materialize([_web_asset(), *checks], instance=instance,
                                resources=_resources(home), selection=[WEB], raise_on_error=False)
        evaluation = _evaluations(result)[("landing/web", "freshness_check")]
        # materialized just now, but its newest file is three hours old
        assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN

        # a file lands: the sensor reports its arrival and re-runs the failed check
        _drop(home, "web/events_20260301_001.jsonl", jsonl([web_event(2)]))
        context = dg.build_sensor_context(instance=instance, resources=_resources(home),
                                          definitions=defs)
        tick = landing_arrivals.evaluate_tick(context)
        (observed,) = [e for e in tick.asset_events if e.asset_key == WEB]
        arrived = observed.metadata["dagster/last_updated_timestamp"].value
        assert arrived == pytest.approx(
            (home.landing / "web/events_20260301_001.jsonl").stat().st_mtime)
        (request,) = tick.run_requests
        assert list(request.asset_check_keys) == [check_key]
        # nothing newer on the next tick: no observation, no run
        again = landing_arrivals.evaluate_tick(dg.build_sensor_context(
            instance=instance, resources=_resources(home), cursor=tick.cursor,
            definitions=defs))
        assert not again.asset_events and not again.run_requests

        instance.report_runless_asset_event(observed)
        rerun = dg.materialize([_web_asset(), *checks], instance=instance,
                               resources=_resources(home),
                               selection=dg.AssetSelection.checks(*checks),
                               raise_on_error=False)
        evaluation = _evaluations(rerun)[("landing/web", "freshness_check")]
        assert evaluation.passed, evaluation.description
        assert "landing/web" not in _materialized(rerun)


def test_bronze_volume_against_its_own_history(home):
    write_landing(home, {"web/events_20260301_000.jsonl": jsonl(
        [web_event(i) for i in range(1, 6)])})
    key = dg.AssetKey(["bronze", "web__events"])
    with dg.instance_for_test() as instance:
        result = dg.materialize([ingest_bronze, bronze_batch_volume], instance=instance,
                                resources=_resources(home),
                                selection=[key, dg.AssetKey(["quarantine", "rows"])])
        first = _evaluations(result)[("bronze/web__events", "batch_volume")]
        assert first.passed and "not enough history" in first.description
        assert first.metadata["rows_appended"].value == 5

        def check(rows: int) -> dg.AssetCheckEvaluation:
            instance.report_runless_asset_event(dg.AssetMaterialization(
                key, metadata={"batch_id": f"b-{rows}", "batch_rows_appended": rows}))
            run = dg.materialize([ingest_bronze, bronze_batch_volume], instance=instance,
                                 resources=_resources(home),
                                 selection=dg.AssetSelection.checks(
                                     dg.AssetCheckKey(key, "batch_volume")))
            (evaluation,) = run.get_asset_check_evaluations()
            return evaluation

        for rows in (4, 6, 5, 5, 0):
            check(rows)
        steady = check(6)
        assert steady.passed and steady.metadata["history_points"].value == 5
        spike = check(500)
        assert not spike.passed and spike.severity == dg.AssetCheckSeverity.WARN
        assert "above the expected" in spike.description
        plot = spike.metadata["history"].value
        assert "| 500 | **no** |" in plot and plot.startswith("`")
        assert check(0).passed  # an empty increment is not judged


def _mart(home: Home, n: int, shift: float, seed: int) -> int:
    rng = np.random.default_rng(seed)
    frame = pl.DataFrame({
        "person_id": [f"p{i}" for i in range(n)],
        "monetary": rng.gamma(2, 50, n) * shift,
        "frequency": rng.poisson(3, n),
        "segment": rng.choice(["a", "b", "c"], n).tolist(),
    })
    uri = mart_uri(home, "ml_customer_features")
    write_deltalake(uri, frame.to_arrow(), mode="overwrite")
    from deltalake import DeltaTable
    return DeltaTable(uri).version()


def test_feature_drift_against_the_previous_validated_version(home):
    key = dg.AssetKey(["ml", "ml_customer_features"])
    uri = mart_uri(home, "ml_customer_features")
    specs = [dg.AssetSpec(key), dg.AssetSpec(["ml", "ml_product_features"])]

    def check() -> dg.AssetCheckEvaluation:
        run = dg.materialize([*specs, ml_feature_drift], instance=instance,
                             resources=_resources(home),
                             selection=dg.AssetSelection.checks(ml_feature_drift))
        return _evaluations(run)[("ml/ml_customer_features", "feature_drift")]

    def materialized(version: int) -> None:
        instance.report_runless_asset_event(dg.AssetMaterialization(
            key, metadata={"delta_version": version}))
        record_validation(uri, version, "gold.ml_customer_features", 1000)  # its own gate

    with dg.instance_for_test() as instance:
        materialized(_mart(home, 1000, 1.0, seed=1))
        first = check()
        assert first.passed and "no earlier validated version" in first.description
        materialized(_mart(home, 1000, 1.0, seed=2))
        same = check()
        assert same.passed and same.metadata["reference_version"].value == 0
        assert same.metadata["current_version"].value == 1
        shifted = _mart(home, 1000, 4.0, seed=3)  # not validated yet: compared with version 1
        instance.report_runless_asset_event(dg.AssetMaterialization(
            key, metadata={"delta_version": shifted}))
        drifted = check()
    assert not drifted.passed and drifted.severity == dg.AssetCheckSeverity.WARN
    assert drifted.metadata["drifted_columns"].value == ["monetary"]
    assert drifted.metadata["reference_version"].value == 1
    table = drifted.metadata["columns"].value
    assert "| `monetary` | numeric |" in table and "| `person_id` | skipped |" in table


def _build(home: Home, value: int) -> None:
    import duckdb
    con = duckdb.connect(str(build_path(home)))
    con.execute("create or replace table main.t as select ? as v", [value])
    con.close()
    checkpoint(build_path(home))


def test_warehouse_publish_is_checked_byte_for_byte(home):
    _build(home, 1)
    record_audit(home, {"main.t": True})
    with dg.instance_for_test() as instance:
        result = dg.materialize([warehouse, published_bytes_match_audit], instance=instance,
                                resources=_resources(home))
        (evaluation,) = result.get_asset_check_evaluations()
        assert evaluation.passed and evaluation.check_name == PUBLISH_CHECK
        assert evaluation.metadata["audited_sha256"] == evaluation.metadata["published_sha256"]
        before = published_path(home).read_bytes()

        # rewritten after the audit with its size and mtime put back: only the hash sees it
        _build(home, 2)
        record_audit(home, {"main.t": True})
        stat = build_path(home).stat()
        _build(home, 3)
        os.utime(build_path(home), ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert build_path(home).stat().st_size == stat.st_size
        result = dg.materialize([warehouse, published_bytes_match_audit], instance=instance,
                                resources=_resources(home), raise_on_error=False)
        assert not result.success  # the publish refused: analysts keep the audited file
        assert published_path(home).read_bytes() == before

        # a published file that is not the audited one fails the blocking check
        published_path(home).write_bytes(before + b"\0")
        result = dg.materialize([warehouse, published_bytes_match_audit], instance=instance,
                                resources=_resources(home),
                                selection=dg.AssetSelection.checks(published_bytes_match_audit),
                                raise_on_error=False)
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.metadata["audited_sha256"] != evaluation.metadata["published_sha256"]
