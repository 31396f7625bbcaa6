"""Files of one entity parsed together give exactly what parsing them one by one gives."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from lakehouse.channels import entity
from lakehouse.ingest.bronze.check import check_group
from lakehouse.ingest.group import from_parsed, parse_csv_group, parse_jsonl_group
from lakehouse.ingest.parse import parse_csv, parse_jsonl

NOW = datetime(2026, 3, 2, tzinfo=UTC)
WEB = entity("web", "events")
POS = entity("pos", "transactions")


def web(n: int, **kw) -> dict:
    row = {"event_id": f"e{n}", "event_type": "add_to_cart", "ts": "2026-03-01T10:15:30.1+01:00",
           "cookie_id": f"c{n}", "session_id": "s1", "page_url": "/p", "user_agent": "ua",
           "quantity": 1 + n % 2}
    row.update(kw)
    return row


def compact(row: dict) -> str:
    return json.dumps(row, separators=(",", ":"))


def jsonl(rows: list, end: str = "\n") -> bytes:
    return "\n".join(r if isinstance(r, str) else compact(r) for r in rows).encode() + \
        end.encode()


JSONL_FILES = {
    "clean": jsonl([web(i) for i in range(5)]),
    "faults": jsonl([web(10), web(11, quantity="7"), "{broken", web(12, quantity=-1),
                     web(13, event_id=7), web(14, promo="x"), web(15, consent="granted"),
                     web(16, ts="2026-02-30T25:61:00Z"), web(17, cookie_id=None),
                     web(18, page_url={"a": "b"}), "[1, 2]", "   ", web(19, quantity=2.5)]),
    "no final newline": jsonl([web(20), web(21)], end=""),
    "spaced": "\n".join(json.dumps(web(i)) for i in range(30, 33)).encode(),
    "escaped key text": jsonl([web(40, page_url='/p?q=a":1'), web(41)]),
    "undecodable": jsonl([web(50)]) + b'{"event_id":"e51","page_url":"caf\xe9"}\n'
    + jsonl([web(52)]),
    "blank lines": jsonl([web(60)]) + b"\n" + jsonl([web(61)]),
    "crlf": jsonl([web(70), web(71)]).replace(b"\n", b"\r\n"),
    "empty": b"",
}

CSV_HEADER = ("transaction_id,line_no,store_code,register_id,txn_time,pos_sku,qty,unit_price,"
              "discount,promo_id,loyalty_card,card_token,payment_type")


def pos(n: int, qty: str = "1") -> str:
    return f"T{n},1,S1,R1,2026-03-01 10:00:00,SKU{n},{qty},9.99,,,,,card"


CSV_FILES = {
    "clean": "\n".join([CSV_HEADER, pos(1), pos(2)]).encode() + b"\n",
    "faults": "\n".join([CSV_HEADER, pos(3, qty="x"), "T4,1,S1", "", "   ", pos(5, qty="-2")])
    .encode() + b"\n",
    "undecodable": (CSV_HEADER + "\n").encode() + b"T6,1,S1,R1,2026-03-01 10:00:00,caf\xe9,1,"
    b"9.99,,,,,card\n" + pos(7).encode(),
    "extra column": "\n".join([CSV_HEADER + ",note", pos(8) + ",hi", pos(9) + ","]).encode(),
    "quoted": "\n".join([CSV_HEADER, pos(10).replace("card", '"card"')]).encode(),
    "utf-8 among undecodable": "\n".join([CSV_HEADER, pos(11).replace("SKU", "SKÜ"), pos(12)])
    .encode() + b"\nT13,1,S1,R1,2026-03-01 10:00:00,\xff,1,9.99,,,,,card\n"
    + pos(14).replace("card", "carté").encode() + b"\n",
    "header only": CSV_HEADER.encode(),
    "empty": b"",
}


def checked(ent, group, sources):
    return check_group(ent, group, sources, NOW, timedelta(days=1), {"S1": "Europe/Berlin"})


@pytest.mark.parametrize(("ent", "files", "together", "alone"), [
    (WEB, JSONL_FILES, parse_jsonl_group, parse_jsonl),
    (POS, CSV_FILES, parse_csv_group, parse_csv),
], ids=["jsonl", "csv"])
def test_group_equals_file_by_file(ent, files, together, alone):
    sources = tuple(f"{ent.channel}/{name}" for name in files)
    datas = list(files.values())
    group = together(ent, datas, list(sources))
    single = from_parsed([alone(ent, d, s) for d, s in zip(datas, sources, strict=True)])
    assert group.rows == single.rows
    for i, name in enumerate(files):  # added fields decide bronze columns per file
        added = {f.name for f in ent.added_fields}
        assert group.present[i] & added == single.present[i] & added, name
    (good, bad), (good1, bad1) = checked(ent, group, sources), checked(ent, single, sources)
    assert good.height + bad.height == sum(group.rows)
    assert good.equals(good1.select(good.columns))
    assert bad.equals(bad1)
    assert set(bad["error_kind"]) >= {"wrong_type", "encoding_error"}


def test_rows_stay_in_file_order_when_an_earlier_file_is_read_alone():
    """A file the screen cannot take (CR) is parsed on its own and joins the group after the
    others; bronze slices the rows per file, so they must still come in file order."""
    sources = ("web/crlf", "web/clean")
    datas = [JSONL_FILES["crlf"], JSONL_FILES["clean"]]
    good, bad = checked(WEB, parse_jsonl_group(WEB, datas, list(sources)), sources)
    assert bad.height == 0
    assert good.select("_file", "_line").rows() == [(0, 1), (0, 2), *[(1, i) for i in range(1, 6)]]


def test_nested_entity_group_equals_file_by_file():
    orders = entity("orders", "orders")
    order = {"id": "o1", "order_number": 1, "created_at": "2026-03-01T10:00:00Z",
             "updated_at": "2026-03-01T10:00:00Z", "source_name": "web",
             "financial_status": "paid", "email": "a@b.c", "currency": "EUR",
             "total_price": "9.99", "customer": {"id": "c1"},
             "line_items": [{"id": "l1", "variant_id": "v1", "price": "9.99", "quantity": 1}]}
    datas = [jsonl([order, {**order, "id": "o2", "order_number": "2"}, "{broken", "  "]),
             jsonl([{**order, "line_items": [{"id": "l1", "quantity": 0}]}], end=""),
             jsonl([order]).replace(b"\n", b"\r\n")]
    sources = ("orders/a", "orders/b", "orders/c")
    group = parse_jsonl_group(orders, datas, list(sources))
    single = from_parsed([parse_jsonl(orders, d, s) for d, s in
                          zip(datas, sources, strict=True)])
    assert group.rows == single.rows == [3, 1, 1]
    (good, bad), (good1, bad1) = checked(orders, group, sources), checked(orders, single, sources)
    assert good.equals(good1.select(good.columns)) and bad.equals(bad1)
    assert bad["error_kind"].to_list() == ["wrong_type", "broken_json", "missing_required"]


def test_group_survives_what_the_screen_misses(monkeypatch):
    """A line the screen lets through but the typed reader refuses: file by file decides."""
    from lakehouse.ingest import group as grp

    monkeypatch.setattr(grp, "suspect_pattern", lambda ent: None)
    datas = [jsonl([web(1), web(2, quantity="7")]), jsonl([web(3)])]
    sources = ("web/a", "web/b")
    got = checked(WEB, grp.parse_jsonl_group(WEB, datas, list(sources)), sources)
    want = checked(WEB, from_parsed([parse_jsonl(WEB, d, s) for d, s in
                                     zip(datas, sources, strict=True)]), sources)
    assert got[0].equals(want[0]) and got[1].equals(want[1])
    assert got[1]["error_kind"].to_list() == ["wrong_type"]
    assert isinstance(got[0], pl.DataFrame)


@pytest.mark.parametrize("repeat", ['"cookie_id":null', '"cookie_id":"c9"', '"promo":1,"promo":2'])
def test_a_repeated_key_is_quarantined_by_the_group_and_the_file_paths(repeat):
    """polars keeps a repeated key's first value, json its last: neither may decide silently."""
    line = compact(web(1))[:-1] + "," + repeat + "}"
    data = jsonl([web(0), line, web(2)])
    sources = ("web/repeat",)
    for group in (parse_jsonl_group(WEB, [data], list(sources)),
                  from_parsed([parse_jsonl(WEB, data, sources[0])])):
        good, bad = checked(WEB, group, sources)
        assert good["_line"].to_list() == [1, 3]
        key = repeat.split('"')[1]
        assert one(bad) == {"_line": 2, "_raw": line, "error_kind": "duplicate_key",
                            "field": key, "_file": 0,
                            "reason": f"web/repeat line 2: key `{key}` appears twice in one "
                                      "object, so which of its values holds is unclear"}


def one(frame: pl.DataFrame) -> dict:
    assert frame.height == 1, frame
    return frame.row(0, named=True)


@pytest.mark.parametrize("unknown", ['"zzz":null', '"zzz" : null'])
def test_an_unknown_key_holding_null_is_kept_in_extra_by_every_path(unknown):
    """The key counts balance for it, but polars drops it: the exact path keeps it."""
    data = jsonl([web(0), compact(web(1))[:-1] + "," + unknown + "}", web(2)])
    for group in (parse_jsonl_group(WEB, [data], ["web/x"]),
                  from_parsed([parse_jsonl(WEB, data, "web/x")])):
        good, bad = checked(WEB, group, ("web/x",))
        assert bad.height == 0
        assert good["_extra"].to_list() == [None, '{"zzz":null}', None]
