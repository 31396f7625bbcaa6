"""The full erasure's suppression list keeps a person out of later runs without holding any
pseudonym that gold or the warehouse holds (an e-mail record's id is the address itself)."""

from datetime import UTC, datetime, timedelta

import polars as pl
from deltalake import write_deltalake

from lakehouse.home import Home
from lakehouse.identity.pii import pseudonymise
from lakehouse.identity.store import ERASURES, erase, resolve_home
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
