"""What a typed (native) frame of JSON lines may hold, and the tests that vouch for it.

Fast path for JSON lines (``Parsed.parts`` holds *native* frames there): polars reads chunks of
the file with the spec schema and keeps values typed (no string round trip). polars refuses a
string, float or bool in an integer field on its own; a non-string in a string field and unknown
keys are ruled out by counting key/value separators in the bytes (see ``counts_fit``). A chunk
that fails either test is checked line by line with ``json.loads``; only lines that do not fit
go through the exact (text, kind) path. A native frame has no ``#kind`` columns: every non-null
value has the JSON type of its column.
"""

from __future__ import annotations

import io
import re
from functools import cache

import polars as pl

from lakehouse.channels.spec import Entity
from lakehouse.ingest.parse.exact import SURROGATE_PATTERN
from lakehouse.ingest.parse.records import EXTRA, LINE

_STRLIKE = {"str", "ts_iso", "ts_local", "date"}
_INTLIKE = {"int", "epoch_ms", "epoch_s"}
_POLARS = {"int": pl.Int64, "epoch_ms": pl.Int64, "epoch_s": pl.Int64, "float": pl.Float64,
           "bool": pl.Boolean}
_INT64 = (-(1 << 63), 1 << 63)
_SURROGATE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")


def fast_ok(ent: Entity) -> bool:
    return all(f.type in _STRLIKE | _INTLIKE | {"float", "bool"} for f in ent.all_fields)


@cache
def polars_schema(ent: Entity) -> dict[str, pl.DataType]:
    return {f.name: _POLARS.get(f.type, pl.String)() for f in ent.all_fields}


@cache
def string_fields(ent: Entity) -> tuple[str, ...]:
    return tuple(f.name for f in ent.all_fields if f.type in _STRLIKE)


def counts_fit(chunk: bytes, frame: pl.DataFrame, ent: Entity) -> bool:
    """Whether every key of every line is a spec field holding null or a value of its type.

    polars already refused a wrong type in number and bool fields; it would turn a number into
    text in a string field, and drop unknown keys. With no ``\\":`` in the bytes, every ``":``
    ends a key, so: keys = non-null spec values + null values, and keys followed by a string =
    non-null string-field values. Any other layout (spaces, escapes) fails the test, which only
    sends the chunk to the line-by-line check.
    """
    if chunk.find(b"\\") >= 0 and (chunk.find(b'\\":') >= 0 or has_surrogate(chunk)):
        return False
    spaced = chunk.find(b'": ', 0, chunk.find(b"\n")) >= 0
    keys = chunk.count(b'":')
    strings = chunk.count(b'": "' if spaced else b'":"')
    nulls = chunk.count(b'": null' if spaced else b'":null')
    nonnull = {c: frame.height - frame[c].null_count() for c in frame.columns}
    if (keys != sum(nonnull.values()) + nulls
            or strings != sum(nonnull[c] for c in string_fields(ent))):
        return False
    return chunk.find(b"null") < 0 or not unvouched(
        pl.Series(chunk.decode("utf-8").split("\n")), ent).any()


def has_surrogate(data: bytes) -> bool:
    """Whether the bytes may hold the \\u escape of half a UTF-16 surrogate pair: polars
    reads a lone one as NUL (``"\\ud800"`` lands as ``"\\x00"``), so such lines must take the
    exact path, which refuses a lone half (a whole pair, an escaped emoji, is only slower)."""
    return _has_escape(data) and _SURROGATE_BYTES.search(data) is not None


def _has_escape(data: bytes) -> bool:
    """Whether ``data`` holds ``\\u``; a backslash is looked for first, as one byte is found
    at memory speed (``\\u`` alone costs a pass over every ``u`` of the text)."""
    return data.find(b"\\") >= 0 and data.find(b"\\u") >= 0


def surrogate_lines(lines: pl.Series, body: bytes) -> pl.Series | None:
    """Per line: whether it may hold a surrogate escape (see ``has_surrogate``); None when
    ``body`` (the bytes of the lines) has none, which is the common case and costs one scan."""
    if not _has_escape(body):
        return None
    return lines.str.contains(SURROGATE_PATTERN).fill_null(False)


def unvouched(lines: pl.Series, ent: Entity) -> pl.Series:
    """Per JSON line: whether it may fool the key counts of the fast path. They balance for a
    null under a key the spec does not know (polars drops it, json keeps it for ``_extra``) or
    under a repeated key (polars keeps the first value, json the last), so only a line with a
    null can. Judged on the text: a backslash, a blank after a quote (as before a colon) or a
    key the pattern does not see counts too (the exact path decides)."""
    nulled = lines.str.contains("null", literal=True)
    some = lines.filter(nulled)
    if not some.len():
        return nulled
    keys = some.str.extract_all(r'"[^"\\]*":')
    known = pl.Series([f'"{f.name}":' for f in ent.all_fields])
    unsure = ((keys.list.n_unique() < keys.list.len())
              | ~keys.list.eval(pl.element().is_in(known.implode())).list.all()
              | some.str.contains("\\", literal=True) | some.str.contains('" ', literal=True)
              | some.str.contains('"\t', literal=True)
              | (keys.list.len() != some.str.count_matches('":', literal=True)))
    return nulled.scatter(nulled.arg_true(), unsure)


def fits(types: dict[str, str], obj: dict) -> bool:
    """A decoded line the native frame can hold exactly: spec keys, values of their type."""
    for k, v in obj.items():
        t = types.get(k)
        if t is None:
            return False
        if v is None:
            continue
        if t == "str":
            if type(v) is not str:
                return False
        elif t == "int":
            if type(v) is not int or not _INT64[0] <= v < _INT64[1]:
                return False
        elif t == "float":
            if type(v) is int:
                if not -(1 << 53) <= v <= 1 << 53:
                    return False
            elif type(v) is not float or v != v or v in (float("inf"), float("-inf")):
                return False
        elif t == "bool":
            if type(v) is not bool:
                return False
        else:
            return False
    return True


@cache
def ent_types(ent: Entity) -> dict[str, str]:
    out = {}
    for f in ent.all_fields:
        out[f.name] = ("str" if f.type in _STRLIKE else "int" if f.type in _INTLIKE
                       else f.type)
    return out


def read_native(ent: Entity, body: bytes, lines: pl.Series) -> pl.DataFrame:
    frame = pl.read_ndjson(io.BytesIO(body), schema=polars_schema(ent))
    if frame.height != lines.len():
        raise ValueError("row count mismatch")
    return frame.with_columns(lines.alias(LINE), pl.lit(None, pl.String).alias(EXTRA))


@cache
def suspect_pattern(ent: Entity) -> str | None:
    """Regex matching a line where some spec field holds a value of the wrong JSON type."""
    groups = {
        r'[^"n\s]': [f.name for f in ent.all_fields if f.type in _STRLIKE],
        r"(?:[^-0-9n\s]|-?[0-9]+[.eE])": [f.name for f in ent.all_fields if f.type in _INTLIKE],
        r"[^-0-9n\s]": [f.name for f in ent.all_fields if f.type == "float"],
        r"[^tfn\s]": [f.name for f in ent.all_fields if f.type == "bool"],
    }
    parts = [
        r'[{,]\s*"(?:' + "|".join(re.escape(n) for n in names) + r')"\s*:\s*' + tail
        for tail, names in groups.items() if names
    ]
    return "|".join(parts) if parts else None

