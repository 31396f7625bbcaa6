"""Normalisers and pure conform functions of silver (no Delta, no simulator)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import partial

import polars as pl
import pytest

from lakehouse.ingest.quarantine import SCHEMA as QUARANTINE_SCHEMA
from lakehouse.silver import normalize as nz
from lakehouse.silver.clickstream import app_event_time
from lakehouse.silver.identity_inputs import customer_records, fold_observations
from lakehouse.silver.operations import fold_purchase_orders
from lakehouse.silver.products import map_product


def run(fn, values):
    return fn(pl.Series("v", values, dtype=pl.String)).to_list()


@pytest.mark.parametrize("raw", ["(415) 555-0123", "415.555.0123", "+1 415 555 0123",
                                 "4155550123", "1-415-555-0123", "415-555-0123 x12",
                                 "415.555.0123 ext. 12", "(415) 555-0123 #7",
                                 "tel:+1-415-555-0123", " +1 (415) 555-0123 "])
def test_us_phones_become_e164(raw):
    assert run(nz.phone, [raw]) == ["+14155550123"]


@pytest.mark.parametrize(("raw", "e164"), [
    ("+44 20 7946 0958", "+442079460958"),
    ("0044 20 7946 0958", "+442079460958"),       # 00: the international prefix abroad
    ("011 44 20 7946 0958", "+442079460958"),     # 011: the one of the default region (US)
    ("+44 (0)20 7946 0958", "+442079460958"),     # the UK trunk 0 written after the code
    ("+49 30 901820", "+4930901820"),
    ("+33 1 42 68 53 00", "+33142685300"),
    ("+91 98765-43210", "+919876543210"),
    ("+81 3-1234-5678", "+81312345678"),
    ("+44 20 7946 0958 ext 3", "+442079460958"),
    ("1-800-FLOWERS", "+18003569377"),            # letters on the keypad
])
def test_international_phones_become_e164(raw, e164):
    assert run(nz.phone, [raw]) == [e164]


def test_invalid_phones_are_null():
    assert run(nz.phone, ["12345", "call me", "555-0123", "+1 415 555", "+999 1234 5678",
                          "(415) 555-0123 / 555-0199", "", "   ", None]) == [None] * 9


def test_phone_default_region():
    assert run(partial(nz.phone, default_region="GB"), ["020 7946 0958", "+1 415 555 0123"]) \
        == ["+442079460958", "+14155550123"]
    assert run(partial(nz.phone, default_region="DE"), ["030 901820", "0044 20 7946 0958"]) \
        == ["+4930901820", "+442079460958"]


def test_phones_parsed_once_per_spelling_keep_rows_and_nulls():
    raw = ["(415) 555-0123", None, "415-555-0123", "bad", "(415) 555-0123"] * 1000
    got = run(nz.phone, raw)
    assert got == ["+14155550123", None, "+14155550123", None, "+14155550123"] * 1000


def test_email_provider_rules():
    got = run(nz.email, ["John.Smith+shop@GMail.com", "j.s@googlemail.com",
                         "A.B+news@yahoo.com", " Foo@Bar.COM ", "not-an-email", "+x@gmail.com"])
    assert got == ["johnsmith@gmail.com", "js@gmail.com", "a.b@yahoo.com", "foo@bar.com",
                   None, None]


def test_names_trimmed_and_title_cased():
    assert run(nz.name, [" JOHN  ", "mary ann", "  ", None]) == ["John", "Mary Ann", None, None]


@pytest.mark.parametrize(("raw", "standard"), [
    ("5922 Jefferson Pl.", "5922 JEFFERSON PL"),
    ("12 main street", "12 MAIN ST"),
    (" 1  ELM   St ", "1 ELM ST"),
    ("1600 Pennsylvania Avenue Northwest", "1600 PENNSYLVANIA AVE NW"),
    ("123 North Main Street", "123 N MAIN ST"),
    ("12 Park Avenue", "12 PARK AVE"),                  # a street named like a suffix
    ("45 St. Marks Place", "45 ST MARKS PL"),           # Saint, not Street
    ("8 Avenue of the Americas", "8 AVENUE OF THE AMERICAS"),
    ("221B Baker Street", "221B BAKER ST"),
    ("100 Old Country Road", "100 OLD COUNTRY RD"),
])
def test_addresses_standardised(raw, standard):
    assert run(nz.address_line, [raw]) == [standard]


@pytest.mark.parametrize(("raw", "standard"), [
    ("7 Oak Avenue #12", "7 OAK AVE # 12"),
    ("7 Oak Ave Apt 12", "7 OAK AVE # 12"),
    ("7 OAK AVENUE, APARTMENT 12", "7 OAK AVE # 12"),
    ("3 Hill Blvd, Unit 5", "3 HILL BLVD # 5"),
    ("123 N Main St Suite 4B", "123 N MAIN ST # 4B"),
    ("Flat 3, 12 High Street", "12 HIGH ST # 3"),       # the unit written first
    ("Apt 4", "# 4"),                                   # an address line 2
    ("#4", "# 4"),
    ("Unit 4", "# 4"),
])
def test_address_units_one_form(raw, standard):
    assert run(nz.address_line, [raw]) == [standard]


def test_addresses_not_one_street_keep_the_rule_based_form():
    got = run(nz.address_line, ["P.O. Box 123", "PO BOX 123", "c/o John Smith",
                                "Main St & 5th Ave", "7 Oak Ave Apt 12 Apt 12", "", "  ", None])
    assert got == ["PO BOX 123", "PO BOX 123", "C/O JOHN SMITH", "MAIN ST & 5TH AVE",
                   "7 OAK AVE APT 12 # 12", None, None, None]


def test_rule_based_address_path():
    """``parse=False``: the rules alone give the same form for plain lines."""
    rules = partial(nz.address_line, parse=False)
    assert run(rules, ["12 main street", "7 Oak Avenue #12", "3 Hill Blvd, Unit 5",
                       "1600 Pennsylvania Ave Northwest", "12 Lake Avenue", None]) == \
        ["12 MAIN ST", "7 OAK AVE # 12", "3 HILL BLVD # 5", "1600 PENNSYLVANIA AVE NW",
         "12 LAKE AVE", None]


def test_postcodes_trimmed_zip4_dropped():
    assert run(nz.postcode, [" 02127 ", "77014-1234", "sw1a 1aa", ""]) == \
        ["02127", "77014", "SW1A 1AA", None]


def _ts(h: int, m: int = 0) -> datetime:
    return datetime(2026, 1, 1, h, m, tzinfo=UTC)


def test_app_clock_skew_falls_back_to_received_time():
    df = pl.DataFrame({
        "eventTimestamp": [_ts(10), _ts(12), _ts(1)],  # ok, 2h ahead, 13h behind
        "receivedTimestamp": [_ts(10, 1), _ts(10), _ts(14)],
    }).with_columns(pl.all().cast(pl.Datetime("us", "UTC")))
    time, source = app_event_time()
    out = df.select(time, source)
    assert out["event_time_source"].to_list() == ["device", "received", "received"]
    assert out["event_time"].to_list() == [_ts(10), _ts(10), _ts(14)]


def test_unmapped_code_is_quarantined_with_file_line_and_code():
    xw = pl.DataFrame({"system": ["pos"], "code": ["K1"], "product_id": ["PRD-1"]})
    rows = pl.DataFrame({"pos_sku": ["K1", "P-99999", None], "qty": [1, 2, 3],
                         "_source_file": ["pos/transactions_20260103_000.csv"] * 3,
                         "_line": [2, 14, 15], "_batch_id": ["b"] * 3,
                         "_ingested_at": [_ts(0)] * 3})
    good, bad = map_product(rows, xw, system="pos", code="pos_sku", channel="pos",
                            entity="transactions")
    assert good["product_id"].to_list() == ["PRD-1", None]
    assert bad["reason"].to_list() == [
        "pos/transactions_20260103_000.csv line 14: pos_sku `P-99999` is not in the product "
        "catalog crosswalk yet (pending: released when the catalog lists it)"]
    assert bad.row(0, named=True)["error_kind"] == "unknown_product"
    assert '"P-99999"' in bad["raw"][0]


def test_product_codes_map_by_exact_code_only():
    """A product without a code in a system (null) maps nothing; the first product of a
    duplicated code wins; rows keep their order; all mapped: nothing quarantined."""
    xw = pl.DataFrame({"system": ["pos", "pos", "pos", "web"],
                       "code": [None, "K1", "K1", "K2"],
                       "product_id": ["PRD-0", "PRD-1", "PRD-2", "PRD-3"]})
    rows = pl.DataFrame({"pos_sku": [None, "K1", "K1"], "_source_file": ["f"] * 3,
                         "_line": [1, 2, 3], "_batch_id": ["b"] * 3,
                         "_ingested_at": [_ts(0)] * 3}, schema_overrides={"pos_sku": pl.String})
    good, bad = map_product(rows, xw, system="pos", code="pos_sku", channel="pos",
                            entity="transactions")
    assert good["product_id"].to_list() == [None, "PRD-1", "PRD-1"]
    assert good["_line"].to_list() == [1, 2, 3]
    assert bad.is_empty() and bad.columns == list(QUARANTINE_SCHEMA)


def test_purchase_order_fold():
    lineage = {"_source_file": ["f2", "f1"], "_line": [1, 1], "_batch_id": ["b", "b"],
               "_ingested_at": [_ts(0)] * 2}
    events = pl.DataFrame({
        "event_id": ["E2", "E1"], "po_number": ["PO-1", "PO-1"],
        "event": ["delivered", "created"], "supplier_id": ["S", "S"],
        "product_id": ["P", "P"], "wms_item_code": ["W", "W"], "location_id": ["WH", "WH"],
        "qty": [7, 8], "promised_date": [date(2026, 1, 5)] * 2,
        "event_time": [datetime(2026, 1, 8, 9, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)],
        **lineage})
    row = fold_purchase_orders(events).row(0, named=True)
    assert (row["ordered_qty"], row["delivered_qty"], row["delay_days"], row["status"]) == \
        (8, 7, 3, "delivered")
    assert row["_source_file"] == "f2"  # lineage of the latest event


def test_observations_fold_and_records_take_latest_value():
    def obs(rid, kind, value, hour):
        return {"record_id": rid, "source": "loyalty", "identifier_type": kind, "value": value,
                "observed_at": _ts(hour), "last_observed_at": _ts(hour),
                "_source_file": f"f{hour}", "_line": 1, "_batch_id": "b",
                "_ingested_at": _ts(0)}
    rows = pl.DataFrame([obs("M1", "email", "a@x.com", 3), obs("M1", "email", "a@x.com", 1),
                         obs("M1", "email", "b@x.com", 2), obs("M1", "date_of_birth",
                                                              "1990-02-03", 1)])
    folded = fold_observations(rows)
    a = folded.filter(pl.col("value") == "a@x.com").row(0, named=True)
    assert (a["observed_at"], a["last_observed_at"], a["_source_file"]) == (_ts(1), _ts(3), "f1")
    # folding is order-free: shuffled input, same result
    assert fold_observations(rows.reverse()).equals(folded)
    rec = customer_records(folded).row(0, named=True)
    assert (rec["email"], rec["date_of_birth"]) == ("a@x.com", date(1990, 2, 3))
    assert (rec["first_seen"], rec["last_seen"]) == (_ts(1), _ts(3))
