"""Validated means validated, as a user meets it: a batch that fails its gate is never readable
through any validated reader, not after a retry, not after a later passing batch, not after
compaction and vacuum; the warehouse is not republished; training sets do not move.

Real processes: `lakehouse run` (Dagster in-process on the home's instance, GX gates, dbt),
real Delta tables. The gate is made stricter the way a data engineer would: the bronze web
suite's file in a copy of the GX project (``LAKEHOUSE_GX_PROJECT``) caps cart quantities at 5,
and the bad batch adds 9 of an item to a cart (row validation, from the channel contract,
accepts it).
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from deltalake import DeltaTable

from lakehouse.home import Home
from lakehouse.ml import training_set
from lakehouse.silver import build_silver
from lakehouse.storage.validations import read_validated, validated_version

BIN = Path(sys.executable).parent
SMALL = ["--persons", "60", "--products", "12", "--stores", "1", "--warehouses", "1",
         "--days", "2"]
WEB = "bronze/web__events"
AS_OF = datetime(2030, 1, 1, tzinfo=UTC)

pytestmark = pytest.mark.slow


def _cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "LAKEHOUSE_HOME": str(home),
           "LAKEHOUSE_GX_PROJECT": str(home.parent / "gx")}
    return subprocess.run([str(BIN / "lakehouse"), *args], env=env, capture_output=True,
                          text=True, timeout=600, check=False)


def _stricter_suites(into: Path) -> None:
    """A copy of the GX project whose bronze web suite caps quantities at 5."""
    from data_quality.gx_project import PROJECT_DIR

    shutil.copytree(PROJECT_DIR, into)
    path = into / "expectations" / "bronze" / "web__events.json"
    suite = json.loads(path.read_text())
    (quantity,) = [e for e in suite["expectations"] if e["kwargs"].get("column") == "quantity"]
    quantity["kwargs"]["max_value"] = 5
    path.write_text(json.dumps(suite, indent=2))


def _deliver(home: Path, name: str, quantity: int, n: int = 3) -> list[str]:
    """Add-to-cart web events copied from a landed file under new ids, an hour ago."""
    source = sorted((home / "landing" / "web").glob("events_*.jsonl"))[0]
    events = [json.loads(line) for line in source.read_text().splitlines()[:n]]
    ids = []
    for i, event in enumerate(events):
        event.update(event_id=f"{name}-{i}", event_type="add_to_cart", quantity=quantity,
                     ts=(datetime.now(UTC) - timedelta(hours=1)).strftime(
                         "%Y-%m-%dT%H:%M:%S.000Z"))
        ids.append(event["event_id"])
    (home / "landing" / "web" / f"events_{name}.jsonl").write_text(
        "".join(json.dumps(e) + "\n" for e in events))
    return ids


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _ids(frame: pl.DataFrame | None, column: str = "event_id") -> set[str]:
    return set() if frame is None else set(frame[column].to_list())


def test_a_failed_batch_is_never_read_as_validated(tmp_path):
    home = tmp_path / "home"
    _stricter_suites(tmp_path / "gx")
    assert _cli("simulate", "--home", str(home), *SMALL, home=home).returncode == 0
    first = _cli("run", "--home", str(home), home=home)
    assert first.returncode == 0, first.stdout[-3000:]
    lake = Home.resolve(home).lake
    pin = validated_version(lake / WEB)
    published = _sha(home / "warehouse.duckdb")
    features = training_set("product", as_of=AS_OF, home=home)

    poison = _deliver(home, "poison", quantity=9)
    failed = _cli("run", "--home", str(home), home=home)
    assert failed.returncode == 1 and "web__events:gx_bronze_gate" in failed.stdout
    assert set(poison) <= _ids(pl.read_delta(str(lake / WEB)))  # landed, nothing lost...
    assert validated_version(lake / WEB) == pin  # ...but not validated
    assert not _ids(read_validated(lake / WEB)) & set(poison)

    # a retry runs the real gate again (writes are exactly once: it writes nothing new)
    retry = _cli("run", "--home", str(home), home=home)
    assert retry.returncode == 1 and "web__events:gx_bronze_gate" in retry.stdout
    # a later batch that passes on its own does not make the failed one validated
    clean = _deliver(home, "clean", quantity=2)
    later = _cli("run", "--home", str(home), home=home)
    assert later.returncode == 1 and validated_version(lake / WEB) == pin

    # compaction and vacuum neither move the pin nor break it
    from orchestration.assets.maintenance import lake_maintenance
    from orchestration.resources import LakehouseResource

    assert dg.materialize([lake_maintenance], resources={
        "lakehouse": LakehouseResource(home=str(home))}).success
    assert validated_version(lake / WEB) == pin
    assert not _ids(read_validated(lake / WEB)) & set(poison)

    # every validated reader: a full silver rebuild reads bronze at its pin...
    build_silver(home)
    silver = pl.read_delta(str(lake / "silver/clickstream_events"))
    assert not _ids(silver) & {*poison, *clean}
    # ...the warehouse was not republished, and training sets read what they read before
    assert _sha(home / "warehouse.duckdb") == published
    again = training_set("product", as_of=AS_OF, home=home)
    assert again.versions == features.versions and again.frame.equals(features.frame)

    # the documented repair: remove the bad rows; the next run checks what is left and passes
    DeltaTable(str(lake / WEB)).delete("_source_file = 'web/events_poison.jsonl'")
    repaired = _cli("run", "--home", str(home), home=home)
    assert repaired.returncode == 0, repaired.stdout[-3000:]
    assert validated_version(lake / WEB) > pin
    assert set(clean) <= _ids(read_validated(lake / "silver/clickstream_events"))
    assert not _ids(read_validated(lake / WEB)) & set(poison)
