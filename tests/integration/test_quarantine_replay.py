"""Replaying the quarantine on a real lake: pending rows get a release pass, dead rows that the
current contract accepts reach bronze and silver exactly once, the rest stay with their reason
(lakehouse/ingest/replay/, the `quarantine_replay` job, `lakehouse quarantine`)."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from deltalake import DeltaTable

from lakehouse.cli import main as cli
from lakehouse.home import Home
from lakehouse.ingest import batch_id_for, discover, ingest_files
from lakehouse.ingest.replay import Selection, read_quarantine, replay
from lakehouse.storage.delta import read_table
from tests.gated import build_silver, gate
from tests.integration.conftest import DELIVERED, LOCATIONS, jsonl, web_event, write_landing

POS_FILE = "pos/transactions_20260301_000.csv"
WEB_FILE = "web/events_20260301_000.jsonl"
# T2 is rung up at store S9, which no store list names yet: its local time cannot be placed
# (pending before bronze: unresolved_timezone); its second line also sells K9, a SKU the
# catalog lacks
POS = ("transaction_id,line_no,store_code,register_id,txn_time,pos_sku,qty,unit_price,discount,"
       "promo_id,loyalty_card,card_token,payment_type\n"
       "T1,1,S1,R1,2026-03-01 10:00:00,K1,2,9.99,,,,,cash\n"
       "T2,1,S9,R1,2026-03-01 11:00:00,K1,1,9.99,,,,,cash\n"
       "T2,2,S9,R1,2026-03-01 11:00:00,K9,1,5.00,,,,,cash\n")


def _product(n: int) -> dict:
    return {"product_id": f"P{n}", "title": "t", "brand": "b", "category": "c",
            "subcategory": "s", "price": 9.99, "cost": 5.0, "supplier_id": "SUP1",
            "web_variant_id": f"V{n}", "pos_sku": f"K{n}", "wms_item_code": f"W{n}",
            "launched_on": "2025-01-01", "status": "active"}


def _catalog(*ns: int) -> str:
    return json.dumps({"exported_at": "x", "products": [_product(n) for n in ns]})


def _store(code: str) -> str:
    store = {**LOCATIONS["locations"][0], "location_code": code, "name": code}
    return json.dumps({"locations": [store], "rates": []})


def _batch(home: Home, files: dict[str, str], hours: int = 0) -> str:
    """Deliver files, ingest them as one batch and build silver, gated as the pipeline does."""
    write_landing(home, files, DELIVERED + timedelta(hours=hours))
    new = [f for f in discover(home.root) if f.relpath in files]
    batch = batch_id_for(new)
    ingest_files(home.root, new, batch)
    build_silver(home.root, batch)
    return batch


def _gate(home: Home):
    return lambda tables: gate(home, *sorted({t.split("/")[0] for t in tables}))


def _versions(home: Home) -> dict[str, int]:
    return {str(p.relative_to(home.lake)): DeltaTable(str(p)).version()
            for p in sorted(home.lake.glob("*/*")) if DeltaTable.is_deltatable(str(p))
            and p.parent.name != "quality"}


@pytest.fixture(scope="module")
def landed(tmp_path_factory) -> Home:
    """The first delivery, ingested and built: pending rows and dead rows of several kinds."""
    home = Home.resolve(tmp_path_factory.mktemp("landed")).ensure()
    _batch(home, {
        "catalog/products_20260301_000.json": _catalog(1),
        "locations/locations_20260301_000.json": json.dumps(LOCATIONS),
        POS_FILE: POS,
        WEB_FILE: jsonl([web_event(1, variant_id="V1"), web_event(2, variant_id="V2"),
                         "{broken", web_event(4, quantity="7"), web_event(5, quantity=-1)]),
    })
    return home


@pytest.fixture(scope="module")
def placed(landed, tmp_path_factory) -> Home:
    """Then the till export is archived away from landing/ and the store list naming S9
    lands: the release at ingest cannot re-read T2's lines, only a replay of the raw text can."""
    home = _copy(landed, tmp_path_factory.mktemp("placed"))
    (home.landing / POS_FILE).unlink()
    _batch(home, {"locations/locations_20260302_000.json": _store("S9")}, hours=24)
    return home


def _copy(home: Home, to: Path) -> Home:
    """A lake of one's own to change (tests share the lakes built once per module)."""
    shutil.copytree(home.root, to / "home", symlinks=True)
    return Home.resolve(to / "home")


def _kinds(frame: pl.DataFrame) -> list[tuple]:
    return sorted(frame.select("error_kind", "_source_channel", "_line").rows())


def _allow_negative_web_quantities(monkeypatch) -> None:
    """A contract change, deployed: web cart events may carry a negative quantity now (the
    channel contract and the bronze suite derived from it)."""
    from dataclasses import replace

    import data_quality.suites
    import lakehouse.channels.registry as registry

    web = registry.entity("web", "events")
    fields = tuple(replace(f, minimum=None) if f.name == "quantity" else f for f in web.fields)
    channels = tuple(replace(ch, entities=tuple(replace(e, fields=fields) if e == web else e
                                                for e in ch.entities))
                     for ch in registry.CHANNELS)
    monkeypatch.setattr(registry, "CHANNELS", channels)
    monkeypatch.setattr(data_quality.suites, "CHANNELS", channels)


def test_replay_releases_from_raw_text_and_replays_dead_rows_after_a_contract_change(
        placed, tmp_path, monkeypatch):
    home = _copy(placed, tmp_path)
    q = read_quarantine(home)
    assert sorted(q.select("status", "error_kind").rows()) == [
        ("dead", "broken_json"), ("dead", "negative_quantity"), ("dead", "wrong_type"),
        ("pending", "unknown_product"), ("pending", "unresolved_timezone"),
        ("pending", "unresolved_timezone")]

    # T2's lines, from the raw text the quarantine kept: S9 has a time zone now
    report = replay(home, Selection.of(channels=["pos"]), gate=_gate(home))
    batch = report.batch_id
    assert batch.startswith("replay-")
    assert _kinds(report.released) == [("unresolved_timezone", "pos", 3),
                                       ("unresolved_timezone", "pos", 4)]
    assert report.waiting.is_empty() and report.replayed.is_empty()
    assert report.bronze_appended == {"pos__transactions": 2}
    bronze = read_table(str(home.lake / "bronze/pos__transactions")).filter(
        pl.col("transaction_id") == "T2")
    first = q.filter(pl.col("_source_channel") == "pos")["_batch_id"][0]
    assert bronze.select("_source_file", "_line", "_batch_id", "_released_by").sort(
        "_line").rows() == [(POS_FILE, 3, first, batch), (POS_FILE, 4, first, batch)]
    assert bronze["_delivered_at"].to_list() == [DELIVERED] * 2  # knowledge time kept
    lines = read_table(str(home.lake / "silver/pos_transaction_lines")).filter(
        pl.col("transaction_id") == "T2")
    assert lines.select("line_no", "location_id", "_line", "_released_by").rows() == [
        (1, "S9", 3, batch)]
    released = read_quarantine(home).filter(pl.col("status") == "released")
    assert released.select("error_kind", "_line", "released_by").sort("_line").rows() == [
        ("unresolved_timezone", 3, batch), ("unresolved_timezone", 4, batch)]
    assert released["released_at"].null_count() == 0

    # the same selection again: nothing replayed twice, no table changes
    before = _versions(home)
    again = replay(home, Selection.of(channels=["pos"]), gate=_gate(home))
    assert _versions(home) == before
    assert again.released.is_empty() and again.bronze_appended == {}

    # dead rows fail the contract until it changes; then they are replayed, once
    report = replay(home, Selection.of(["negative_quantity", "wrong_type"]), gate=_gate(home))
    assert _kinds(report.failing) == [("negative_quantity", "web", 5), ("wrong_type", "web", 4)]
    assert "must be >= 1" in report.failing.filter(
        pl.col("error_kind") == "negative_quantity")["reason"][0]
    assert _versions(home) == before
    _allow_negative_web_quantities(monkeypatch)
    report = replay(home, Selection.of(["negative_quantity", "wrong_type"]), gate=_gate(home))
    assert _kinds(report.replayed) == [("negative_quantity", "web", 5)]
    assert _kinds(report.failing) == [("wrong_type", "web", 4)]
    events = read_table(str(home.lake / "silver/clickstream_events"))
    assert events.filter(pl.col("event_id") == "e5")["_released_by"].to_list() == [
        report.batch_id]
    before = _versions(home)
    assert replay(home, Selection.of(["negative_quantity"]), gate=_gate(home)).selected == 0
    assert _versions(home) == before

    # the catalog lists V2: the next batch releases the pending row (rule 7)
    release = _batch(home, {"catalog/products_20260303_000.json": _catalog(1, 2)}, hours=48)
    q = read_quarantine(home)
    assert _kinds(q.filter(pl.col("released_by") == release)) == [
        ("unknown_product", "web", 2)]


def test_a_released_line_that_silver_holds_back_waits_as_pending(placed, tmp_path):
    home = _copy(placed, tmp_path)
    report = replay(home, Selection.of(channels=["pos"]), gate=_gate(home))
    # K9 is not in the catalog: silver holds that line back as pending, a reason to act on
    assert _kinds(report.now_pending) == [("unknown_product", "pos", 4)]
    _batch(home, {"catalog/products_20260303_000.json": _catalog(1, 9)}, hours=48)
    lines = read_table(str(home.lake / "silver/pos_transaction_lines"))
    assert lines.filter(pl.col("transaction_id") == "T2").height == 2


def test_replay_changes_nothing_while_nothing_can_be_placed(landed, tmp_path):
    home = _copy(landed, tmp_path)
    before = _versions(home)
    report = replay(home, Selection(), gate=_gate(home))
    assert _versions(home) == before
    assert report.selected == 6 and report.released.is_empty() and report.replayed.is_empty()
    assert _kinds(report.waiting) == [("unknown_product", "web", 2),
                                      ("unresolved_timezone", "pos", 3),
                                      ("unresolved_timezone", "pos", 4)]
    assert "S9" in report.waiting.filter(pl.col("_line") == 3)["reason"][0]
    assert _kinds(report.failing) == [("broken_json", "web", 3),
                                      ("negative_quantity", "web", 5),
                                      ("wrong_type", "web", 4)]
    assert "still fail" in report.describe()


def test_an_interrupted_replay_is_finished_not_repeated(placed, tmp_path):
    home = _copy(placed, tmp_path)

    def crash(*args, **kwargs):
        raise RuntimeError("killed after bronze committed")

    with pytest.raises(RuntimeError, match="killed"):
        replay(home, Selection.of(["unresolved_timezone"]), gate=_gate(home), build=crash)
    bronze = read_table(str(home.lake / "bronze/pos__transactions"))
    first = bronze.filter(pl.col("transaction_id") == "T2")["_released_by"].unique().to_list()
    assert len(first) == 1 and first[0].startswith("replay-")
    assert read_quarantine(home).filter(pl.col("status") == "released").is_empty()

    report = replay(home, Selection.of(["unresolved_timezone"]), gate=_gate(home))
    assert report.recovered_batches == first
    assert report.bronze_appended == {}  # the rows are in bronze already: not appended again
    bronze = read_table(str(home.lake / "bronze/pos__transactions"))
    assert bronze.filter(pl.col("transaction_id") == "T2").height == 2
    lines = read_table(str(home.lake / "silver/pos_transaction_lines"))
    assert lines.filter(pl.col("transaction_id") == "T2")["_released_by"].to_list() == first
    released = read_quarantine(home).filter(pl.col("status") == "released")
    assert released["released_by"].unique().to_list() == first


def test_the_replay_job_and_the_command_line(placed, tmp_path, capsys):
    from orchestration.definitions import defs
    from orchestration.runtime.replay import main as replay_main

    home = _copy(placed, tmp_path)
    assert cli(["quarantine", "list", "--home", str(home.root), "--rows", "10"]) == 0
    out = capsys.readouterr().out
    assert "6 row(s), 3 dead, 3 pending" in out
    assert "unresolved_timezone" in out and f"{POS_FILE}" in out
    assert "\"event_id\"" not in out and "11:00:00,K1" not in out  # no raw payloads

    job = defs.resolve_job_def("quarantine_replay")
    assert job.tags == {"lakehouse/writes": "lake"}
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance, run_config={
            "ops": {"replay_quarantine": {"config": {"channels": ["pos"],
                                                     "gate_engine": "duckdb"}}},
            "resources": {"lakehouse": {"config": {"home": str(home.root)}}}})
        assert result.success
        meta = next(e for e in result.all_node_events if e.event_type_value == "STEP_OUTPUT"
                    ).event_specific_data.metadata
        assert meta["released"].value == 2 and meta["waiting"].value == 0
        assert "unresolved_timezone/pos | 2" in meta["released_by_kind_channel"].value
        written = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
        assert {"bronze/pos__transactions", "silver/pos_transaction_lines",
                "quarantine/rows"} <= written
        gates = result.get_asset_check_evaluations()
        assert gates and all(e.passed for e in gates)
        assert {e.check_name for e in gates} >= {"gx_bronze_gate", "gx_silver_gate",
                                                 "gx_quarantine_gate"}

        # the command line runs the same job on the home's instance
        capsys.readouterr()
        assert replay_main(["--home", str(home.root), "--gate-engine", "duckdb",
                            "--channel", "pos", "--rows", "5"]) == 0
    out = capsys.readouterr().out
    # what is left: the released line silver holds back (its product is not in the catalog)
    assert "1 row(s) selected" in out and "pending: 0 released" in out


def test_each_dead_row_is_judged_against_its_own_ingest_clock(tmp_path):
    """A timestamp that was in the future when its batch was ingested stays in the future,
    even when it is judged next to a batch ingested ten days later (one scratch ingest)."""
    home = Home.resolve(tmp_path).ensure()
    soon, later = ((DELIVERED + timedelta(days=d)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
                   for d in (5, 20))
    for n, (rel, rows_, now) in enumerate([
            ("web/events_20260301_000.jsonl", [web_event(1, ts=soon), web_event(3, ts=later)],
             DELIVERED),
            ("web/events_20260311_000.jsonl", [web_event(2, quantity="7")],
             DELIVERED + timedelta(days=10))]):
        write_landing(home, {rel: jsonl(rows_)}, now)
        ingest_files(home.root, [f for f in discover(home.root) if f.relpath == rel],
                     f"b-{n}", now=now)
    report = replay(home, Selection(), gate=_gate(home))
    assert report.replayed.is_empty() and report.bronze_appended == {}
    failing = sorted(report.failing.select("error_kind", "reason").rows())
    assert [kind for kind, _ in failing] == ["future_timestamp"] * 2 + ["wrong_type"]
    for _, reason in failing[:2]:  # the clock its batch was ingested at, not the other's
        assert reason.endswith(f"after the ingest time {DELIVERED:%Y-%m-%dT%H:%M:%SZ}")


def test_a_line_whose_file_was_delivered_again_is_not_replayed(tmp_path, monkeypatch):
    """The source fixed the file and delivered it again under its name: the corrected line is
    in bronze, so the old copy is not replayed (it would be the same record twice)."""
    home = Home.resolve(tmp_path).ensure()
    for n, quantity in enumerate((-1, 2)):
        write_landing(home, {WEB_FILE: jsonl([web_event(1), web_event(2, quantity=quantity)])},
                      DELIVERED + timedelta(hours=n))
        ingest_files(home.root, discover(home.root), f"b-{n}",
                     now=DELIVERED + timedelta(hours=n))
    _allow_negative_web_quantities(monkeypatch)  # the old line would pass the contract now
    report = replay(home, Selection(), gate=_gate(home))
    assert report.replayed.is_empty() and report.bronze_appended == {}
    assert _kinds(report.skipped) == [("negative_quantity", "web", 2)]
    assert "delivered again later" in report.skipped["reason"][0]
