"""DuckDB over Delta snapshots and over DuckDB files: the SQL the gate, the ML inputs, the
warehouse publish and the fingerprints share.

DuckDB reads the Parquet files of a Delta snapshot itself, not through pyarrow: files written
by different writers (polars appends, delta-rs MERGE) mix string and string_view, which
pyarrow's scans and filter kernels reject.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
import weakref
from typing import TYPE_CHECKING

from lakehouse.storage.objects import attach

if TYPE_CHECKING:
    import duckdb
    from deltalake import DeltaTable


MEMORY_ENV = "LAKEHOUSE_DUCKDB_MEMORY_LIMIT"
MEMORY_LIMIT = "2GB"  # per DuckDB database; past it, DuckDB spills to its temp directory
SPILL_PREFIX = "lakehouse_duckdb_spill_"  # then the owning process's id: <prefix><pid>_<random>


def memory_limit() -> str:
    """The memory limit of the lakehouse's DuckDB work: ``$LAKEHOUSE_DUCKDB_MEMORY_LIMIT``
    (a DuckDB size such as ``4GB``), else ``2GB``."""
    return os.environ.get(MEMORY_ENV) or MEMORY_LIMIT


def bound_memory(con: duckdb.DuckDBPyConnection, *, spill: bool = True) -> None:
    """Cap the memory of ``con``'s database at :func:`memory_limit`; with ``spill``, give it a
    temporary directory of its own (removed with the connection) to spill to. Unbounded,
    DuckDB takes up to 80% of the machine: the warehouse audit reached 6.5 GB at 10M events.
    ``spill=False`` keeps DuckDB's own directory (a database file's ``<file>.tmp``)."""
    con.execute(f"set memory_limit = '{memory_limit()}'")
    if spill:
        _sweep_once()
        folder = tempfile.mkdtemp(prefix=f"{SPILL_PREFIX}{os.getpid()}_")  # one per connection
        weakref.finalize(con, shutil.rmtree, folder, True)
        con.execute(f"set temp_directory = '{folder}'")


def sweep_spill_folders(root: str | None = None) -> list[str]:
    """Remove the spill folders of processes that are gone (``root``: the temporary
    directory); returns them. A killed process never runs its connections' finalisers, and
    a connection killed while spilling leaves gigabytes behind (a 10M-event build spills)."""
    root = root or tempfile.gettempdir()
    gone = []
    for name in os.listdir(root):
        pid = name.removeprefix(SPILL_PREFIX).split("_", 1)[0]
        if not name.startswith(SPILL_PREFIX) or not pid.isdigit() or _alive(int(pid)):
            continue
        shutil.rmtree(os.path.join(root, name), ignore_errors=True)
        gone.append(name)
    return gone


@functools.cache
def _sweep_once() -> None:
    """Folders of dead processes only appear when a process dies: once per process is enough
    (a run opens a bounded connection per gated table)."""
    sweep_spill_folders()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def quoted(name: str) -> str:
    """``name`` as a DuckDB identifier: in double quotes, its own double quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB bounded by :func:`bound_memory` (its own spill folder)."""
    import duckdb

    con = duckdb.connect()
    bound_memory(con)
    return con


def snapshot_files(table: DeltaTable) -> list[str]:
    """Local paths (or object-store URIs) of the Parquet files of a Delta snapshot."""
    return [u.removeprefix("file://") for u in table.file_uris()]


def _listed(files: list[str]) -> str:
    return ", ".join("'" + f.replace("'", "''") + "'" for f in files)


def parquet_scan(files: list[str], columns: str = "*", *, typed_partitions: bool = True,
                 filename: bool = False) -> str:
    """``select <columns>`` over Parquet files of a snapshot (partition values from the paths,
    columns that older files lack as nulls). ``typed_partitions=False`` reads partition values
    as text, for a caller that casts them to declared types itself (DuckDB would otherwise
    guess a type from the values: ``007`` as a number). ``filename=True`` adds the column
    ``filename``: each row's file, as listed."""
    autocast = "" if typed_partitions else ", hive_types_autocast = false"
    named = ", filename = true" if filename else ""
    return (f"select {columns} from read_parquet([{_listed(files)}], union_by_name = true, "
            f"hive_partitioning = true{autocast}{named})")


def register_parquet(con: duckdb.DuckDBPyConnection, view: str, files: list[str],
                     columns: str = "*") -> bool:
    """View ``view`` over Parquet files of a snapshot (see :func:`parquet_scan`); False, and
    no view, when there is no file."""
    if not files:
        return False
    attach(con, files)  # object-store files: DuckDB reads them through pyarrow's client
    con.execute(f"create or replace view {view} as {parquet_scan(files, columns)}")
    return True


def base_tables(con: duckdb.DuckDBPyConnection, catalog: str | None = None, *,
                dbt_temp: bool = True) -> list[tuple[str, str]]:
    """``(schema, table)`` of every base table of ``catalog`` (None: the connection's own
    database), sorted; ``dbt_temp=False`` leaves out dbt's temporary tables."""
    where = "current_database()" if catalog is None else "?"
    return con.execute(
        "select table_schema, table_name from information_schema.tables "
        f"where table_catalog = {where} and table_type = 'BASE TABLE' "
        + ("" if dbt_temp else "and table_name not like '%__dbt_tmp%' ") + "order by 1, 2",
        [] if catalog is None else [catalog]).fetchall()
