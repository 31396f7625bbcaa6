"""Run a suite against a Delta table (or the commits since its validated pin) in bounded memory.

Row-level expectations are validated by Great Expectations itself (``engine="gx"``, the
default), which pushes them down as SQL into DuckDB over the snapshot's Parquet files
(``data_quality.gx_engine``); ``engine="duckdb"`` is an opt-in path that evaluates the same
expectations as the gate's own SQL without importing GX, held equal to GX by a generated
corpus (tests/unit/test_gx_engine.py). Table-level metrics (row count, key uniqueness,
orphans, newest timestamp) are computed in DuckDB. DuckDB reads the Parquet files of the Delta
snapshot itself: files written by different writers (polars, delta-rs MERGE) mix string and
string_view, which pyarrow's filter kernels reject. Values of PII columns never reach the
report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from deltalake import DeltaTable

from data_quality.suites import Expect, Suite

SAMPLE_SIZE = 5
ENGINES = ("gx", "duckdb")


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
    gx_result: Any = None  # GX's own validation result (engine "gx"), for its Data Docs
    # the increment checked is the commits after this version; None: the whole table
    since_version: int | None = None

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


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _listed(files: list[str]) -> str:
    return ", ".join("'" + f.replace("'", "''") + "'" for f in files)


def _files(table: DeltaTable) -> list[str]:
    return [u.removeprefix("file://") for u in table.file_uris()]


def _scan_sql(files: list[str]) -> str:
    """The rows of Parquet files of a snapshot (partition values from the paths, missing
    columns of older files as nulls)."""
    return (f"select * from read_parquet([{_listed(files)}], union_by_name = true, "
            "hive_partitioning = true)")


def _register_files(con, name: str, files: list[str]) -> bool:
    """A view over Parquet files of a snapshot; False when there is no file."""
    if not files:
        return False
    con.execute(f"create or replace view {name} as {_scan_sql(files)}")
    return True


def _register(con, name: str, table: DeltaTable) -> bool:
    return _register_files(con, name, _files(table))


def _delta_refs(uri: str, ref_versions: dict[str, int] | None):
    """Resolve a suite's referenced table as a sibling Delta table of the validated one, read
    at its validated pin (or the version a sibling gate of the same step just passed): rows
    are checked against what validated readers will see, not against unchecked rows."""
    from lakehouse.storage.validations import pending_versions, table_name, validated_versions

    def register(con, table: str) -> bool:
        # "products": a table of the same layer; "silver/products": of another layer
        other_uri = str(Path(uri).parents[1] / table if "/" in table else Path(uri).parent / table)
        if not DeltaTable.is_deltatable(other_uri):
            return False
        lake, name = table_name(other_uri)
        versions = ref_versions if ref_versions is not None else {
            **validated_versions(lake), **pending_versions(lake)}
        if name not in versions:
            return False
        if not _register(con, "ref", DeltaTable(other_uri, version=versions[name])):
            con.execute("create or replace view ref as select null as v where false")
        return True
    return register


def _min_rows(con, suite: Suite, refs, total: int) -> Outcome:
    """``row_count >= min_rows``; with ``rows_expected_from``, only once that table has rows
    (what the table is built from has not landed yet: empty is right, and says so)."""
    name = f"row_count >= {suite.min_rows}"
    if total >= suite.min_rows or suite.rows_expected_from is None:
        return Outcome(name, None, total >= suite.min_rows, observed=total)
    source = suite.rows_expected_from
    have = (con.execute("select count(*) from ref").fetchall()[0][0]
            if refs(con, source) else 0)
    if have == 0:
        return Outcome(name, None, True, observed=f"{total} ({source} is empty: nothing to "
                       "build from yet)")
    return Outcome(name, None, False, observed=f"{total} ({source} holds {have} rows)")


def _table_metrics(con, suite: Suite, refs, names: set[str], now: datetime,
                   max_future_skew: timedelta,
                   whole: str = "t") -> tuple[int, list[Outcome]]:
    """Row count, key uniqueness, orphans and newest timestamp of view ``t``; ``refs(con,
    table)`` registers a referenced table as view ``ref`` at its validated version (False when
    it does not exist or has none). ``whole`` is the view of the whole table when ``t`` is an
    increment of it: the row count and key uniqueness are the table's, not the increment's."""
    rows = con.execute("select count(*) from t").fetchall()[0][0]
    total = rows if whole == "t" else con.execute(f"select count(*) from {whole}").fetchall()[0][0]
    outcomes = [_min_rows(con, suite, refs, total)]
    if suite.unique_key:
        key = ", ".join(f'"{c}"' for c in suite.unique_key)
        absent = [c for c in suite.unique_key if c not in names]
        if absent:
            outcomes.append(Outcome(f"unique({', '.join(suite.unique_key)})", None, False,
                                    observed=f"key column {', '.join(absent)} missing"))
        else:
            # keys of the increment that occur more than once in the whole table
            source = f"(select {key} from t)" if whole == "t" else (
                f"(select {key} from {whole} semi join (select distinct {key} from t) "
                f"using ({key}))")
            dupes = con.execute(f"select count(*) from (select {key} from {source} "
                                f"group by {key} having count(*) > 1)").fetchall()[0][0]
            outcomes.append(Outcome(f"unique({', '.join(suite.unique_key)})", None, dupes == 0,
                                    observed=f"{dupes} duplicated keys"))
    for column, table, other, *where in suite.references:
        name = f"{column} references {table}.{other}" + (f" where {where[0]}" if where else "")
        if column not in names:
            outcomes.append(Outcome(name, column, False, observed=f"column {column} missing"))
            continue
        rows_of = f"t where {where[0]}" if where else "t"
        if not refs(con, table):
            # nothing to reference yet: fine while no row names one (they wait in quarantine)
            orphans = con.execute(f'select count(*) from {rows_of} {"and" if where else "where"} '
                                  f'"{column}" is not null').fetchall()[0][0]
            outcomes.append(Outcome(name, column, orphans == 0, observed=(
                f"{table} missing or has no validated version; {orphans} rows reference it")))
            continue
        # not exists, not `not in`: one null in the referenced column must not hide orphans
        orphans = con.execute(
            f'select count(*) from {rows_of} {"and" if where else "where"} '
            f'"{column}" is not null and not exists '
            f'(select 1 from ref where ref."{other}" = t."{column}")').fetchall()[0][0]
        outcomes.append(Outcome(name, column, orphans == 0, observed=f"{orphans} orphan rows"))
    if suite.newest_column and suite.newest_column not in names:
        outcomes.append(Outcome(f"max({suite.newest_column}) <= now + {max_future_skew}",
                                suite.newest_column, False, observed="column missing"))
    elif suite.newest_column:
        newest = con.execute(f'select max("{suite.newest_column}") from t').fetchall()[0][0]
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


def _validate_in_duckdb(con, suite: Suite, expectations: tuple[Expect, ...]) -> list[Outcome]:
    """The same expectations as one aggregate scan in DuckDB: no GX import, no pandas."""
    if not expectations:
        return []
    conditions = [_unexpected_sql(e) for e in expectations]
    counts = ", ".join(f"count(*) filter (where {sql})" for sql, _ in conditions)
    args = [p for _, ps in conditions for p in ps]
    total, *unexpected = con.execute(f"select count(*), {counts} from t", args).fetchall()[0]
    outcomes = []
    for e, (sql, ps), bad in zip(expectations, conditions, unexpected, strict=True):
        outcome = Outcome(e.name, e.column, bad == 0, element_count=total, unexpected_count=bad)
        if bad and _sampled(suite, _snake(e.type), e.column):
            rows = con.execute(f'select "{e.column}"::varchar from t where {sql} '
                               f"limit {SAMPLE_SIZE}", ps).fetchall()
            outcome.sample = [r[0] for r in rows]
        outcomes.append(outcome)
    return outcomes


def _absent(suite: Suite, names: set[str]) -> list[Outcome]:
    """Expectations on columns the table does not have: failed, unless the column is optional
    (a contract field not delivered yet), which is shown as passed with nothing to check."""
    return [Outcome(e.name, e.column, e.column in suite.optional_columns
                    and e.type != "ExpectColumnValuesToNotBeNull",
                    observed="column absent (optional: nothing to check)"
                    if e.column in suite.optional_columns else "column missing")
            for e in suite.expectations if e.column not in names]


def increment_files(table: DeltaTable, since_version: int | None) -> list[str] | None:
    """Parquet files of ``table``'s snapshot that version ``since_version`` did not have: the
    rows of every commit after it (appends, merges' rewritten files, compactions). None when
    everything must be checked (no earlier version, or it can no longer be read)."""
    if since_version is None or since_version < 0:
        return None
    try:
        before = set(_files(DeltaTable(table.table_uri, version=since_version)))
    except Exception:  # log cleaned up beyond retention: check the whole table instead
        return None
    return [f for f in _files(table) if f not in before]


def validate_table(
    uri: str,
    suite: Suite,
    *,
    version: int | None = None,
    since_version: int | None = None,
    ref_versions: dict[str, int] | None = None,
    now: datetime | None = None,
    max_future_skew: timedelta = timedelta(days=1),
    engine: str = "gx",
) -> GateResult:
    """Validate a table version (the latest by default), or only the increment since the
    version ``since_version`` (the table's validated pin): every row in a file added after it,
    whichever batch, retry or maintenance commit added it. Row count and key uniqueness are
    then still those of the whole table; references are checked against the validated
    version of the referenced table (or ``ref_versions``, ``{"silver/products": 3}``).

    `engine="gx"` has Great Expectations validate the row-level expectations (pushed down as
    SQL into DuckDB); `engine="duckdb"` evaluates them as the gate's own SQL in one scan.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown gate engine {engine!r}: use one of {', '.join(ENGINES)}")
    if not DeltaTable.is_deltatable(uri):
        # Nothing has landed for this table yet: only a suite that demands rows can fail.
        con = duckdb.connect()
        try:
            outcome = _min_rows(con, suite, _delta_refs(uri, ref_versions), 0)
        finally:
            con.close()
        observed = "no table yet" + ("" if outcome.observed == 0 else f": {outcome.observed}")
        return GateResult(suite.name, uri, None, 0, [
            Outcome(outcome.name, None, outcome.passed, observed=observed)])
    table = DeltaTable(uri, version=version) if version is not None else DeltaTable(uri)
    names = set(pa.schema(table.schema().to_arrow()).names)
    present = tuple(e for e in suite.expectations if e.column in names)
    absent = _absent(suite, names)
    increment = increment_files(table, since_version)
    checked_from = since_version if increment is not None else None
    con = duckdb.connect()
    try:
        whole = "whole" if increment is not None else "t"
        rows_files = increment if increment is not None else _files(table)
        if increment is not None and not _register(con, "whole", table):
            con.execute("create or replace view whole as select null as v where false")
        has_rows = _register_files(con, "t", rows_files)
        if not has_rows:  # nothing new since the pin (or an empty table)
            total = 0 if increment is None else con.execute(
                "select count(*) from whole").fetchall()[0][0]
            return GateResult(suite.name, uri, table.version(), 0, [
                _min_rows(con, suite, _delta_refs(uri, ref_versions), total),
                *(Outcome(e.name, e.column, True) for e in present), *absent],
                since_version=checked_from)
        rows, outcomes, gx_result = _validate_view(
            con, suite, _delta_refs(uri, ref_versions), names, present, now or datetime.now(UTC),
            max_future_skew, engine, (None, _scan_sql(rows_files)), whole)
    finally:
        con.close()
    return GateResult(suite.name, uri, table.version(), rows, outcomes + absent, engine,
                      gx_result, since_version=checked_from)


def _validate_view(con, suite: Suite, refs, names: set[str], present: tuple[Expect, ...],
                   now: datetime, max_future_skew: timedelta, engine: str,
                   source: tuple[str | Path | None, str],
                   whole: str = "t") -> tuple[int, list[Outcome], Any]:
    """Every expectation of ``suite`` on view ``t``: table-level metrics in DuckDB, row-level
    ones by ``engine`` (GX reads ``source``: a DuckDB file or None, and the SELECT of ``t``).
    Returns the rows checked, the outcomes and GX's own result (None without GX)."""
    rows, table_outcomes = _table_metrics(con, suite, refs, names, now,
                                          max_future_skew, whole)
    # No rows to check: row-level expectations hold vacuously, and GX is not loaded.
    row_level: list[Outcome] = [Outcome(e.name, e.column, True) for e in present]
    gx_result = None
    if rows and present and engine == "duckdb":
        row_level = _validate_in_duckdb(con, suite, present)
    elif rows and present:
        from data_quality.gx_engine import validate

        validation = validate(*source, suite, present, rows=rows)
        row_level, gx_result = validation.outcomes, validation.result
    return rows, row_level + table_outcomes, gx_result


class Warehouse:
    """A DuckDB warehouse file attached read-only, for auditing its relations on one
    connection (the audit step of write-audit-publish, before the analysts' file is
    replaced). Use as a context manager."""

    def __init__(self, database: str | Path) -> None:
        self.database = database
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

    def validate(self, relation: str, suite: Suite, *, now: datetime | None = None,
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
        quoted = ".".join(f'"{p}"' for p in relation.split("."))
        rows, outcomes, gx_result = _validate_view(
            con, suite, refs, names, present, now or datetime.now(UTC), max_future_skew, engine,
            (self.database, f"select * from {quoted}"))
        return GateResult(suite.name, relation, None, rows, outcomes + missing, engine,
                          gx_result)


def validate_warehouse_table(database: str | Path, relation: str, suite: Suite,
                             **kwargs) -> GateResult:
    """Validate one relation of a DuckDB warehouse file, opened read-only."""
    with Warehouse(database) as warehouse:
        return warehouse.validate(relation, suite, **kwargs)
