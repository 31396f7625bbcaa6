"""Data Docs: the gate's GX results rendered by GX's site builder into the home; no PII values."""

import pyarrow as pa
from deltalake import write_deltalake

from data_quality.docs import docs_dir, index_page, render
from data_quality.gate import validate_table
from data_quality.suites import Expect, Suite

SUITE = Suite("silver.orders", (
    Expect("ExpectColumnValuesToNotBeNull", "order_id"),
    Expect("ExpectColumnValuesToNotMatchRegex", "email", (("regex", "@"),)),
), pii_columns=frozenset({"email"}))


def test_gx_renders_each_validation_and_withholds_pii(tmp_path):
    uri = str(tmp_path / "lake" / "silver" / "orders")
    write_deltalake(uri, pa.table({"order_id": ["o1", "o2"],
                                   "email": ["ok", "secret@private.org"]}))
    result = validate_table(uri, SUITE, engine="gx")
    assert not result.passed and result.gx_result is not None
    assert render(tmp_path, [None]) is None  # nothing validated by GX: nothing rendered
    index = render(tmp_path, [result.gx_result], run_id="r1")
    assert index == index_page(tmp_path).resolve()
    assert "silver.orders" in index.read_text()
    pages = [p.read_text() for p in docs_dir(tmp_path).rglob("*.html")]
    assert len(pages) >= 2 and not any("private.org" in text for text in pages)
