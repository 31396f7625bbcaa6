"""JSON documents -> records: an export holding one array per entity (a catalog, the store
list), each record an object converted by the exact path.
"""

from __future__ import annotations

import json

from lakehouse.channels.spec import Entity
from lakehouse.ingest.parse.exact import (
    MAX_DEPTH,
    compact,
    json_type,
    no_constant,
    records_from_objects,
    too_deep,
    unencodable,
)
from lakehouse.ingest.parse.records import Parsed, empty_records, error_frame, kind_col, strip_bom

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
                                    parse_constant=no_constant).decode


def _written(obj: object) -> str:
    """A record's raw text: compact JSON, every repeated key kept as written, any lone
    surrogate escaped (as undecodable bytes are)."""
    if type(obj) is _Repeats:
        text = "{" + ",".join(f"{compact(k)}:{_written(v)}" for k, v in obj.pairs) + "}"
    elif type(obj) is list and any(type(x) is _Repeats for x in obj):
        text = "[" + ",".join(_written(x) for x in obj) + "]"
    else:
        text = compact(obj)
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
    out = {e.name: Parsed([empty_records(e)], error_frame([]), entity=e) for e in ents}
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
                objs.append((i, compact(obj), obj))
        recs = records_from_objects(e, objs, doc_extra)
        present = {f.name for f in e.all_fields if recs[kind_col(f.name)].is_not_null().any()}
        out[e.name] = Parsed([recs], error_frame(errors), present, entity=e)
    return out

