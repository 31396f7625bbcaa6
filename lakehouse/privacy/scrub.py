"""Scrubbing values out of run records: Dagster's SQLite storage and logs, GX Data Docs.

These hold no rows of ours, only text that may have copied a value (a log line, a result
payload). Each occurrence is replaced by ``[erased]``; a SQLite file is then vacuumed so
the old pages do not keep the bytes.
"""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

REPLACEMENT = "[erased]"
_SQLITE_MAGIC = b"SQLite format 3\x00"


def _pattern(values: list[str]) -> re.Pattern[bytes]:
    return re.compile(b"|".join(re.escape(v.encode()) for v in
                                sorted(values, key=len, reverse=True)), re.IGNORECASE)


def scrub_text_file(path: Path, values: list[str], apply: bool) -> int:
    """Occurrences in one file (replaced when ``apply``); the file's mtime is kept."""
    data = path.read_bytes()
    low = data.lower()
    if not any(v.lower().encode() in low for v in values):  # the common case, without a regex
        return 0
    new, n = _pattern(values).subn(REPLACEMENT.encode(), data)
    if n and apply:
        stat = path.stat()
        tmp = path.with_name(f".{path.name}.erasing")
        tmp.write_bytes(new)
        os.utime(tmp, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        os.replace(tmp, path)
    return n


def scrub_sqlite(path: Path, values: list[str], apply: bool) -> int:
    """Rows of any table with a text value holding one of ``values`` (case-insensitive)."""
    con = sqlite3.connect(str(path) if apply else f"file:{path}?mode=ro", uri=not apply)
    try:
        total = 0
        tables = [r[0] for r in con.execute(
            "select name from sqlite_master where type = 'table'")]
        for table in tables:
            cols = [r[1] for r in con.execute(f'pragma table_info("{table}")')
                    if (r[2] or "").upper() in ("TEXT", "VARCHAR", "") or "CHAR" in
                    (r[2] or "").upper() or (r[2] or "").upper() == "BLOB"]
            lowered = [v.lower() for v in values]
            for col in cols:
                text = f'lower(cast("{col}" as text))'
                anywhere = " or ".join(f"instr({text}, ?) > 0" for _ in lowered)
                if not con.execute(f'select exists(select 1 from "{table}" where {anywhere})',
                                   lowered).fetchone()[0]:
                    continue
                for v in values:
                    where = f'instr(lower(cast("{col}" as text)), ?) > 0'
                    n = con.execute(f'select count(*) from "{table}" where {where}',
                                    [v.lower()]).fetchone()[0]
                    if n and apply:
                        con.execute(f'update "{table}" set "{col}" = '
                                    f'replace(cast("{col}" as text), ?, ?) where {where}',
                                    [v, REPLACEMENT, v.lower()])
                        con.execute(f'update "{table}" set "{col}" = '
                                    f'replace(cast("{col}" as text), ?, ?) where {where}',
                                    [v.lower(), REPLACEMENT, v.lower()])
                    total += n
        if apply and total:
            con.commit()
            con.execute("vacuum")
        return total
    finally:
        con.close()


def scrub_tree(root: Path, values: list[str], apply: bool) -> dict[str, int]:
    """Every file under ``root``: SQLite databases by rows, anything else as bytes."""
    found: dict[str, int] = {}
    if not root.exists() or not values:
        return found
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.name.endswith(("-wal", "-shm", "-journal")):
            continue  # a database's side files: folded in when the database is opened
        try:
            with path.open("rb") as fh:
                head = fh.read(len(_SQLITE_MAGIC))
        except FileNotFoundError:  # removed meanwhile (a writer's temporary file)
            continue
        if head == _SQLITE_MAGIC:
            n = scrub_sqlite(path, values, apply)
        else:
            n = scrub_text_file(path, values, apply)
        if n:
            found[str(path.relative_to(root.parent))] = n
    return found
