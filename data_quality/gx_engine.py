"""Great Expectations itself, pushed down as SQL into DuckDB.

GX 1.x validates a query over an in-memory DuckDB (SQLAlchemy + duckdb-engine): the row-level
expectations of a suite become aggregate SQL that DuckDB runs over the Parquet files (or the
relations of a DuckDB file), with no pandas in between. The expectations come from the GX
project's suite files (data_quality/gx/expectations/, see data_quality/gx_project.py), so an
edit there is what the gate checks.

Two GX internals are needed for DuckDB and both are fenced in ``_teach_gx_duckdb`` below; a
test fails loudly if a GX upgrade moves them. Nothing here writes into the repository: the
context is ephemeral, and Data Docs go to the directory the caller names.

Importing this module is cheap: great_expectations (~8 s) loads on first validation.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import threading
import types
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from data_quality.gx_project import PROJECT_DIR, class_name, load_suite, snake
from data_quality.results import SAMPLE_SIZE, Outcome
from data_quality.suites import PII_PATTERN, Expect, Suite, pii_candidate_sql
from lakehouse.storage.duck import quoted

_NOT_NULL = "expect_column_values_to_not_be_null"
_NOT_MATCH_REGEX = "expect_column_values_to_not_match_regex"
# result keys that carry raw values: dropped for PII columns before anything keeps a result
_VALUE_KEYS = ("partial_unexpected_list", "partial_unexpected_counts",
               "partial_unexpected_index_list", "unexpected_list", "unexpected_index_list",
               "unexpected_index_query", "unexpected_rows")
_lock = threading.Lock()  # one GX context and one DuckDB connection per process
_names = itertools.count()
BATCH_META = "lakehouse_batch"  # a result's own name among a run's results (Data Docs)


class _DuckDBDialectName(str):
    """Looks like a member of GX's GXSqlDialect enum: equal to ``"duckdb"``, with ``value``."""

    @property
    def value(self) -> str:
        return str(self)


def _teach_gx_duckdb() -> None:
    """Make GX keep one connection open for DuckDB, as it does for SQLite.

    Private GX symbol: ``great_expectations.execution_engine.sqlalchemy_execution_engine.
    _PERSISTED_CONNECTION_DIALECTS`` (a tuple of ``GXSqlDialect`` members, compared by
    ``dialect_name in ...`` and by ``.value`` prefix of the connection string). GX's SQL engine
    opens and closes a connection per query except for these dialects; over duckdb-engine an
    in-memory database dies with its connection and results come back empty (GX issue 10738).
    Adding DuckDB keeps one connection (and its in-memory database) for the engine's life.
    Guarded by tests/unit/data_quality/test_gx_engine.py::test_gx_private_symbols_still_exist.
    """
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine

    current = engine._PERSISTED_CONNECTION_DIALECTS
    if not any(d == "duckdb" for d in current):
        engine._PERSISTED_CONNECTION_DIALECTS = (*current, _DuckDBDialectName("duckdb"))


def _regex_as_postgres(execution_engine) -> None:
    """GX writes regex conditions only for dialects it knows (``great_expectations.expectations.
    metrics.util.get_dialect_regex_expression`` checks ``dialect.dialect`` of the engine's
    ``dialect_module``); for DuckDB it raises "Regex is not supported for dialect duckdb".
    DuckDB implements PostgreSQL's ``~`` / ``!~`` as ``regexp_matches`` (a search, like GX's
    pandas ``str.contains`` and the gate's SQL), so GX is told to write PostgreSQL regexes.
    The engine's ``dialect_module`` is otherwise used only to look up column types (type
    expectations, which no suite uses)."""
    import sqlalchemy as sa

    execution_engine.dialect_module = types.SimpleNamespace(dialect=sa.dialects.postgresql.dialect)


def _quiet_gx() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)


@cache
def _datasource():
    """The ephemeral context's DuckDB source (one in-memory database, created once)."""
    _quiet_gx()
    _teach_gx_duckdb()
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    source = context.data_sources.add_sql("lakehouse_duckdb",
                                          connection_string="duckdb:///:memory:")
    _regex_as_postgres(source.get_execution_engine())
    _quote_duckdb_keywords(source.get_execution_engine())
    from lakehouse.storage.duck import bound_memory

    with source.get_execution_engine().get_connection() as con:  # the one kept open
        bound_memory(con.connection.driver_connection)
    return source


@cache
def _rows_asset():
    """The source's one query asset and its whole-table batch definition. Each validation
    points the asset's ``query`` at its rows (under ``_lock``) instead of adding an asset and
    deleting it: every add and delete re-serialised the context's whole configuration to
    YAML, three times a validation, about 6 ms of each."""
    asset = _datasource().add_query_asset("rows", query="select 1 as nothing")
    return asset, asset.add_batch_definition_whole_table("rows")


def _quote_duckdb_keywords(execution_engine) -> None:
    """GX writes column names through SQLAlchemy, which quotes only the words its dialect
    knows as reserved; DuckDB has more (``at``, a column of gold.person_id_history, is one),
    and an unquoted keyword is a syntax error. Every DuckDB keyword is quoted (public
    SQLAlchemy API: ``IdentifierPreparer.reserved_words``)."""
    import duckdb

    words = {row[0] for row in duckdb.sql("select keyword_name from duckdb_keywords()")
             .fetchall()}
    preparer = execution_engine.engine.dialect.identifier_preparer
    preparer.reserved_words = set(preparer.reserved_words) | words


def _attach_object_store(con, query: str) -> None:
    """Let GX's DuckDB connection read the object-store files ``query`` names (DuckDB has no
    httpfs here: ``lakehouse.storage.objects.attach``); nothing for local files."""
    from lakehouse.storage.objects import attach, is_remote

    stores = {f"{scheme}://" for scheme in re.findall(r"'([A-Za-z][\w+.-]*)://", query)}
    if any(is_remote(s) for s in stores):
        attach(con.connection.driver_connection, sorted(stores))


def suites_project() -> Path:
    """The GX project whose suite files the gates check: ``$LAKEHOUSE_GX_PROJECT`` when set
    (a team's own copy, edited with GX), else the project's ``data_quality/gx``."""
    return Path(os.environ.get("LAKEHOUSE_GX_PROJECT") or PROJECT_DIR)


@dataclass
class Validation:
    """The gate's outcomes and GX's own (PII-scrubbed) result, for Data Docs."""

    outcomes: list[Outcome]
    result: Any  # great_expectations ExpectationSuiteValidationResult, or None (nothing ran)


def _run_set(suite: Suite, expectations: tuple[Expect, ...], project_dir: Path) -> list:
    """GX expectations to run: the suite file's version of each requested expectation (its
    kwargs as edited there), the code's where the file has none (mart suites' run-time part),
    plus expectations the file adds on columns the code does not check."""
    from data_quality.gx_project import gx_expectation

    gx_suite = load_suite(suite.name, project_dir)
    from_file: dict[tuple[str, str | None], list] = {}
    for e in gx_suite.expectations if gx_suite is not None else ():
        from_file.setdefault((e.expectation_type, getattr(e, "column", None)), []).append(e)
    in_code = {(snake(e.type), e.column) for e in suite.expectations}
    out, seen = [], set()
    for e in expectations:
        key = (snake(e.type), e.column)
        if key in seen:
            continue
        seen.add(key)
        out += from_file.get(key) or [gx_expectation(e)]
    columns = {e.column for e in expectations}
    for key, found in from_file.items():
        if key not in in_code and key[1] in columns | {None}:
            out += found
    return out


def _copy(expectation):
    copied = expectation.copy(deep=True)
    copied.id = None
    return copied


def validate(database: str | Path | None, query: str, suite: Suite,
             expectations: tuple[Expect, ...], *,
             project_dir: Path | None = None, rows: int | None = None) -> Validation:
    """Validate ``expectations`` of ``suite`` with GX on the rows of ``query`` (a DuckDB SELECT,
    e.g. over ``read_parquet([...])``). ``database``: a DuckDB file attached read-only as the
    default catalog for the query, or None (in-memory: the query reads files itself).
    ``rows``: how many rows the query returns, when the caller knows (then passing
    expectations are reported with that element count and no per-expectation queries)."""
    if not expectations:
        return Validation([], None)
    project_dir = project_dir or suites_project()
    with _lock:
        import great_expectations as gx

        source = _datasource()
        engine = source.get_execution_engine()
        alias = f"gx_db_{next(_names)}"
        batch_name = f"rows_{next(_names)}"  # names the result in Data Docs
        try:
            with engine.get_connection() as con:
                _attach_object_store(con, query)
                if database is not None:
                    path = str(database).replace("'", "''")
                    con.exec_driver_sql(f"attach '{path}' as {alias} (read_only)")
                    con.exec_driver_sql(f"use {alias}")
                    # SQLAlchemy began a transaction: without a commit, GX's first rollback of
                    # a process undoes the attach ("Catalog ... does not exist")
                    con.commit()
                # (Batch.columns() would do, but always draws a progress bar)
                found = con.exec_driver_sql(f"select * from ({query}) as q limit 0")
                columns = set(found.keys())
                found.fetchall()
            runnable = [e for e in _run_set(suite, expectations, project_dir)
                        if getattr(e, "column", None) in columns]
            missing = [e for e in expectations if e.column not in columns]
            runnable, batch_query, candidates = _narrow_pii(runnable, query, columns)
            asset, definition = _rows_asset()
            asset.query = batch_query
            batch = definition.get_batch()
            result = None
            if runnable:
                gx_suite = gx.ExpectationSuite(name=suite.name,
                                               expectations=[_copy(e) for e in runnable],
                                               meta={"query": query[:2000]})
                summary = {"result_format": "SUMMARY",
                           "partial_unexpected_count": SAMPLE_SIZE}
                # counts and samples cost GX a query per expectation: when the caller knows
                # the row count, ask first only whether each passes (one bundled query) and
                # fetch the details only when something failed
                result = batch.validate(gx_suite, result_format=summary if rows is None
                                        else "BOOLEAN_ONLY")
                if rows is not None and not result.success:
                    result = batch.validate(gx_suite, result_format=summary)
                    rows = None
        finally:
            if database is not None:
                with engine.get_connection() as con:
                    con.exec_driver_sql("use memory")
                    con.exec_driver_sql(f"detach database if exists {alias}")
    if result is not None:
        result.meta[BATCH_META] = batch_name
    for r in result.results if result else ():
        _point_back(r.expectation_config, candidates)
    outcomes = [_outcome(suite, r, rows) for r in (result.results if result else ())]
    outcomes += [Outcome(e.name, e.column, False, observed="column missing") for e in missing]
    return Validation(outcomes, result)


_CANDIDATES_NOTE = ("Searched on the values that contain '@' or are 9-16 bytes long: every "
                    "value the pattern can match (data_quality.suites.pii_candidate_sql).")


def _narrow_pii(runnable: list, query: str, columns: set[str]) -> tuple[list, str, dict]:
    """The PII scans (``PII_PATTERN``, as the code writes it: a suite file's own regex is
    left alone) re-pointed at a column holding only the values the pattern can match, null
    elsewhere (a regex expectation skips nulls), added to the batch query: GX's SQL then runs
    the regex on those values only (``suites.pii_candidate_sql``) and finds the same leaks.
    Returns the expectations, the batch query and ``{candidate column: column}``."""
    candidates: dict[str, str] = {}
    out = []
    for e in runnable:
        if e.expectation_type != _NOT_MATCH_REGEX or getattr(e, "regex", None) != PII_PATTERN:
            out.append(e)
            continue
        name = f"{e.column}__pii_candidates"
        while name in columns or name in candidates:
            name += "_"
        candidates[name] = e.column
        out.append(e.copy(update={"column": name}, deep=True))
    if not candidates:
        return runnable, query, {}
    added = ", ".join(
        f"case when {pii_candidate_sql(quoted(c))} then {quoted(c)} end as {quoted(n)}"
        for n, c in candidates.items())
    return out, f"select *, {added} from ({query}) as batch_rows", candidates


def _point_back(config, candidates: dict[str, str]) -> None:
    """A result of a narrowed PII scan names its column again (the gate's outcome and Data
    Docs show the column that was checked), with a note saying how it was searched."""
    column = config.kwargs.get("column")
    if column in candidates:
        config.kwargs["column"] = candidates[column]
        config.notes = _CANDIDATES_NOTE


def _outcome(suite: Suite, r, rows: int | None = None) -> Outcome:
    """One GX expectation result as the gate's Outcome (``rows``: the row count of a result
    asked only for success, every row of which was checked); drops raw values of PII columns
    from the GX result itself."""
    config = r.expectation_config
    column = config.kwargs.get("column")
    details = r.result or ({"element_count": rows, "unexpected_count": 0} if rows else {})
    outcome = Outcome(f"{class_name(config.type)}({column})", column, bool(r.success),
                      element_count=int(details.get("element_count") or 0),
                      unexpected_count=int(details.get("unexpected_count") or 0))
    error = _error(r.exception_info) if not r.success else None
    if error:
        outcome.observed = f"error: {error}"
    if column in suite.pii_columns:
        for key in _VALUE_KEYS:
            details.pop(key, None)
        if details:
            details["values_withheld"] = "PII column"
    elif config.type != _NOT_NULL and not r.success:
        sample = list(details.get("partial_unexpected_list") or [])[:SAMPLE_SIZE]
        outcome.sample = [str(v) for v in sample] or None
    return outcome


def _error(info: dict | None) -> str | None:
    """GX's exception message of a result: flat, or one per metric it could not compute."""
    if not info:
        return None
    if info.get("exception_message"):
        return str(info["exception_message"]).splitlines()[0]
    nested = [v.get("exception_message") for v in info.values() if isinstance(v, dict)]
    return next((str(m).splitlines()[0] for m in nested if m), None)


def validate_rows(database: str | Path | None, query: str, suite: Suite,
                  expectations: tuple[Expect, ...]) -> list[Outcome]:
    """The gate's outcomes of ``expectations`` on the rows of ``query``, evaluated by GX as SQL
    in DuckDB (see ``validate``)."""
    return validate(database, query, suite, expectations).outcomes


# Data Docs ---------------------------------------------------------------------------------


@cache
def _docs_context(site_dir: Path):
    _quiet_gx()
    import great_expectations as gx
    from great_expectations.data_context.types.base import DataContextConfig

    def in_memory(store: str) -> dict:
        return {"class_name": store, "store_backend": {"class_name": "InMemoryStoreBackend"}}

    config = DataContextConfig(
        stores={
            "expectations_store": in_memory("ExpectationsStore"),
            "validation_results_store": {
                "class_name": "ValidationResultsStore",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                                  "base_directory": str(site_dir / "_results")}},
            "checkpoint_store": in_memory("CheckpointStore"),
            "validation_definition_store": in_memory("ValidationDefinitionStore"),
        },
        expectations_store_name="expectations_store",
        validation_results_store_name="validation_results_store",
        checkpoint_store_name="checkpoint_store",
        data_docs_sites={"local_site": {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                              "base_directory": str(site_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }},
        analytics_enabled=False,
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def build_data_docs(site_dir: Path, results: list, run_name: str | None = None,
                    at: datetime | None = None, index: bool = True
                    ) -> tuple[Path, list[str | None]]:
    """Store GX validation results (``Validation.result``) under ``site_dir/_results`` and
    render them with GX's own site builder into ``site_dir`` (the index page too unless
    ``index`` is False: ``build_index`` rebuilds it later). Returns the index.html path and
    the page of each result (a file URL as GX links it, None for a None result), in order."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    site_dir = Path(site_dir).resolve()
    site_dir.mkdir(parents=True, exist_ok=True)
    context = _docs_context(site_dir)
    run_id = RunIdentifier(run_name=run_name or "gate", run_time=at or datetime.now(UTC))
    keys: list = []
    for result in results:
        if result is None:
            keys.append(None)
            continue
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=result.suite_name),
            run_id=run_id, batch_identifier=_batch_identifier(result))
        result.meta["run_id"] = run_id
        context.validation_results_store.set(key, result)
        keys.append(key)
    stored = [k for k in keys if k is not None]
    context.build_data_docs(site_names=["local_site"], resource_identifiers=stored or None,
                            build_index=index)
    links: list[str | None] = []
    for key in keys:
        urls = context.get_docs_sites_urls(resource_identifier=key, site_name="local_site") \
            if key is not None else []
        links.append(urls[0].get("site_url") if urls else None)
    return site_dir / "index.html", links


def build_index(site_dir: Path) -> Path | None:
    """Rebuild the index page of ``site_dir`` from every result it stores; None when it stores
    none. GX builds an index only along with pages (with no page named, every page), so the
    newest result's page is rendered again with it."""
    site_dir = Path(site_dir).resolve()
    context = _docs_context(site_dir)
    keys = context.validation_results_store.list_keys()
    if not keys:
        return None
    newest = max(keys, key=lambda key: (key.run_id.run_time, key.to_tuple()))
    context.build_data_docs(site_names=["local_site"], resource_identifiers=[newest],
                            build_index=True)
    return site_dir / "index.html"


def _batch_identifier(result) -> str:
    if result.meta.get(BATCH_META):
        return result.meta[BATCH_META]
    definition = result.meta.get("active_batch_definition") or {}
    asset = getattr(definition, "data_asset_name", None) or (
        definition.get("data_asset_name") if isinstance(definition, dict) else None)
    return asset or "rows"
