"""Run a suite against a Delta table (or the commits since its validated pin) in bounded memory.

Row-level expectations are validated by Great Expectations itself (``engine="gx"``, the
default), which pushes them down as SQL into DuckDB over the snapshot's Parquet files
(``data_quality.gx_engine``); ``engine="duckdb"`` is an opt-in path that evaluates the same
expectations as the gate's own SQL without importing GX (``data_quality.duckdb_engine``), held
equal to GX by a generated corpus (tests/unit/data_quality/test_gx_engine.py). Table-level
metrics (row count, key uniqueness, orphans, newest timestamp) are computed in DuckDB. DuckDB
reads the Parquet files of the Delta snapshot itself (``lakehouse.storage.duck`` says why).
Values of PII columns never reach the report.

The same checks serve the warehouse's relations (``data_quality.warehouse_gate``) through
:func:`validate_view`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from deltalake import DeltaTable

from data_quality.duckdb_engine import validate_in_duckdb
from data_quality.results import GateResult, Outcome
from data_quality.suites import Expect, Suite
from lakehouse.storage import duck
from lakehouse.storage.duck import parquet_scan, register_parquet, snapshot_files
from lakehouse.storage.objects import location

ENGINES = ("gx", "duckdb")


def check_engine(engine: str) -> None:
    """Refuse an engine name the gate does not have, before anything is read."""
    if engine not in ENGINES:
        raise ValueError(f"unknown gate engine {engine!r}: use one of {', '.join(ENGINES)}")


def _delta_refs(uri: str, ref_versions: dict[str, int] | None):
    """Resolve a suite's referenced table as a sibling Delta table of the validated one, read
    at its validated pin (or the version a sibling gate of the same step just passed): rows
    are checked against what validated readers will see, not against unchecked rows."""
    from lakehouse.storage.validations import pending_versions, table_name, validated_versions

    def register(con, table: str) -> bool:
        # "products": a table of the same layer; "silver/products": of another layer
        here = location(uri)
        other_uri = str(here.parents[1] / table if "/" in table else here.parent / table)
        if not DeltaTable.is_deltatable(other_uri):
            return False
        lake, name = table_name(other_uri)
        versions = ref_versions if ref_versions is not None else {
            **validated_versions(lake), **pending_versions(lake)}
        if name not in versions:
            return False
        if not register_parquet(con, "ref",
                                snapshot_files(DeltaTable(other_uri, version=versions[name]))):
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
        # an anti join on equality, not `not in`: one null in the referenced column must not
        # hide orphans. Not a correlated `not exists` either, which means the same but which
        # DuckDB plans as a mark join over every column of the view: 8-10 s against 0.6-0.9 s
        # for 10.7M rows referencing 2.2M (fct_attribution at 10M events)
        orphans = con.execute(
            f'select count(*) from (select "{column}" from {rows_of} '
            f'{"and" if where else "where"} "{column}" is not null) as t '
            f'anti join (select "{other}" from ref) as r on r."{other}" = t."{column}"'
        ).fetchall()[0][0]
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
        before = set(snapshot_files(DeltaTable(table.table_uri, version=since_version)))
    except Exception:  # log cleaned up beyond retention: check the whole table instead
        return None
    return [f for f in snapshot_files(table) if f not in before]


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
    check_engine(engine)
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
    con = duck.connect()
    try:
        whole = "whole" if increment is not None else "t"
        rows_files = increment if increment is not None else snapshot_files(table)
        if increment is not None and not register_parquet(con, "whole", snapshot_files(table)):
            con.execute("create or replace view whole as select null as v where false")
        has_rows = register_parquet(con, "t", rows_files)
        if not has_rows:  # nothing new since the pin (or an empty table)
            total = 0 if increment is None else con.execute(
                "select count(*) from whole").fetchall()[0][0]
            return GateResult(suite.name, uri, table.version(), 0, [
                _min_rows(con, suite, _delta_refs(uri, ref_versions), total),
                *(Outcome(e.name, e.column, True) for e in present), *absent],
                since_version=checked_from)
        rows, outcomes, gx_result = validate_view(
            con, suite, _delta_refs(uri, ref_versions), names, present, now or datetime.now(UTC),
            max_future_skew, engine, (None, parquet_scan(rows_files)), whole)
    finally:
        con.close()
    return GateResult(suite.name, uri, table.version(), rows, outcomes + absent, engine,
                      gx_result, since_version=checked_from)


def validate_view(con, suite: Suite, refs, names: set[str], present: tuple[Expect, ...],
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
        row_level = validate_in_duckdb(con, suite, present)
    elif rows and present:
        from data_quality.gx_engine import validate

        validation = validate(*source, suite, present, rows=rows)
        row_level, gx_result = validation.outcomes, validation.result
    return rows, row_level + table_outcomes, gx_result
