"""The erasure audit record holds counts and domain-separated keyed hashes, never the values."""

import json

import pytest

from lakehouse.identity.pii import pseudonymise
from lakehouse.privacy.audit import (
    AuditRecord,
    ErasedVersionError,
    append,
    check_pins,
    person_hash,
    records,
    request_hash,
)

KEY = b"k" * 32
EMAIL = "jane.doe@example.org"


def test_the_audit_line_holds_no_value_and_no_pseudonym_of_it(tmp_path):
    record = AuditRecord(
        erasure_id="e1", at="2026-03-01T00:00:00+00:00",
        request=[{"kind": "email", "hash": request_hash("email", EMAIL, KEY)}],
        persons=[person_hash("P1", KEY)], rows={"silver/orders": 3},
        versions={"silver/orders": [4, 7]})
    lake = tmp_path / "lake"
    append(lake, record)
    text = (tmp_path / "privacy" / "erasures.jsonl").read_text()
    assert EMAIL not in text and "P1" not in text
    assert pseudonymise(EMAIL, KEY) not in text  # not linkable to the marts' pseudonyms
    assert pseudonymise("P1", KEY) not in text
    assert json.loads(text)["rows"] == {"silver/orders": 3}
    # an auditor with the key can still check a given request
    assert records(lake)[0]["request"][0]["hash"] == request_hash("email", EMAIL, KEY)


def test_pins_older_than_an_erasure_are_refused(tmp_path):
    append(tmp_path, AuditRecord("e1", "2026-03-01T00:00:00+00:00", [], [],
                                 versions={"silver/orders": [4, 7]}))
    check_pins(tmp_path, {"silver/orders": 7, "silver/products": 2})
    check_pins(tmp_path, {"silver/orders": -1})  # an absent table read as empty
    with pytest.raises(ErasedVersionError, match=r"silver/orders@4 \(erasure e1"):
        check_pins(tmp_path, {"silver/orders": 4})
