"""Every kind of malformed input in ``tests/corpus/malformed`` through the real ingest.

Each kind is a small landing zone (``<kind>/<channel>/<file>``; the big ones are written by
``tests/corpus/malformed/generate.py``). For every file the test states which lines (records of a
JSON document) land in bronze and which are quarantined with which kind and field, and checks
the rules every outcome obeys (DESIGN.md rules 3 and 4): the ingest does not raise, rows read =
rows in bronze + rows quarantined (counted and in the tables), every quarantined row keeps its raw
text and has a reason naming its file, its line (or record) and its field.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from lakehouse.home import Home
from lakehouse.ingest import IngestResult, batch_id_for, discover, ingest_files
from lakehouse.ingest.bronze import work
from lakehouse.ingest.parse import jsonl
from lakehouse.ingest.parse.records import strip_bom
from lakehouse.ingest.quarantine import ERROR_KINDS
from lakehouse.storage import read_table
from tests.corpus.malformed.generate import GENERATED, deep_nesting, huge_field
from tests.integration.conftest import ingest_outcome, write_landing

CORPUS = Path(__file__).parents[1] / "corpus" / "malformed"
NOW = datetime(2026, 3, 2, tzinfo=UTC)

Q = dict[int, tuple[str, str | None]]  # quarantined line -> (error kind, field)
# kind -> file -> (lines in bronze, quarantined lines)
EXPECTED: dict[str, dict[str, tuple[list[int], Q]]] = {
    "truncated_file": {
        "web/events_20260301_000.jsonl": ([1, 2, 3], {4: ("broken_json", None)}),
        "suppliers/suppliers_20260301_000.csv": ([2, 3], {4: ("malformed_csv", None)}),
        "catalog/products_20260301_000.json": ([], {1: ("unreadable_file", None)}),
    },
    "utf8_bom": {  # the byte order mark is no content: every record lands
        "web/events_20260301_000.jsonl": ([1, 2], {}),
        "suppliers/suppliers_20260301_000.csv": ([2, 3], {}),
        "catalog/products_20260301_000.json": ([1], {}),
    },
    "mixed_line_endings": {  # CRLF and LF end lines; a lone CR does not
        "web/events_20260301_000.jsonl": ([1, 2, 4, 6], {3: ("broken_json", None)}),
        "suppliers/suppliers_20260301_000.csv": ([2, 4], {3: ("malformed_csv", None)}),
    },
    "nul_bytes": {  # a raw NUL is no JSON (an escaped one is); in CSV text it is a character
        "web/events_20260301_000.jsonl": ([1, 4, 5], {2: ("broken_json", None),
                                                      3: ("broken_json", None)}),
        "suppliers/suppliers_20260301_000.csv": ([2, 4], {3: ("malformed_csv", None)}),
    },
    "invalid_utf8": {
        "web/events_20260301_000.jsonl": ([1, 5], {2: ("encoding_error", None),
                                                   3: ("encoding_error", None),
                                                   4: ("encoding_error", None)}),
        "suppliers/suppliers_20260301_000.csv": ([2, 4], {3: ("encoding_error", None)}),
        "pos/transactions_20260301_000.csv": ([], {1: ("encoding_error", None),
                                                   2: ("unreadable_file", None)}),
        "catalog/products_20260301_000.json": ([], {1: ("unreadable_file", None)}),
    },
    "duplicated_keys": {
        "web/events_20260301_000.jsonl": ([1, 4], {2: ("duplicate_key", "quantity"),
                                                   3: ("duplicate_key", "user_id")}),
        "suppliers/suppliers_20260301_000.csv": ([], {2: ("duplicate_key", "name"),
                                                      3: ("duplicate_key", "name")}),
        "catalog/products_20260301_000.json": ([1], {2: ("duplicate_key", "price")}),
        "catalog/products_20260302_000.json": ([], {1: ("duplicate_key", "tags[0].a")}),
        "locations/locations_20260301_000.json": ([], {1: ("unreadable_file", None)}),
    },
    "deep_nesting": {  # 10,000 levels; 100 levels under an unknown key land in _extra
        "web/events_20260301_000.jsonl": ([1, 4, 5], {2: ("broken_json", None),
                                                      3: ("broken_json", None)}),
        "orders/orders_20260301_000.jsonl": ([1], {2: ("broken_json", None)}),
        "catalog/products_20260301_000.json": ([], {1: ("unreadable_file", None)}),
    },
    "huge_field": {
        "web/events_20260301_000.jsonl": ([1, 2, 4], {3: ("wrong_type", "quantity")}),
        "suppliers/suppliers_20260301_000.csv": ([2, 3], {4: ("wrong_type", "lead_time_days")}),
        "suppliers/suppliers_20260302_000.csv": ([2], {4: ("wrong_type", "lead_time_days")}),
    },
    "wrong_types": {
        "web/events_20260301_000.jsonl": ([1], {
            2: ("wrong_type", "quantity"), 3: ("wrong_type", "page_url"),
            4: ("wrong_type", "quantity"), 5: ("wrong_type", "quantity"),
            6: ("wrong_type", "event_id"), 7: ("wrong_type", "ts")}),
        "app/events_20260301_000.jsonl": ([1], {2: ("wrong_type", "pushOptIn"),
                                                3: ("wrong_type", "eventTimestamp")}),
        "orders/orders_20260301_000.jsonl": ([1], {
            2: ("wrong_type", "line_items"), 3: ("wrong_type", "customer"),
            4: ("wrong_type", "line_items[0].quantity")}),
        "suppliers/suppliers_20260301_000.csv": ([2], {3: ("wrong_type", "lead_time_days"),
                                                       4: ("wrong_type", "lead_time_days")}),
    },
    "numbers_out_of_range": {
        "web/events_20260301_000.jsonl": ([1], {2: ("wrong_type", "quantity"),
                                                3: ("wrong_type", "quantity"),
                                                4: ("negative_quantity", "quantity")}),
        "ads/clicks_20260301_000.jsonl": ([1], {
            2: ("out_of_range", "cost"), 3: ("broken_json", None), 4: ("broken_json", None),
            5: ("out_of_range", "cost")}),
        "reviews/reviews_20260301_000.jsonl": ([1], {2: ("out_of_range", "rating")}),
        "app/events_20260301_000.jsonl": ([1], {2: ("bad_timestamp", "eventTimestamp"),
                                                3: ("wrong_type", "eventTimestamp")}),
        "ads/spend_20260301_000.csv": ([2], {3: ("out_of_range", "spend"),
                                             4: ("wrong_type", "impressions"),
                                             5: ("wrong_type", "spend")}),
    },
    "header_drift": {  # reordered and extra columns land; a missing or renamed one does not
        "suppliers/suppliers_20260301_000.csv": ([2, 3], {}),
        "suppliers/suppliers_20260302_000.csv": ([], {2: ("missing_required", "country")}),
        "suppliers/suppliers_20260303_000.csv": ([2, 3], {}),
        "suppliers/suppliers_20260304_000.csv": ([], {2: ("missing_required", "supplier_id")}),
    },
    "quoted_newlines": {  # a record spanning lines is named by its first line
        "suppliers/suppliers_20260301_000.csv": ([2, 4, 5], {}),
        "suppliers/suppliers_20260302_000.csv": ([2], {3: ("malformed_csv", None)}),
    },
    "empty_file": {
        "web/events_20260301_000.jsonl": ([], {}),
        "suppliers/suppliers_20260301_000.csv": ([], {}),
        "promotions/promotions_20260301_000.csv": ([], {}),
        "catalog/products_20260301_000.json": ([], {1: ("unreadable_file", None)}),
    },
    "blank_lines": {  # spaces, tabs and CR only: no record; a form feed or NBSP line is one
        "web/events_20260301_000.jsonl": ([2, 6, 9], {7: ("broken_json", None),
                                                      8: ("broken_json", None)}),
        "suppliers/suppliers_20260301_000.csv": ([3, 5], {}),
    },
    "trailing_garbage": {
        "web/events_20260301_000.jsonl": ([1, 4], {2: ("broken_json", None),
                                                   3: ("broken_json", None),
                                                   5: ("broken_json", None)}),
        "catalog/products_20260301_000.json": ([], {1: ("unreadable_file", None)}),
        "suppliers/suppliers_20260301_000.csv": ([2], {3: ("malformed_csv", None)}),
    },
    "wrong_top_level_type": {
        "web/events_20260301_000.jsonl": ([1], {n: ("broken_json", None) for n in range(2, 7)}),
        # CRLF: read on its own, where pyarrow locates bad lines (it crashed the process on a
        # null line followed by another scalar line)
        "web/events_20260302_000.jsonl": ([1], {n: ("broken_json", None) for n in range(2, 5)}),
        "catalog/products_20260301_000.json": ([], {1: ("unreadable_file", None)}),
        "catalog/products_20260302_000.json": ([], {1: ("unreadable_file", None)}),
        "catalog/products_20260303_000.json": ([1], {n: ("wrong_type", None)
                                                     for n in range(2, 6)}),
    },
    "lone_surrogates": {  # half a UTF-16 pair is no character; a whole pair (emoji) lands
        "web/events_20260301_000.jsonl": ([1, 3], {2: ("encoding_error", "page_url"),
                                                   4: ("encoding_error", "\\udc00x")}),
        "catalog/products_20260301_000.json": ([1], {2: ("encoding_error", "product_id")}),
    },
    "csv_field_count": {
        "suppliers/suppliers_20260301_000.csv": ([2], {3: ("malformed_csv", None),
                                                       4: ("malformed_csv", None),
                                                       5: ("malformed_csv", None)}),
    },
    "reserved_column_names": {  # a CSV column or JSON key named like a reader's own column
        "suppliers/suppliers_20260301_000.csv": ([2], {}),
        "suppliers/suppliers_20260302_000.csv": ([2], {}),
        "suppliers/suppliers_20260303_000.csv": ([], {}),
        "web/events_20260301_000.jsonl": ([1], {}),
    },
    "missing_required": {
        "web/events_20260301_000.jsonl": ([1], {2: ("missing_required", "event_id"),
                                                3: ("missing_required", "cookie_id"),
                                                4: ("missing_required", "session_id")}),
        "suppliers/suppliers_20260301_000.csv": ([2], {3: ("missing_required", "supplier_id")}),
    },
    "bad_timestamps": {
        "web/events_20260301_000.jsonl": ([1], {2: ("bad_timestamp", "ts"),
                                                3: ("bad_timestamp", "ts"),
                                                4: ("future_timestamp", "ts"),
                                                5: ("missing_required", "ts")}),
        "suppliers/purchase_orders_20260301_000.jsonl": ([], {1: ("bad_timestamp",
                                                                  "promised_date")}),
    },
}
COMMITTED = sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith("_"))
TEST_HUGE = 2 << 20  # past the csv module's field limit and pyarrow's window; 50 MB in the bench


def landing_of(kind: str) -> dict[str, bytes]:
    """A kind's files (path under landing/ -> bytes)."""
    if kind == "huge_field":
        return huge_field(TEST_HUGE)
    if kind in GENERATED:
        return GENERATED[kind]()
    root = CORPUS / kind
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def ingest(home: Home) -> IngestResult:
    files = discover(home)
    return ingest_files(home, files, batch_id_for(files), now=NOW)


def line_texts(data: bytes) -> list[str]:
    """The file's lines as the reader names them (1-based by index + 1), raw text as kept."""
    data = strip_bom(data)
    return [raw.removesuffix(b"\r").decode("utf-8", "backslashreplace")
            for raw in data.split(b"\n")]


def check_rules(result: IngestResult, home: Home, landing: dict[str, bytes]) -> None:
    """Rules 3 and 4 for every file, whatever it held."""
    bronze_lines, quarantined = ingest_outcome(home)
    assert result.rows_read == result.rows_bronze + result.rows_quarantined
    for f in result.files:
        rows = quarantined.filter(pl.col("_source_file") == f.relpath)
        assert f.rows_read == f.rows_bronze + f.rows_quarantined, f.relpath
        assert len(bronze_lines.get(f.relpath, [])) == f.rows_bronze, f.relpath
        assert rows.height == f.rows_quarantined, f.relpath
        texts = line_texts(landing[f.relpath])
        document = f.relpath.endswith(".json")
        for row in rows.iter_rows(named=True):
            line, reason, raw = row["_line"], row["reason"], row["raw"]
            assert row["error_kind"] in ERROR_KINDS
            assert raw is not None and reason.startswith(f.relpath), row
            if row["field"] is not None:
                assert f"`{row['field']}`" in reason, row
            if document:
                whole = row["error_kind"] == "unreadable_file"
                assert whole or re.search(rf"\brecord {line}\b", reason), row
                if whole:  # the document is the row: all of it is kept
                    assert raw == "\n".join(texts), row
            else:
                assert re.search(rf"\bline {line}\b", reason), row
                assert raw.startswith(texts[line - 1]), row  # a CSV record may span lines


def check_expected(kind: str, home: Home, result: IngestResult, rename=lambda p: p) -> None:
    """Which lines went where, file by file, as ``EXPECTED`` states."""
    bronze_lines, quarantined = ingest_outcome(home)
    for relpath, (in_bronze, in_quarantine) in EXPECTED[kind].items():
        source = rename(relpath)
        rows = quarantined.filter(pl.col("_source_file") == source)
        got = {r["_line"]: (r["error_kind"], r["field"]) for r in rows.iter_rows(named=True)}
        assert sorted(bronze_lines.get(source, [])) == in_bronze, source
        assert got == in_quarantine, (source, rows.select("_line", "reason").to_dicts())
        read = next(f for f in result.files if f.relpath == source).rows_read
        assert read == len(in_bronze) + len(in_quarantine), source


def test_the_corpus_has_every_kind_it_promises():
    assert set(COMMITTED) | set(GENERATED) == set(EXPECTED)
    assert len(EXPECTED) >= 15
    for kind in COMMITTED:
        assert set(landing_of(kind)) == set(EXPECTED[kind]), kind


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_malformed_kind(kind: str, home: Home):
    landing = landing_of(kind)
    write_landing(home, landing)
    result = ingest(home)
    check_rules(result, home, landing)
    check_expected(kind, home, result)


def renamed(kind: str, relpath: str) -> str:
    """The file's path with the kind in its name (still matching its entity's pattern), so
    the files of several kinds can land side by side."""
    channel, name = relpath.split("/")
    stem, rest = name.rsplit("_", 2)[0], "_".join(name.rsplit("_", 2)[1:])
    return f"{channel}/{stem}_{kind}_{rest}"


def test_every_kind_in_one_batch_lands_as_each_alone(home: Home):
    """Files of one entity are parsed together: a bad file must not change how the others
    are read (a file the group screen refuses is read on its own)."""
    kinds = [k for k in sorted(EXPECTED) if k != "huge_field"]
    landing = {renamed(k, rel): data for k in kinds for rel, data in landing_of(k).items()}
    write_landing(home, landing)
    result = ingest(home)
    check_rules(result, home, landing)
    for kind in kinds:
        check_expected(kind, home, result, lambda rel, k=kind: renamed(k, rel))


def test_a_huge_line_across_stream_pieces(home: Home, monkeypatch):
    """A line longer than the streaming piece and the polars chunk is carried whole."""
    monkeypatch.setattr(work, "STREAM_BYTES", 1 << 20)
    monkeypatch.setattr(jsonl, "CHUNK_BYTES", 1 << 18)
    landing = huge_field(3 << 20)
    write_landing(home, landing)
    result = ingest(home)
    check_rules(result, home, landing)
    check_expected("huge_field", home, result)
    web = read_table(str(home.bronze / "web__events")).sort("_line")
    assert web["user_agent"].str.len_bytes().to_list() == [2, 3 << 20, 2]


def test_deep_nesting_under_the_limit_lands_in_extra(home: Home):
    write_landing(home, deep_nesting())
    ingest(home)
    web = read_table(str(home.bronze / "web__events")).filter(pl.col("_line") == 4)
    assert web["_extra"][0] == '{"trace":' + "[" * 100 + "1" + "]" * 100 + "}"


def test_what_lands_from_odd_but_valid_bytes(home: Home):
    """An escaped NUL, an emoji written as a surrogate pair and a quoted CR are content."""
    for kind in ("nul_bytes", "lone_surrogates", "mixed_line_endings"):
        write_landing(home, {renamed(kind, rel): data for rel, data in landing_of(kind).items()})
    ingest(home)
    web = read_table(str(home.bronze / "web__events"))
    assert "/p\x00q" in web["page_url"].to_list()
    assert "/\U0001F600" in web["page_url"].to_list()
    suppliers = read_table(str(home.bronze / "suppliers__suppliers"))
    assert "Dyn\ramo" in suppliers["name"].to_list() and "Ac\x00me" in suppliers["name"].to_list()



def test_columns_named_like_the_readers_own_keep_their_values(home: Home):
    write_landing(home, landing_of("reserved_column_names"))
    ingest(home)
    suppliers = read_table(str(home.bronze / "suppliers__suppliers")).sort("_line", "_source_file")
    assert [json.loads(e) for e in suppliers["_extra"]] == [
        {"_line": "a", "_raw": "b", "_file": "c", "_extra": "d", "name#kind": "e"},
        {"_line": "a", "_raw": "b", "_file": "c", "_extra": "d"}]
    assert suppliers["_line"].to_list() == [2, 2]
    web = read_table(str(home.bronze / "web__events"))
    assert json.loads(web["_extra"][0]) == {"_line": 7, "_raw": "r", "_file": 0,
                                            "_extra": {"a": 1}, "ts#kind": "int"}
