"""The landing file gate: whole-file problems fail, row-level faults do not."""

import gzip
import json
from pathlib import Path

from data_quality.landing_files import HEAD_BYTES, inspect_channel, inspect_file, newest_file_mtime
from lakehouse.channels import CHANNELS

POS_HEADER = ("transaction_id,line_no,store_code,register_id,txn_time,pos_sku,qty,unit_price,"
              "discount,promo_id,loyalty_card,card_token,payment_type")
POS_ROW = "T1,1,S1,R1,2026-03-01 10:00:00,K1,2,9.99,,,,,cash"


def _event(i: int) -> str:
    return json.dumps({"event_id": f"e{i}", "event_type": "page_view"})


def _land(landing: Path, rel: str, data: bytes) -> Path:
    path = landing / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _problems(landing: Path, rel: str, data: bytes, **kw) -> tuple[str, ...]:
    finding = inspect_file(landing, _land(landing, rel, data), **kw)
    return finding.problems


def test_good_files_pass_with_row_level_faults_left_to_quarantine(tmp_path):
    jsonl = "\n".join(["{broken", *[_event(i) for i in range(10)]]).encode() + b"\n"
    assert _problems(tmp_path, "web/events_20260301_000.jsonl", jsonl) == ()
    # an undecodable row among good ones is a row fault (quarantined with its line)
    csv = "\n".join([POS_HEADER, POS_ROW, POS_ROW]).encode() + b"\nT9,1,Caf\xe9\xff\n"
    assert _problems(tmp_path, "pos/transactions_20260301_000.csv", csv) == ()
    # extra columns are kept in _extra, an optional one may be missing: still the header
    drifted = POS_HEADER.replace(",promo_id", "") + ",new_col\n" + POS_ROW + "\n"
    assert _problems(tmp_path, "pos/transactions_20260301_001.csv", drifted.encode()) == ()
    doc = json.dumps({"exported_at": "x", "products": []}).encode()
    assert _problems(tmp_path, "catalog/products_20260301_000.json", doc) == ()


def test_each_whole_file_problem_fails_with_its_reason(tmp_path):
    cases = {
        "web/events_20260301_000.jsonl": (b"", "empty file"),
        "web/events_20260301_001.jsonl": ("\n".join(_event(i) for i in range(5)).encode(
            "utf-16"), "UTF-16"),
        "web/events_20260301_002.jsonl": (gzip.compress(_event(1).encode()), "gzip"),
        "web/events_20260301_003.jsonl": (b"a,b,c\n1,2,3\n4,5,6\n", "not JSON lines"),
        "web/events_20260301_004.jsonl": ("\n".join(_event(i) for i in range(5)).encode(
            "latin-1") + "\nCaf\xe9\n\xe9t\xe9\n\xe0 la\n\xe7a\n\xfcber\n\xf1o\n".encode(
            "latin-1"), "not UTF-8"),
        "catalog/products_20260301_000.json": (b'{"exported_at": "x", "products": [',
                                               "does not parse"),
        "catalog/products_20260301_001.json": (b'[1, 2]', "expected an object"),
        "pos/transactions_20260301_000.csv": (b"id,when\n1,2\n", "names none of"),
        "pos/transactions_20260301_001.csv": (
            (POS_HEADER.replace("store_code,", "") + "\n").encode(),
            "lacks required column(s): store_code"),
        "pos/transactions_20260301_002.csv": (
            (POS_HEADER + ",qty\n").encode(), "repeats column(s): qty"),
    }
    for rel, (data, reason) in cases.items():
        problems = _problems(tmp_path, rel, data)
        assert problems and reason in problems[0], (rel, problems)
    too_big = _problems(tmp_path, "web/events_20260302_000.jsonl", _event(1).encode() * 10,
                        limits={"jsonl": 100, "csv": 100, "json": 100})
    assert "above the jsonl limit of 100 bytes" in too_big[0]


def test_big_files_are_judged_on_bounded_samples(tmp_path):
    line = _event(1).encode() + b"\n"
    big = line * (4 * HEAD_BYTES // len(line))
    assert _problems(tmp_path, "web/events_20260301_000.jsonl", big) == ()
    # a tail in another encoding is seen without reading the middle
    bad_tail = big + ("\xe9t\xe9\n" * 4000).encode("latin-1")
    problems = _problems(tmp_path, "web/events_20260301_001.jsonl", bad_tail)
    assert problems and "last lines sampled" in problems[0]


def test_a_channel_lists_unrecognised_and_skips_in_flight_files(tmp_path):
    _land(tmp_path, "web/events_20260301_000.jsonl", _event(1).encode() + b"\n")
    _land(tmp_path, "web/notes.txt", b"hello")
    _land(tmp_path, "web/events_20260301_001.jsonl.part", b"")
    _land(tmp_path, "web/.hidden", b"")
    web = next(ch for ch in CHANNELS if ch.name == "web")
    findings = {f.relpath: f for f in inspect_channel(tmp_path, web)}
    assert set(findings) == {"web/events_20260301_000.jsonl", "web/notes.txt"}
    assert findings["web/events_20260301_000.jsonl"].passed
    assert findings["web/notes.txt"].entity is None and not findings["web/notes.txt"].passed
    assert newest_file_mtime(tmp_path, "web") == max(
        (tmp_path / p).stat().st_mtime for p in findings)
    assert newest_file_mtime(tmp_path, "app") is None
