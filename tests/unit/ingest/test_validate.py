"""Type rules and error kinds of bronze validation, on in-memory landing bytes (pure functions)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from lakehouse.channels import entity
from lakehouse.ingest.parse import parse_csv, parse_document, parse_jsonl
from lakehouse.ingest.parse.records import is_native
from lakehouse.ingest.validate import Context, validate

NOW = datetime(2026, 3, 2, tzinfo=UTC)
WEB = entity("web", "events")
SRC = "web/events_20260301_000.jsonl"


def web(**kw) -> dict:
    row = {"event_id": "e1", "event_type": "add_to_cart", "ts": "2026-03-01T10:15:30.123+01:00",
           "cookie_id": "c1", "session_id": "s1", "page_url": "/p", "user_agent": "ua",
           "quantity": 2}
    row.update(kw)
    return {k: v for k, v in row.items() if v is not ...}


def run_jsonl(ent, lines: list, source=SRC, **ctx) -> tuple[pl.DataFrame, pl.DataFrame]:
    data = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines).encode()
    parsed = parse_jsonl(ent, data, source)
    good, bad = validate(ent, parsed.records, Context(source, NOW, **ctx))
    bad = pl.concat([parsed.errors, bad]).sort("_line")
    assert parsed.rows == good.height + bad.height
    return good, bad


def one_error(bad: pl.DataFrame) -> dict:
    assert bad.height == 1, bad
    return bad.row(0, named=True)


def test_clean_line_is_typed():
    good, bad = run_jsonl(WEB, [web()])
    assert bad.is_empty()
    assert good["ts"].dtype == pl.Datetime("us", "UTC")
    assert good["ts"][0] == datetime(2026, 3, 1, 9, 15, 30, 123000, tzinfo=UTC)
    assert good["quantity"].dtype == pl.Int64 and good["quantity"][0] == 2
    assert good["_extra"][0] is None


def test_json_string_in_int_field_is_wrong_type():
    _, bad = run_jsonl(WEB, [web(), web(quantity="7")])
    err = one_error(bad)
    assert (err["error_kind"], err["field"], err["_line"]) == ("wrong_type", "quantity", 2)
    assert err["reason"] == f'{SRC} line 2: field `quantity` is the string "7", expected an integer'


@pytest.mark.parametrize("value", [7.5, True, [1], {"a": 1}])
def test_other_json_types_in_int_field_are_wrong_type(value):
    _, bad = run_jsonl(WEB, [web(quantity=value)])
    assert one_error(bad)["error_kind"] == "wrong_type"


def test_number_in_string_field_is_wrong_type():
    _, bad = run_jsonl(WEB, [web(cookie_id=5)])
    err = one_error(bad)
    assert (err["error_kind"], err["field"]) == ("wrong_type", "cookie_id")
    assert "line 1: field `cookie_id` is 5, expected a string" in err["reason"]


def test_missing_and_empty_required_fields():
    _, bad = run_jsonl(WEB, [web(session_id=...), web(session_id="")])
    assert bad["error_kind"].to_list() == ["missing_required"] * 2
    assert bad["field"].to_list() == ["session_id"] * 2
    assert f"{SRC} line 1: field `session_id` is missing" in bad["reason"][0]


def test_quantity_below_one_is_negative_quantity():
    _, bad = run_jsonl(WEB, [web(quantity=0), web(quantity=-3)])
    assert bad["error_kind"].to_list() == ["negative_quantity"] * 2
    assert bad["reason"][1] == f"{SRC} line 2: field `quantity` is -3, must be >= 1"


def test_bad_and_future_timestamps():
    future = (NOW + timedelta(days=2)).isoformat()
    ok_skew = (NOW + timedelta(hours=20)).isoformat()
    _, bad = run_jsonl(WEB, [web(ts="yesterday"), web(ts="2026-03-01T10:15:30"),
                             web(ts=future), web(ts=ok_skew)])
    assert bad["error_kind"].to_list() == ["bad_timestamp", "bad_timestamp", "future_timestamp"]
    assert "field `ts` is the string \"yesterday\", not ISO-8601" in bad["reason"][0]
    assert "more than 1 day" in bad["reason"][2]


def test_future_skew_is_configurable():
    _, bad = run_jsonl(WEB, [web(ts=(NOW + timedelta(hours=2)).isoformat())],
                       max_skew=timedelta(hours=1))
    assert one_error(bad)["error_kind"] == "future_timestamp"


def test_broken_json_line_does_not_stop_the_file():
    good, bad = run_jsonl(WEB, [web(), '{"event_id": "e2", ', "[1, 2]", web(event_id="e3")])
    assert good["event_id"].to_list() == ["e1", "e3"]
    assert bad["error_kind"].to_list() == ["broken_json", "broken_json"]
    assert bad["_line"].to_list() == [2, 3]
    assert bad["raw"].to_list() if "raw" in bad.columns else bad["_raw"][0].startswith('{"event')


def test_invalid_utf8_line_is_encoding_error_and_others_survive():
    data = (json.dumps(web()) + "\n").encode() + b'{"event_id": "\xff\xfe"}\n' + (
        json.dumps(web(event_id="e3")) + "\n").encode()
    parsed = parse_jsonl(WEB, data, SRC)
    good, _ = validate(WEB, parsed.records, Context(SRC, NOW))
    assert good.height == 2
    err = parsed.errors.row(0, named=True)
    assert (err["error_kind"], err["_line"]) == ("encoding_error", 2)
    assert "line 2" in err["reason"] and "\\xff" in err["_raw"]


def test_unknown_fields_are_kept_in_extra():
    good, _ = run_jsonl(WEB, [web(foo={"a": 1}, bar="x"), web()])
    assert json.loads(good["_extra"][0]) == {"foo": {"a": 1}, "bar": "x"}
    assert good["_extra"][1] is None


def test_added_field_is_typed_and_reported_present():
    parsed = parse_jsonl(WEB, json.dumps(web(consent="granted")).encode(), SRC)
    assert "consent" in parsed.present
    app = entity("app", "events")
    row = {"eventId": "a", "eventName": "login", "eventTimestamp": 1772000000000,
           "receivedTimestamp": 1772000000500, "deviceId": "d", "sessionId": "s",
           "platform": "ios", "appVersion": "1", "screenName": "home", "pushOptIn": "yes"}
    good, bad = run_jsonl(app, [row, {**row, "pushOptIn": True}], source="app/events_1.jsonl")
    assert one_error(bad)["field"] == "pushOptIn"
    assert good["pushOptIn"].to_list() == [True]
    assert good["eventTimestamp"][0] == datetime.fromtimestamp(1772000000, tz=UTC)


def test_epoch_seconds_and_out_of_range_epoch():
    email = entity("email", "events")
    row = {"sg_event_id": "x", "event": "open", "email": "a@b", "timestamp": 1772000000,
           "campaign_id": "c"}
    good, bad = run_jsonl(email, [row, {**row, "timestamp": 1772000000000}], source="e.jsonl")
    assert good["timestamp"][0] == datetime.fromtimestamp(1772000000, tz=UTC)
    err = one_error(bad)
    assert err["error_kind"] == "bad_timestamp" and "epoch seconds" in err["reason"]


POS_HEADER = ("transaction_id,line_no,store_code,register_id,txn_time,pos_sku,qty,unit_price,"
              "discount,promo_id,loyalty_card,card_token,payment_type")


def run_csv(ent, text: str, source: str, **ctx):
    parsed = parse_csv(ent, text.encode(), source)
    good, bad = validate(ent, parsed.records, Context(source, NOW, **ctx))
    bad = pl.concat([parsed.errors, bad]).sort("_line")
    assert parsed.rows == good.height + bad.height
    return good, bad


def test_csv_is_parsed_strictly_and_lines_count_the_header():
    pos = entity("pos", "transactions")
    rows = ["T1,1,S1,R1,2026-03-01 10:00:00,K1,7,9.99,,,,,cash",
            "T2,1,S1,R1,2026-03-01 10:00:00,K1,7.5,9.99,,,,,cash",
            "T3,1,S1,R1,2026-03-01 10:00:00,K1,seven,9.99,,,,,cash",
            "T4,1,S1,R1,2026-03-01 10:00:00,K1,0,abc,,,,,cash"]
    good, bad = run_csv(pos, "\n".join([POS_HEADER, *rows]), "pos/t.csv",
                        timezones={"S1": "Europe/Berlin"})
    assert good["qty"].to_list() == [7] and good["_line"].to_list() == [2]
    assert good["txn_time"][0] == datetime(2026, 3, 1, 9, tzinfo=UTC)  # CET = UTC+1
    assert good["unit_price"].dtype == pl.Float64 and good["discount"][0] is None
    assert bad["_line"].to_list() == [3, 4, 5]
    assert bad["error_kind"].to_list() == ["wrong_type"] * 3
    assert bad["reason"][0] == 'pos/t.csv line 3: field `qty` is "7.5", expected an integer'
    assert bad["field"][2] == "unit_price"  # first problem by field order; all are listed
    assert "also field `qty` is 0, must be >= 1" in bad["reason"][2]


def test_pos_local_time_needs_a_known_store_zone():
    pos = entity("pos", "transactions")
    _, bad = run_csv(pos, POS_HEADER + "\nT1,1,S9,R1,2026-03-01 10:00:00,K1,1,9.99,,,,,cash",
                     "pos/t.csv", timezones={"S1": "Europe/Berlin"})
    err = one_error(bad)
    assert (err["error_kind"], err["field"]) == ("unresolved_timezone", "txn_time")
    assert 'store_code "S9"' in err["reason"]


def test_csv_quoted_fields_and_wrong_field_count():
    sup = entity("suppliers", "suppliers")
    text = ('supplier_id,name,country,lead_time_days\nS1,"Acme, Inc.",DE,5\n'
            'S2,"Multi\nline",FR,3\nS3,Short,DE\nS4,Fine,NL,x')
    good, bad = run_csv(sup, text, "suppliers/suppliers_1.csv")
    assert good["name"].to_list() == ["Acme, Inc.", "Multi\nline"]
    assert good["_line"].to_list() == [2, 3]
    assert bad["_line"].to_list() == [5, 6]
    assert bad["error_kind"].to_list() == ["malformed_csv", "wrong_type"]


def test_wms_adjustment_may_be_negative_but_counts_may_not():
    wms = entity("wms", "movements")
    head = ("movement_id,seq_no,site_code,item_code,movement_type,qty,counted_qty,reference,"
            "event_time")
    rows = ["M1,1,W1,I1,ADJUSTMENT,-4,,,2026-03-01T10:00:00Z",
            "M2,2,W1,I1,PICK,-1,,,2026-03-01T10:00:00Z",
            "M3,3,W1,I1,CYCLE_COUNT,0,-2,,2026-03-01T10:00:00Z",
            "M4,4,W1,I1,CYCLE_COUNT,0,12,,2026-03-01T10:00:00Z"]
    good, bad = run_csv(wms, "\n".join([head, *rows]), "wms/movements_1.csv")
    assert good["movement_id"].to_list() == ["M1", "M4"]
    assert bad["field"].to_list() == ["qty", "counted_qty"]
    assert set(bad["error_kind"]) == {"negative_quantity"}


def test_orders_nested_fields_are_json_text_and_line_item_quantity_checked():
    orders = entity("orders", "orders")
    order = {"id": "o1", "order_number": 1, "created_at": "2026-03-01T10:00:00Z",
             "updated_at": "2026-03-01T10:00:00Z", "source_name": "web",
             "financial_status": "paid", "currency": "EUR", "total_price": "2.00",
             "customer": {"id": "c1", "email": "a@b"}, "discount_codes": ["X"],
             "line_items": [{"id": "l1", "variant_id": "v1", "quantity": 1, "price": "1.00"}]}
    bad_items = [{"id": "l1", "variant_id": "v1", "quantity": 1, "price": "1.00"},
                 {"id": "l2", "variant_id": "v1", "quantity": -3, "price": "1.00"}]
    src = "orders/orders_20260103_000.jsonl"
    good, bad = run_jsonl(orders, [order, {**order, "id": "o2", "line_items": bad_items}],
                          source=src)
    assert json.loads(good["line_items"][0])[0]["variant_id"] == "v1"
    assert json.loads(good["customer"][0]) == {"id": "c1", "email": "a@b"}
    assert good["order_number"].dtype == pl.Int64
    err = one_error(bad)
    assert err["reason"] == f"{src} line 2: field `line_items[1].quantity` is -3, must be >= 1"
    assert (err["error_kind"], err["field"]) == ("negative_quantity", "line_items[1].quantity")



def test_orders_nested_field_of_another_json_type_is_wrong_type_not_a_crash():
    orders = entity("orders", "orders")
    order = {"id": "o1", "order_number": 1, "created_at": "2026-03-01T10:00:00Z",
             "updated_at": "2026-03-01T10:00:00Z", "source_name": "web",
             "financial_status": "paid", "currency": "EUR", "total_price": "2.00",
             "line_items": [{"id": "l1", "variant_id": "v1", "quantity": 1, "price": "1.00"}]}
    src = "orders/orders_20260103_000.jsonl"
    good, bad = run_jsonl(orders, [order, {**order, "line_items": "abc"},
                                   {**order, "customer": [1]}, {**order, "customer": {}}],
                          source=src)
    assert good.height == 1
    assert bad["_line"].to_list() == [2, 3, 4]
    assert bad["field"].to_list() == ["line_items", "customer", "customer.id"]
    assert bad["reason"][0] == (f'{src} line 2: field `line_items` is the string "abc", '
                                "expected a JSON array")


def test_json_document_records_and_unreadable_document():
    cat = entity("catalog", "products")
    product = {"product_id": "P1", "title": "t", "brand": "b", "category": "c",
               "subcategory": "s", "price": 10, "cost": 4.5, "supplier_id": "S1",
               "web_variant_id": "v1", "pos_sku": "k1", "wms_item_code": "i1",
               "launched_on": "2025-01-31", "status": "active"}
    doc = {"exported_at": "2026-03-01T00:00:00Z",
           "products": [product, {**product, "product_id": "P2", "launched_on": "31/01/2025"}]}
    out = parse_document([cat], json.dumps(doc).encode(), "catalog/products_1.json")["products"]
    good, bad = validate(cat, out.records, Context("catalog/products_1.json", NOW,
                                                   unit="record"))
    assert good["price"].to_list() == [10.0] and str(good["launched_on"].dtype) == "Date"
    assert json.loads(good["_extra"][0]) == {"_document": {"exported_at": "2026-03-01T00:00:00Z"}}
    err = one_error(bad)
    assert err["reason"].startswith("catalog/products_1.json record 2: field `launched_on`")
    broken = parse_document([cat], b'{"products": [', "catalog/products_2.json")["products"]
    assert broken.rows == 1 and broken.errors["error_kind"][0] == "unreadable_file"
    assert "catalog/products_2.json: cannot read the JSON document" in broken.errors["reason"][0]


def test_numeric_bounds_come_from_the_channel_contract():
    shipments = entity("shipments", "shipments")
    head = ",".join(shipments.columns)
    base = ["S{n}", "o1", "W1", "ups", "standard", "Z1", "2026-03-01T10:00:00Z", "2026-03-03",
            "", "{cost}", "{units}"]
    rows = [",".join(base).format(n=n, cost=cost, units=units)
            for n, cost, units in ((1, "4.5", "2"), (2, "4.5", "-1"), (3, "-0.5", "1"))]
    good, bad = run_csv(shipments, "\n".join([head, *rows]), "shipments/shipments_1.csv")
    assert good["shipment_id"].to_list() == ["S1"]
    assert bad["error_kind"].to_list() == ["negative_quantity", "out_of_range"]
    assert bad["field"].to_list() == ["units", "cost"]
    assert "line 3: field `units` is -1, must be >= 1" in bad["reason"][0]
    assert "field `cost` is -0.5, must be >= 0" in bad["reason"][1]

    reviews = entity("reviews", "reviews")
    review = {"review_id": "r1", "variant_id": "v1", "rating": 6,
              "submitted_at": "2026-03-01T10:00:00Z"}
    good, bad = run_jsonl(reviews, [review, {**review, "review_id": "r2", "rating": 5}])
    assert good["review_id"].to_list() == ["r2"]
    assert bad["error_kind"].to_list() == ["out_of_range"]
    assert "field `rating` is 6, must be <= 5" in bad["reason"][0]


def compact(row: dict) -> str:
    return json.dumps(row, separators=(",", ":"))


@pytest.mark.parametrize("dump", [compact, json.dumps])
def test_fast_path_refuses_silent_casts_among_many_good_lines(dump):
    rows = [web(event_id=f"e{i}") for i in range(500)]
    rows[120] = web(event_id="e120", cookie_id=5)  # a number where a string belongs
    rows[300] = web(event_id="e300", quantity="7")  # a string where an integer belongs
    rows[410] = web(event_id="e410", promo={"a": 1})  # an unknown key
    rows[411] = web(event_id="e411", user_agent='says \\": hi')  # escaped quote before a colon
    good, bad = run_jsonl(WEB, [dump(r) for r in rows])
    assert bad["_line"].to_list() == [121, 301]
    assert bad["field"].to_list() == ["cookie_id", "quantity"]
    assert bad["_raw"][0] == dump(rows[120])
    assert good.height == 498
    assert json.loads(good.filter(pl.col("event_id") == "e410")["_extra"][0]) == {"promo": {"a": 1}}
    assert good.filter(pl.col("event_id") == "e411")["user_agent"][0] == 'says \\": hi'


def test_fast_path_line_numbers_with_blank_and_crlf_lines():
    data = (compact(web(event_id="a")) + "\r\n\r\n   \n" + compact(web(event_id="b", quantity=0))
            + "\r\n").encode()
    parsed = parse_jsonl(WEB, data, SRC)
    good, bad = validate(WEB, parsed.records, Context(SRC, NOW))
    assert good["_line"].to_list() == [1] and bad["_line"].to_list() == [4]
    assert bad["error_kind"][0] == "negative_quantity"


def test_native_bad_rows_get_their_raw_text_in_bronze_validation():
    line = compact(web(quantity=-2))
    parsed = parse_jsonl(WEB, (compact(web()) + "\n" + line + "\n").encode(), SRC)
    assert parsed.raw_of is not None and parsed.raw_of([2]) == [line]


def test_faulty_lines_among_many_are_found_and_the_rest_stays_typed():
    rows = [compact(web(event_id=f"e{i}")) for i in range(400)]
    rows[10] = rows[10][:40]  # truncated: broken JSON
    rows[200] = compact(web(event_id="e200")).replace('"c1"', '"\xff"')
    data = "\n".join(rows).encode().replace("\xff".encode(), b"\xff")  # invalid UTF-8 byte
    parsed = parse_jsonl(WEB, data, SRC)
    good, bad = validate(WEB, parsed.records, Context(SRC, NOW))
    errors = pl.concat([parsed.errors, bad]).sort("_line")
    assert errors["_line"].to_list() == [11, 201]
    assert errors["error_kind"].to_list() == ["broken_json", "encoding_error"]
    assert good.height == 398 and good["quantity"].dtype == pl.Int64
    assert any(is_native(p) and p.height >= 390 for p in parsed.parts)  # the rest stayed typed


def test_iso_fast_path_agrees_with_the_strict_reader():
    from lakehouse.ingest.timestamps import iso_to_utc

    plain = pl.Series(["2026-03-01T10:15:30.123+01:00", "2026-03-01T10:15:30Z", None])
    assert iso_to_utc(plain).to_list() == [datetime(2026, 3, 1, 9, 15, 30, 123000, tzinfo=UTC),
                                           datetime(2026, 3, 1, 10, 15, 30, tzinfo=UTC), None]
    odd = pl.Series(["2026-02-30T10:15:30Z", "2026-03-01 10:15:30+01:00",
                     "2026-03-01T10:15:30"])  # impossible date, space, no offset: all refused
    assert iso_to_utc(odd).to_list() == [None, None, None]
    assert iso_to_utc(pl.Series(["2026-02-30T10:15:30Z"])).to_list() == [None]


@pytest.mark.parametrize("text", [
    POS_HEADER + "\n",
    POS_HEADER + "\nT1,1,S1,R1,2026-03-01 10:00:00,K1,7,9.99,,,,,cash",
    POS_HEADER + "\nT1,1,S1,R1,2026-03-01 10:00:00,K1,7,9.99,,,,,cash\n\n   \n"
    "T2,1,S1,R1,2026-03-01 10:00:00,K\xff1,7,9.99,,,,,cash\nT3,1,S1\n"
    "T4,1,S1,R1,2026-03-01 10:00:00,K1,seven,9.99,,,,,cash,extra\n"
    "T5,1,S1,R1,2026-03-01 10:00:00,K1,,9.99,,,,,cash\n",
    POS_HEADER + ",new_col\nT1,1,S1,R1,2026-03-01 10:00:00,K1,7,9.99,,,,,cash,x\n",
])
def test_csv_whole_file_path_equals_the_line_path(text, monkeypatch):
    """The vectorised read of a file without quotes gives the line path's records and errors
    (undecodable lines, wrong field counts, blank lines, extra columns)."""
    from lakehouse.ingest.parse import csv_file

    pos = entity("pos", "transactions")
    data = text.encode().replace("\xff".encode(), b"\xff")
    assert csv_file.csv_whole(data, "pos/t.csv") is not None  # the fast path takes it
    fast = parse_csv(pos, data, "pos/t.csv")
    monkeypatch.setattr(csv_file, "csv_whole", lambda data, where: None)
    slow = parse_csv(pos, data, "pos/t.csv")
    assert fast.records.equals(slow.records)
    assert fast.errors.sort("_line").equals(slow.errors.sort("_line"))
    assert fast.present == slow.present and fast.rows == slow.rows


def test_orders_repeated_nested_key_is_duplicate_key():
    orders = entity("orders", "orders")
    item = '{"id":"l1","variant_id":"v1","quantity":1,"quantity":5,"price":"1.00"}'
    line = ('{"id":"o1","order_number":1,"created_at":"2026-03-01T10:00:00Z",'
            '"updated_at":"2026-03-01T10:00:00Z","source_name":"web","financial_status":"paid",'
            f'"currency":"EUR","total_price":"2.00","line_items":[{item}]}}')
    src = "orders/orders_20260103_000.jsonl"
    good, bad = run_jsonl(orders, [line], source=src)
    assert good.height == 0
    err = one_error(bad)
    assert (err["error_kind"], err["field"], err["_raw"]) == ("duplicate_key", "quantity", line)
    assert err["reason"].startswith(f"{src} line 1: key `quantity` appears twice")
