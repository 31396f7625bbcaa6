"""The keyed pseudonym equals the standard library's HMAC-SHA256 for every key length."""

import hashlib
import hmac

import polars as pl
import pytest

from lakehouse.identity.pii import pseudonymise, pseudonymise_expr

VALUES = ["", "a", "visitor-00012345", "Zoë.Müller+news@example.com", "名前", "x" * 1000]


@pytest.mark.parametrize("length", [0, 1, 32, 63, 64, 65, 200])
def test_pseudonymise_is_hmac_sha256(length: int) -> None:
    # keys longer than SHA-256's 64-byte block are hashed first (RFC 2104), shorter ones padded
    key = bytes(range(7, 7 + length % 256)) * (length // 256 + 1)
    key = key[:length]
    for value in VALUES:
        assert pseudonymise(value, key) == hmac.new(key, value.encode(),
                                                    hashlib.sha256).hexdigest()


def test_pseudonyms_differ_by_key_and_none_stays_none() -> None:
    assert pseudonymise(None, b"k") is None
    assert pseudonymise("a", b"k1") != pseudonymise("a", b"k2")
    # the padded states are reused, never mutated: a second call gives the same pseudonym
    assert pseudonymise("a", b"k1") == pseudonymise("a", b"k1")
    frame = pl.DataFrame({"v": ["a", None, "b"]})
    got = frame.select(pseudonymise_expr("v", b"k1"))["v"].to_list()
    assert got == [pseudonymise("a", b"k1"), None, pseudonymise("b", b"k1")]
