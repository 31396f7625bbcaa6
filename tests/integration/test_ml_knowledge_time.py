"""Training sets as the lake knew them at label time (DESIGN.md rule 8), on a real simulated
home: files delivered after the label time (late events that happened before it, order
cancellations, a catalog change) leave a knowledge-time training set unchanged."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from lakehouse.home import Home
from lakehouse.ingest import batch_id_for, discover, ingest_files
from lakehouse.ml import FEATURE_SETS, HistoryError, training_set
from lakehouse.storage.delta import read_table
from tests.gated import build_silver, gate, private_copy

T = datetime(2026, 1, 7, tzinfo=UTC)  # the label time (the simulation runs Jan 1 - Jan 12)
DELIVERED = T + timedelta(hours=5)  # when the late files land
T3 = DELIVERED + timedelta(hours=1)  # a label time after they landed
INPUTS = sorted({t for fs in FEATURE_SETS.values() for t in fs.tables})


def validate(lake: Path) -> None:
    """What the pipeline's steps do: gate every table (real suites) so its pin moves."""
    gate(lake.parent, "bronze", "quarantine", "silver", "gold")


@pytest.fixture
def home(small_retailer, tmp_path) -> Home:
    """A private copy of the small retailer: tests write to its tables."""
    return private_copy(small_retailer, tmp_path)


def deliver(home: Home, rel: str, text: str, at: datetime) -> None:
    path = home.landing / rel
    path.write_text(text)
    ns = int(at.timestamp() * 1_000_000) * 1000
    os.utime(path, ns=(ns, ns))


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def late_files(home: Home) -> None:
    """Files delivered at DELIVERED: web events and orders' cancellations that happened before
    T, and a catalog export that changes every product's category and price."""
    web = sorted((home.landing / "web").glob("events_*.jsonl"))[2]
    events = [json.loads(x) for x in web.read_text().splitlines()[:150]]
    lines = [json.dumps({**e, "event_id": e["event_id"] + "-late",
                         "ts": iso(T - timedelta(hours=2))}) for e in events]
    deliver(home, "web/events_20260107_900.jsonl", "\n".join(lines) + "\n", DELIVERED)

    orders = []
    for path in sorted((home.landing / "orders").glob("orders_*.jsonl"))[:6]:
        orders += [json.loads(x) for x in path.read_text().splitlines()]
    first = [o for o in orders if o.get("cancelled_at") is None
             and o["created_at"] < iso(T - timedelta(hours=1))][:25]
    assert len(first) >= 5
    cancel = iso(T - timedelta(hours=1))
    updates = [json.dumps({**o, "updated_at": cancel, "cancelled_at": cancel}) for o in first]
    deliver(home, "orders/orders_20260107_900.jsonl", "\n".join(updates) + "\n", DELIVERED)

    doc = json.loads((home.landing / "catalog" / "products_20260101_000.json").read_text())
    cats = sorted({p["category"] for p in doc["products"]})
    for p in doc["products"]:
        p["category"] = cats[(cats.index(p["category"]) + 1) % len(cats)]
        p["price"] = round(p["price"] * 1.5, 2)
    doc["exported_at"] = iso(DELIVERED)
    deliver(home, "catalog/products_20260107_000.json", json.dumps(doc), DELIVERED)


def land_late(home: Home) -> None:
    known = {f.identity for f in discover(home.root)}
    late_files(home)
    new = [f for f in discover(home.root) if f.identity not in known]
    assert len(new) == 3
    batch = batch_id_for(new)
    ingest_files(home.root, new, batch)
    validate(home.lake)
    build_silver(home.root, batch)
    validate(home.lake)


def keys(home: Home, name: str) -> list[str]:
    if name == "customer":
        table = read_table(str(home.lake / "gold" / "identity_map"))
        return sorted(table["person_id"].unique())
    return sorted(read_table(str(home.lake / "silver" / "products"))["product_id"])


def labels(home: Home, name: str, *times: datetime) -> pl.DataFrame:
    key = FEATURE_SETS[name].key
    ks = keys(home, name)
    return pl.DataFrame({key: [k for k in ks for _ in times],
                         "label_time": [t for _ in ks for t in times]})


def at(frame: pl.DataFrame, when: datetime) -> pl.DataFrame:
    return frame.filter(pl.col("label_time") == when)


def test_delivery_time_is_the_files_mtime_in_bronze_and_silver(home) -> None:
    bronze = read_table(str(home.lake / "bronze" / "web__events"))
    by_file = bronze.group_by("_source_file").agg(pl.col("_delivered_at").unique())
    for source, delivered in by_file.iter_rows():
        mtime = (home.landing / source).stat().st_mtime_ns // 1000
        assert delivered == [datetime.fromtimestamp(mtime / 1e6, UTC)], source
    assert (bronze["_delivered_at"] < bronze["_ingested_at"]).all()  # a history backfilled
    for table in ("clickstream_events", "orders", "order_lines", "products", "purchase_orders",
                  "identifier_observations"):
        frame = read_table(str(home.lake / "silver" / table))
        assert frame["_delivered_at"].null_count() == 0, table


@pytest.mark.parametrize("name", ["customer", "product"])
def test_files_delivered_after_the_label_time_change_nothing(home, name) -> None:
    lab = labels(home, name, T, T3)
    before = training_set(name, labels=lab, home=home)
    before_event = training_set(name, labels=lab, home=home, point_in_time="event")
    assert before.point_in_time == "knowledge"
    assert "bronze/orders__orders" in before.versions
    assert "bronze/orders__orders" not in before_event.versions

    land_late(home)
    after = training_set(name, labels=lab, home=home)
    grown = {t for t in after.versions if after.versions[t] > before.versions[t]}
    assert {"silver/orders", "silver/products", "bronze/orders__orders",
            "bronze/catalog__products"} <= grown
    # as known at T: identical, though events, cancellations and a catalog change before T
    # (or in force at T, in event-time mode) have landed since
    assert at(after.frame, T).equals(at(before.frame, T))
    # pinned versions rebuild exactly too
    assert before.rebuild().frame.equals(before.frame)
    # the late files do matter: to a label after their delivery, and in event-time mode
    assert not at(after.frame, T3).equals(at(before.frame, T3))
    after_event = training_set(name, labels=lab, home=home, point_in_time="event")
    assert not at(after_event.frame, T).equals(at(before_event.frame, T))
    if name == "customer":
        # web events of T - 2 h, delivered after T: seen at T3, not at T
        assert at(after.frame, T3)["events_7d"].sum() > at(before.frame, T3)["events_7d"].sum()
        assert at(after_event.frame, T)["events_7d"].sum() > (
            at(before_event.frame, T)["events_7d"].sum())
    else:
        # the catalog export delivered after T: its prices only from T3 on
        prices = at(after.frame, T).select("product_id", "price").join(
            at(after.frame, T3).select("product_id", pl.col("price").alias("new")),
            on="product_id")
        assert (prices["new"] > prices["price"]).all()


def test_a_label_time_before_the_history_is_refused(home) -> None:
    lab = labels(home, "product", datetime(2025, 6, 1, tzinfo=UTC))
    with pytest.raises(HistoryError, match="before the lake's history"):
        training_set("product", labels=lab, home=home)
    # event-time mode reads the past as known now: no such limit
    assert training_set("product", labels=lab, home=home, point_in_time="event").frame.height
    with pytest.raises(ValueError, match="point_in_time"):
        training_set("product", labels=lab, home=home, point_in_time="ingest")
