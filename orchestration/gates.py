"""GX gates as Dagster asset-check results: which expectation failed, observed values."""

import functools
import time
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Literal

import dagster as dg

from data_quality.docs import index_page, render
from data_quality.lake import gate_table
from data_quality.results import GateResult
from data_quality.suites import Suite, gold_suites
from lakehouse.home import Home
from lakehouse.storage.validations import (
    batched,
    table_name,
)
from orchestration.metadata import table_metadata
from orchestration.resources import LakehouseResource
from orchestration.runtime.docs_server import docs_link

# "gx" (default): Great Expectations validates each suite, pushed down as SQL into DuckDB, and
# renders its Data Docs; "duckdb" (opt-in): the same expectations as the gate's own SQL, with
# no GX import, held equal to GX by a generated corpus (tests/unit/data_quality/test_gx_engine.py).
GateEngine = Literal["gx", "duckdb"]
DEFAULT_ENGINE: GateEngine = "gx"

# the GX results of the gates of the running step, rendered into Data Docs when it ends
_DOCS: ContextVar[list | None] = ContextVar("gx_results", default=None)
# the home whose Data Docs site they go to (the lake's parent, unless the lake is in a store)
_ROOT: ContextVar[Path | None] = ContextVar("gx_docs_home", default=None)


def one_registry_commit(fn):
    """An asset body whose gates are recorded in the validation registry in one commit when
    the step ends, all or nothing: one failed gate (or an error) and no table of the step
    gets a new validated pin. GX's results of the step are rendered into Data Docs once."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        results: list = []
        given = [*args, *kwargs.values()]
        home = next(v.paths for v in given if isinstance(v, LakehouseResource))
        token = _DOCS.set(results)
        root_token = _ROOT.set(home.root)
        try:
            with batched():
                yield from fn(*args, **kwargs)
        finally:
            _DOCS.reset(token)
            _ROOT.reset(root_token)
            context = next(v for v in given if isinstance(v, dg.AssetExecutionContext))
            render(home.root, results, context.run_id)
    return wrapper


def gate_result(uri: str, suite: Suite, asset_key: dg.AssetKey, check_name: str,
                run_id: str | None = None, **kwargs) -> dg.AssetCheckResult:
    """Validate every commit since the table's validated pin and record the outcome: a pass
    moves the pin to the checked version (with the step's other gates, all or nothing), a
    failure leaves it where it was. A table whose latest version is already the pin has
    nothing unchecked: that is said, not re-validated."""
    started = time.perf_counter()
    pin, result = gate_table(uri, suite, run_id, **kwargs)
    seconds = time.perf_counter() - started
    if result is None:
        assert pin is not None
        return pinned_gate(asset_key, check_name, pin)
    lake, _ = table_name(uri)
    pending = _DOCS.get()
    if pending is not None:
        pending.append(result.gx_result)
    root = _ROOT.get() or (lake.parent if isinstance(lake, Path) else Home.resolve().root)
    return check_result(result, asset_key, check_name, index_page(root), result.engine, seconds)


def check_result(result: GateResult, asset_key: dg.AssetKey, check_name: str, docs: Path,
                 engine: str, seconds: float) -> dg.AssetCheckResult:
    """A gate result as a Dagster check result: each expectation, observed values, the page."""
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=check_name,
        passed=result.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=result.describe()[:1000],
        metadata={
            "suite": result.suite,
            "engine": engine,
            "rows_validated": result.rows,
            # lake tables only (a warehouse relation has no Delta version to plot)
            **({} if result.version is None else {
                "delta_version": result.version,
                # the commits checked: every one after the previous pin (-1: the whole table)
                "checked_since_version": -1 if result.since_version is None
                else result.since_version}),
            "expectations": len(result.outcomes),
            "failed": len(result.failed),
            "failed_expectations": [o.name for o in result.failed],
            "results": dg.MetadataValue.md(result.markdown()),
            "data_docs": docs_link(docs, docs.parents[1]),
            "gate_seconds": round(seconds, 3),
        },
    )


def pinned_gate(asset_key: dg.AssetKey, check_name: str, version: int) -> dg.AssetCheckResult:
    """The gate of a table whose latest version is its validated pin: nothing to check."""
    return dg.AssetCheckResult(
        asset_key=asset_key, check_name=check_name, passed=True,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"version {version} is the validated pin: no commit since it to check",
        metadata={"rows_validated": 0, "delta_version": version, "validated_pin": version},
    )


def gold_table_specs(group: str, descriptions: dict[str, str], deps: list[dg.AssetKey],
                     layer=lambda name: "gold"
                     ) -> tuple[list[dg.AssetSpec], list[dg.AssetCheckSpec]]:
    """Specs of a group of derived tables built in one step, each with its blocking gate."""
    specs = [dg.AssetSpec([group, name], deps=deps, group_name=group, description=text,
                          kinds={"delta", "polars"}, owners=["team:data-platform"],
                          tags={"layer": layer(name)})
             for name, text in descriptions.items()]
    checks = [dg.AssetCheckSpec("gx_gold_gate", asset=[group, name], blocking=True,
                                description=f"GX suite gold.{name}")
              for name in descriptions]
    return specs, checks


def gold_step(name: str, group: str, descriptions: dict[str, str], deps: list[dg.AssetKey],
              layer=lambda name: "gold",
              automation_condition: dg.AutomationCondition | None = None,
              ) -> Callable[[Callable], dg.AssetsDefinition]:
    """The Dagster step that builds a group of derived tables: every table or none (they are
    written together), each behind its blocking gate, the step's gates in one registry commit
    (``one_registry_commit``). Decorates the step's body."""
    specs, checks = gold_table_specs(group, descriptions, deps, layer)
    if automation_condition is not None:
        specs = [spec.replace_attributes(automation_condition=automation_condition)
                 for spec in specs]

    def decorate(body):
        return dg.multi_asset(specs=specs, check_specs=checks, name=name,
                              can_subset=False)(one_registry_commit(body))
    return decorate


def gold_table_results(group: str, uris: dict[str, str], metadata: dict,
                       run_id: str | None = None, suites: dict[str, Suite] | None = None,
                       engine: GateEngine = DEFAULT_ENGINE):
    """Materialization and gate result of every table of a derived-table group."""
    suites = suites or gold_suites()
    for name, uri in uris.items():
        yield dg.MaterializeResult(asset_key=[group, name],
                                   metadata={**table_metadata(uri), **metadata})
        yield gate_result(uri, suites[name], dg.AssetKey([group, name]), "gx_gold_gate",
                          run_id=run_id, engine=engine)
