"""`quarantine_replay`: replay quarantined rows from the UI (the job behind
`lakehouse quarantine replay`).

An op job, not an asset: a replay writes into tables other assets own (bronze, silver, the
quarantine). The op calls ``lakehouse.ingest.replay.replay`` and gates what it wrote as the
pipeline's steps do (every commit since each table's pin, recorded all or nothing, GX by
default); each table a gate checked gets a materialization and its gate's evaluation on its own
asset, so the graph shows the replay. The output's metadata counts the selected rows released,
still waiting, replayed and still failing per error kind and channel.
"""


import time
from collections.abc import Mapping, Sequence
from typing import Literal

import dagster as dg
from deltalake import DeltaTable

from data_quality.docs import index_page, render
from data_quality.lake import GateFailed, gate_table, referenced_first, suite_for
from lakehouse.ingest.replay import Selection, replay
from lakehouse.storage.validations import batched
from orchestration.gates import DEFAULT_ENGINE, GateEngine, check_result
from orchestration.metadata import table_metadata
from orchestration.resources import LakehouseResource

OP_NAME = "replay_quarantine"
JOB_NAME = "quarantine_replay"
GATE_CHECKS = {"bronze": "gx_bronze_gate", "silver": "gx_silver_gate",
               "quarantine": "gx_quarantine_gate"}


class ReplayConfig(dg.Config):
    """Which quarantine rows to replay (every filter empty: every row not released yet)."""

    kinds: list[str] = []  # noqa: RUF012 (pydantic copies defaults) error kinds; empty: any
    channels: list[str] = []  # noqa: RUF012 source channels; empty: any
    file: str = ""  # part of the source file path (relative to landing/); empty: any
    status: Literal["", "pending", "dead", "released", "all"] = ""  # "": pending and dead
    gate_engine: GateEngine = DEFAULT_ENGINE
    rows: int = 20  # rows still waiting or failing listed in the summary


def gate_tables(context: dg.OpExecutionContext, lakehouse: LakehouseResource,
                tables: Sequence[str], engine: GateEngine, docs: list) -> None:
    """Gate lake tables (``bronze/x``, ``silver/y``, ``quarantine/rows``) as a pipeline step
    does, all or nothing; a table with commits since its pin is logged as materialized, with
    its gate's evaluation. Raises ``GateFailed`` naming what failed."""
    home = lakehouse.paths
    failed = []
    with batched():
        for table in referenced_first(tables):
            uri = str(home.lake / table)
            suite = suite_for(table)
            if suite is None or not DeltaTable.is_deltatable(uri):
                continue
            started = time.perf_counter()
            _, result = gate_table(uri, suite, context.run_id, engine=engine)
            if result is None:  # the latest version is the pin: nothing new to check
                continue
            layer, name = table.split("/", 1)
            key = dg.AssetKey([layer, name])
            docs.append(result.gx_result)
            check = check_result(result, key, GATE_CHECKS[layer], index_page(home.root),
                                 result.engine, time.perf_counter() - started)
            context.log_event(dg.AssetMaterialization(
                key, description="written by a quarantine replay",
                metadata={**table_metadata(uri), "written_by": JOB_NAME}))
            context.log_event(dg.AssetCheckEvaluation(
                asset_key=key, check_name=check.check_name, passed=bool(check.passed),
                metadata=check.metadata, severity=check.severity,
                description=check.description, blocking=True))
            if not result.passed:
                failed.append(result.describe())
    if failed:
        raise GateFailed("; ".join(failed)[:2000])


def _md(mapping: Mapping[str, int]) -> dg.MetadataValue:
    if not mapping:
        return dg.MetadataValue.md("(none)")
    lines = ["| kind/channel | rows |", "| --- | ---: |"]
    lines += [f"| {k} | {v} |" for k, v in sorted(mapping.items(), key=lambda kv: -kv[1])]
    return dg.MetadataValue.md("\n".join(lines))


@dg.op(
    name=OP_NAME,
    description="Replays the selected quarantine rows: a release pass for pending rows, the "
    "current contract for dead rows (those that pass go to bronze as a `replay-...` batch, "
    "once, then to silver), every written table gated.",
    tags={"kind": "delta"},
)
def replay_quarantine(context: dg.OpExecutionContext, config: ReplayConfig,
                      lakehouse: LakehouseResource) -> dg.Output[str]:
    selection = Selection.of(config.kinds, config.channels, config.file, config.status)
    context.log.info(f"replaying quarantine rows: {selection.describe()}")
    docs: list = []
    try:
        report = replay(lakehouse.paths, selection, gate=lambda tables: gate_tables(
            context, lakehouse, tables, config.gate_engine, docs))
    finally:
        render(lakehouse.paths.root, docs, context.run_id)
    meta = report.metadata()
    summary = report.describe(config.rows)
    context.log.info(summary)
    return dg.Output(summary, metadata={
        **{k: v for k, v in meta.items() if isinstance(v, int | str)},
        "released_by_kind_channel": _md(meta["released_by_kind_channel"]),
        "waiting_by_kind_channel": _md(meta["waiting_by_kind_channel"]),
        "replayed_by_kind_channel": _md(meta["replayed_by_kind_channel"]),
        "still_failing_by_kind_channel": _md(meta["still_failing_by_kind_channel"]),
        "bronze_appended": dg.MetadataValue.json(meta["bronze_appended"]),
        "summary": dg.MetadataValue.md(f"```\n{summary}\n```"),
    })


def replay_job(tags: Mapping[str, str]) -> dg.JobDefinition:
    """The job, with the tags of the runs that write the lake (they never overlap)."""

    @dg.job(name=JOB_NAME, tags=dict(tags), executor_def=dg.in_process_executor,
            description="Replay quarantined rows (config: kinds, channels, file, status): "
            "pending rows get a release pass, dead rows are judged by the current contract; "
            "what passes reaches bronze and silver once, gated.")
    def quarantine_replay() -> None:
        replay_quarantine()

    return quarantine_replay
