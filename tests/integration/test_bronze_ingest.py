"""Bronze ingestion end to end on real Delta tables: counts, exactly-once, order, drift, types."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import polars as pl
import pyarrow as pa
from deltalake import DeltaTable

from data_quality import validate_table
from data_quality.suites import quarantine_suite
from lakehouse.home import Home
from lakehouse.ingest import batch_id_for, discover, ingest_files
from lakehouse.storage import bronze_uri, quarantine_uri, read_table
from tests.integration.conftest import jsonl, standard_landing, web_event, write_landing

NOW = datetime(2026, 3, 2, tzinfo=UTC)


def ingest(home: Home, files=None):
    files = discover(home) if files is None else files
    return ingest_files(home, files, batch_id_for(files), now=NOW)


def tables(home: Home) -> dict[str, pl.DataFrame]:
    """Every table's content, sorted, without the wall-clock column."""
    out = {}
    for path in sorted([*home.bronze.iterdir(), home.quarantine / "rows"]):
        frame = read_table(str(path)).drop("_ingested_at")
        out[path.name] = frame.sort(frame.columns, nulls_last=True)
    return out


def versions(home: Home) -> dict[str, int]:
    return {p.name: DeltaTable(str(p)).version()
            for p in [*home.bronze.iterdir(), home.quarantine / "rows"]}


def test_batch_lands_rows_and_counts_add_up(home):
    write_landing(home, standard_landing())
    result = ingest(home)
    assert result.rows_read == result.rows_bronze + result.rows_quarantined
    for f in result.files:
        assert f.rows_read == f.rows_bronze + f.rows_quarantined
    by_file = {f.relpath: f for f in result.files}
    web0 = by_file["web/events_20260301_000.jsonl"]
    assert (web0.rows_read, web0.rows_bronze, web0.rows_quarantined) == (8, 5, 3)
    assert result.tables["web__events"].rows_bronze == 9
    assert read_table(bronze_uri(home, "web", "events")).height == 9
    assert read_table(bronze_uri(home, "pos", "transactions")).height == 2
    assert read_table(bronze_uri(home, "locations", "shipping_rates")).height == 1
    quarantine = read_table(quarantine_uri(home))
    assert quarantine.height == result.rows_quarantined == 5
    assert set(quarantine["error_kind"]) == {
        "wrong_type", "broken_json", "negative_quantity", "unresolved_timezone",
        "unreadable_file"}
    broken = quarantine.filter(pl.col("error_kind") == "broken_json").row(0, named=True)
    assert broken["raw"] == "{broken" and broken["_line"] == 7
    assert broken["_source_file"] == "web/events_20260301_000.jsonl"
    assert broken["_batch_id"] == result.batch_id
    meta = result.metadata()
    assert meta["rows_read"] == 18 and meta["files_skipped"] == 0
    # the quarantine asset plots one series per kind: the counts are the table's
    by_kind = quarantine.group_by("error_kind").len()
    assert meta["quarantined_by_kind"] == dict(by_kind.sort("error_kind").iter_rows())


def test_lineage_columns_and_utc_microsecond_timestamps(home):
    write_landing(home, standard_landing())
    ingest(home)
    uri = bronze_uri(home, "web", "events")
    schema = pa.schema(DeltaTable(uri).schema().to_arrow())
    for name in ("ts", "_ingested_at"):
        assert schema.field(name).type == pa.timestamp("us", tz="UTC")
    web = read_table(uri).sort("_source_file", "_line")
    assert web["_line"].to_list()[:3] == [1, 2, 3]
    assert web["ts"][0] == datetime(2026, 3, 1, 9, 15, 30, 123000, tzinfo=UTC)
    pos = read_table(bronze_uri(home, "pos", "transactions")).sort("_line")
    assert pos["_line"].to_list() == [2, 3]  # the CSV header is line 1
    assert pos["txn_time"][0] == datetime(2026, 3, 1, 9, tzinfo=UTC)
    for path in [*home.bronze.iterdir(), home.quarantine / "rows"]:
        protocol = DeltaTable(str(path)).protocol()
        assert (protocol.min_reader_version, protocol.min_writer_version) == (1, 2)


def test_reingesting_changes_nothing(home):
    write_landing(home, standard_landing())
    ingest(home)
    before, content = versions(home), tables(home)
    again = ingest(home)
    assert again.files_skipped == len(again.files) == 5
    assert again.rows_read == 0
    assert versions(home) == before
    # a re-delivered file inside a different batch is skipped as well
    write_landing(home, {"web/events_20260302_000.jsonl": jsonl([web_event(99)])})
    mixed = ingest(home)
    assert mixed.files_skipped == 5 and mixed.rows_bronze == 1
    assert tables(home)["web__events"].height == content["web__events"].height + 1


def test_changed_file_under_the_same_name_is_new_work(home):
    write_landing(home, {"web/events_20260301_000.jsonl": jsonl([web_event(1)])})
    ingest(home)
    write_landing(home, {"web/events_20260301_000.jsonl": jsonl([web_event(1), web_event(2)])})
    result = ingest(home)
    assert result.files_skipped == 0 and result.rows_bronze == 2
    web = read_table(bronze_uri(home, "web", "events"))
    assert web.height == 3 and web["_batch_id"].n_unique() == 2


def test_file_order_does_not_change_bronze(tmp_path):
    homes = []
    for seed in range(3):
        home = Home.resolve(tmp_path / f"h{seed}").ensure()
        write_landing(home, standard_landing())
        files = discover(home)
        random.Random(seed).shuffle(files)
        ingest_files(home, files, batch_id_for(files), now=NOW)
        homes.append(tables(home))
    assert homes[0].keys() == homes[1].keys()
    for h in homes[1:]:
        for name, frame in h.items():
            assert frame.equals(homes[0][name]), name
    # one file at a time, in reverse: same rows (batch ids differ by construction)
    home = Home.resolve(tmp_path / "single").ensure()
    write_landing(home, standard_landing())
    for f in reversed(discover(home)):
        ingest(home, [f])
    single = tables(home)
    for name, frame in single.items():
        cols = [c for c in frame.columns if c != "_batch_id"]
        assert frame.select(cols).sort(cols, nulls_last=True).equals(
            homes[0][name].select(cols).sort(cols, nulls_last=True)), name


def test_new_optional_field_evolves_the_table(home):
    write_landing(home, {"web/events_20260301_000.jsonl": jsonl([web_event(1), web_event(2)])})
    ingest(home)
    uri = bronze_uri(home, "web", "events")
    protocol = DeltaTable(uri).protocol()
    assert "consent" not in read_table(uri).columns
    write_landing(home, {"web/events_20260302_000.jsonl": jsonl(
        [web_event(3, consent="granted"), web_event(4, consent=7)])})
    result = ingest(home)
    assert result.rows_bronze == 1 and result.rows_quarantined == 1
    web = read_table(uri).sort("event_id")
    assert web["consent"].to_list() == [None, None, "granted"]
    assert DeltaTable(uri).protocol() == protocol
    # a later file without the field still appends
    write_landing(home, {"web/events_20260303_000.jsonl": jsonl([web_event(5)])})
    ingest(home)
    assert read_table(uri).height == 4


def test_unknown_file_and_extra_fields_are_not_lost(home):
    write_landing(home, {"web/events_20260301_000.jsonl": jsonl([web_event(1, promo="x")]),
                         "web/notes.txt": "hello"})
    result = ingest(home)
    assert result.rows_read == 2
    web = read_table(bronze_uri(home, "web", "events"))
    assert json.loads(web["_extra"][0]) == {"promo": "x"}
    q = read_table(quarantine_uri(home)).row(0, named=True)
    assert (q["error_kind"], q["raw"], q["_source_file"]) == ("unknown_file", "hello",
                                                              "web/notes.txt")



def test_a_duplicated_key_is_quarantined_and_passes_the_quarantine_gate(home):
    """Every kind the ingest can write is one the quarantine suite accepts."""
    dup = json.dumps(web_event(2))[:-1] + ', "quantity": 5}'
    write_landing(home, {"web/events_20260301_000.jsonl": jsonl([web_event(1), dup])})
    result = ingest(home)
    assert (result.rows_bronze, result.rows_quarantined) == (1, 1)
    q = read_table(quarantine_uri(home)).row(0, named=True)
    assert (q["error_kind"], q["field"], q["raw"]) == ("duplicate_key", "quantity", dup)
    gate = validate_table(quarantine_uri(home), quarantine_suite(), now=NOW)
    assert gate.passed, gate.describe()

def test_big_file_read_in_pieces_lands_the_same_rows(tmp_path, monkeypatch):
    from lakehouse.ingest.bronze import work

    rows = [web_event(i) for i in range(60)]
    rows[7] = "{broken"
    rows[30] = web_event(30, quantity="7")
    rows[41] = web_event(41, consent="granted")  # an added field that appears mid-file
    landing = {"web/events_20260301_000.jsonl": jsonl(rows)}
    out = {}
    for name, piece in (("whole", 1 << 30), ("pieces", 700)):
        monkeypatch.setattr(work, "STREAM_BYTES", piece)
        home = Home.resolve(tmp_path / name).ensure()
        write_landing(home, landing)
        result = ingest(home)
        assert (result.rows_read, result.rows_bronze, result.rows_quarantined) == (60, 58, 2)
        out[name] = tables(home)
        schema = pa.schema(DeltaTable(bronze_uri(home, "web", "events")).schema().to_arrow())
        out[name + "_columns"] = schema.names
    assert out["whole_columns"] == out["pieces_columns"]
    for name, frame in out["whole"].items():
        assert frame.equals(out["pieces"][name]), name
