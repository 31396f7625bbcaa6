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

from tests.servers import free_port, graphql

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


@pytest.fixture(scope="module")
def run_output(home) -> subprocess.CompletedProcess:
    return _cli("run", "--home", str(home), home=home)


def test_simulate_then_run_builds_every_layer(home, run_output):
    done = run_output
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
        # attribution reports itself: credit per channel and model, completeness, truth
        credits = instance.get_latest_materialization_event(
            dg.AssetKey(["intermediate", "int_attribution__credits"]))
        metadata = credits.asset_materialization.metadata
        assert "█" in metadata["credit_by_channel"].value
        assert {r.data["model"] for r in metadata["channel_shares"].records} >= {
            "markov", "shapley", "last_touch"}
        assert 0 <= metadata["completeness_store"].value <= 1
        # the home has the simulator's truth: every model is scored against it
        assert {k for k in metadata if k.startswith("truth_tae_")} == {
            f"truth_tae_{m}" for m in ("first_touch", "last_touch", "last_non_direct", "linear",
                                       "time_decay", "position_based", "markov", "shapley")}

    web = DeltaTable(str(home / "lake/bronze/web__events")).to_pyarrow_table()
    assert web.num_rows > 0 and set(web.column("_batch_id").to_pylist()) != {None}
    quarantined = DeltaTable(str(home / "lake/quarantine/rows")).to_pyarrow_table()
    assert quarantined.num_rows > 0  # the simulator injects malformed rows
    for table in ("silver/clickstream_events", "gold/identity_map", "gold/inventory_positions"):
        assert DeltaTable(str(home / "lake" / table)).to_pyarrow_table().num_rows > 0, table
    # The analysts' file: every mart by bare name, from a plain DuckDB client in another
    # process (no Python objects behind views), and no raw PII anywhere in it.
    script = ("import duckdb; c = duckdb.connect(r'%s', read_only=True); print(*[t + '=' + str("
              "c.execute(f'select count(*) from main.{t}').fetchall()[0][0]) for (t,) in c.execute("
              "\"select table_name from information_schema.tables where table_schema = 'main'\""
              ").fetchall()])" % (home / "warehouse.duckdb"))
    counts = dict(kv.split("=") for kv in subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split())
    for mart in ("dim_customers", "dim_products", "dim_locations", "dim_dates", "fct_orders",
                 "fct_order_lines", "fct_interactions", "fct_sessions", "fct_shipments",
                 "fct_returns", "fct_inventory_positions", "fct_inventory_daily",
                 "fct_marketing_performance", "fct_touchpoints", "fct_conversions",
                 "fct_attribution", "fct_attribution_channels", "fct_attribution_campaigns"):
        assert mart in counts, mart
    assert int(counts["fct_orders"]) > 0 and int(counts["dim_customers"]) > 0
    assert "done  warehouse" in out and "done  ml_feature_marts" in out
    for mart in ("ml_customer_features", "ml_product_features"):
        assert DeltaTable(str(home / "lake/gold" / mart)).to_pyarrow_table().num_rows > 0
    # every gate that passed recorded its version; every result has a Data Docs page
    registry = DeltaTable(str(home / "lake/quality/validations")).to_pyarrow_table()
    assert {"silver/orders", "gold/ml_customer_features"} <= set(
        registry.column("table").to_pylist())
    # GX's own Data Docs site: every step's GX validation results
    index = (home / "docs/gx/index.html").read_text()
    assert "fct_orders" in index and "silver.orders" in index

    # A second run is a no-op for bronze: every file already ingested exactly once.
    version = DeltaTable(str(home / "lake/bronze/web__events")).version()
    again = _cli("run", "--home", str(home), home=home)
    assert again.returncode == 0, again.stdout[-3000:]
    assert DeltaTable(str(home / "lake/bronze/web__events")).version() == version


def test_a_mart_failing_its_audit_is_never_published(home, run_output):
    """Write-audit-publish through Dagster: a raw e-mail in the build fails the blocking gate,
    the publish step does not run, and analysts keep the last audited file."""
    assert run_output.returncode == 0, run_output.stdout[-3000:]
    published = home / "warehouse.duckdb"
    before = published.read_bytes()
    with duckdb.connect(str(home / "warehouse.build.duckdb")) as con:
        con.execute("update main.dim_customers set city = 'ana.silva@gmail.com' where rowid = 0")
    env = {**os.environ, "LAKEHOUSE_HOME": str(home)}
    script = (
        "import dagster as dg\n"
        "from orchestration.definitions import defs\n"
        "from orchestration.assets.warehouse import RELATIONS\n"
        "job = defs.resolve_job_def('materialize_all').get_subset(\n"
        "    asset_selection={dg.AssetKey(['warehouse'])},\n"
        "    asset_check_selection={dg.AssetCheckKey(k, 'gx_warehouse_gate') for k in RELATIONS})\n"
        "res = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), "
        "raise_on_error=False)\n"
        "failed = [e.asset_key.to_user_string() for e in res.get_asset_check_evaluations() "
        "if not e.passed]\n"
        "ran = [e.step_key for e in res.all_events if e.event_type_value == 'STEP_SUCCESS']\n"
        "print('FAILED', *failed); print('RAN', *ran)\n")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines()
                 if line.startswith(("FAILED ", "RAN ")))
    assert lines.get("FAILED") == "dim_customers", done.stdout[-3000:] + done.stderr[-3000:]
    assert "warehouse" not in lines.get("RAN", "").split()
    assert published.read_bytes() == before


def _a_landed_file_reaches_silver_through_the_daemon(home: Path) -> None:
    """The micro-batch path as deployed: the daemon's sensor sees a new file, the queue starts
    the run, the prefork launcher forks its worker, and the events reach silver."""
    from orchestration.runtime.launcher import PID_TAG

    source = sorted((home / "landing" / "web").glob("events_*.jsonl"))[0]
    lines = source.read_text().splitlines()[:5]
    events = [{**json.loads(line), "event_id": f"e2e-{i}"} for i, line in enumerate(lines)]
    target = home / "landing" / "web" / "events_29990101_000000_000.jsonl"
    target.with_name(".part").write_text("".join(json.dumps(e) + "\n" for e in events))
    target.with_name(".part").rename(target)
    silver = str(home / "lake" / "silver" / "clickstream_events")
    quarantine = str(home / "lake" / "quarantine" / "rows")
    deadline, found, rejected = time.monotonic() + 240, set(), set()
    while time.monotonic() < deadline and len(found | rejected) < len(events):
        if DeltaTable.is_deltatable(silver):  # absent until the first run if run alone
            table = DeltaTable(silver).to_pyarrow_table(columns=["event_id"])
            found = {i for i in table.column(0).to_pylist() if i.startswith("e2e-")}
            rows = DeltaTable(quarantine).to_pyarrow_table(columns=["_source_file", "_line"])
            rejected = {f"e2e-{line - 1}" for file, line in zip(
                *rows.to_pydict().values(), strict=True) if file == f"web/{target.name}"}
        time.sleep(1)
    # every event reached silver, or quarantine when the simulator made its line malformed
    assert found and found | rejected == {e["event_id"] for e in events}, (found, rejected)
    # silver commits before the run's later steps (inventory, gates) end: wait for the run
    done = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE,
            dg.DagsterRunStatus.CANCELED}
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        while True:
            runs = [r.dagster_run for r in instance.get_run_records()
                    if r.dagster_run.job_name == "micro_batch"]
            if (runs and all(r.status in done for r in runs)) or time.monotonic() > deadline:
                break
            time.sleep(1)
    assert runs and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs), [
        (r.run_id, r.status) for r in runs]
    assert all(PID_TAG in r.tags for r in runs)  # forked by PreforkRunLauncher


def _two_free_ports() -> int:
    """A port for the UI whose next one (the docs server's) is free too."""
    while True:
        port = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


def test_dev_serves_the_asset_graph_and_runs_micro_batches(home, tmp_path):
    port = _two_free_ports()
    env = {**os.environ, "LAKEHOUSE_HOME": str(home)}
    log = tmp_path / "dev.log"
    # started as a shell starts a background job (`make dev &`, a supervisor): SIGINT ignored
    with log.open("wb") as out:
        proc = subprocess.Popen([str(BIN / "lakehouse"), "dev", "--home", str(home), "--port",
                                 str(port)], env=env, stdout=out, stderr=out,
                                start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    stopped = False
    try:
        deadline, nodes = time.monotonic() + 180, None
        while time.monotonic() < deadline:
            try:
                data = graphql(port, "{ assetNodes { assetKey { path } groupName } }")
                nodes = data.get("data", {}).get("assetNodes")
                if nodes:
                    break
            except OSError:
                pass
            time.sleep(2)
        assert nodes, ("the Dagster UI did not serve the asset graph within 180 s:\n"
                       + log.read_text(errors="replace")[-3000:])
        groups = {tuple(n["assetKey"]["path"]): n["groupName"] for n in nodes}
        assert groups[("landing", "web")] == "landing"
        assert groups[("bronze", "web__events")] == "bronze"
        assert groups[("dim_dates",)] == "marts"
        repos = graphql(port, "{ repositoriesOrError { ... on RepositoryConnection { nodes "
                              "{ sensors { name } schedules { name } } } } }")
        repo = repos["data"]["repositoriesOrError"]["nodes"][0]
        assert {"landing_sensor"} <= {s["name"] for s in repo["sensors"]}
        assert {"daily_batch"} <= {s["name"] for s in repo["schedules"]}
        _a_landed_file_reaches_silver_through_the_daemon(home)
        # the checks' Data Docs, served beside the UI (a browser will not open file:// links)
        with urllib.request.urlopen(f"http://127.0.0.1:{port + 1}/gx/index.html",
                                    timeout=5) as response:
            assert response.status == 200 and b"<html" in response.read(2000).lower()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # what a supervisor or `kill -- -PGID` sends
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not stopped:
            stopped = not _alive_in_group(proc.pid)
            time.sleep(0.5)
        survivors = "" if stopped else _describe(_alive_in_group(proc.pid))
        if not stopped:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert stopped, ("lakehouse dev left processes running 30 s after SIGTERM to its group:\n"
                     + survivors)


def _alive_in_group(pgid: int) -> list[int]:
    """Processes of the group that are still running (zombies waiting to be reaped aside)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def _describe(pids: list[int]) -> str:
    """One line per process: pid, parent, state, signal masks (hex: ignored, blocked, caught)
    and command line, so a failure names what survived and whether it could hear SIGTERM."""
    lines = []
    for pid in pids:
        try:
            status = dict(line.split(":\t", 1) for line in
                          Path(f"/proc/{pid}/status").read_text().splitlines() if ":\t" in line)
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        lines.append(f"pid {pid} ppid {status.get('PPid')} {status.get('State')} "
                     f"ign {status.get('SigIgn')} blk {status.get('SigBlk')} "
                     f"cgt {status.get('SigCgt')}: {cmd[:300]}")
    return "\n".join(lines)
