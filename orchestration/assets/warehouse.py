"""Audit and publish of the dbt warehouse (write-audit-publish).

`dbt_models` writes into the build file; `gx_warehouse_gate` validates every dbt model there
(blocking: nothing downstream of a failed model runs) and records the audit; the `warehouse`
asset publishes the build as the analysts' ``H/warehouse.duckdb`` only if that audit matches
the file and every relation passed (publishing checks the gate itself, whatever ran before).
"""

import json
import os
import time
from collections.abc import Iterator

import dagster as dg

from data_quality.docs import index_page, render
from data_quality.mart_rules import MART_RULES
from data_quality.suites import mart_suite
from data_quality.warehouse_gate import Warehouse
from lakehouse.warehouse.publish import (
    build_path,
    checkpoint,
    publish,
    published_audit,
    published_path,
    record_audit,
    sha256_file,
)
from orchestration.assets.dbt import model_relations
from orchestration.gates import DEFAULT_ENGINE, GateEngine, check_result
from orchestration.resources import LakehouseResource
from orchestration.runtime.docs_server import DOCS_URL_ENV

RELATIONS: dict[dg.AssetKey, str] = model_relations()


class WarehouseGateConfig(dg.Config):
    # "gx" (default): Great Expectations validates each relation, pushed down as SQL into the
    # build file; "duckdb" (opt-in): the same expectations as the gate's own SQL, no GX import
    engine: GateEngine = DEFAULT_ENGINE


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec("gx_warehouse_gate", asset=key, blocking=True,
                             description=f"GX suite warehouse.{relation}: keys, ranges, "
                             "references, no future timestamps, no raw PII")
           for key, relation in RELATIONS.items()],
    can_subset=True,
)
def gx_warehouse_gate(context: dg.AssetCheckExecutionContext, config: WarehouseGateConfig,
                      lakehouse: LakehouseResource) -> Iterator[dg.AssetCheckResult]:
    """Audit of the build file: every dbt model's suite, recorded for the publish step."""
    home = lakehouse.paths
    database = build_path(home)
    run_id = context.op_execution_context.run_id
    started = time.perf_counter()
    checkpoint(database)  # the audit and the copy must see the same, complete file
    results: dict[str, bool] = {}
    gx_results: list = []
    selected = {k.asset_key: k for k in context.selected_asset_check_keys}
    with Warehouse(database) as warehouse:
        # each check's seconds include its share of opening the file, so the run's
        # validation figure is the whole audit. Every model is audited, selected or not: a
        # run that rebuilt one mart (from the UI) changed the file, and publishing needs an
        # audit of all of it
        for key, relation in RELATIONS.items():
            suite = mart_suite(relation, warehouse.columns(relation), MART_RULES.get(relation))
            result = warehouse.validate(relation, suite, engine=config.engine)
            results[relation] = result.passed
            gx_results.append(result.gx_result)
            if key not in selected:
                context.log.info(f"{relation} (not selected): {result.describe()}")
                continue
            seconds, started = time.perf_counter() - started, time.perf_counter()
            yield check_result(result, key, selected[key].name, index_page(home.root),
                               result.engine, seconds)
        # tables dbt writes that are not models (the plugin's record of the input versions
        # it read) are published too: they pass the same generic suite (no PII, no future
        # times)
        for relation in sorted(set(warehouse.relations()) - set(RELATIONS.values())):
            result = warehouse.validate(relation, mart_suite(relation,
                                                             warehouse.columns(relation)),
                                        engine=config.engine)
            results[relation] = result.passed
            context.log.info(f"non-model relation {relation}: {result.describe()}")
    render(home.root, gx_results, run_id)
    record_audit(home, results)


PUBLISH_CHECK = "published_bytes_match_audit"
AUTOMATION_SENSOR = "warehouse_automation"


@dg.asset(
    key=["warehouse"],
    deps=list(RELATIONS),
    group_name="warehouse",
    kinds={"duckdb"},
    owners=["team:data-platform"],
    description="The analysts' DuckDB file (H/warehouse.duckdb): the audited dbt build, "
    "published by an atomic rename only when every model passed its gate and the copy is "
    "byte for byte the audited file. Open it in any DuckDB client; a run never waits for an "
    "analyst holding it open. Follows its models: a mart rebuilt outside the nightly job "
    "(from the UI) is published by the warehouse_automation sensor.",
    # publishing checks the audit itself, so an automation run (which does not honour
    # blocking checks) cannot publish a build that failed its gate
    automation_condition=dg.AutomationCondition.eager(),
)
def warehouse(context: dg.AssetExecutionContext,
              lakehouse: LakehouseResource) -> dg.MaterializeResult:
    home = lakehouse.paths
    done = publish(home)  # refuses (PublishMismatch) when the copy is not the audited bytes
    audit = json.loads((home.root / "warehouse.build.audit.json").read_text())
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(published_path(home))),
        "relations": done.relations,
        "bytes": done.bytes,
        "audited_at": done.audited_at,
        "audited_sha256": done.audited_sha256,
        "published_sha256": done.published_sha256,
        "relations_published": dg.MetadataValue.md(
            "\n".join(f"- `{r}`" for r in sorted(audit["results"]))),
        "open_with": dg.MetadataValue.md(
            f"```\nduckdb -readonly {published_path(home)}\n```"),
        **_dbt_docs_link(),
    })


def _dbt_docs_link() -> dict:
    """dbt's docs for this warehouse, when `lakehouse dev` serves them (built on first open)."""
    base = os.environ.get(DOCS_URL_ENV)
    return {"dbt_docs": dg.MetadataValue.url(f"{base.rstrip('/')}/dbt/")} if base else {}


@dg.asset_check(
    asset=warehouse, name=PUBLISH_CHECK, blocking=True,
    description="The published H/warehouse.duckdb is, byte for byte, the build the warehouse "
    "gate audited: the SHA-256 recorded at audit time equals the SHA-256 of the published file.",
)
def published_bytes_match_audit(lakehouse: LakehouseResource) -> dg.AssetCheckResult:
    home = lakehouse.paths
    record = published_audit(home)
    target = published_path(home)
    if record is None or not target.exists():
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.ERROR,
                                   description="nothing published yet (no audited publish "
                                   "record beside the warehouse)")
    actual = sha256_file(target)
    same = actual == record["sha256"]
    return dg.AssetCheckResult(
        passed=same, severity=dg.AssetCheckSeverity.ERROR,
        description=(f"{target.name} ({target.stat().st_size} bytes) is the build audited at "
                     f"{record['audited_at']}, byte for byte" if same else
                     f"{target.name} has SHA-256 {actual}, the audited build had "
                     f"{record['sha256']}: it is not the audited file"),
        metadata={"audited_sha256": record["sha256"], "published_sha256": actual,
                  "audited_at": record["audited_at"]})


warehouse_automation = dg.AutomationConditionSensorDefinition(
    AUTOMATION_SENSOR, target=[warehouse], default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=15,
    description="Publishes the warehouse when its models changed since it last did (a mart "
    "rebuilt from the UI); the nightly job publishes in the same run.")
