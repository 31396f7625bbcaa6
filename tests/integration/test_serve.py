"""The inventory API over HTTP: `lakehouse serve` as a real process on a loopback port, asked
with a real HTTP client (urllib), on a small simulated lake built through its quality gates.

Its answers equal the Python API's (``lakehouse.inventory.availability`` / ``fulfilment``) for
the same validated tables; bad input gets a 4xx naming the parameter; it serves nothing before
a validated positions version exists, a newly validated version within 10 s, and never a
newer version that did not pass its gate.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from lakehouse.home import Home
from lakehouse.ingest import batch_id_for, discover, ingest_files
from lakehouse.inventory import Inventory, availability, fulfilment
from lakehouse.simulate import SimConfig, simulate
from lakehouse.storage.tables import replace_table
from lakehouse.storage.validations import record_validation, validated_version
from tests.gated import build_inventory, build_silver
from tests.servers import free_port, stop

BIN = Path(sys.executable).parent
POSITIONS = "lake/gold/inventory_positions"
FRESH_SECONDS = 10  # a validated version is served within this long


def get(base: str, path: str, **params) -> tuple[int, dict]:
    """(status, JSON body) of a GET; 4xx and 5xx answers too."""
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    try:
        with urllib.request.urlopen(f"{base}{path}?{query}", timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@contextmanager
def serving(home: Path, log: Path) -> Iterator[str]:
    """`lakehouse serve` on a free loopback port until the block ends."""
    port = free_port()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [str(BIN / "lakehouse"), "serve", "--home", str(home), "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                urllib.request.urlopen(f"{base}/openapi.json", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield base
    finally:
        stop(proc, 10)


@pytest.fixture(scope="module")
def sim_home(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("serve")
    home = Home.resolve(root).ensure()
    simulate(home, SimConfig(persons=150, products=20, stores=2, warehouses=1, days=4))
    files = discover(root)
    batch = batch_id_for(files)
    ingest_files(root, files, batch)
    build_silver(root, batch)  # gated, as in tests.gated: validations recorded
    build_inventory(home)
    return root


@pytest.fixture(scope="module")
def api(sim_home, tmp_path_factory) -> Iterator[str]:
    with serving(sim_home, tmp_path_factory.mktemp("log") / "serve.log") as base:
        yield base


@pytest.fixture(scope="module")
def inventory(sim_home) -> Inventory:
    return Inventory.load(sim_home)  # what availability(home) / fulfilment(home) read


def _plain(row: dict) -> dict:
    """A Python API row as JSON carries it (times as ISO 8601)."""
    out = {}
    for k, v in row.items():
        if isinstance(v, datetime):
            v = v.isoformat(timespec="microseconds")
        elif isinstance(v, date):
            v = v.isoformat()
        out[k] = v
    return out


def _products(sim_home: Path) -> list[str]:
    return sorted(pl.read_delta(str(sim_home / POSITIONS))["product_id"].unique().to_list())


def test_availability_equals_the_python_api(api, sim_home, inventory) -> None:
    locations = pl.read_delta(str(sim_home / "lake/silver/locations"))
    stores = locations.filter(pl.col("type") == "store")["location_code"].to_list()
    warehouse = locations.filter(pl.col("type") == "warehouse")["location_code"][0]
    pin = validated_version(sim_home / POSITIONS)
    products = _products(sim_home)
    # the home itself, once, as a client of the Python API calls it
    assert availability(sim_home, products[0], channel="web").height
    compared = 0
    for product in products:
        for channel in (None, "web", "app", "online", "store", *stores):
            status, body = get(api, "/availability", product_id=product, channel=channel)
            assert status == 200, body
            want = availability(inventory, product, channel=channel).drop("product_id")
            assert body["product_id"] == product and body["channel"] == channel
            assert body["positions_version"] == pin
            assert body["locations"] == [_plain(r) for r in want.to_dicts()], (product, channel)
            compared += len(body["locations"])
        status, body = get(api, "/availability", product_id=product, channel="web",
                           location=warehouse)
        want = availability(inventory, product, location=warehouse, channel="web")
        assert body["locations"] == [_plain(r) for r in want.drop("product_id").to_dicts()]
    assert compared > 100
    sold = [r for p in products for r in get(api, "/availability", product_id=p,
                                             channel="web")[1]["locations"]]
    assert sold and all(0 <= r["sellable"] <= r["available_to_promise"] for r in sold)


def test_fulfilment_equals_the_python_api(api, sim_home, inventory) -> None:
    rates = pl.read_delta(str(sim_home / "lake/silver/shipping_rates"))
    zones = sorted(rates["to_zone"].unique())
    products = _products(sim_home)
    options = 0
    for quantity, service in ((1, None), (3, "standard"), (2, "express")):
        want = fulfilment(inventory, quantity=quantity, service=service)
        by = {k: g for k, g in want.partition_by("product_id", "zone", as_dict=True).items()}
        for product in products:
            for zone in zones:
                status, body = get(api, "/fulfilment", product_id=product, zone=zone,
                                   quantity=quantity, service=service)
                assert status == 200, body
                rows = by.get((product, zone), pl.DataFrame(schema=want.schema))
                assert body["options"] == rows.drop("product_id", "zone").to_dicts(), (
                    product, zone, quantity, service)
                options += len(body["options"])
    assert options > 50


def test_bad_input_gets_a_4xx_naming_the_parameter(api, sim_home) -> None:
    product = _products(sim_home)[0]
    warehouse = pl.read_delta(str(sim_home / "lake/silver/locations")).filter(
        pl.col("type") == "warehouse")["location_code"][0]
    cases = [
        ({"product_id": "NOPE"}, "/availability", 404, "product_id"),
        ({"product_id": product, "channel": "fax"}, "/availability", 422, "channel"),
        ({"product_id": product, "channel": warehouse}, "/availability", 422, "channel"),
        ({"product_id": product, "location": "XX9"}, "/availability", 422, "location"),
        ({"product_id": ""}, "/availability", 422, "product_id"),
        ({}, "/availability", 422, "product_id"),
        ({"product_id": "NOPE", "zone": "NE"}, "/fulfilment", 404, "product_id"),
        ({"product_id": product}, "/fulfilment", 422, "zone"),
        ({"product_id": product, "zone": "ATLANTIS"}, "/fulfilment", 422, "zone"),
        ({"product_id": product, "zone": "NE", "service": "teleport"}, "/fulfilment", 422,
         "service"),
        ({"product_id": product, "zone": "NE", "quantity": "two"}, "/fulfilment", 422,
         "quantity"),
        ({"product_id": product, "zone": "NE", "quantity": 0}, "/fulfilment", 422,
         "quantity"),
    ]
    for params, path, status, param in cases:
        got, body = get(api, path, **params)
        assert got == status, (params, body)
        assert [p["loc"] for p in body["detail"]] == [["query", param]], (params, body)
        assert all(p["msg"] for p in body["detail"]) and "Traceback" not in json.dumps(body)
    # the valid values are in the answer
    detail = get(api, "/availability", product_id=product, channel="fax")[1]["detail"][0]
    assert {"web", "app", "store"} <= set(detail["allowed"])
    assert "is a warehouse" in get(api, "/availability", product_id=product,
                                   channel=warehouse)[1]["detail"][0]["msg"]
    detail = get(api, "/fulfilment", product_id=product, zone="ATLANTIS")[1]["detail"][0]
    assert "NE" in detail["allowed"]
    assert "express" in get(api, "/fulfilment", product_id=product, zone="NE",
                            service="teleport")[1]["detail"][0]["msg"]


def test_schema_docs_and_health(api, sim_home) -> None:
    status, schema = get(api, "/openapi.json")
    assert status == 200 and {"/availability", "/fulfilment", "/health"} <= set(schema["paths"])
    params = {p["name"] for p in schema["paths"]["/fulfilment"]["get"]["parameters"]}
    assert params == {"product_id", "zone", "quantity", "service"}
    with urllib.request.urlopen(f"{api}/docs", timeout=10) as r:
        page = r.read().decode()
    # Swagger UI from the package, not a CDN this machine cannot reach
    assert "/static-offline-docs/swagger-ui-bundle.js" in page and "cdn" not in page
    with urllib.request.urlopen(f"{api}/static-offline-docs/swagger-ui-bundle.js") as r:
        assert r.status == 200
    status, health = get(api, "/health")
    pin = validated_version(sim_home / POSITIONS)
    assert status == 200 and health["status"] == "ok"
    assert health["served"]["gold/inventory_positions"] == pin
    assert health["validated"]["gold/inventory_positions"] == pin and health["loaded_at"]


def _served_version(base: str) -> int | None:
    return (get(base, "/health")[1]["served"] or {}).get("gold/inventory_positions")


def _wait_served(base: str, version: int) -> float:
    started = time.monotonic()
    while _served_version(base) != version:
        assert time.monotonic() - started < FRESH_SECONDS, get(base, "/health")[1]
        time.sleep(0.1)
    return time.monotonic() - started


def test_serves_only_validated_positions_and_new_ones_within_10s(sim_home, tmp_path) -> None:
    home = tmp_path / "home"
    Home.resolve(home).ensure()
    with serving(home, tmp_path / "serve.log") as base:
        # nothing validated yet: 503 with the reason, on every route
        status, body = get(base, "/availability", product_id="P1")
        assert status == 503 and "no validated version" in body["detail"][0]["msg"]
        assert get(base, "/health")[0] == 503
        # the lake lands (as a first nightly build would): served within 10 s
        shutil.copytree(sim_home / "lake", home / "lake", dirs_exist_ok=True)
        pin = validated_version(home / POSITIONS)
        _wait_served(base, pin)
        uri = str(home / POSITIONS)
        before = pl.read_delta(uri, version=pin)
        product, location = before.row(0, named=True)["product_id"], \
            before.row(0, named=True)["location_id"]

        def on_hand(frame: pl.DataFrame) -> int:
            return frame.filter((pl.col("product_id") == product)
                                & (pl.col("location_id") == location))["on_hand"].item()

        def served_on_hand() -> int:
            rows = get(base, "/availability", product_id=product, location=location)[1]
            return rows["locations"][0]["on_hand"]

        assert served_on_hand() == on_hand(before)
        key = (pl.col("product_id") == product) & (pl.col("location_id") == location)
        changed = before.with_columns(
            pl.when(key).then(pl.col(c) + 7).otherwise(pl.col(c)).alias(c)
            for c in ("on_hand", "available_to_promise"))
        # a newer version that did not pass its gate is never served
        unchecked = replace_table(uri, changed)
        time.sleep(3)  # three polls
        assert _served_version(base) == pin and served_on_hand() == on_hand(before)
        # once its gate passes, it is served within 10 s
        record_validation(uri, unchecked, "inventory_positions", changed.height,
                          from_version=pin)
        _wait_served(base, unchecked)
        assert served_on_hand() == on_hand(before) + 7
        # and a later failed (unrecorded) version leaves it there
        replace_table(uri, before)
        record_validation(uri, unchecked + 1, "inventory_positions", before.height,
                          passed=False, from_version=unchecked)
        time.sleep(3)
        assert _served_version(base) == unchecked and served_on_hand() == on_hand(before) + 7
