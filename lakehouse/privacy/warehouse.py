"""Erasing a person from the DuckDB warehouse files (the build and the analysts' copy).

A DuckDB ``DELETE`` leaves the old row bytes in free blocks of the file, so the database is
then copied into a fresh file (``COPY FROM DATABASE``) that replaces the old one by an atomic
rename. List columns (a customer's e-mail hashes, a household's members) lose the values;
rows with a value in a scalar column are deleted.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb

from lakehouse.home import Home
from lakehouse.ingest.landing import sha256_file
from lakehouse.storage import duck
from lakehouse.warehouse import publish


def _tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = current_database() and table_type = 'BASE TABLE' "
        "order by 1, 2").fetchall()


def _columns(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """``(schema, table) -> [(column, type)]`` of every table, in one query."""
    out: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, kind in con.execute(
            "select table_schema, table_name, column_name, data_type from "
            "information_schema.columns where table_catalog = current_database()").fetchall():
        out.setdefault((schema, table), []).append((column, kind))
    return out


def erase_rows(con: duckdb.DuckDBPyConnection, values: list[str], apply: bool
               ) -> dict[str, int]:
    """Rows (and list elements) holding one of ``values``, per ``schema.table``; deleted when
    ``apply``."""
    if not values:
        return {}
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    literal = f"[{quoted}]"  # literals: a lambda cannot hold a subquery, and they plan faster
    counts: dict[str, int] = {}
    columns = _columns(con)
    for schema, table in _tables(con):
        cols = columns.get((schema, table), [])
        scalar = [c for c, t in cols if t == "VARCHAR"]
        lists = [c for c, t in cols if t == "VARCHAR[]"]
        rel = f"{duck.quoted(schema)}.{duck.quoted(table)}"
        hit = " or ".join(f"{duck.quoted(c)} in ({quoted})" for c in scalar)
        in_list = " or ".join(f"list_has_any({duck.quoted(c)}, {literal})" for c in lists)
        either = " or ".join(w for w in (hit, in_list) if w)
        if not either:
            continue
        n = con.execute(f"select count(*) from {rel} where {either}").fetchall()[0][0]
        if n:
            counts[f"{schema}.{table}"] = n
        if n and apply:
            if hit:
                con.execute(f"delete from {rel} where {hit}")
            for c in map(duck.quoted, lists):
                con.execute(
                    f"update {rel} set {c} = list_filter({c}, lambda x: not "
                    f"list_contains({literal}, x)) where list_has_any({c}, {literal})")
    return counts


def rewrite_file(path: Path, values: list[str], apply: bool = True) -> dict[str, int]:
    """Erase from one DuckDB file and (when anything was found) rewrite it whole."""
    if not path.exists():
        return {}
    con = duckdb.connect(str(path), read_only=not apply)
    try:
        counts = erase_rows(con, values, apply)
        if not apply:
            return counts
        con.execute("checkpoint")
        fresh = path.with_name(f".{path.name}.erasing")
        fresh.unlink(missing_ok=True)
        con.execute(f"attach '{fresh}' as _fresh")
        source = con.execute("select current_database()").fetchall()[0][0]
        con.execute(f"copy from database {duck.quoted(source)} to _fresh")
        con.execute("detach _fresh")
    finally:
        con.close()
    wal = path.with_name(path.name + ".wal")
    os.replace(fresh, path)
    wal.unlink(missing_ok=True)
    return counts


def erase_warehouse(home: Home, values: list[str], erasure_id: str, apply: bool = True
                    ) -> dict[str, int]:
    """Both warehouse files; their audit records follow the rewritten bytes.

    The build's audit is re-recorded with the same results when it described the build as it
    was (an erasure only removes rows); the published record gets the new file's SHA-256."""
    build, published = publish.build_path(home), publish.published_path(home)
    audit_path = home.root / publish.AUDIT_NAME
    audit = json.loads(audit_path.read_text()) if audit_path.exists() else None
    current = audit is not None and build.exists() and \
        audit.get("fingerprint") == publish.fingerprint(build)
    counts = {f"warehouse.build/{k}": n for k, n in rewrite_file(build, values, apply).items()}
    counts |= {f"warehouse/{k}": n for k, n in rewrite_file(published, values, apply).items()}
    if not apply:
        return counts
    if current and build.exists():
        publish.record_audit(home, audit["results"])
    record_path = home.root / publish.PUBLISHED_AUDIT_NAME
    if record_path.exists() and published.exists():
        record = json.loads(record_path.read_text())
        record.update(sha256=sha256_file(published), erased_by=erasure_id)
        tmp = record_path.with_name(f".{record_path.name}.tmp")
        tmp.write_text(json.dumps(record, indent=1, sort_keys=True))
        os.replace(tmp, record_path)
    return counts
