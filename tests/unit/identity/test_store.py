"""The identity tables' store (lakehouse/identity/store.py): the full erasure's suppression list
keeps a person out of later runs without holding any pseudonym that gold or the warehouse holds
(an e-mail record's id is the address itself), and a run's report shows its model."""

from datetime import UTC, datetime, timedelta

import polars as pl
from deltalake import write_deltalake

from lakehouse.home import Home
from lakehouse.identity import resolve_full
from lakehouse.identity.pii import pseudonymise
from lakehouse.identity.store import ERASURES, erase, report_with_parameters, resolve_home
from lakehouse.storage.delta import read_table
from lakehouse.storage.paths import table_uri
from lakehouse.storage.validations import record_validation

T0 = datetime(2026, 3, 1, tzinfo=UTC)
KEY = b"k" * 32


def test_an_unlinkable_suppression_entry_still_keeps_the_record_out(tmp_path) -> None:
    home = Home.resolve(tmp_path)
    records = pl.DataFrame([
        {"record_id": "a1", "source": "shop_customer", "first_name": "Ann", "last_name": "Lee",
         "email": "ann@x.com", "login_id": "a1"},
        {"record_id": "ann@x.com", "source": "email", "email": "ann@x.com"},
        {"record_id": "b1", "source": "shop_customer", "first_name": "Bo", "last_name": "Kim",
         "email": "bo@x.com", "login_id": "b1"},
    ], infer_schema_length=None).with_columns(pl.lit(T0).alias("first_seen"),
                                              pl.lit(T0).alias("last_seen"))
    uri = table_uri(home, "silver", "customer_records")
    write_deltalake(uri, records.to_arrow())
    record_validation(uri, 0, "test", records.height)  # identity reads validated pins only
    resolve_home(home, key=KEY, at=T0)
    imap = read_table(table_uri(home, "gold", "identity_map"))
    ann = imap.filter((pl.col("source") == "email")
                      & (pl.col("identifier_type") == "record"))["person_id"].item()

    erase(home, [ann], at=T0, key=KEY, unlinkable=True)

    held = set(read_table(table_uri(home, "gold", ERASURES))["identifier_hash"])
    assert len(held) == 2
    assert not held & {pseudonymise(v, KEY) for v in ("a1", "ann@x.com")}
    run = resolve_home(home, key=KEY, at=T0 + timedelta(days=1))
    assert run.records == 1  # Ann's two records stay suppressed; Bo is untouched


def test_our_engine_reports_m_and_u_per_level_as_splink_does() -> None:
    rows = [{"source": "loyalty", "record_id": f"a{k}", "first_name": f"Name{k % 40}",
             "last_name": f"Sur{k % 37}", "date_of_birth": f"19{50 + k % 40}-01-0{1 + k % 9}",
             "postcode": f"{10000 + k % 50}", "address_line1": f"{k} MAIN ST",
             "email": f"n{k}@x.com"} for k in range(300)]
    rows += [{**r, "source": "shop_customer", "email": None, "record_id": "b" + r["record_id"]}
             for r in rows[:100]]
    result = resolve_full(pl.DataFrame(rows), engine="fellegi_sunter")
    params = report_with_parameters(result)["fellegi_sunter"]["parameters"]
    assert {p["comparison"] for p in params} >= {"first_name", "last_name", "date_of_birth"}
    for p in params:
        assert 0 < p["m"] <= 1 and 0 < p["u"] <= 1
        assert p["label"] in ("disagree", "exact") or p["label"].startswith("partial")
    # the rest of the report kept
    assert report_with_parameters(result)["fellegi_sunter"]["weights"]
