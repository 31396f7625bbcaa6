"""A whole `lakehouse run`, then a micro-batch, with the lake on an S3-compatible object store.

moto's server (a real HTTP process on loopback) holds the lake at ``s3://lake/run``
(``LAKEHOUSE_LAKE_URI``); landing zone, Dagster instance and warehouse stay in the home. The
same simulated retailer runs on a local home too, and every table, every validated pin and
every warehouse relation must have the same content (``lakehouse.storage.fingerprint``: the
digests the crash campaign compares, wall-clock columns left out).

Slow (two `lakehouse run`s side by side on 2 cores, then a micro-batch: about 3 minutes).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
from deltalake import DeltaTable

from lakehouse.home import Home
from lakehouse.identity.pii import load_key
from lakehouse.simulate import SimConfig, live, simulate
from lakehouse.storage.fingerprint import home_fingerprint
from lakehouse.storage.objects import LAKE_URI_ENV, ObjectPath
from lakehouse.storage.validations import validated_versions
from tests.object_store import create_bucket, environment, moto_server, s3_environment

SIM = SimConfig(persons=80, products=12, stores=1, warehouses=1, days=3, seed=11)
LAKEHOUSE = Path(sys.executable).with_name("lakehouse")
LAKE = "s3://lake/run"


def _start(root: Path, lake: str | None) -> subprocess.Popen:
    """`lakehouse run` on the home at ``root``, its lake at ``lake`` (None: local); its
    output goes to ``<home>.log`` beside the home (a pipe nobody reads would stall it)."""
    env = {**os.environ, "DAGSTER_DISABLE_TELEMETRY": "1", "GX_ANALYTICS_ENABLED": "False",
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "DO_NOT_TRACK": "1"}
    env.pop(LAKE_URI_ENV, None)
    env.pop("LAKEHOUSE_HOME", None)
    if lake:
        env[LAKE_URI_ENV] = lake
    with open(root.parent / f"{root.name}.log", "w") as log:
        return subprocess.Popen([str(LAKEHOUSE), "run", "--home", str(root)], env=env,
                                stdout=log, stderr=subprocess.STDOUT, text=True)


def _outputs(runs: list[subprocess.Popen], roots: list[Path]) -> list[str]:
    """Each run's output, once every run passed; none is left running."""
    try:
        for run in runs:
            run.wait(timeout=1200)
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
    outs = [(root.parent / f"{root.name}.log").read_text() for root in roots]
    for run, out in zip(runs, outs, strict=True):
        assert run.returncode == 0 and out.rstrip().endswith("OK"), out[-6000:]
    return outs


def _micro_batch(home: Home) -> set[str]:
    """The landing sensor's request for the new files, run as the micro-batch job runs it;
    the asset keys it materialized."""
    from orchestration.assets.bronze import ingest_bronze
    from orchestration.assets.inventory import inventory_live
    from orchestration.assets.silver import silver_tables
    from orchestration.definitions import defs
    from orchestration.resources import LakehouseResource

    resources = {"lakehouse": LakehouseResource(home=str(home.root))}
    sensor = defs.resolve_sensor_def("landing_sensor")
    with dg.instance_for_test() as instance:
        tick = sensor.evaluate_tick(dg.build_sensor_context(instance=instance,
                                                            resources=resources))
        (request,) = tick.run_requests  # files already in bronze are not requested again
        result = dg.materialize([ingest_bronze, silver_tables, inventory_live],
                                selection=request.asset_selection,
                                run_config=request.run_config, instance=instance,
                                resources=resources)
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks)
    return {k.to_user_string() for k in request.asset_selection}


def test_lakehouse_run_and_a_micro_batch_on_s3_equal_local(tmp_path: Path):
    src = Home.resolve(tmp_path / "src")
    simulate(src, SIM)
    load_key(src.root)  # one pseudonymisation key for both homes: the same hashes
    local, remote = (Home.resolve(shutil.copytree(src.root, tmp_path / n)) for n in
                     ("local", "remote"))
    with moto_server() as endpoint:
        create_bucket(endpoint, "lake")
        with environment(s3_environment(endpoint)):
            # independent homes, side by side: the S3 run waits on moto's HTTP much of its time
            runs = [_start(local.root, None), _start(remote.root, LAKE)]
            _, out = _outputs(runs, [local.root, remote.root])
            assert "Checks:" in out and " 0 failed" in out
            expected = home_fingerprint(local.root)
            with environment({LAKE_URI_ENV: LAKE}):
                assert isinstance(remote.lake, ObjectPath)
                got = home_fingerprint(remote.root)
            assert not (remote.root / "lake" / "silver" / "orders").exists()
            assert {k.split(":")[0] for k in expected} == {"lake", "pin", "warehouse"}
            assert sorted(got) == sorted(expected)
            assert {k for k in expected if got[k] != expected[k]} == set()

            # one live hour of new files, delivered to both landing zones alike
            before = {p.relative_to(src.landing) for p in src.landing.rglob("*") if p.is_file()}
            live(src, SIM, 0, max_batches=1)
            new = [p.relative_to(src.landing) for p in src.landing.rglob("*")
                   if p.is_file() and p.relative_to(src.landing) not in before]
            assert new
            for home in (local, remote):
                for rel in new:
                    (home.landing / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src.landing / rel, home.landing / rel)
            selected = _micro_batch(local)
            with environment({LAKE_URI_ENV: LAKE}):
                assert _micro_batch(remote) == selected
                got = home_fingerprint(remote.root)
                pins = validated_versions(remote.lake)
                versions = {t: DeltaTable(str(remote.lake / t)).version() for t in pins}
            expected = home_fingerprint(local.root)
            assert sorted(got) == sorted(expected)
            assert {k for k in expected if got[k] != expected[k]} == set()
            # the micro-batch's tables moved on S3 and their gates pinned the new versions
            lake_keys = [k for k in selected if k.split("/")[0] in ("bronze", "silver",
                                                                    "quarantine")]
            assert lake_keys
            for key in lake_keys:
                assert pins[key] == versions[key], key
