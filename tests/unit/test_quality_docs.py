"""Data Docs pages: one per validation, a latest page per suite, an index; no PII values."""

from data_quality.docs import docs_dir, write_data_docs
from data_quality.gate import GateResult, Outcome


def _result(passed: bool) -> GateResult:
    return GateResult("silver.orders", "/h/lake/silver/orders", 3, 10, [
        Outcome("ExpectColumnValuesToNotBeNull(order_id)", "order_id", True, 10, 0),
        Outcome("ExpectColumnValuesToNotMatchRegex(email)", "email", passed, 10,
                0 if passed else 2, sample=None),
    ])


def test_pages_index_and_withheld_pii(tmp_path):
    first = write_data_docs(tmp_path, _result(True), run_id="r1")
    second = write_data_docs(tmp_path, _result(False), run_id="r2")
    assert first != second and first.exists() and second.exists()
    latest = (second.parent / "latest.html").read_text()
    assert "FAILED" in latest and "r2" in latest and "(PII: values withheld)" in latest
    index = (docs_dir(tmp_path) / "index.html").read_text()
    assert "silver.orders" in index and "FAILED (1)" in index
