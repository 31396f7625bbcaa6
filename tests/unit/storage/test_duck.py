"""DuckDB's memory bound: every DuckDB database the lakehouse opens for heavy work (gates,
warehouse audit, dbt build, ML inputs, identity) runs under one limit and spills past it."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import duckdb
import pytest

from data_quality.warehouse_gate import Warehouse
from lakehouse.storage.duck import MEMORY_ENV, bound_memory


def _settings(con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    return con.execute("select current_setting('memory_limit'), "
                       "current_setting('temp_directory')").fetchall()[0]


def test_limit_from_the_environment_and_a_spill_folder_removed_with_the_connection(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MEMORY_ENV, raising=False)
    con = duckdb.connect()
    bound_memory(con)
    limit, spill = _settings(con)
    assert limit == "1.8 GiB"  # 2GB as DuckDB prints it
    assert Path(spill).is_dir() and Path(spill).name.startswith("lakehouse_duckdb_spill_")
    con.close()
    del con
    gc.collect()
    assert not Path(spill).exists()
    monkeypatch.setenv(MEMORY_ENV, "512MB")
    con = duckdb.connect()
    bound_memory(con, spill=False)
    assert _settings(con)[0] == "488.2 MiB"


def test_work_past_the_limit_spills_instead_of_failing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MEMORY_ENV, "64MB")
    # a sort of ~300 MB of strings: more than the limit holds at once
    sort = ("select count(*) from (select md5(i::varchar) || md5((i + 1)::varchar) s "
            "from range(3000000) t(i) order by s)")
    con = duckdb.connect()
    bound_memory(con)
    assert con.execute(sort).fetchall()[0][0] == 3_000_000
    nowhere = duckdb.connect()  # the same limit with nowhere to spill fails
    bound_memory(nowhere)
    nowhere.execute("set temp_directory = ''")
    with pytest.raises(duckdb.OutOfMemoryException):
        nowhere.execute(sort).fetchall()


def test_the_warehouse_audit_runs_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MEMORY_ENV, raising=False)
    database = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(database)).close()
    with Warehouse(database) as warehouse:
        assert _settings(warehouse.con)[0] == "1.8 GiB"


def test_spill_folders_of_processes_that_are_gone_are_swept(tmp_path: Path) -> None:
    """A killed process leaves its spill folder (its finalisers never run): the next bounded
    connection removes folders whose process is gone, never a live process's."""
    import subprocess
    import sys

    from lakehouse.storage.duck import SPILL_PREFIX, sweep_spill_folders

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = tmp_path / f"{SPILL_PREFIX}{int(done.stdout)}_abc"
    live = tmp_path / f"{SPILL_PREFIX}{os.getpid()}_def"
    legacy = tmp_path / f"{SPILL_PREFIX}xyz"  # no process id: not ours to judge
    for folder in (dead, live, legacy):
        folder.mkdir()
    (dead / "duckdb_temp_storage-0.tmp").write_bytes(b"x" * 1024)
    assert sweep_spill_folders(str(tmp_path)) == [dead.name]
    assert not dead.exists() and live.is_dir() and legacy.is_dir()
