"""The gate over a DuckDB warehouse file: every relation dbt built, validated where it lies.

The suites are the same as for Delta tables (``data_quality.gate.validate_view``); references
name other relations of the same file.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from data_quality.gate import check_engine, validate_view
from data_quality.results import GateResult, Outcome
from data_quality.suites import Suite
from lakehouse.storage import duck
from lakehouse.storage.duck import base_tables


class Warehouse:
    """A DuckDB warehouse file attached read-only, for auditing its relations on one
    connection (the audit step of write-audit-publish, before the analysts' file is
    replaced). Use as a context manager."""

    def __init__(self, database: str | Path) -> None:
        self.database = database
        self.con = duck.connect()
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
        return [f"{schema}.{table}"
                for schema, table in base_tables(self.con, "wh", dbt_temp=False)]

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
        check_engine(engine)
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
        rows, outcomes, gx_result = validate_view(
            con, suite, refs, names, present, now or datetime.now(UTC), max_future_skew, engine,
            (self.database, f"select * from {quoted}"))
        return GateResult(suite.name, relation, None, rows, outcomes + missing, engine,
                          gx_result)


def validate_warehouse_table(database: str | Path, relation: str, suite: Suite,
                             **kwargs) -> GateResult:
    """Validate one relation of a DuckDB warehouse file, opened read-only."""
    with Warehouse(database) as warehouse:
        return warehouse.validate(relation, suite, **kwargs)
