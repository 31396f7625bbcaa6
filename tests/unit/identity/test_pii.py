"""The keyed pseudonym equals the standard library's HMAC-SHA256 for every key length, and
the bulk pseudonymiser (DuckDB SQL) equals it value for value, in order, nulls kept."""

import hashlib
import hmac

import duckdb
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakehouse.identity.pii import (
    install_pseudonymise,
    pseudonymise,
    pseudonymise_arrow,
    pseudonymise_expr,
    pseudonymise_series,
)

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


@pytest.mark.parametrize("length", [0, 1, 32, 63, 64, 65, 200])
def test_the_sql_macro_is_hmac_sha256(length: int) -> None:
    key = (bytes(range(7, 7 + length % 256)) * (length // 256 + 1))[:length]
    con = duckdb.connect()
    install_pseudonymise(con, key)
    for value in VALUES:
        assert con.execute("select pseudonymise(?)", [value]).fetchall()[0][0] == hmac.new(
            key, value.encode(), hashlib.sha256).hexdigest()
    assert con.execute("select pseudonymise(null)").fetchall() == [(None,)]
    # any argument as varchar, as the declared type of the function it replaced
    assert con.execute("select pseudonymise(123)").fetchall() == [(pseudonymise("123", key),)]


def test_a_wrong_call_of_the_macro_does_not_show_the_padded_key() -> None:
    key = b"do-not-print-me"
    inner = bytes(b ^ 0x36 for b in key.ljust(64, b"\0")).hex()
    outer = bytes(b ^ 0x5C for b in key.ljust(64, b"\0")).hex()
    con = duckdb.connect()
    install_pseudonymise(con, key)
    for wrong in ("select pseudonymise()", "select pseudonymise('a', 'b')",
                  "select pseudonymise(x) from (select 1 as y)"):
        with pytest.raises(duckdb.Error) as raised:
            con.execute(wrong).fetchall()
        assert inner[:16] not in str(raised.value) and outer[:16] not in str(raised.value)


# text with NULs, surrogate-free unicode, repeats (hashed once, put back at each place)
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), _TEXT, st.sampled_from(VALUES)), max_size=300),
       st.binary(max_size=100))
def test_bulk_pseudonyms_equal_the_python_ones_in_order(values: list, key: bytes) -> None:
    expected = [pseudonymise(v, key) for v in values]
    assert pseudonymise_series(pl.Series("v", values, dtype=pl.String), key).to_list() == expected
    frame = pl.DataFrame({"v": values, "l": [[v, v] if v is not None else None
                                             for v in values]}, schema={"v": pl.String,
                                                                        "l": pl.List(pl.String)})
    got = frame.select(pseudonymise_expr("v", key),
                       pl.col("l").list.eval(pseudonymise_expr(pl.element(), key)))
    assert got["v"].to_list() == expected
    assert got["l"].to_list() == [[h, h] if h is not None else None for h in expected]


def test_bulk_pseudonyms_keep_order_past_one_vector() -> None:
    # many DuckDB vectors and row groups, hashed on every thread: still in input order
    values = [f"visitor-{i:07d}" for i in range(300_000)]
    got = pseudonymise_series(pl.Series(values), b"k").to_list()
    assert got[::9973] == [pseudonymise(v, b"k") for v in values[::9973]]
    assert got[-1] == pseudonymise(values[-1], b"k")


@pytest.mark.parametrize("arrow_type", [pa.string(), pa.large_string(), pa.string_view()])
def test_bulk_pseudonyms_take_every_arrow_string_flavour(arrow_type) -> None:
    values = ["a", None, "ü", "a", ""]
    got = pseudonymise_arrow(pa.array(values, arrow_type), b"k").to_pylist()
    assert got == [pseudonymise(v, b"k") for v in values]
    assert pseudonymise_arrow(pa.array([None, None], pa.null()), b"k").to_pylist() == [None] * 2
