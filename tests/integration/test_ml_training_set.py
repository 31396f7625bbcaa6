"""Training sets and feature marts on a real small simulated home (Delta, identity, inventory):
no leakage across the label time, only validated versions read, exact rebuilds, no raw PII."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from deltalake import DeltaTable, write_deltalake

from lakehouse.home import Home
from lakehouse.ml import (
    FEATURE_SETS,
    NotValidatedError,
    publish_feature_marts,
    training_set,
)
from lakehouse.storage.delta import read_table, to_arrow
from lakehouse.storage.validations import record_validation, validated_versions
from tests.gated import private_copy

INPUTS = sorted({t for fs in FEATURE_SETS.values() for t in fs.tables})
T = datetime(2026, 1, 7, tzinfo=UTC)  # the label time (the simulation runs Jan 1 - Jan 12)
LATE = T + timedelta(hours=1)  # appended events happen here, after T
T2 = T + timedelta(hours=2)  # a label time after the appended events


def validate(lake: Path, tables=INPUTS) -> None:
    """What a passed gate does: record the table's current version."""
    for t in tables:
        dt = DeltaTable(str(lake / t))
        record_validation(lake / t, dt.version(), f"test.{t}", 0, "test")


@pytest.fixture
def home(small_retailer, tmp_path) -> Home:
    """A private copy of the built home: tests append to its tables."""
    return private_copy(small_retailer, tmp_path)


def persons(home: Home) -> list[str]:
    return sorted(read_table(str(home.lake / "gold" / "identity_map"))["person_id"].unique())


def labels(keys: list[str], key: str, *times: datetime) -> pl.DataFrame:
    return pl.DataFrame({key: [k for k in keys for _ in times],
                         "label_time": [t for _ in keys for t in times],
                         "label": list(range(len(keys) * len(times)))})


def append(home: Home, table: str, rows: pl.DataFrame, known: datetime | None = None) -> None:
    """Append rows to a silver table; ``known``: their knowledge time (else the copied one)."""
    if known is not None:
        rows = rows.with_columns(pl.lit(known).cast(pl.Datetime("us", "UTC"))
                                 .alias("_delivered_at"))
    write_deltalake(str(home.lake / table), to_arrow(rows), mode="append")


def append_events_at(home: Home, when: datetime) -> None:
    """Copies of existing customer and product activity, with new ids, happening (and
    delivered) at ``when``: web and app events, account orders with their lines, e-mail
    events, till lines, returns and reviews."""
    s = home.lake / "silver"

    def add(table: str, rows: pl.DataFrame) -> None:
        append(home, table, rows, known=when)

    day = when.date()
    clicks = read_table(str(s / "clickstream_events")).head(300)
    add("silver/clickstream_events", clicks.with_columns(
        (pl.col("event_id") + "-late").alias("event_id"), pl.lit(when).alias("event_time"),
        pl.lit(day).alias("event_date")))
    orders = read_table(str(s / "orders")).filter(pl.col("customer_id").is_not_null()).head(40)
    lines = read_table(str(s / "order_lines")).filter(pl.col("order_id").is_in(orders["order_id"]))
    add("silver/orders", orders.with_columns(
        (pl.col("order_id") + "-late").alias("order_id"), pl.lit(when).alias("created_at"),
        pl.lit(when).alias("updated_at"), pl.lit(None, pl.Datetime("us", "UTC"))
        .alias("cancelled_at"), pl.lit(False).alias("is_cancelled"),
        pl.lit(day).alias("order_date")))
    add("silver/order_lines", lines.with_columns(
        (pl.col("order_id") + "-late").alias("order_id"),
        (pl.col("line_id") + "-late").alias("line_id"), pl.lit(when).alias("updated_at"),
        pl.lit(day).alias("order_date")))
    mails = read_table(str(s / "email_events")).head(200)
    add("silver/email_events", mails.with_columns(
        (pl.col("event_id") + "-late").alias("event_id"), pl.lit(when).alias("event_time"),
        pl.lit(day).alias("event_date"), (pl.col("campaign_id") + "-late").alias("campaign_id")))
    till = read_table(str(s / "pos_transaction_lines")).head(200)
    add("silver/pos_transaction_lines", till.with_columns(
        (pl.col("transaction_id") + "-late").alias("transaction_id"),
        pl.lit(when).alias("event_time"), pl.lit(day).alias("event_date")))
    for table, key in (("returns", "return_id"), ("reviews", "review_id")):
        rows = read_table(str(s / table))
        add(f"silver/{table}", rows.with_columns(
            (pl.col(key) + "-late").alias(key), pl.lit(when).alias("event_time")))


def at(frame: pl.DataFrame, when: datetime) -> pl.DataFrame:
    return frame.filter(pl.col("label_time") == when)


@pytest.mark.parametrize("name,key", [("customer", "person_id"), ("product", "product_id")])
def test_no_leakage_events_after_the_label_time_change_nothing(home, name, key) -> None:
    keys = (persons(home) if name == "customer"
            else sorted(read_table(str(home.lake / "silver" / "products"))["product_id"]))
    lab = labels(keys, key, T, T2)
    before = training_set(name, labels=lab, home=home)
    assert before.frame.height == lab.height
    assert before.frame.select(lab.columns).equals(lab)  # labels kept as given, in order

    append_events_at(home, LATE)
    validate(home.lake)
    after = training_set(name, labels=lab, home=home)

    grown = [t for t in after.versions if after.versions[t] > before.versions[t]]
    assert "silver/orders" in grown and "silver/pos_transaction_lines" in grown
    # features at T use only events before T: events at T + 1 h change nothing
    assert at(after.frame, T).equals(at(before.frame, T))
    # ... but they are seen by a label after them
    counts = (["frequency", "events_7d", "emails_delivered"] if name == "customer"
              else ["units_7d", "review_count", "units_returned"])
    old, new = at(before.frame, T2), at(after.frame, T2)
    for c in counts:
        assert new[c].sum() > old[c].sum(), c
    assert not new.equals(old)


def test_pinned_versions_rebuild_exactly(home) -> None:
    lab = labels(persons(home), "person_id", T, T2)
    first = training_set("customer", labels=lab, home=home)
    unlabelled = training_set("product", as_of=T2, home=home)
    append_events_at(home, LATE)
    validate(home.lake)
    again = first.rebuild()  # training_set(..., versions=first.versions, as_of=first.as_of)
    assert again.versions == first.versions
    assert again.frame.equals(first.frame)
    assert unlabelled.rebuild().frame.equals(unlabelled.frame)
    assert not training_set("customer", labels=lab, home=home).frame.equals(first.frame)


def test_only_validated_versions_are_read(home) -> None:
    lab = labels(persons(home), "person_id", T)
    validated = training_set("customer", labels=lab, home=home)
    # a newer version with events BEFORE T: it would change the features, but no gate passed it
    append_events_at(home, T - timedelta(hours=1))
    latest = DeltaTable(str(home.lake / "silver" / "clickstream_events")).version()
    assert latest > validated.versions["silver/clickstream_events"]
    unchanged = training_set("customer", labels=lab, home=home)
    assert unchanged.versions == validated.versions
    assert unchanged.frame.equals(validated.frame)
    validate(home.lake)  # now the gate passes them
    passed = training_set("customer", labels=lab, home=home)
    assert passed.versions["silver/clickstream_events"] == latest
    assert not passed.frame.equals(validated.frame)


def test_a_missing_or_unvalidated_input_is_named(home) -> None:
    shutil.rmtree(home.lake / "quality")
    validate(home.lake, [t for t in INPUTS if t != "silver/reviews"])
    with pytest.raises(NotValidatedError, match="silver/reviews"):
        training_set("product", home=home)
    ok = training_set("customer", as_of=T, home=home)  # needs no reviews
    assert ok.frame.height == len(persons(home))
    pinned = {**ok.versions, "silver/orders": 99}
    with pytest.raises(NotValidatedError, match="silver/orders@99"):
        training_set("customer", home=home, versions=pinned)
    with pytest.raises(ValueError, match="label_time"):
        training_set("customer", labels=pl.DataFrame({"person_id": ["x"]}), home=home)


def test_a_table_that_never_existed_reads_as_empty(home) -> None:
    """A channel that never delivered has no table and nothing unvalidated to read."""
    shutil.rmtree(home.lake / "silver" / "reviews")
    shutil.rmtree(home.lake / "quality")
    validate(home.lake, [t for t in INPUTS if t != "silver/reviews"])
    ts = training_set("product", as_of=T, home=home)
    assert ts.versions["silver/reviews"] == -1
    assert ts.frame["review_count"].sum() == 0 and ts.frame["mean_rating"].null_count() == (
        ts.frame.height)
    assert ts.rebuild().frame.equals(ts.frame)


def test_published_marts_match_the_training_set_and_carry_no_raw_pii(home) -> None:
    meta = publish_feature_marts(home, as_of=T2)
    cust = read_table(meta["ml_customer_features"]["uri"])
    prod = read_table(meta["ml_product_features"]["uri"])
    assert cust.height == meta["ml_customer_features"]["rows"] == len(persons(home))
    assert prod.height == meta["ml_product_features"]["rows"] == 40
    assert cust["as_of"].unique().to_list() == prod["as_of"].unique().to_list() == [T2]
    assert meta["ml_customer_features"]["read_versions"] == {
        t: v for t, v in validated_versions(home.lake).items()
        if t in FEATURE_SETS["customer"].tables}
    # replace keeps history: a second publish is a new version
    assert publish_feature_marts(home, as_of=T2)["ml_customer_features"]["version"] == (
        meta["ml_customer_features"]["version"] + 1)

    # the marts and a labelled training set at the same time are the same features
    lab = cust.select("person_id", pl.col("as_of").alias("label_time"))
    ts = training_set("customer", labels=lab, home=home)
    assert ts.frame.rename({"label_time": "as_of"}).equals(cust)

    s = home.lake / "silver"
    raw: set[str] = set()
    for table, cols in {
        "orders": ("email", "phone", "customer_id", "customer_email", "customer_phone",
                   "payment_fingerprint", "browser_id", "order_id"),
        "clickstream_events": ("anonymous_id", "login_id"),
        "pos_transaction_lines": ("loyalty_card", "card_token", "transaction_id"),
        "email_events": ("email",),
        "reviews": ("reviewer_email", "reviewer_name"),
    }.items():
        frame = read_table(str(s / table))
        for c in cols:
            raw |= set(frame[c].drop_nulls().to_list())
    assert len(raw) > 200  # identifiers of every kind, from every source
    for mart in (cust, prod):
        strings = [c for c, t in mart.schema.items() if t == pl.String]
        assert set(strings) <= {"person_id", "product_id", "category"}
        for c in strings:
            assert not set(mart[c].drop_nulls().to_list()) & raw, c
    assert cust["person_id"].str.contains(r"^P[0-9a-f]+$").all()
