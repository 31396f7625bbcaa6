"""The `pending_age` check on `quarantine/rows`: a warning when a pending row waited too long,
on the lake's own clock, in real Dagster runs (orchestration/checks/pending.py)."""

from __future__ import annotations

import json
from datetime import timedelta

import dagster as dg

from lakehouse.home import Home
from lakehouse.ingest import batch_id_for, discover, ingest_files
from orchestration.assets.bronze import QUARANTINE_KEY, ingest_bronze
from orchestration.assets.silver import silver_tables
from orchestration.checks.pending import CHECK_NAME, pending_age_check
from orchestration.definitions import defs
from orchestration.resources import LakehouseResource
from orchestration.sensors import assets_fed_by
from tests.gated import build_silver
from tests.integration.conftest import DELIVERED, jsonl, web_event, write_landing

CHECK = dg.AssetCheckKey(QUARANTINE_KEY, CHECK_NAME)
PRODUCT = {"product_id": "P1", "title": "t", "brand": "b", "category": "c", "subcategory": "s",
           "price": 9.99, "cost": 5.0, "supplier_id": "SUP1", "web_variant_id": "V1",
           "pos_sku": "K1", "wms_item_code": "W1", "launched_on": "2025-01-01",
           "status": "active"}
DUCKDB = {"config": {"gate_engine": "duckdb"}}


def _micro(files: list[str]) -> list[dg.AssetKey]:
    """What the landing sensor selects for these files, but the live inventory positions."""
    return [k for k in assets_fed_by(files) if k.path[0] != "inventory"]


def _run(home: Home, instance, selection=None, check_config: dict | None = None
         ) -> dg.AssetCheckEvaluation:
    ops = {"ingest_bronze": DUCKDB, "build_silver": DUCKDB}
    if check_config is not None:
        ops = {"quarantine__rows_pending_age": {"config": check_config}}
    result = dg.materialize(
        [ingest_bronze, silver_tables, pending_age_check], instance=instance,
        selection=selection, run_config={"ops": ops},
        resources={"lakehouse": LakehouseResource(home=str(home.root))})
    assert result.success
    (evaluation,) = [e for e in result.get_asset_check_evaluations()
                     if e.check_name == CHECK_NAME]
    return evaluation


def test_pending_rows_warn_once_the_lake_has_moved_on_without_them(tmp_path, monkeypatch):
    monkeypatch.delenv("LAKEHOUSE_PENDING_MAX_AGE_HOURS", raising=False)
    home = Home.resolve(tmp_path).ensure()
    # a history delivered long ago (wall clock is months later): a variant the catalog lacks
    write_landing(home, {
        "catalog/products_20260301_000.json": json.dumps(
            {"exported_at": "x", "products": [PRODUCT]}),
        "web/events_20260301_000.jsonl": jsonl([web_event(1, variant_id="V1"),
                                                web_event(2, variant_id="V7")]),
    })
    files = discover(home.root)
    ingest_files(home.root, files, batch_id_for(files))
    build_silver(home.root, batch_id_for(files))
    only_check = dg.AssetSelection.checks(CHECK)
    with dg.instance_for_test() as instance:
        first = _run(home, instance, only_check, {})
        # measured on the lake's clock: just delivered, not months old
        assert first.passed and first.severity == dg.AssetCheckSeverity.WARN
        assert first.metadata["pending_rows"].value == 1
        assert first.metadata["oldest_age_hours"].value == 0.0
        assert first.metadata["watermark"].value == DELIVERED.isoformat()

        # a micro-batch 30 hours of deliveries later: the row still waits for V7
        later = "web/events_20260302_000.jsonl"
        write_landing(home, {later: jsonl([web_event(3)])}, DELIVERED + timedelta(hours=30))
        late = _run(home, instance, selection=_micro([later]))
        assert not late.passed and late.severity == dg.AssetCheckSeverity.WARN
        assert late.metadata["overdue_rows"].value == 1
        assert late.metadata["overdue_by_kind"].value == {"unknown_product": 1}
        assert late.metadata["overdue_by_channel"].value == {"web": 1}
        assert late.metadata["oldest_age_hours"].value == 30.0
        assert "| unknown_product | web | 1 | **1** |" in (
            late.metadata["by_kind_and_channel"].value)
        assert "1 of 1 pending row(s) waited longer than 24 h" in late.description

        # the limit is configurable: the check's config (else $LAKEHOUSE_PENDING_MAX_AGE_HOURS)
        assert _run(home, instance, only_check, {"max_age_hours": 48}).passed


def test_the_check_runs_in_the_nightly_batch_and_after_every_micro_batch():
    nightly = defs.resolve_job_def("materialize_all").graph.node_dict
    assert "quarantine__rows_pending_age" in nightly
    micro = defs.resolve_job_def("micro_batch").get_subset(
        asset_selection={QUARANTINE_KEY, dg.AssetKey(["bronze", "web__events"]),
                         dg.AssetKey(["silver", "clickstream_events"])})
    assert "quarantine__rows_pending_age" in micro.graph.node_dict
    # after silver, which releases pending rows and holds back new ones
    upstream = micro.graph.dependency_structure.input_to_upstream_outputs_for_node(
        "quarantine__rows_pending_age")
    assert {o.node_name for outs in upstream.values() for o in outs} == {
        "ingest_bronze", "build_silver"}
