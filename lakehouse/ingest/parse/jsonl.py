"""Landing bytes -> raw records: one row per record with every spec field as (text, kind).

Parsing does not judge values; it only records what each field *was* in the file, so the
validator can refuse silent casts: ``kind`` is the JSON type (``str``, ``int``, ``float``,
``bool``, ``object``, ``array``) or ``csv`` for CSV text, and null when the field is absent or
JSON null. Lines that cannot be decoded or parsed become error rows here (with their raw text).

Fast path for JSON lines (``Parsed.parts`` holds *native* frames there): polars reads chunks of
the file with the spec schema and keeps values typed (no string round trip). polars refuses a
string, float or bool in an integer field on its own; a non-string in a string field and unknown
keys are ruled out by counting key/value separators in the bytes (see ``_counts_fit``). A chunk
that fails either test is checked line by line with ``json.loads``; only lines that do not fit
go through the exact (text, kind) path. A native frame has no ``#kind`` columns: every non-null
value has the JSON type of its column.
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import itertools
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]

import polars as pl
import pyarrow as pa
import pyarrow.json as pj

from lakehouse.channels.spec import Entity, Field

LINE, RAW, EXTRA = "_line", "_raw", "_extra"
ERROR_COLUMNS = {
    "_line": pl.Int64, "_raw": pl.String, "error_kind": pl.String, "field": pl.String,
    "reason": pl.String,
}
_STRLIKE = {"str", "ts_iso", "ts_local", "date"}
_INTLIKE = {"int", "epoch_ms", "epoch_s"}
_POLARS = {"int": pl.Int64, "epoch_ms": pl.Int64, "epoch_s": pl.Int64, "float": pl.Float64,
           "bool": pl.Boolean}
_KIND_OF = {pl.String: "str", pl.Int64: "int", pl.Float64: "float", pl.Boolean: "bool",
            pl.Null: "str"}


def kind_col(name: str) -> str:
    return f"{name}#kind"


# A line holding only these is blank: no record, not counted. JSON's own whitespace (the line
# feed ends the line); anything else (a form feed, a no-break space, a NUL) is a record that
# does not parse, so it is quarantined, never skipped in silence, whichever path reads it.
BLANK = " \t\r"
BLANK_BYTES = BLANK.encode()


def strip_bom(data: bytes) -> bytes:
    """The file without a leading UTF-8 byte order mark: it marks the encoding, it is not part
    of line 1 (spreadsheet exports start CSV files with one; it would rename the first column
    or break the first JSON line)."""
    return data[len(codecs.BOM_UTF8):] if data.startswith(codecs.BOM_UTF8) else data


@dataclass
class Parsed:
    """What one entity of one file held: record frames, pre-validation errors, keys seen.

    ``parts`` are native frames (typed, see the module doc) and/or (text, kind) frames;
    ``raw_of`` gives the raw text of native rows by line number (only bad rows ever need it).
    """

    parts: list[pl.DataFrame]
    errors: pl.DataFrame
    present: set[str] = field(default_factory=set)  # spec fields that appear in the file
    raw_of: Callable[[list[int]], list[str]] | None = None
    entity: Entity | None = None
    refused: bool = False  # some chunk failed the fast test (JSON lines)

    @property
    def rows(self) -> int:
        return sum(p.height for p in self.parts) + self.errors.height

    @property
    def records(self) -> pl.DataFrame:
        """All records as one frame in line order ((text, kind) form when parts are mixed)."""
        if len(self.parts) == 1:
            return self.parts[0]
        assert self.entity is not None
        frames = [p if not is_native(p) else as_text_kind(self.entity, p, self.raw_of)
                  for p in self.parts]
        return pl.concat(frames).sort(LINE) if frames else _empty_records(self.entity)


def is_native(frame: pl.DataFrame) -> bool:
    return not any(c.endswith("#kind") for c in frame.columns)


_NATIVE_KIND = {"int": "int", "epoch_ms": "int", "epoch_s": "int", "float": "float",
                "bool": "bool"}


def native_kind(f: Field) -> str:
    return _NATIVE_KIND.get(f.type, "str")


def as_text_kind(ent: Entity, frame: pl.DataFrame, raw_of=None) -> pl.DataFrame:
    """A native frame in (text, kind) form (for callers that want one frame)."""
    raw = (pl.Series(RAW, raw_of(frame[LINE].to_list()), dtype=pl.String) if raw_of
           else pl.lit(None, pl.String).alias(RAW))
    exprs: list[pl.Expr] = []
    for f in ent.all_fields:
        col = pl.col(f.name)
        exprs += [col.cast(pl.String).alias(f.name),
                  pl.when(col.is_not_null()).then(pl.lit(native_kind(f))).alias(kind_col(f.name))]
    return frame.select(LINE, pl.lit(raw) if isinstance(raw, pl.Series) else raw, EXTRA,
                        *exprs).select(_empty_records(ent).columns)


def error_frame(rows: list[tuple[int, str, str, str | None, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=ERROR_COLUMNS, orient="row")


def _empty_records(ent: Entity) -> pl.DataFrame:
    schema = {LINE: pl.Int64, RAW: pl.String, EXTRA: pl.String}
    for f in ent.all_fields:
        schema[f.name] = pl.String
        schema[kind_col(f.name)] = pl.String
    return pl.DataFrame(schema=schema)


def decode_lines(data: bytes, where: str) -> tuple[pl.DataFrame, list[tuple]]:
    """Non-blank lines as a frame (``_line`` 1-based, ``_raw``); undecodable lines -> errors.

    The whole file is decoded at once when it is valid UTF-8 (the common case); otherwise line
    by line, so one bad line does not take the file down with it.
    """
    errors: list[tuple] = []
    try:
        texts = data.decode("utf-8").split("\n")
        lines = pl.DataFrame({LINE: pl.int_range(1, len(texts) + 1, eager=True),
                              RAW: pl.Series(texts, dtype=pl.String)})
    except UnicodeDecodeError:
        numbers, texts = [], []
        for i, raw in enumerate(data.split(b"\n"), start=1):
            try:
                texts.append(raw.decode("utf-8"))
                numbers.append(i)
            except UnicodeDecodeError as exc:
                errors.append((i, raw.decode("utf-8", errors="backslashreplace"),
                               "encoding_error", None,
                               f"{where} line {i}: bytes are not valid UTF-8 "
                               f"({exc.reason} at byte {exc.start})"))
        lines = pl.DataFrame({LINE: pl.Series(numbers, dtype=pl.Int64),
                              RAW: pl.Series(texts, dtype=pl.String)})
    lines = lines.with_columns(pl.col(LINE).cast(pl.Int64), pl.col(RAW).str.strip_suffix("\r"))
    return lines.filter(pl.col(RAW).str.strip_chars(BLANK) != ""), errors


# ---------------------------------------------------------------- python (exact) path
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# JSONEncoder.encode builds a C encoder per call; decoded JSON has no cycles, so one serves all
_encode = c_make_encoder(None, _COMPACT.default, encode_basestring, None, ":", ",", False,
                         False, True)


def _compact(value: object) -> str:
    """``json.dumps(value, ensure_ascii=False, separators=(",", ":"))`` of decoded JSON."""
    return "".join(_encode(value, 0))


def _kind_text(value: object) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    if isinstance(value, bool):
        return "bool", "true" if value else "false"
    if isinstance(value, int):
        return "int", str(value)
    if isinstance(value, float):
        return "float", repr(value)
    if isinstance(value, str):
        return "str", value
    kind = "object" if isinstance(value, dict) else "array"
    return kind, _compact(value)


def _column(values: list) -> tuple[list, list | str]:
    """(texts, kinds) of one field's values, as ``_kind_text`` gives them one by one; kinds is
    one kind when every non-null value has it (polars then fills the column)."""
    types = set(map(type, values))
    if types <= {str, type(None)}:
        return values, "str"
    if types <= {int, type(None)}:  # bool is not in it: a set of exact types
        return [None if v is None else str(v) for v in values], "int"
    if types <= {dict, list, type(None)}:
        return ([None if v is None else _compact(v) for v in values],
                [None if v is None else "object" if type(v) is dict else "array"
                 for v in values])
    pairs = [_kind_text(v) for v in values]
    return [t for _, t in pairs], [k for k, _ in pairs]


def records_from_objects(ent: Entity, objs: list[tuple[int, str, dict]],
                         doc_extra: dict | None = None) -> pl.DataFrame:
    """Exact conversion of decoded JSON objects (slow path, and JSON documents), by column."""
    if not objs:
        return _empty_records(ent)
    names = [f.name for f in ent.all_fields]
    known = set(names)
    cols: dict[str, list] = {LINE: [o[0] for o in objs], RAW: [o[1] for o in objs]}
    extras = []
    for _, _, obj in objs:
        extra = None if obj.keys() <= known else {k: v for k, v in obj.items()
                                                   if k not in known}
        if doc_extra:
            extra = {**(extra or {}), "_document": doc_extra}
        extras.append(_compact(extra) if extra else None)
    cols[EXTRA] = extras
    dicts = [o[2] for o in objs]
    uniform: dict[str, pl.Expr] = {}
    for n in names:
        cols[n], kinds = _column(list(map(dict.get, dicts, itertools.repeat(n))))
        if isinstance(kinds, str):
            uniform[kind_col(n)] = pl.when(pl.col(n).is_not_null()).then(pl.lit(kinds))
        else:
            cols[kind_col(n)] = kinds
    schema = _empty_records(ent).schema
    frame = pl.DataFrame(cols, schema={c: schema[c] for c in cols})
    return frame.with_columns(**uniform).select(schema.names())


class DuplicateKey(Exception):
    """A JSON object names a key twice: readers disagree on which value holds (json keeps the
    last, polars the first), so the line is refused rather than read either way."""


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """``object_pairs_hook``: the object, or ``DuplicateKey`` naming the first key named twice."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return obj


def _no_constant(name: str) -> float:
    """``parse_constant``: ``NaN`` and ``Infinity`` are not JSON (Python's reader takes them)."""
    raise ValueError(f"{name} is not a JSON number")


# json.loads, refusing repeated keys and NaN / Infinity
_decode = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_constant=_no_constant).decode

MAX_DEPTH = 128  # deeper JSON is refused: Python's reader and writer recurse once per level
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")  # the \u escape of half a UTF-16 pair
_SURROGATE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")
SURROGATE_PATTERN = _SURROGATE.pattern  # for polars: lines that may hold one take the exact path


def too_deep(value: object, limit: int = MAX_DEPTH) -> bool:
    """Whether decoded JSON nests more than ``limit`` arrays / objects (walked without
    recursion, so the check itself cannot overflow)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if type(item) is dict else item
        stack += [(c, depth + 1) for c in children if type(c) in (dict, list)]
    return False


def unencodable(obj: dict) -> str | None:
    """The first key whose name or value holds a lone UTF-16 surrogate (a ``\\ud800`` escape
    without its pair): no UTF-8 text can hold it. None when every key is fine."""
    for key, value in obj.items():
        try:
            _compact({key: value}).encode("utf-8")
        except UnicodeEncodeError:
            return key.encode("utf-8", "backslashreplace").decode("utf-8")
    return None


def _deep_reason(where: str, line: int) -> str:
    return (f"{where} line {line}: JSON nested more than {MAX_DEPTH} levels deep is refused "
            "(no record of any channel nests like that)")


def _surrogate_reason(where: str, line: int, key: str) -> str:
    return (f"{where} line {line}: field `{key}` holds a \\u escape of half a UTF-16 "
            "surrogate pair without its other half, which is no character")


_GC_LOCK = threading.Lock()
_GC_PAUSES = [0, False]  # pauses in progress, whether the collector ran before the first


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while many JSON values are decoded and converted:
    they form no cycles (reference counts free them), yet each collection would walk all of
    them again. The collector is process-wide, so the pauses of several threads nest."""
    with _GC_LOCK:
        if not _GC_PAUSES[0]:
            _GC_PAUSES[1] = gc.isenabled()
            gc.disable()
        _GC_PAUSES[0] += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _GC_PAUSES[0] -= 1
            if not _GC_PAUSES[0] and _GC_PAUSES[1]:
                gc.enable()


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type (what a person reading the file sees)."""
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "a number")


def load_line(line: int, text: str, where: str) -> dict | tuple:
    """One JSON line decoded: its object, or an error row naming file and line."""
    try:
        obj = _decode(text)
    except DuplicateKey as exc:
        return (line, text, "duplicate_key", exc.args[0],
                f"{where} line {line}: key `{exc.args[0]}` appears twice in one object, so "
                "which of its values holds is unclear")
    except RecursionError:
        return (line, text, "broken_json", None, _deep_reason(where, line))
    except ValueError as exc:
        return (line, text, "broken_json", None, f"{where} line {line}: not valid JSON ({exc})")
    if not isinstance(obj, dict):
        return (line, text, "broken_json", None,
                f"{where} line {line}: expected a JSON object, got {json_type(obj)}")
    if text.count("[") + text.count("{") > MAX_DEPTH and too_deep(obj):
        return (line, text, "broken_json", None, _deep_reason(where, line))
    if "\\u" in text and _SURROGATE.search(text) and (key := unencodable(obj)) is not None:
        return (line, text, "encoding_error", key, _surrogate_reason(where, line, key))
    return obj


def _loads_lines(ent: Entity, lines: list[tuple[int, str]], where: str):
    objs, errors = [], []
    for line, text in lines:
        obj = load_line(line, text, where)
        if isinstance(obj, dict):
            objs.append((line, text, obj))
        else:
            errors.append(obj)
    return records_from_objects(ent, objs), errors


# ---------------------------------------------------------------- polars (fast) path
CHUNK_BYTES = 8 << 20  # polars reads the file in pieces of about this size (bounded memory)
_INT64 = (-(1 << 63), 1 << 63)


def fast_ok(ent: Entity) -> bool:
    return all(f.type in _STRLIKE | _INTLIKE | {"float", "bool"} for f in ent.all_fields)


@cache
def _polars_schema(ent: Entity) -> dict[str, pl.DataType]:
    return {f.name: _POLARS.get(f.type, pl.String)() for f in ent.all_fields}


@cache
def _string_fields(ent: Entity) -> tuple[str, ...]:
    return tuple(f.name for f in ent.all_fields if f.type in _STRLIKE)


def _counts_fit(chunk: bytes, frame: pl.DataFrame, ent: Entity) -> bool:
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
            or strings != sum(nonnull[c] for c in _string_fields(ent))):
        return False
    return chunk.find(b"null") < 0 or not unvouched(
        pl.Series(chunk.decode("utf-8").split("\n")), ent).any()


def has_surrogate(data: bytes) -> bool:
    """Whether the bytes may hold the \\u escape of half a UTF-16 surrogate pair: polars
    reads a lone one as NUL (``"\\ud800"`` lands as ``"\\x00"``), so such lines must take the
    exact path, which refuses a lone half (a whole pair, an escaped emoji, is only slower)."""
    return data.find(b"\\u") >= 0 and _SURROGATE_BYTES.search(data) is not None


def surrogate_lines(lines: pl.Series, body: bytes) -> pl.Series | None:
    """Per line: whether it may hold a surrogate escape (see ``has_surrogate``); None when
    ``body`` (the bytes of the lines) has none, which is the common case and costs one scan."""
    if body.find(b"\\u") < 0:
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


def _fits(ent_types: dict[str, str], obj: dict) -> bool:
    """A decoded line the native frame can hold exactly: spec keys, values of their type."""
    for k, v in obj.items():
        t = ent_types.get(k)
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
def _ent_types(ent: Entity) -> dict[str, str]:
    out = {}
    for f in ent.all_fields:
        out[f.name] = ("str" if f.type in _STRLIKE else "int" if f.type in _INTLIKE
                       else f.type)
    return out


def _native(ent: Entity, body: bytes, lines: pl.Series) -> pl.DataFrame:
    frame = pl.read_ndjson(io.BytesIO(body), schema=_polars_schema(ent))
    if frame.height != lines.len():
        raise ValueError("row count mismatch")
    return frame.with_columns(lines.alias(LINE), pl.lit(None, pl.String).alias(EXTRA))


def _chunk_lines(ent: Entity, chunk: bytes, first: int, where: str):
    """The lines of a chunk the fast test refused: (native frame|None, slow lines, errors).

    pyarrow's strict reader names the row it stops at, so it finds the bad lines in about one
    pass (restarting after each); the rest is read by polars again. Only when that cannot work
    (an error without a row, unknown keys, escapes) is every line checked with ``json.loads``.
    """
    cands: list[tuple[int, bytes]] = []
    errors: list[tuple] = []
    ascii_only = chunk.isascii()
    for i, raw in enumerate(chunk.split(b"\n")):
        no = first + i
        line = raw[:-1] if raw.endswith(b"\r") else raw
        if ascii_only:
            if not line.strip(BLANK_BYTES):
                continue
        else:
            try:
                if not line.decode("utf-8").strip(BLANK):
                    continue
            except UnicodeDecodeError as exc:
                errors.append((no, raw.decode("utf-8", errors="backslashreplace"),
                               "encoding_error", None, f"{where} line {no}: bytes are not valid "
                               f"UTF-8 ({exc.reason} at byte {exc.start})"))
                continue
        cands.append((no, line))
    shaped = [i for i, (_, line) in enumerate(cands) if _object_shaped(line)]
    body = b"\n".join(cands[i][1] for i in shaped)
    ends = list(itertools.accumulate(len(cands[i][1]) + 1 for i in shaped))
    import numpy as np

    stops = np.array(ends, dtype=np.int64)
    starts = np.concatenate([[0], stops[:-1]]).astype(np.int64)
    found = _locate(ent, body, starts, stops - 1) if shaped else set()
    bad = None if found is None else (
        {shaped[i] for i in found} | set(range(len(cands))) - set(shaped))
    if bad is not None:
        good = [c for i, c in enumerate(cands) if i not in bad]
        slow = [(cands[i][0], cands[i][1].decode("utf-8")) for i in sorted(bad)]
        if not good:
            return None, slow, errors
        try:
            body = b"\n".join(line for _, line in good)
            frame = pl.read_ndjson(io.BytesIO(body), schema=_polars_schema(ent))
            if frame.height == len(good) and _counts_fit(body, frame, ent):
                lines = pl.Series(LINE, [no for no, _ in good], dtype=pl.Int64)
                return frame.with_columns(lines, pl.lit(None, pl.String).alias(EXTRA)), slow, \
                    errors
        except Exception:  # the line-by-line check below decides
            pass
    frame, slow = _check_lines(ent, cands)
    return frame, slow, errors


def _object_shaped(line: bytes) -> bool:
    """Whether a line looks like one JSON object (``{`` ... ``}``): only such lines may go to
    pyarrow's reader, which crashes the process (segmentation fault, pyarrow 20+) on a block
    that starts with a ``null`` line followed by another scalar line."""
    text = line.strip(BLANK_BYTES)
    return text[:1] == b"{" and text[-1:] == b"}"


_ROW = re.compile(r" in row (\d+)$")
WINDOW_BYTES = 64 << 10  # pyarrow checks this much at a time, so a restart re-reads little


def _locate(ent: Entity, body: bytes, starts, ends) -> set[int] | None:
    """Indexes of the lines (``body[starts[i]:ends[i]]``, none blank) pyarrow refuses.

    pyarrow is strict about types and names the row it stops at; a window restarts after the
    culprit. None when an error names no row (the caller then checks line by line).
    """
    import numpy as np

    options = pj.ParseOptions(explicit_schema=_arrow_schema(ent),
                              unexpected_field_behavior="infer")
    view = memoryview(body)
    bad: set[int] = set()
    i, n = 0, len(starts)
    while i < n:
        j = max(i + 1, int(np.searchsorted(starts, starts[i] + WINDOW_BYTES)))
        j = min(j, n)
        segment = view[int(starts[i]):int(ends[j - 1])]
        try:
            pj.read_json(pa.BufferReader(segment), parse_options=options, read_options=(
                pj.ReadOptions(use_threads=False, block_size=len(segment) + 1024)))
            i = j
        except pa.ArrowInvalid as exc:
            found = _ROW.search(str(exc))
            if found is None:
                return None
            row = min(i + int(found.group(1)), j - 1)
            bad.add(row)
            if row > i and "changed from" not in str(exc):
                bad.add(row - 1)  # a syntax error can be reported on the row after the culprit
            i = row + 1
    return bad


def _chunk_located(ent: Entity, chunk: bytes, first: int, where: str):
    """Vectorised handling of a refused chunk whose lines are all non-blank, without CR or NUL:
    undecodable lines become errors, lines a cheap screen suspects (not ``{...}``, or a value of
    another JSON type after a spec key) go to the exact path, polars reads the others in one go
    and the fast test is applied to them again; if that fails too, pyarrow locates the culprits.
    None when the chunk does not qualify (the caller then checks line by line)."""
    import numpy as np

    if b"\r" in chunk or b"\x00" in chunk:
        return None
    arr = np.frombuffer(chunk, np.uint8)
    nl = np.flatnonzero(arr == 10)
    starts = np.concatenate([[0], nl + 1])
    ends = np.append(nl, len(chunk))
    if not (ends > starts).all():
        return None
    errors, undecodable = _undecodable(chunk, starts, ends, first, where)
    lines = pl.read_csv(io.BytesIO(chunk), has_header=False, separator="\x00", quote_char=None,
                        schema={RAW: pl.String}, encoding="utf8-lossy")[RAW]
    if lines.len() != len(starts):
        return None
    pattern = _suspect_pattern(ent)
    unshaped = ~lines.str.starts_with("{") | ~lines.str.ends_with("}")  # never to pyarrow
    suspect = unshaped | unvouched(lines, ent)
    if pattern:
        suspect = suspect | lines.str.contains(pattern)
    if (halves := surrogate_lines(lines, chunk)) is not None:
        suspect = suspect | halves
    blank = lines.str.strip_chars(BLANK) == ""  # no record (as ``_chunk_lines`` skips them)
    skip = undecodable | set(np.flatnonzero(blank.to_numpy()).tolist())
    bad = set(np.flatnonzero(suspect.to_numpy()).tolist()) - skip
    located = _read_others(ent, chunk, starts, ends, bad | skip, first)
    if located is None:
        odd = set(np.flatnonzero(unshaped.to_numpy()).tolist()) - skip
        rest = np.array(sorted(set(range(len(starts))) - skip - odd), dtype=np.int64)
        found = _locate(ent, chunk, starts[rest], ends[rest]) if len(rest) else set()
        if found is None:
            return None
        bad = {int(rest[i]) for i in found} | odd
        located = _read_others(ent, chunk, starts, ends, bad | skip, first)
        if located is None:
            return None
    slow = [(first + i, chunk[int(starts[i]):int(ends[i])].decode("utf-8")) for i in sorted(bad)]
    return located, slow, errors


def _undecodable(chunk: bytes, starts, ends, first: int, where: str):
    """encoding_error rows for the lines of a chunk that are not valid UTF-8."""
    import numpy as np

    errors: list[tuple] = []
    lines: set[int] = set()
    if chunk.isascii():
        return errors, lines
    view, pos = memoryview(chunk), 0
    while pos < len(chunk):
        try:
            str(view[pos:], "utf-8")
            break
        except UnicodeDecodeError as exc:
            i = int(np.searchsorted(starts, pos + exc.start, side="right")) - 1
            raw = chunk[int(starts[i]):int(ends[i])]
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as line_exc:
                exc = line_exc
            errors.append((first + i, raw.decode("utf-8", errors="backslashreplace"),
                           "encoding_error", None, f"{where} line {first + i}: bytes are not "
                           f"valid UTF-8 ({exc.reason} at byte {exc.start})"))
            lines.add(i)
            pos = int(ends[i]) + 1
    return errors, lines


def _read_others(ent: Entity, chunk: bytes, starts, ends, skip: set[int], first: int):
    """Native frame of the chunk's lines not in ``skip``, if they pass the fast test."""
    import numpy as np

    keep = np.ones(len(starts), dtype=bool)
    keep[sorted(skip)] = False
    if not keep.any():
        return _empty_native(ent)
    pieces, previous = [], -1
    for i in [*sorted(skip), len(starts)]:
        if i > previous + 1:
            pieces.append(chunk[int(starts[previous + 1]):int(ends[i - 1])])
        previous = i
    body = b"\n".join(pieces)
    try:
        frame = pl.read_ndjson(io.BytesIO(body), schema=_polars_schema(ent))
    except Exception:
        return None
    if frame.height != int(keep.sum()) or not _counts_fit(body, frame, ent):
        return None
    lines = pl.Series(LINE, np.flatnonzero(keep) + first, dtype=pl.Int64)
    return frame.with_columns(lines, pl.lit(None, pl.String).alias(EXTRA))


def _empty_native(ent: Entity) -> pl.DataFrame:
    return pl.DataFrame(schema=_polars_schema(ent)).with_columns(
        pl.lit(None, pl.Int64).alias(LINE), pl.lit(None, pl.String).alias(EXTRA))


@cache
def _suspect_pattern(ent: Entity) -> str | None:
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


def _utf8(chunk: bytes) -> bool:
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@cache
def _arrow_schema(ent: Entity) -> pa.Schema:
    types = {"int": pa.int64(), "epoch_ms": pa.int64(), "epoch_s": pa.int64(),
             "float": pa.float64(), "bool": pa.bool_()}
    return pa.schema([(f.name, types.get(f.type, pa.string())) for f in ent.all_fields])


def _check_lines(ent: Entity, cands: list[tuple[int, bytes]]):
    """Every line through ``json.loads``: lines that fit -> one native frame, others -> slow."""
    types = _ent_types(ent)
    good, numbers, slow = [], [], []
    for no, line in cands:
        text = line.decode("utf-8")
        if b"\\u" in line and _SURROGATE_BYTES.search(line):
            slow.append((no, text))  # polars would read a lone half as NUL
            continue
        try:
            obj = _decode(text)
        except (ValueError, DuplicateKey, RecursionError):
            slow.append((no, text))
            continue
        if type(obj) is dict and _fits(types, obj):
            good.append(line)
            numbers.append(no)
        else:
            slow.append((no, text))
    frame = None
    if good:
        try:
            frame = _native(ent, b"\n".join(good), pl.Series(LINE, numbers, dtype=pl.Int64))
        except Exception:  # polars and json disagree (huge numbers, ...): the exact path decides
            slow = sorted(slow + [(n, g.decode()) for n, g in zip(numbers, good, strict=True)])
    return frame, slow


def raw_lookup(data: bytes, first: int = 1) -> Callable[[list[int]], list[str]]:
    """Raw text of lines by number (``data`` starts with line ``first``; offsets on first use)."""
    starts: list = []

    def raw_of(numbers: list[int]) -> list[str]:
        if not starts:
            import numpy as np

            nl = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
            starts.extend([np.concatenate([[0], nl + 1]), np.append(nl, len(data))])
        begin, stop = starts
        out = []
        for n in numbers:
            text = data[int(begin[n - first]):int(stop[n - first])].decode(
                "utf-8", "backslashreplace")
            out.append(text.removesuffix("\r"))
        return out

    return raw_of


def parse_jsonl(ent: Entity, data: bytes, where: str, *, first: int = 1,
                optimistic: bool = True) -> Parsed:
    """Records of a JSON-lines file (or of a piece of one whose first line is ``first``).

    ``optimistic=False`` skips the whole-chunk attempt of the first chunk (for a source whose
    last file had bad lines: the attempt would be wasted); ``Parsed.refused`` tells whether any
    chunk had to be taken apart.
    """
    if first == 1:
        data = strip_bom(data)
    if not fast_ok(ent):
        if first != 1:
            raise ValueError(f"{ent.name}: only the typed path reads a file in pieces")
        lines, errors = decode_lines(data, where)
        recs, errs = _loads_lines(ent, list(lines.iter_rows()), where)
        return Parsed([recs], error_frame(errors + errs), _present(ent, [recs]), entity=ent)
    parts: list[pl.DataFrame] = []
    slow: list[tuple[int, str]] = []
    errors: list[tuple] = []
    pos = 0
    start_line = first
    failed = not optimistic
    refused = False
    while pos < len(data):
        cut = data.find(b"\n", pos + CHUNK_BYTES)
        end = len(data) if cut < 0 else cut + 1
        chunk = data[pos:end]
        n = chunk.count(b"\n") + (0 if chunk.endswith(b"\n") else 1)
        frame = None
        if not failed:  # after a refused chunk, go straight to locating (faulty files)
            try:
                if chunk.isascii() or _utf8(chunk):
                    frame = pl.read_ndjson(io.BytesIO(chunk), schema=_polars_schema(ent))
                if frame is not None and (frame.height != n
                                          or not _counts_fit(chunk, frame, ent)):
                    frame = None
            except Exception:  # broken line, wrong type, bad UTF-8: find the lines
                frame = None
        if frame is not None:
            parts.append(frame.with_columns(
                pl.int_range(first, first + n, dtype=pl.Int64).alias(LINE),
                pl.lit(None, pl.String).alias(EXTRA)))
        else:
            body = chunk.removesuffix(b"\n")
            located = _chunk_located(ent, body, first, where)
            native, bad, errs = located if located is not None else _chunk_lines(
                ent, body, first, where)
            failed = bool(bad or errs or located is None)
            refused = refused or failed
            if native is not None:
                parts.append(native)
            slow += bad
            errors += errs
        pos, first = end, first + n
    if slow:
        recs, errs = _loads_lines(ent, slow, where)
        parts.append(recs)
        errors += errs
    if not parts:
        parts = [_empty_records(ent)]
    if len(parts) > 1 and all(is_native(p) for p in parts):
        parts = [pl.concat(parts)]
    elif len(parts) > 2:
        native = [p for p in parts if is_native(p)]
        parts = ([pl.concat(native)] if native else []) + [p for p in parts if not is_native(p)]
    return Parsed(parts, error_frame(sorted(errors)), _present(ent, parts),
                  raw_lookup(data, start_line), refused=refused,
                  entity=ent)


def _present(ent: Entity, parts: list[pl.DataFrame]) -> set[str]:
    out = set()
    for p in parts:
        native = is_native(p)
        for f in ent.all_fields:
            col = p[f.name] if native else p[kind_col(f.name)]
            if col.null_count() < p.height:
                out.add(f.name)
    return out


# ---------------------------------------------------------------- CSV
# The csv module refuses a field over 128 KiB by default (process-wide); a huge quoted field is
# data like any other, so the limit is the largest the module takes.
csv.field_size_limit((1 << 31) - 1)


def parse_csv(ent: Entity, data: bytes, where: str) -> Parsed:
    """Records of a CSV file: line 1 is the header, a record is one line unless a quoted field
    holds line breaks; every record is a row or an error row naming its first line."""
    data = strip_bom(data)
    errors: list[tuple] = []
    whole = _csv_whole(data, where)
    if whole is not None:
        columns, rows, errors = whole
    else:
        frame, errors = decode_lines(data, where)
        good = list(frame.iter_rows())
        if not good or good[0][0] != 1:
            return _headless(ent, good, errors, where, "the header (line 1) is missing or not "
                             "UTF-8, so no column can be identified")
        header, body = good[0][1], good[1:]
        try:
            columns = next(csv.reader([header], strict=True))
        except csv.Error as exc:
            return _headless(ent, good, errors, where, "the header (line 1) is not readable as "
                             f"CSV ({_csv_problem(exc)}), so no column can be identified")
        if (twice := _repeated(columns)) is not None:
            return _ambiguous(ent, columns, body, errors, where, twice)
        rows = _csv_fast(header, body, len(columns)) if '"' not in header else None
        if rows is None:
            rows, errs = _csv_slow(columns, body, where)
            errors += errs
    recs = csv_records(ent, columns, rows)
    present = {f.name for f in ent.all_fields if f.name in columns}
    return Parsed([recs], error_frame(errors), present, entity=ent)


def _headless(ent: Entity, lines: list[tuple[int, str]], errors: list[tuple], where: str,
              why: str) -> Parsed:
    """Every line of a CSV file whose header cannot be used, quarantined with the reason."""
    errors = errors + [(line, text, "unreadable_file", None, f"{where} line {line}: {why}")
                       for line, text in lines]
    return Parsed([_empty_records(ent)], error_frame(sorted(errors)), entity=ent)


def _repeated(columns: list[str]) -> str | None:
    """The first column name the header has twice, else None."""
    seen: set[str] = set()
    return next((c for c in columns if c in seen or seen.add(c)), None)


def _ambiguous(ent: Entity, columns: list[str], body: list[tuple[int, str]],
               errors: list[tuple], where: str, twice: str) -> Parsed:
    """A header naming a column twice: which of its values holds is unclear (as for a JSON key
    named twice), so every record is an error row, read as records so each keeps its lines."""
    unique = [f"{c}#{i}" for i, c in enumerate(columns)]
    rows, errs = _csv_slow(unique, body, where)
    errors = errors + errs + [
        (line, raw, "duplicate_key", twice, f"{where} line {line}: field `{twice}` is named "
         "twice in the header (line 1), so which of its values holds is unclear")
        for line, raw in rows.select(LINE, RAW).iter_rows()]
    return Parsed([_empty_records(ent)], error_frame(sorted(errors)), entity=ent)


def _csv_problem(exc: csv.Error) -> str:
    """What the csv module's complaint means for the file (its wording assumes a program)."""
    text = str(exc)
    if "new-line character" in text:
        return "a carriage return (CR) inside an unquoted field"
    if "unexpected end of data" in text:
        return "a quoted field is never closed before the end of the file"
    if "expected after" in text:
        return f"text after the closing quote of a field: {text}"
    return text


_INTERNAL = (LINE, RAW, EXTRA, "_file")  # columns the readers add (``_file``: validate.FILE)


def csv_aliases(columns: list[str]) -> list[str]:
    """The frame column of each header column: its name, unless the readers use that name
    themselves (a header may say ``_line``), then the name with ``#`` added until unique."""
    taken = set(columns) | set(_INTERNAL)
    out = []
    for c in columns:
        if c in _INTERNAL:
            while c in taken:
                c += "#"
            taken.add(c)
        out.append(c)
    return out


def csv_records(ent: Entity, columns: list[str], rows: pl.DataFrame) -> pl.DataFrame:
    """CSV rows (``_line``, ``_raw``, one text column per header column under its
    ``csv_aliases`` name, any others kept) as (text, kind) records; columns the spec does not
    know go to ``_extra`` under their header names."""
    names = [f.name for f in ent.all_fields]
    aliases = csv_aliases(columns)
    alias_of = dict(zip(columns, aliases, strict=True))
    extras = [c for c in columns if c not in set(names)]
    exprs = []
    for n in names:
        if n in rows.columns:
            exprs += [pl.col(n), pl.when(pl.col(n).is_not_null()).then(pl.lit("csv"))
                      .alias(kind_col(n))]
        else:
            exprs += [pl.lit(None, pl.String).alias(n),
                      pl.lit(None, pl.String).alias(kind_col(n))]
    if extras:
        cols = [pl.col(alias_of[c]).alias(c) for c in extras]
        extra = (pl.when(pl.any_horizontal([c.is_not_null() for c in cols]))
                 .then(pl.struct(cols).struct.json_encode()))
    else:
        extra = pl.lit(None, pl.String)
    keep = [c for c in rows.columns if c not in (LINE, RAW, *aliases)]
    return rows.select(pl.col(LINE), pl.col(RAW), extra.alias(EXTRA), *exprs, *keep).select(
        *_empty_records(ent).columns, *keep)


def _csv_whole(data: bytes, where: str) -> tuple[list[str], pl.DataFrame, list[tuple]] | None:
    """A CSV file without quotes read by polars from the bytes: (columns, rows, errors).

    Without quotes a record is one line and its fields are its comma-separated pieces, so
    undecodable lines (encoding_error) and lines with another field count than the header
    (malformed_csv) are found vectorised, exactly as the line path words them, and the other
    lines are read in one go. None when the file has quotes, CR or NUL bytes, or no usable
    header: the line path decides then.
    """
    import numpy as np

    if not data or b'"' in data or b"\r" in data or b"\x00" in data:
        return None
    nl = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
    starts = np.concatenate([[0], nl + 1])
    ends = np.append(nl, len(data))
    if data.endswith(b"\n"):
        starts, ends = starts[:-1], ends[:-1]
    if ends[0] == starts[0]:
        return None
    errors, undecodable = _undecodable(data, starts, ends, 1, where)
    skip = np.zeros(len(starts), dtype=bool)
    skip[sorted(undecodable)] = True
    skip |= ends == starts  # blank lines are no records
    if skip[0]:
        return None
    numbers = np.flatnonzero(~skip) + 1
    if skip.any():
        pieces, previous = [], -1
        for i in [*np.flatnonzero(skip).tolist(), len(starts)]:
            if i > previous + 1:
                pieces.append(data[int(starts[previous + 1]):int(ends[i - 1])])
            previous = i
        body = b"\n".join(pieces)
    else:
        body = data
    try:
        lines = pl.read_csv(io.BytesIO(body), has_header=False, separator="\x00",
                            quote_char=None, schema={RAW: pl.String})[RAW]
    except Exception:
        return None
    if lines.len() != len(numbers):
        return None
    header = lines[0]
    columns = header.split(",")
    if not header.strip() or len(set(columns)) != len(columns):
        return None
    rest = pl.DataFrame({LINE: pl.Series(numbers[1:], dtype=pl.Int64), RAW: lines.slice(1)})
    fields = pl.col(RAW).str.count_matches(",", literal=True) + 1
    rest = rest.with_columns(fields.alias("_n"), (pl.col(RAW).str.strip_chars(BLANK) == "")
                             .alias("_blank"))
    wrong = rest.filter((pl.col("_n") != len(columns)) & ~pl.col("_blank"))
    errors += [(line, raw, "malformed_csv", None, f"{where} line {line}: {n} fields, the "
                f"header has {len(columns)}") for line, raw, n in
               wrong.select(LINE, RAW, "_n").iter_rows()]
    good = rest.filter((pl.col("_n") == len(columns)) & ~pl.col("_blank")).select(LINE, RAW)
    if good.height == rest.height:
        text = body
    else:
        text = (header + "\n" + "\n".join(good[RAW].to_list())).encode()
    try:
        frame = pl.read_csv(io.BytesIO(text), infer_schema=False)
    except Exception:
        return None
    if frame.height != good.height or frame.columns != columns:
        return None
    frame.columns = csv_aliases(columns)
    return columns, pl.concat([good, frame], how="horizontal"), errors


def _csv_fast(header: str, body: list[tuple[int, str]], ncols: int) -> pl.DataFrame | None:
    """polars CSV read when every line is one record with the right field count (no quotes)."""
    lines = pl.DataFrame(body, schema={LINE: pl.Int64, RAW: pl.String}, orient="row")
    if not lines.height:
        frame = pl.read_csv(io.StringIO(header + "\n"), infer_schema=False)
        frame.columns = csv_aliases(frame.columns)
        return pl.concat([lines, frame], how="horizontal")
    raw = lines[RAW]
    if raw.str.contains('"', literal=True).any() or raw.str.contains("\r", literal=True).any():
        return None  # a CR inside a line: the csv module decides
    if not (raw.str.count_matches(",", literal=True) == ncols - 1).all():
        return None
    try:
        frame = pl.read_csv(io.StringIO(header + "\n" + "\n".join(raw.to_list())),
                            infer_schema=False)
    except Exception:
        return None
    if frame.height != lines.height or frame.width != ncols:
        return None
    frame.columns = csv_aliases(frame.columns)
    return pl.concat([lines, frame], how="horizontal")


def _csv_slow(columns: list[str], body: list[tuple[int, str]], where: str):
    """csv-module read: quoted fields, multi-line records, wrong field counts."""
    names = csv_aliases(columns)
    texts = [t for _, t in body]
    reader = csv.reader([t + "\n" for t in texts], strict=True)
    rows: list[dict] = []
    errors = []
    consumed = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # the reader carries on with the next line
            start, consumed = consumed, reader.line_num
            line = body[start][0]
            errors.append((line, "\n".join(texts[start:consumed]), "malformed_csv", None,
                           f"{where} line {line}: not readable as CSV ({_csv_problem(exc)})"))
            continue
        start, consumed = consumed, reader.line_num
        line = body[start][0]
        raw = "\n".join(texts[start:consumed])
        if len(record) != len(columns):
            errors.append((line, raw, "malformed_csv", None,
                           f"{where} line {line}: {len(record)} fields, the header has "
                           f"{len(columns)}"))
            continue
        row = {c: (v if v != "" else None) for c, v in zip(names, record, strict=True)}
        row[LINE], row[RAW] = line, raw
        rows.append(row)
    schema = {LINE: pl.Int64, RAW: pl.String} | {c: pl.String for c in names}
    return pl.DataFrame(rows, schema=schema), errors


# ---------------------------------------------------------------- JSON documents
DOCUMENT_ARRAYS = {("catalog", "products"): "products", ("locations", "locations"): "locations",
                   ("locations", "shipping_rates"): "rates"}


class _Repeats(dict):
    """A decoded JSON object of a document that names a key twice (or holds such an object):
    ``repeated`` is the key (a path for a nested one), ``pairs`` the object as written."""

    repeated: str
    pairs: list


def _marking_pairs(pairs: list[tuple[str, object]]) -> dict:
    """``object_pairs_hook`` of documents: a repeated key marks its object (and the objects
    holding it) instead of failing the whole document, so only that record is refused."""
    obj = dict(pairs)
    repeated = None
    if len(obj) != len(pairs):
        seen: set[str] = set()
        repeated = next(k for k, _ in pairs if k in seen or seen.add(k))
    else:
        repeated = next((r for k, v in pairs if (r := _repeat_in(k, v)) is not None), None)
    if repeated is None:
        return obj
    marked = _Repeats(obj)
    marked.repeated, marked.pairs = repeated, pairs
    return marked


def _repeat_in(key: str, value: object) -> str | None:
    """The path of a repeated key in a value: a marked object, or one in an array."""
    if type(value) is _Repeats:
        return f"{key}.{value.repeated}"
    if type(value) is list:
        for i, item in enumerate(value):
            if type(item) is _Repeats:
                return f"{key}[{i}].{item.repeated}"
    return None


_decode_document = json.JSONDecoder(object_pairs_hook=_marking_pairs,
                                    parse_constant=_no_constant).decode


def _written(obj: object) -> str:
    """A record's raw text: compact JSON, every repeated key kept as written, any lone
    surrogate escaped (as undecodable bytes are)."""
    if type(obj) is _Repeats:
        text = "{" + ",".join(f"{_compact(k)}:{_written(v)}" for k, v in obj.pairs) + "}"
    elif type(obj) is list and any(type(x) is _Repeats for x in obj):
        text = "[" + ",".join(_written(x) for x in obj) + "]"
    else:
        text = _compact(obj)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _document(data: bytes, ents: list[Entity]) -> tuple[dict, dict[str, list]]:
    """The decoded document and its arrays by entity; ValueError says why it cannot be read."""
    try:
        doc = _decode_document(data.decode("utf-8"))
    except RecursionError:
        raise ValueError(f"it nests more than {MAX_DEPTH} levels deep") from None
    if not isinstance(doc, dict):
        raise ValueError(f"expected a JSON object at the top, got {json_type(doc)}")
    names = [DOCUMENT_ARRAYS[(e.channel, e.name)] for e in ents]
    if type(doc) is _Repeats and not doc.repeated.startswith(tuple(f"{n}[" for n in names)):
        # (a key repeated inside a record only refuses that record, below)
        raise ValueError(f"key `{doc.repeated}` appears twice, so which value holds is unclear")
    arrays = {e.name: doc.get(DOCUMENT_ARRAYS[(e.channel, e.name)]) for e in ents}
    for e in ents:
        if not isinstance(arrays[e.name], list):
            raise ValueError(f"key {DOCUMENT_ARRAYS[(e.channel, e.name)]!r} is missing "
                             "or not a list")
    extra = {k: v for k, v in doc.items() if k not in DOCUMENT_ARRAYS.values()}
    if too_deep(extra, MAX_DEPTH - 1) or unencodable(extra) is not None:
        raise ValueError(f"a key besides the arrays nests more than {MAX_DEPTH} levels deep "
                         "or holds a lone UTF-16 surrogate")
    for e in ents:
        for i, obj in enumerate(arrays[e.name], start=1):
            if type(obj) in (dict, list) and too_deep(obj):
                raise ValueError(f"record {i} of {DOCUMENT_ARRAYS[(e.channel, e.name)]!r} "
                                 f"nests more than {MAX_DEPTH} levels deep")
    return doc, arrays


def _record_error(obj: object, i: int, where: str, array: str) -> tuple | None:
    """The error row of a document record that is not an object of its own keys, else None."""
    where = f"{where} record {i} of {array!r}"
    if not isinstance(obj, dict):
        return (i, _written(obj), "wrong_type", None,
                f"{where}: expected an object, got {json_type(obj)}")
    if type(obj) is _Repeats:
        return (i, _written(obj), "duplicate_key", obj.repeated,
                f"{where}: key `{obj.repeated}` appears twice in one object, so which of its "
                "values holds is unclear")
    if (key := unencodable(obj)) is not None:
        return (i, _written(obj), "encoding_error", key,
                f"{where}: field `{key}` holds a \\u escape of half a UTF-16 surrogate pair "
                "without its other half, which is no character")
    return None


def parse_document(ents: list[Entity], data: bytes, where: str) -> dict[str, Parsed]:
    """A JSON export holding one array per entity; an unreadable document is one error row.

    A record that is not an object, names a key twice or holds a lone surrogate is one error
    row; a document nesting deeper than ``MAX_DEPTH`` is unreadable (a record's raw text is
    its JSON, which cannot be written back that deep)."""
    data = strip_bom(data)
    out = {e.name: Parsed([_empty_records(e)], error_frame([]), entity=e) for e in ents}
    try:
        doc, arrays = _document(data, ents)
    except (ValueError, UnicodeDecodeError) as exc:
        raw_text = data.decode("utf-8", errors="backslashreplace")
        out[ents[0].name].errors = error_frame(
            [(1, raw_text, "unreadable_file", None,
              f"{where}: cannot read the JSON document ({exc}); no record was loaded")])
        return out
    doc_extra = {k: v for k, v in doc.items() if k not in DOCUMENT_ARRAYS.values()} or None
    for e in ents:
        array = DOCUMENT_ARRAYS[(e.channel, e.name)]
        objs, errors = [], []
        for i, obj in enumerate(arrays[e.name], start=1):
            if (error := _record_error(obj, i, where, array)) is not None:
                errors.append(error)
            else:
                objs.append((i, _compact(obj), obj))
        recs = records_from_objects(e, objs, doc_extra)
        present = {f.name for f in e.all_fields if recs[kind_col(f.name)].is_not_null().any()}
        out[e.name] = Parsed([recs], error_frame(errors), present, entity=e)
    return out


def spec_field(ent: Entity, name: str) -> Field:
    return next(f for f in ent.all_fields if f.name == name)
