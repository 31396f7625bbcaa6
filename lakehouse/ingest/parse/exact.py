"""The exact (python) path: JSON decoded by ``json`` and converted to (text, kind) records (the
lines the typed path cannot vouch for, and the records of JSON documents), refusing what readers
disagree on (a key named twice, ``NaN``, a lone surrogate, JSON nested too deep) with a reason
naming file and line.
"""

from __future__ import annotations

import gc
import itertools
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]

import polars as pl

from lakehouse.channels.spec import Entity
from lakehouse.ingest.parse.records import EXTRA, LINE, RAW, empty_records, kind_col

_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# JSONEncoder.encode builds a C encoder per call; decoded JSON has no cycles, so one serves all
_encode = c_make_encoder(None, _COMPACT.default, encode_basestring, None, ":", ",", False,
                         False, True)


def compact(value: object) -> str:
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
    return kind, compact(value)


def _column(values: list) -> tuple[list, list | str]:
    """(texts, kinds) of one field's values, as ``_kind_text`` gives them one by one; kinds is
    one kind when every non-null value has it (polars then fills the column)."""
    types = set(map(type, values))
    if types <= {str, type(None)}:
        return values, "str"
    if types <= {int, type(None)}:  # bool is not in it: a set of exact types
        return [None if v is None else str(v) for v in values], "int"
    if types <= {dict, list, type(None)}:
        return ([None if v is None else compact(v) for v in values],
                [None if v is None else "object" if type(v) is dict else "array"
                 for v in values])
    pairs = [_kind_text(v) for v in values]
    return [t for _, t in pairs], [k for k, _ in pairs]


def records_from_objects(ent: Entity, objs: list[tuple[int, str, dict]],
                         doc_extra: dict | None = None) -> pl.DataFrame:
    """Exact conversion of decoded JSON objects (slow path, and JSON documents), by column."""
    if not objs:
        return empty_records(ent)
    names = [f.name for f in ent.all_fields]
    known = set(names)
    cols: dict[str, list] = {LINE: [o[0] for o in objs], RAW: [o[1] for o in objs]}
    extras = []
    for _, _, obj in objs:
        extra = None if obj.keys() <= known else {k: v for k, v in obj.items()
                                                   if k not in known}
        if doc_extra:
            extra = {**(extra or {}), "_document": doc_extra}
        extras.append(compact(extra) if extra else None)
    cols[EXTRA] = extras
    dicts = [o[2] for o in objs]
    uniform: dict[str, pl.Expr] = {}
    for n in names:
        cols[n], kinds = _column(list(map(dict.get, dicts, itertools.repeat(n))))
        if isinstance(kinds, str):
            uniform[kind_col(n)] = pl.when(pl.col(n).is_not_null()).then(pl.lit(kinds))
        else:
            cols[kind_col(n)] = kinds
    schema = empty_records(ent).schema
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


def no_constant(name: str) -> float:
    """``parse_constant``: ``NaN`` and ``Infinity`` are not JSON (Python's reader takes them)."""
    raise ValueError(f"{name} is not a JSON number")


# json.loads, refusing repeated keys and NaN / Infinity
strict_decode = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_constant=no_constant).decode

MAX_DEPTH = 128  # deeper JSON is refused: Python's reader and writer recurse once per level
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")  # the \u escape of half a UTF-16 pair
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
            compact({key: value}).encode("utf-8")
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
        obj = strict_decode(text)
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


def loads_lines(ent: Entity, lines: list[tuple[int, str]], where: str):
    objs, errors = [], []
    for line, text in lines:
        obj = load_line(line, text, where)
        if isinstance(obj, dict):
            objs.append((line, text, obj))
        else:
            errors.append(obj)
    return records_from_objects(ent, objs), errors
