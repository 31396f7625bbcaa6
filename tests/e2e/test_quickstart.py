"""The README path on a small retailer: `lakehouse simulate`, `lakehouse run`, `lakehouse dev`.

Real processes, as a user runs them: the CLI, Dagster's in-process run on the home's instance,
dbt build into the home's DuckDB warehouse, and the Dagster UI's GraphQL endpoint.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from deltalake import DeltaTable

BIN = Path(sys.executable).parent
SMALL = ["--persons", "150", "--products", "20", "--stores", "2", "--warehouses", "1",
         "--days", "4"]


def _cli(*args: str, home: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "LAKEHOUSE_HOME": str(home)}
    return subprocess.run([str(BIN / "lakehouse"), *args], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("home")
    done = _cli("simulate", "--home", str(home), *SMALL, home=home)
    assert done.returncode == 0, done.stderr
    return home


def test_simulate_then_run_builds_every_layer(home):
    done = _cli("run", "--home", str(home), home=home)
    out = done.stdout
    assert done.returncode == 0, out[-4000:] + done.stderr[-4000:]
    assert "done  ingest_bronze" in out and "done  dbt_models" in out
    assert "Checks: " in out and " 0 failed" in out
    assert out.rstrip().endswith("OK")
    assert f"Warehouse (DuckDB): {home / 'warehouse.duckdb'}" in out

    # The run is in the home's Dagster instance, so the UI shows it.
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        runs = instance.get_runs()
        assert len(runs) == 1 and runs[0].status == dg.DagsterRunStatus.SUCCESS

    web = DeltaTable(str(home / "lake/bronze/web__events")).to_pyarrow_table()
    assert web.num_rows > 0 and set(web.column("_batch_id").to_pylist()) != {None}
    quarantined = DeltaTable(str(home / "lake/quarantine/rows")).to_pyarrow_table()
    assert quarantined.num_rows > 0  # the simulator injects malformed rows
    for table in ("silver/clickstream_events", "gold/identity_map", "gold/inventory_positions"):
        assert DeltaTable(str(home / "lake" / table)).to_pyarrow_table().num_rows > 0, table
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert con.sql("select count(*) from dim_dates").fetchall()[0][0] > 365

    # A second run is a no-op for bronze: every file already ingested exactly once.
    version = DeltaTable(str(home / "lake/bronze/web__events")).version()
    again = _cli("run", "--home", str(home), home=home)
    assert again.returncode == 0, again.stdout[-3000:]
    assert DeltaTable(str(home / "lake/bronze/web__events")).version() == version


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


def test_dev_serves_the_asset_graph_with_sensor_and_schedule(home):
    port = _free_port()
    env = {**os.environ, "LAKEHOUSE_HOME": str(home)}
    proc = subprocess.Popen([str(BIN / "lakehouse"), "dev", "--home", str(home), "--port",
                             str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline, nodes = time.monotonic() + 180, None
        while time.monotonic() < deadline:
            try:
                data = _graphql(port, "{ assetNodes { assetKey { path } groupName } }")
                nodes = data.get("data", {}).get("assetNodes")
                if nodes:
                    break
            except OSError:
                pass
            time.sleep(2)
        assert nodes, "the Dagster UI did not serve the asset graph within 180 s"
        groups = {tuple(n["assetKey"]["path"]): n["groupName"] for n in nodes}
        assert groups[("landing", "web")] == "landing"
        assert groups[("bronze", "web__events")] == "bronze"
        assert groups[("dim_dates",)] == "marts"
        repos = _graphql(port, "{ repositoriesOrError { ... on RepositoryConnection { nodes "
                               "{ sensors { name } schedules { name } } } } }")
        repo = repos["data"]["repositoriesOrError"]["nodes"][0]
        assert {"landing_sensor"} <= {s["name"] for s in repo["sensors"]}
        assert {"daily_batch"} <= {s["name"] for s in repo["schedules"]}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
