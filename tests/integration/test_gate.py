"""GX suites as code and the gate that runs them on real Delta tables (data_quality/)."""

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from data_quality import Expect, Suite, bronze_suites, validate_table

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _rows(n: int, batch: str, start: int = 0, **overrides) -> list[dict]:
    rows = []
    for i in range(start, start + n):
        row = {
            "event_id": f"e{i}", "event_type": "page_view", "quantity": 1,
            "ts": NOW - timedelta(hours=i), "email": f"person{i}@example.com",
            "_source_file": "web/events_1.jsonl", "_line": i + 1, "_batch_id": batch,
            "_ingested_at": NOW,
        }
        row.update({k: v(i) if callable(v) else v for k, v in overrides.items()})
        rows.append(row)
    return rows


SCHEMA = pa.schema([
    ("event_id", pa.string()), ("event_type", pa.string()), ("quantity", pa.int64()),
    ("ts", pa.timestamp("us", "UTC")), ("email", pa.string()), ("_source_file", pa.string()),
    ("_line", pa.int64()), ("_batch_id", pa.string()), ("_ingested_at", pa.timestamp("us", "UTC")),
])

SUITE = Suite(
    name="test.events",
    expectations=(
        Expect("ExpectColumnValuesToNotBeNull", "event_id"),
        Expect("ExpectColumnValuesToBeInSet", "event_type", (("value_set", ("page_view",)),)),
        Expect("ExpectColumnValuesToBeBetween", "quantity", (("min_value", 1),)),
        Expect("ExpectColumnValuesToMatchRegex", "email", (("regex", r"@example\.com$"),)),
        Expect("ExpectColumnValuesToNotMatchRegex", "email", (("regex", r"^p1"),)),
    ),
    pii_columns=frozenset({"email"}),
    min_rows=1,
    unique_key=("_source_file", "_line"),
    newest_column="ts",
)


def _table(tmp_path, *batches: list[dict]) -> str:
    uri = str(tmp_path / "events")
    for rows in batches:
        write_deltalake(uri, pa.Table.from_pylist(rows, schema=SCHEMA), mode="append")
    return uri


def test_clean_table_passes_every_expectation(tmp_path):
    uri = _table(tmp_path, _rows(10, "b1"))
    result = validate_table(uri, SUITE, now=NOW)
    assert result.passed, result.describe()
    assert result.rows == 10
    by_name = {o.name: o for o in result.outcomes}
    not_null = by_name["ExpectColumnValuesToNotBeNull(event_id)"]
    assert not_null.element_count == 10  # counted over all chunks of 3


@pytest.mark.parametrize("engine", ["gx", "duckdb"])
def test_each_broken_rule_fails_with_counts(tmp_path, engine):
    rows = _rows(10, "b1")
    rows[1]["event_id"] = None
    rows[2]["event_type"] = "teleport"
    rows[3]["quantity"] = 0
    rows[4]["ts"] = NOW + timedelta(days=3)
    rows[5]["_line"] = rows[6]["_line"]
    uri = _table(tmp_path, rows)
    result = validate_table(uri, SUITE, now=NOW, engine=engine)
    failed = {o.name: o for o in result.failed}
    assert set(failed) == {
        "ExpectColumnValuesToNotBeNull(event_id)",
        "ExpectColumnValuesToBeInSet(event_type)",
        "ExpectColumnValuesToBeBetween(quantity)",
        "max(ts) <= now + 1 day, 0:00:00",
        "unique(_source_file, _line)",
    }
    assert failed["ExpectColumnValuesToBeInSet(event_type)"].unexpected_count == 1
    assert failed["ExpectColumnValuesToBeInSet(event_type)"].sample == ["teleport"]
    assert failed["unique(_source_file, _line)"].observed == "1 duplicated keys"
    assert "teleport" in result.markdown()
    assert not result.passed


def test_pii_values_never_reach_the_report(tmp_path):
    uri = _table(tmp_path, _rows(5, "b1", email=lambda i: f"secret{i}@private.org"))
    result = validate_table(uri, SUITE, now=NOW)
    email = next(o for o in result.outcomes if o.column == "email")
    assert not email.passed and email.unexpected_count == 5
    assert email.sample is None
    text = result.markdown() + result.describe()
    assert "private.org" not in text and "PII: values withheld" in text


def test_since_version_validates_every_commit_after_the_pin(tmp_path):
    uri = _table(tmp_path, _rows(5, "b1", quantity=-2), _rows(5, "b2", start=5),
                 _rows(3, "b3", start=10))
    # the pin is version 0 (b1): the increment is b2 and b3, whichever batches they are
    since_pin = validate_table(uri, SUITE, since_version=0, now=NOW)
    assert since_pin.passed and since_pin.rows == 8 and since_pin.since_version == 0
    # with no pin, b1's failed rows are in the increment: a later passing batch hides nothing
    whole = validate_table(uri, SUITE, now=NOW)
    assert not whole.passed and whole.since_version is None
    assert validate_table(uri, SUITE, since_version=1, now=NOW).rows == 3
    # nothing since the latest version: the increment is empty, the table's row count counts
    empty = validate_table(uri, SUITE, since_version=2, now=NOW)
    assert empty.passed and empty.rows == 0 and empty.outcomes[0].observed == 13


def test_uniqueness_of_an_increment_is_checked_against_the_whole_table(tmp_path):
    uri = _table(tmp_path, _rows(5, "b1"), _rows(2, "b2", start=3))  # lines 4 and 5 again
    result = validate_table(uri, SUITE, since_version=0, now=NOW)
    assert [o.name for o in result.failed] == ["unique(_source_file, _line)"]
    assert result.failed[0].observed == "2 duplicated keys"


def test_an_expectation_on_an_absent_column_fails_unless_the_column_is_optional(tmp_path):
    uri = _table(tmp_path, _rows(3, "b1"))
    expectations = (Expect("ExpectColumnValuesToBeInSet", "consent", (("value_set", ("y",)),)),
                    Expect("ExpectColumnValuesToBeBetween", "score", (("min_value", 0),)))
    result = validate_table(uri, Suite("absent", expectations,
                                       optional_columns=frozenset({"consent"})))
    by_name = {o.name: o for o in result.outcomes}
    assert by_name["ExpectColumnValuesToBeInSet(consent)"].passed
    assert "optional" in by_name["ExpectColumnValuesToBeInSet(consent)"].observed
    assert not by_name["ExpectColumnValuesToBeBetween(score)"].passed
    assert by_name["ExpectColumnValuesToBeBetween(score)"].observed == "column missing"


def test_version_pins_what_is_validated(tmp_path):
    uri = _table(tmp_path, _rows(5, "b1"), _rows(5, "b2", start=5, quantity=0))
    assert validate_table(uri, SUITE, version=0, now=NOW).passed
    assert not validate_table(uri, SUITE, now=NOW).passed


@pytest.mark.parametrize("name", ["web__events", "orders__orders", "pos__transactions",
                                  "wms__movements", "locations__shipping_rates"])
def test_bronze_suites_follow_the_channel_contract(name):
    suite = bronze_suites()[name]
    names = {e.name for e in suite.expectations}
    assert "ExpectColumnValuesToNotBeNull(_batch_id)" in names
    if name == "web__events":
        assert "ExpectColumnValuesToNotBeNull(cookie_id)" in names
        assert "ExpectColumnValuesToBeInSet(event_type)" in names
        assert "ExpectColumnValuesToBeBetween(quantity)" in names
        assert suite.newest_column == "ts"
    if name == "orders__orders":
        assert {"email", "customer", "shipping_address"} <= suite.pii_columns
    if name == "wms__movements":
        # adjustments may be negative: no lower bound on WMS qty
        assert "ExpectColumnValuesToBeBetween(qty)" not in names


def test_a_table_not_written_yet_fails_only_a_suite_that_demands_rows(tmp_path):
    missing = str(tmp_path / "never_written")
    assert validate_table(missing, Suite("optional", ())).passed
    result = validate_table(missing, SUITE)
    assert not result.passed and result.rows == 0
    assert result.failed[0].observed == "no table yet"


def test_references_count_orphans_against_the_validated_version_of_the_other_table(tmp_path):
    from lakehouse.storage.validations import record_validation

    lake = tmp_path / "lake"
    products = str(lake / "silver" / "products")
    # a null product id in the referenced table must not hide orphans (`not in` would)
    write_deltalake(products, pa.table({"product_id": ["p1", "p2", None]}))
    lines = pa.table({"product_id": ["p1", "p2", None, "p9"], "_batch_id": ["b1"] * 4})
    write_deltalake(str(lake / "silver" / "lines"), lines)
    suite = Suite("refs", (), references=(("product_id", "products", "product_id"),))
    unvalidated = validate_table(str(lake / "silver" / "lines"), suite)
    assert unvalidated.failed[0].observed == (
        "products missing or has no validated version; 3 rows reference it")
    record_validation(products, 0, "silver.products", 3)
    # p9 lands in products, but that version never passed its gate: p9 is still an orphan
    write_deltalake(products, pa.table({"product_id": ["p9"]}), mode="append")
    result = validate_table(str(lake / "silver" / "lines"), suite)
    (outcome,) = result.failed
    assert outcome.name == "product_id references products.product_id"
    assert outcome.observed == "1 orphan rows"  # nulls are not orphans
    assert validate_table(str(lake / "silver" / "lines"), suite,
                          ref_versions={"silver/products": 1}).passed
    no_products = Suite("refs", (), references=(("product_id", "catalog", "product_id"),))
    assert not validate_table(str(lake / "silver" / "lines"), no_products).passed


def test_gx_and_duckdb_engines_agree_expectation_by_expectation(tmp_path):
    rows = _rows(12, "b1", email=lambda i: f"p{i}@example.com" if i % 3 else f"p{i}@other.org")
    rows[0]["event_type"], rows[1]["quantity"], rows[2]["event_id"] = "x", 0, None
    uri = _table(tmp_path, rows, _rows(4, "b2", start=12, quantity=-1))
    for since in (None, 0):
        gx = validate_table(uri, SUITE, since_version=since, now=NOW)
        db = validate_table(uri, SUITE, since_version=since, now=NOW, engine="duckdb")
        def summary(result):
            return {(o.name, o.passed, o.element_count, o.unexpected_count,
                     tuple(sorted(o.sample or []))) for o in result.outcomes}
        assert summary(gx) == summary(db), since
    with pytest.raises(ValueError, match="unknown gate engine"):
        validate_table(uri, SUITE, engine="spark")


@pytest.mark.parametrize("engine", ["gx", "duckdb"])
def test_files_mixing_string_and_string_view_are_validated(tmp_path, engine):
    # delta-rs MERGE writes string_view while appends write large strings; pyarrow's filter
    # kernels reject the mix, so the gate must not depend on them.
    uri = str(tmp_path / "mixed")
    # batch ids interleave across the two files, so no file can be skipped on its statistics
    write_deltalake(uri, pa.table({"k": pa.array(["a", "b"], pa.large_string()),
                                   "_batch_id": pa.array(["b1", "b3"], pa.large_string())}))
    write_deltalake(uri, pa.table({"k": pa.array(["c", None], pa.string_view()),
                                   "_batch_id": pa.array(["b2", "b2"], pa.string_view())}),
                    mode="append")
    suite = Suite("mixed", (Expect("ExpectColumnValuesToNotBeNull", "k"),), unique_key=("k",))
    first = validate_table(uri, suite, version=0, engine=engine)
    assert first.passed and first.rows == 2
    second = validate_table(uri, suite, since_version=0, engine=engine)
    assert second.rows == 2 and [o.name for o in second.failed] == [
        "ExpectColumnValuesToNotBeNull(k)"]
    assert validate_table(uri, suite, engine=engine).rows == 4


def test_a_gold_table_references_a_silver_table_at_its_pin(tmp_path):
    from lakehouse.storage.validations import record_validation

    lake = tmp_path / "lake"
    write_deltalake(str(lake / "silver" / "products"), pa.table({"product_id": ["p1"]}))
    record_validation(lake / "silver" / "products", 0, "silver.products", 1)
    write_deltalake(str(lake / "gold" / "positions"), pa.table({"product_id": ["p1", "p7"]}))
    suite = Suite("gold.positions", (),
                  references=(("product_id", "silver/products", "product_id"),))
    (outcome,) = validate_table(str(lake / "gold" / "positions"), suite).failed
    assert outcome.name == "product_id references silver/products.product_id"
    assert outcome.observed == "1 orphan rows"
