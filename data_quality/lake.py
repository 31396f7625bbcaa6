"""Every Delta table of a lake with its suite, and validating a layer outside Dagster.

The Dagster assets gate each table as they write it. This is the same gate for the other ways
a lake is written: a lake built by calling the ``lakehouse`` functions directly (tests,
benchmarks, notebooks), or a table repaired by hand that must be re-checked before readers of
validated data may see it. It validates every commit since each table's pin and records the
outcome, a layer's tables all or nothing, exactly as a step of the pipeline does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from deltalake import DeltaTable

from data_quality.gate import validate_table
from data_quality.ml_suites import ml_suites
from data_quality.results import GateResult
from data_quality.suites import Suite, bronze_suites, gold_suites, quarantine_suite, silver_suite
from lakehouse.silver import LAYOUTS
from lakehouse.storage.validations import batched, record_validation, validated_version


def suite_for(table: str) -> Suite | None:
    """The suite of ``<layer>/<name>`` under H/lake (None for a table no suite covers)."""
    layer, _, name = table.partition("/")
    if layer == "bronze":
        return bronze_suites().get(name)
    if layer == "quarantine" and name == "rows":
        return quarantine_suite()
    if layer == "silver" and name in LAYOUTS:
        return silver_suite(name, LAYOUTS[name].key)
    if layer in ("silver", "gold"):
        return {**gold_suites(), **ml_suites()}.get(name)
    return None


def referenced_first(tables: Sequence[str],
                     after: Mapping[str, set[str]] | None = None) -> list[str]:
    """``tables`` ordered so that every table comes after the tables it references (a
    reference is checked against the version its table's gate just passed) and after the
    tables ``after`` lists for it (its lineage); by name within."""
    def refs(t: str) -> set[str]:
        suite = suite_for(t)
        return ({ref if "/" in ref else f"{t.split('/')[0]}/{ref}"
                 for _, ref, *_ in (suite.references if suite else ())}
                | (after or {}).get(t, set())) - {t}

    left, out = sorted(tables), []
    while left:
        ready = [t for t in left if not (refs(t) & set(left))] or left[:1]  # a cycle: by name
        out += ready
        left = [t for t in left if t not in ready]
    return out


def gate_table(uri: str, suite: Suite, run_id: str | None = None,
               **kwargs) -> tuple[int | None, GateResult | None]:
    """Validate every commit since the table's pin and record the outcome (a pass moves the
    pin, a failure leaves it). Returns the pin it started from and the result; no result when
    the latest version already is the pin (nothing unchecked: nothing re-validated)."""
    pin = validated_version(uri)
    if pin is not None and DeltaTable.is_deltatable(uri) and DeltaTable(uri).version() == pin:
        return pin, None
    result = validate_table(uri, suite, since_version=pin, **kwargs)
    if result.version is not None:
        record_validation(uri, result.version, suite.name, result.rows, run_id,
                          passed=result.passed, from_version=pin)
    return pin, result


def validate_layer(lake: Path, layer: str, engine: str = "duckdb",
                   run_id: str | None = None) -> dict[str, GateResult]:
    """Gate every table of ``layer`` that has a suite, recording the outcomes all or nothing
    (a failure anywhere leaves every pin of the layer where it was)."""
    tables = [f"{layer}/{p.name}" for p in sorted((lake / layer).glob("*"))
              if DeltaTable.is_deltatable(str(p)) and suite_for(f"{layer}/{p.name}")]
    results: dict[str, GateResult] = {}
    with batched():
        for table in referenced_first(tables):
            suite = suite_for(table)
            assert suite is not None
            _, result = gate_table(str(lake / table), suite, run_id, engine=engine)
            if result is not None:
                results[table] = result
    return results


class GateFailed(RuntimeError):
    """A gate failed where the caller needs every table to pass (a bench or test preparing a
    lake, a replay): the message holds every failed gate's description."""


def gate_layers(lake: Path, *layers: str, engine: str = "duckdb") -> None:
    """``validate_layer`` for each of ``layers`` in order; raises ``GateFailed`` naming every
    gate that failed (their pins stay where they were)."""
    for layer in layers:
        failed = [r.describe() for r in validate_layer(lake, layer, engine).values()
                  if not r.passed]
        if failed:
            raise GateFailed("; ".join(failed))
