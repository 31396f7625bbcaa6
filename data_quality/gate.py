"""Run a suite against a Delta table (or one batch of it) in bounded memory.

Row-level expectations run through Great Expectations on pandas chunks streamed out of DuckDB;
table-level metrics (row count, key uniqueness, orphans, newest timestamp) are computed in
DuckDB. DuckDB reads the Parquet files of the Delta snapshot itself: files written by different
writers (polars, delta-rs MERGE) mix string and string_view, which pyarrow's filter kernels
reject. Values of PII columns never reach the report.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from deltalake import DeltaTable

from data_quality.suites import Expect, Suite

SAMPLE_SIZE = 5
ENGINES = ("gx", "duckdb", "auto")
# engine="auto": Great Expectations itself up to this many rows to check, the same expectations
# as one DuckDB scan above it (GX on pandas costs ~50 s per million rows of a wide suite here)
GX_MAX_ROWS = 100_000


@dataclass
class Outcome:
    name: str
    column: str | None
    passed: bool
    element_count: int = 0
    unexpected_count: int = 0
    observed: Any = None
    sample: list[Any] | None = None  # a few unexpected values; None for PII columns

    @property
    def unexpected_percent(self) -> float:
        return 100.0 * self.unexpected_count / self.element_count if self.element_count else 0.0


@dataclass
class GateResult:
    suite: str
    table: str
    version: int | None
    rows: int
    outcomes: list[Outcome] = field(default_factory=list)
    engine: str = "gx"  # the engine that evaluated the row-level expectations

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.passed]

    def describe(self) -> str:
        if self.passed:
            return f"{self.suite}: {len(self.outcomes)} expectations passed on {self.rows} rows"
        parts = [f"{o.name}: {o.unexpected_count} unexpected" if o.element_count
                 else f"{o.name}: observed {o.observed}" for o in self.failed]
        return f"{self.suite}: {len(self.failed)} of {len(self.outcomes)} failed: " + "; ".join(
            parts)

    def markdown(self) -> str:
        rows = ["| expectation | passed | rows | unexpected | observed / sample |",
                "| --- | --- | --- | --- | --- |"]
        for o in sorted(self.outcomes, key=lambda o: (o.passed, o.name)):
            shown = o.observed if o.observed is not None else (
                "(PII: values withheld)" if o.sample is None and o.unexpected_count else o.sample)
            counts = (f"{o.element_count} | {o.unexpected_count} ({o.unexpected_percent:.2f}%)"
                      if o.element_count else "- | -")
            rows.append(f"| {o.name} | {'yes' if o.passed else '**NO**'} | {counts} | "
                        f"{shown if shown is not None else ''} |")
        return "\n".join(rows)


def _quiet_gx() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)


@cache
def _context():
    _quiet_gx()
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    asset = context.data_sources.add_pandas("lakehouse").add_dataframe_asset("chunk")
    return context, asset.add_batch_definition_whole_dataframe("chunk")


def _gx_suite(suite: Suite, expectations: tuple[Expect, ...]):
    import great_expectations as gx

    context, _ = _context()
    # Which expectations apply depends on the columns a table has so far (schema drift).
    digest = hashlib.sha1(repr(expectations).encode()).hexdigest()[:12]
    name = f"{suite.name}#{digest}"
    try:
        return context.suites.get(name)
    except Exception:  # GX raises its own not-found error type
        gx_suite = gx.ExpectationSuite(name=name)
        for e in expectations:
            cls = getattr(gx.expectations, e.type)
            kwargs = {k: list(v) if isinstance(v, tuple) else v for k, v in e.kwargs}
            gx_suite.add_expectation(cls(column=e.column, **kwargs))
        return context.suites.add(gx_suite)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _chunks(record_batches, chunk_rows: int):
    """pandas frames of about `chunk_rows` rows: many small files must not mean many GX runs."""
    pending, size = [], 0
    for rb in record_batches:
        if rb.num_rows:
            pending.append(rb)
            size += rb.num_rows
        if size >= chunk_rows:
            yield pa.Table.from_batches(pending).to_pandas()
            pending, size = [], 0
    if pending:
        yield pa.Table.from_batches(pending).to_pandas()


def _validate_chunks(suite: Suite, expectations: tuple[Expect, ...], batches) -> list[Outcome]:
    outcomes = {e.name: Outcome(e.name, e.column, True) for e in expectations}
    if not expectations:
        return []
    gx_suite = _gx_suite(suite, expectations)
    _, batch_definition = _context()
    by_key = {(_snake(e.type), e.column): e.name for e in expectations}
    for frame in batches:
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(gx_suite, result_format="SUMMARY")
        for r in result.results:
            config = r.expectation_config
            name = by_key[(config.type, config.kwargs["column"])]
            outcome = outcomes[name]
            details = r.result or {}
            outcome.element_count += int(details.get("element_count") or 0)
            outcome.unexpected_count += int(details.get("unexpected_count") or 0)
            outcome.passed &= bool(r.success)
            if _sampled(suite, config.type, outcome.column) and not r.success:
                sample = (outcome.sample or []) + list(details.get("partial_unexpected_list")
                                                       or [])
                outcome.sample = [str(v) for v in sample[:SAMPLE_SIZE]]
    return list(outcomes.values())


def _register(con, name: str, table: DeltaTable) -> bool:
    """A view over the snapshot's Parquet files (partition values from the paths, missing
    columns of older files as nulls); False when the snapshot has no file."""
    files = [u.removeprefix("file://") for u in table.file_uris()]
    if not files:
        return False
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    con.execute(f"create or replace view {name} as select * from read_parquet([{listed}], "
                "union_by_name = true, hive_partitioning = true)")
    return True


def _delta_refs(uri: str):
    """Resolve a suite's referenced table as a sibling Delta table of the validated one."""
    def register(con, table: str) -> bool:
        other_uri = str(Path(uri).parent / table)
        if not DeltaTable.is_deltatable(other_uri):
            return False
        if not _register(con, "ref", DeltaTable(other_uri)):
            con.execute("create or replace view ref as select null as v where false")
        return True
    return register


def _table_metrics(con, suite: Suite, refs, names: set[str], where: str, params: list,
                   now: datetime, max_future_skew: timedelta) -> tuple[int, list[Outcome]]:
    """Row count, key uniqueness, orphans and newest timestamp of view ``t``; ``refs(con,
    table)`` registers a referenced table as view ``ref`` (False when it does not exist)."""
    rows = con.execute(f"select count(*) from t {where}", params).fetchall()[0][0]
    outcomes = [Outcome(f"row_count >= {suite.min_rows}", None, rows >= suite.min_rows,
                        observed=rows)]
    if suite.unique_key:
        key = ", ".join(f'"{c}"' for c in suite.unique_key)
        dupes = con.execute(
            f"select count(*) from (select {key} from t {where} "
            f"group by {key} having count(*) > 1)",
            params).fetchall()[0][0]
        outcomes.append(Outcome(f"unique({', '.join(suite.unique_key)})", None, dupes == 0,
                                observed=f"{dupes} duplicated keys"))
    for column, table, other in suite.references:
        name = f"{column} references {table}.{other}"
        if column not in names or not refs(con, table):
            outcomes.append(Outcome(name, column, False, observed=f"{table} or {column} missing"))
            continue
        clause = f"{where} and" if where else "where"
        orphans = con.execute(
            f'select count(*) from t {clause} "{column}" is not null and "{column}" not in '
            f'(select "{other}" from ref)', params).fetchall()[0][0]
        outcomes.append(Outcome(name, column, orphans == 0, observed=f"{orphans} orphan rows"))
    if suite.newest_column and suite.newest_column in names:
        newest = con.execute(f'select max("{suite.newest_column}") from t {where}',
                             params).fetchall()[0][0]
        limit = now + max_future_skew
        if isinstance(newest, date) and not isinstance(newest, datetime):
            newest = datetime.combine(newest, datetime.min.time())
        if isinstance(newest, datetime) and newest.tzinfo is None:
            newest = newest.replace(tzinfo=UTC)
        ok = newest is None or newest <= limit
        outcomes.append(Outcome(f"max({suite.newest_column}) <= now + {max_future_skew}",
                                suite.newest_column, ok, observed=str(newest)))
    return rows, outcomes


def _sampled(suite: Suite, expectation_type: str, column: str | None) -> bool:
    """Unexpected values are shown, except PII, and except nulls (nothing to show)."""
    return column not in suite.pii_columns and (
        expectation_type != "expect_column_values_to_not_be_null")


def _unexpected_sql(e: Expect) -> tuple[str, list]:
    """The SQL condition for a row this expectation rejects, with GX's semantics (nulls are
    unexpected only for not-null)."""
    col, kw = f'"{e.column}"', dict(e.kwargs)
    if e.type == "ExpectColumnValuesToNotBeNull":
        return f"{col} is null", []
    if e.type == "ExpectColumnValuesToBeInSet":
        values = list(kw["value_set"])
        return f"{col} is not null and {col} not in ({', '.join('?' * len(values))})", values
    if e.type == "ExpectColumnValuesToBeBetween":
        parts, params = [], []
        for key, op in (("min_value", "<"), ("max_value", ">")):
            if kw.get(key) is not None:
                parts.append(f"{col} {op} ?")
                params.append(kw[key])
        return f"{col} is not null and ({' or '.join(parts)})", params
    if e.type == "ExpectColumnValuesToMatchRegex":
        return f"{col} is not null and not regexp_matches({col}, ?)", [kw["regex"]]
    if e.type == "ExpectColumnValuesToNotMatchRegex":
        return f"{col} is not null and regexp_matches({col}, ?)", [kw["regex"]]
    raise ValueError(f"expectation {e.type} has no DuckDB form; validate with engine='gx'")


def _validate_in_duckdb(con, suite: Suite, expectations: tuple[Expect, ...], where: str,
                        params: list) -> list[Outcome]:
    """The same expectations as one aggregate scan in DuckDB: no GX import, no pandas."""
    if not expectations:
        return []
    conditions = [_unexpected_sql(e) for e in expectations]
    counts = ", ".join(f"count(*) filter (where {sql})" for sql, _ in conditions)
    args = [p for _, ps in conditions for p in ps] + params
    total, *unexpected = con.execute(f"select count(*), {counts} from t {where}",
                                     args).fetchall()[0]
    outcomes = []
    for e, (sql, ps), bad in zip(expectations, conditions, unexpected, strict=True):
        outcome = Outcome(e.name, e.column, bad == 0, element_count=total, unexpected_count=bad)
        if bad and _sampled(suite, _snake(e.type), e.column):
            clause = f"{where} and" if where else "where"
            rows = con.execute(f'select "{e.column}"::varchar from t {clause} {sql} '
                               f"limit {SAMPLE_SIZE}", params + ps).fetchall()
            outcome.sample = [r[0] for r in rows]
        outcomes.append(outcome)
    return outcomes


def validate_table(
    uri: str,
    suite: Suite,
    *,
    version: int | None = None,
    batch_id: str | None = None,
    chunk_rows: int = 200_000,
    now: datetime | None = None,
    max_future_skew: timedelta = timedelta(days=1),
    engine: str = "gx",
) -> GateResult:
    """Validate a table version, or only the rows one batch added (`batch_id`).

    `engine="gx"` runs the row-level expectations through Great Expectations on pandas chunks;
    `engine="duckdb"` evaluates the same expectations as SQL in one scan, for micro-batches
    that must not pay GX's import (a test holds the two engines to the same results);
    `engine="auto"` uses GX up to ``GX_MAX_ROWS`` rows and DuckDB above.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown gate engine {engine!r}: use one of {', '.join(ENGINES)}")
    if not DeltaTable.is_deltatable(uri):
        # Nothing has landed for this table yet: only a suite that demands rows can fail.
        return GateResult(suite.name, uri, None, 0, [
            Outcome(f"row_count >= {suite.min_rows}", None, suite.min_rows == 0,
                    observed="no table yet")])
    table = DeltaTable(uri, version=version) if version is not None else DeltaTable(uri)
    names = set(pa.schema(table.schema().to_arrow()).names)
    present = tuple(e for e in suite.expectations if e.column in names)
    # A required column that is not in the table at all fails; optional added fields that
    # have not appeared yet are simply not checked.
    missing = [Outcome(e.name, e.column, False, observed="column missing")
               for e in suite.expectations
               if e.column not in names and e.type == "ExpectColumnValuesToNotBeNull"]
    # A derived table without lineage is validated whole (it is small: one row per record).
    batch_id = batch_id if "_batch_id" in names else None
    where, params = ("where _batch_id = ?", [batch_id]) if batch_id else ("", [])
    con = duckdb.connect()
    if not _register(con, "t", table):
        con.close()
        return GateResult(suite.name, uri, table.version(), 0, [
            Outcome(f"row_count >= {suite.min_rows}", None, suite.min_rows == 0, observed=0),
            *(Outcome(e.name, e.column, True) for e in present), *missing])
    try:
        rows, outcomes, used = _validate_view(con, suite, _delta_refs(uri), names, present,
                                              where, params, now or datetime.now(UTC),
                                              max_future_skew, engine, chunk_rows)
    finally:
        con.close()
    return GateResult(suite.name, uri, table.version(), rows, outcomes + missing, used)


def _validate_view(con, suite: Suite, refs, names: set[str], present: tuple[Expect, ...],
                   where: str, params: list, now: datetime, max_future_skew: timedelta,
                   engine: str, chunk_rows: int) -> tuple[int, list[Outcome], str]:
    """Every expectation of ``suite`` on view ``t`` (optionally restricted by ``where``), and
    the engine that evaluated the row-level ones."""
    rows, table_outcomes = _table_metrics(con, suite, refs, names, where, params, now,
                                          max_future_skew)
    if engine == "auto":
        engine = "duckdb" if rows > GX_MAX_ROWS else "gx"
    # No rows in the increment: row-level expectations hold vacuously, and GX is not loaded.
    row_level: list[Outcome] = [Outcome(e.name, e.column, True) for e in present]
    if rows and present and engine == "duckdb":
        row_level = _validate_in_duckdb(con, suite, present, where, params)
    elif rows and present:
        columns = sorted({e.column for e in present})
        selected = ", ".join(f'"{c}"' for c in columns)
        batches = con.sql(f"select {selected} from t {where}", params=params).to_arrow_reader(
            chunk_rows)
        row_level = _validate_chunks(suite, present, _chunks(batches, chunk_rows))
    return rows, row_level + table_outcomes, engine


class Warehouse:
    """A DuckDB warehouse file attached read-only, for auditing its relations on one
    connection (the audit step of write-audit-publish, before the analysts' file is
    replaced). Use as a context manager."""

    def __init__(self, database: str | Path) -> None:
        self.con = duckdb.connect()
        self.con.execute(f"attach '{database}' as wh (read_only)")

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc) -> None:
        self.con.close()

    @staticmethod
    def _qualified(relation: str) -> str:
        return "wh." + ".".join(f'"{p}"' for p in relation.split("."))

    def relations(self) -> list[str]:
        """``schema.table`` of every base table (dbt's temporary tables aside)."""
        rows = self.con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = 'wh' and table_type = 'BASE TABLE' "
            "and table_name not like '%__dbt_tmp%' order by 1, 2").fetchall()
        return [f"{schema}.{table}" for schema, table in rows]

    def columns(self, relation: str) -> dict[str, str]:
        """Column name -> DuckDB type of one relation (empty when it does not exist)."""
        schema, _, table = relation.rpartition(".")
        return dict(self.con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_catalog = 'wh' and table_schema = ? and table_name = ? "
            "order by ordinal_position", [schema or "main", table]).fetchall())

    def validate(self, relation: str, suite: Suite, *, chunk_rows: int = 200_000,
                 now: datetime | None = None,
                 max_future_skew: timedelta = timedelta(days=1),
                 engine: str = "gx") -> GateResult:
        """Validate one relation (``schema.table``); references name other relations."""
        if engine not in ENGINES:
            raise ValueError(f"unknown gate engine {engine!r}: use one of {', '.join(ENGINES)}")
        con = self.con
        try:
            con.execute(f"create or replace view t as select * from {self._qualified(relation)}")
        except duckdb.CatalogException:
            return GateResult(suite.name, relation, None, 0, [
                Outcome(f"relation {relation} exists", None, False, observed="missing")])
        names = {r[0] for r in con.execute("describe t").fetchall()}

        def refs(con, table: str) -> bool:
            try:
                con.execute(f"create or replace view ref as select * from "
                            f"{self._qualified(table)}")
            except duckdb.CatalogException:
                return False
            return True

        present = tuple(e for e in suite.expectations if e.column in names)
        missing = [Outcome(e.name, e.column, False, observed="column missing")
                   for e in suite.expectations if e.column not in names]
        rows, outcomes, used = _validate_view(con, suite, refs, names, present, "", [],
                                              now or datetime.now(UTC), max_future_skew,
                                              engine, chunk_rows)
        return GateResult(suite.name, relation, None, rows, outcomes + missing, used)


def validate_warehouse_table(database: str | Path, relation: str, suite: Suite,
                             **kwargs) -> GateResult:
    """Validate one relation of a DuckDB warehouse file, opened read-only."""
    with Warehouse(database) as warehouse:
        return warehouse.validate(relation, suite, **kwargs)
