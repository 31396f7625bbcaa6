"""Listing the quarantine and judging how long pending rows waited, on hand-built tables
(lakehouse/ingest/replay/, lakehouse/ingest/pending_age.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from deltalake import write_deltalake

from lakehouse.home import Home
from lakehouse.ingest.pending_age import judge, max_age, pending_age, watermark
from lakehouse.ingest.replay import Selection, read_quarantine, rows, summary, text_table
from lakehouse.ingest.replay.listing import redacted
from lakehouse.ingest.replay.run import new_batch_id
from lakehouse.storage.delta import to_arrow

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _row(n: int, kind: str, channel: str = "web", entity: str = "events",
         file: str = "web/events_20260301_000.jsonl", delivered: datetime = T0,
         field: str | None = "variant_id", reason: str | None = None) -> dict:
    return {"_source_channel": channel, "_entity": entity, "_source_file": file, "_line": n,
            "_batch_id": "b-1", "_ingested_at": delivered + timedelta(minutes=5),
            "_delivered_at": delivered, "raw": f'{{"email": "ana{n}@example.com"}}',
            "error_kind": kind, "field": field,
            "reason": reason or f"{file} line {n}: {kind}"}


def _old_quarantine(home: Home, rows_: list[dict]) -> None:
    """A quarantine table as written before ``released_by`` / ``released_at`` existed."""
    frame = pl.DataFrame(rows_, schema={
        "_source_channel": pl.String, "_entity": pl.String, "_source_file": pl.String,
        "_line": pl.Int64, "_batch_id": pl.String, "_ingested_at": pl.Datetime("us", "UTC"),
        "_delivered_at": pl.Datetime("us", "UTC"), "raw": pl.String, "error_kind": pl.String,
        "field": pl.String, "reason": pl.String})
    write_deltalake(str(home.quarantine / "rows"), to_arrow(frame), mode="append")


@pytest.fixture
def home(tmp_path) -> Home:
    return Home.resolve(tmp_path).ensure()


def test_a_quarantine_written_before_releases_existed_lists_by_status(home):
    _old_quarantine(home, [
        _row(1, "unknown_product"), _row(2, "unknown_product"),
        _row(3, "wrong_type", field="email",
             reason='web/events_1.jsonl line 3: field `email` is the string "ana@x.org", '
                    "expected a string"),
        _row(4, "unknown_location", channel="pos", entity="transactions",
             file="pos/transactions_20260301_000.csv", field="store_code"),
        _row(1, "broken_json", file="web/events_20260302_000.jsonl", field=None),
    ])
    frame = read_quarantine(home)
    assert "raw" not in frame.columns  # payloads only when asked for: they hold PII
    assert frame["released_by"].null_count() == frame.height
    assert frame["status"].value_counts().sort("status").rows() == [("dead", 2),
                                                                     ("pending", 3)]
    assert read_quarantine(home, raw=True)["raw"].null_count() == 0

    web_pending = frame.filter(Selection.of(["unknown_product"], ["web"]).expr())
    assert web_pending["_line"].sort().to_list() == [1, 2]
    assert frame.filter(Selection.of(file="20260302").expr()).height == 1
    assert frame.filter(Selection.of(status="released").expr()).is_empty()
    assert frame.filter(Selection.of(status="all").expr()).height == 5
    with pytest.raises(ValueError, match="status 'gone'"):
        Selection.of(status="gone")

    counts = summary(frame)  # pending first, the largest groups first
    assert counts.row(0, named=True) == {
        "status": "pending", "error_kind": "unknown_product", "_source_channel": "web",
        "_entity": "events", "_source_file": "web/events_20260301_000.jsonl", "rows": 2}
    assert counts["status"].to_list() == ["pending", "pending", "dead", "dead"]
    listed = rows(frame, 3)
    assert listed.columns == ["status", "kind", "file", "line", "field", "reason"]
    assert listed.height == 3
    shown = text_table(rows(frame, 10))
    assert "ana@x.org" not in shown and "<hidden: personal data>" in shown
    assert "ana1@example.com" not in text_table(frame)  # no raw column to show


def test_reasons_hide_values_of_personal_fields_only():
    reason = 'f line 2: field `phone` is the string "+4915112345", expected a string'
    assert redacted(reason, "phone") == ("f line 2: field `phone` is <hidden: personal data>, "
                                         "expected a string")
    assert "+4915112345" not in redacted(
        'f line 2: field `customer.phone` is "+4915112345", not E.164', "customer.phone")
    kept = "f line 2: store_code `S9` is not in silver locations yet"
    assert redacted(kept, "store_code") == kept


def test_replay_batch_ids_fit_delta_statistics():
    ids = {new_batch_id(T0 + timedelta(seconds=s), pl.DataFrame(
        [_row(1, "wrong_type")]).drop("raw")) for s in (0, 1)}
    assert len(ids) == 2
    for batch in ids:
        assert batch.startswith("replay-20260301T0000") and len(batch) < 32


def test_pending_age_is_measured_on_the_lake_clock():
    pending = pl.DataFrame({
        "error_kind": ["unknown_product", "unknown_product", "unknown_location"],
        "_source_channel": ["web", "web", "pos"],
        "_delivered_at": [T0, T0 + timedelta(hours=20), None],
        "_ingested_at": [T0, T0, T0 + timedelta(hours=2)],
    }, schema_overrides={"_delivered_at": pl.Datetime("us", "UTC"),
                         "_ingested_at": pl.Datetime("us", "UTC")})
    late = judge(pending, T0 + timedelta(hours=30), timedelta(hours=24))
    assert not late.passed and late.pending == 3
    assert late.overdue == 2  # 30 h and 28 h (delivery unknown: its ingest time); not 10 h
    assert late.oldest == timedelta(hours=30)
    table = {(k, c): (p, o) for k, c, p, o, _ in late.by_kind_channel.iter_rows()}
    assert table == {("unknown_product", "web"): (2, 1), ("unknown_location", "pos"): (1, 1)}
    assert "2 of 3 pending row(s) waited longer than 24 h" in late.describe()
    assert "| unknown_product | web | 2 | **1** |" in late.markdown()
    # the same rows when the lake's newest delivery is their own: a backfill of old files
    assert judge(pending, T0 + timedelta(hours=20), timedelta(hours=24)).passed
    assert judge(pending, None, timedelta(hours=24)).passed  # no watermark: newest pending
    assert judge(pending.clear(), T0, timedelta(hours=1)).describe() == (
        "no pending rows in the quarantine")


def test_max_age_from_argument_environment_or_default(monkeypatch):
    monkeypatch.delenv("LAKEHOUSE_PENDING_MAX_AGE_HOURS", raising=False)
    assert max_age() == timedelta(hours=24)
    monkeypatch.setenv("LAKEHOUSE_PENDING_MAX_AGE_HOURS", "6.5")
    assert max_age() == timedelta(hours=6.5)
    assert max_age(2) == timedelta(hours=2)
    monkeypatch.setenv("LAKEHOUSE_PENDING_MAX_AGE_HOURS", "a day")
    with pytest.raises(ValueError, match="expected a number of hours"):
        max_age()
    with pytest.raises(ValueError, match="must be positive"):
        max_age(0)


def test_watermark_comes_from_the_delta_log_of_bronze_and_quarantine(home):
    assert watermark(home) is None
    bronze = pl.DataFrame({"x": [1, 2], "_delivered_at": [T0, T0 + timedelta(hours=3)]},
                          schema_overrides={"_delivered_at": pl.Datetime("us", "UTC")})
    write_deltalake(str(home.bronze / "web__events"), to_arrow(bronze), mode="append")
    write_deltalake(str(home.bronze / "old"), to_arrow(pl.DataFrame({"x": [1]})),
                    mode="append")  # a table without the column is no clock
    _old_quarantine(home, [_row(1, "unknown_product", delivered=T0 - timedelta(hours=40)),
                           _row(2, "wrong_type", delivered=T0 + timedelta(hours=5))])
    assert watermark(home) == T0 + timedelta(hours=5)
    verdict = pending_age(home, timedelta(hours=24))
    assert verdict.watermark == T0 + timedelta(hours=5)
    assert (verdict.pending, verdict.overdue) == (1, 1)  # the dead row does not wait
    assert verdict.oldest == timedelta(hours=45)


def test_filters_name_what_exists():
    with pytest.raises(ValueError, match="unknown error kind"):
        Selection.of(["unknown_produkt"])
    with pytest.raises(ValueError, match="unknown channel"):
        Selection.of(channels=["fax"])
