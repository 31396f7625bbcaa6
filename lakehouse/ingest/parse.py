"""Landing bytes -> raw records: one row per record with every spec field as (text, kind).

Parsing does not judge values; it only records what each field *was* in the file, so the
validator can refuse silent casts: ``kind`` is the JSON type (``str``, ``int``, ``float``,
``bool``, ``object``, ``array``) or ``csv`` for CSV text, and null when the field is absent or
JSON null. Lines that cannot be decoded or parsed become error rows here (with their raw text).

Fast path for JSON lines: pyarrow's strict JSON reader with the spec schema on the lines a cheap
regex pre-screen finds unsuspicious; only suspicious or broken lines go through ``json.loads``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from functools import cache

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


@dataclass
class Parsed:
    """What one entity of one file held: raw records, pre-validation errors, keys seen."""

    records: pl.DataFrame
    errors: pl.DataFrame
    present: set[str] = field(default_factory=set)  # spec fields that appear in the file

    @property
    def rows(self) -> int:
        return self.records.height + self.errors.height


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
    return lines.filter(pl.col(RAW).str.strip_chars() != ""), errors


# ---------------------------------------------------------------- python (exact) path
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
    return kind, json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def records_from_objects(ent: Entity, objs: list[tuple[int, str, dict]],
                         doc_extra: dict | None = None) -> pl.DataFrame:
    """Exact conversion of decoded JSON objects (slow path, and JSON documents)."""
    names = [f.name for f in ent.all_fields]
    known = set(names)
    cols: dict[str, list] = {LINE: [], RAW: [], EXTRA: []}
    for n in names:
        cols[n] = []
        cols[kind_col(n)] = []
    for line, raw, obj in objs:
        cols[LINE].append(line)
        cols[RAW].append(raw)
        extra = {k: v for k, v in obj.items() if k not in known}
        if doc_extra:
            extra["_document"] = doc_extra
        cols[EXTRA].append(json.dumps(extra, ensure_ascii=False, separators=(",", ":"))
                           if extra else None)
        for n in names:
            kind, text = _kind_text(obj.get(n))
            cols[n].append(text)
            cols[kind_col(n)].append(kind)
    if not objs:
        return _empty_records(ent)
    return pl.DataFrame(cols, schema=_empty_records(ent).schema)


def _loads_lines(ent: Entity, lines: list[tuple[int, str]], where: str):
    objs, errors = [], []
    for line, text in lines:
        try:
            obj = json.loads(text)
        except ValueError as exc:
            errors.append((line, text, "broken_json", None,
                           f"{where} line {line}: not valid JSON ({exc})"))
            continue
        if not isinstance(obj, dict):
            errors.append((line, text, "broken_json", None,
                           f"{where} line {line}: expected a JSON object, got "
                           f"{type(obj).__name__}"))
            continue
        objs.append((line, text, obj))
    return records_from_objects(ent, objs), errors


# ---------------------------------------------------------------- polars (fast) path
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


def _fast_ok(ent: Entity) -> bool:
    return all(f.type in _STRLIKE | _INTLIKE | {"float", "bool"} for f in ent.all_fields)


def _arrow_schema(ent: Entity) -> pa.Schema:
    types = {"int": pa.int64(), "epoch_ms": pa.int64(), "epoch_s": pa.int64(),
             "float": pa.float64(), "bool": pa.bool_()}
    return pa.schema([(f.name, types.get(f.type, pa.string())) for f in ent.all_fields])


def _typed_records(ent: Entity, lines: pl.DataFrame, body: bytes) -> pl.DataFrame:
    """Strict typed read (pyarrow refuses a value of another JSON type than the schema's);
    raises on anything unexpected, and the caller falls back to the exact path."""
    options = pj.ParseOptions(explicit_schema=_arrow_schema(ent),
                              unexpected_field_behavior="infer")
    frame = pl.from_arrow(pj.read_json(io.BytesIO(body), parse_options=options))
    assert isinstance(frame, pl.DataFrame)
    if frame.height != lines.height:
        raise ValueError("row count mismatch")
    known = {f.name for f in ent.all_fields}
    extras = [c for c in frame.columns if c not in known]
    exprs: list[pl.Expr] = []
    for f in ent.all_fields:
        dtype = frame.schema[f.name]
        kind = _KIND_OF.get(dtype)
        if kind is None:
            raise ValueError(f"unexpected dtype {dtype} for {f.name}")
        col = pl.col(f.name)
        exprs += [col.cast(pl.String).alias(f.name),
                  pl.when(col.is_not_null()).then(pl.lit(kind)).alias(kind_col(f.name))]
    if extras:
        extra = (pl.when(pl.any_horizontal([pl.col(c).is_not_null() for c in extras]))
                 .then(pl.struct(extras).struct.json_encode()))
    else:
        extra = pl.lit(None, pl.String)
    out = frame.select(*exprs, extra.alias(EXTRA))
    return pl.concat([lines.select(LINE, RAW), out], how="horizontal").select(
        _empty_records(ent).columns)


def parse_jsonl(ent: Entity, data: bytes, where: str) -> Parsed:
    lines, errors = decode_lines(data, where)
    records = None
    slow = lines
    if _fast_ok(ent) and lines.height:
        pattern = _suspect_pattern(ent)
        suspect = (lines[RAW].str.contains(pattern) if pattern
                   else pl.Series([False] * lines.height))
        slow, fast = lines.filter(suspect), lines.filter(~suspect)
        whole = not errors and not slow.height and fast.height == data.count(b"\n") + (
            0 if data.endswith(b"\n") else 1)
        try:
            body = data if whole else fast[RAW].str.join("\n").item().encode()
            records = _typed_records(ent, fast, body)
        except Exception:  # broken lines among them: find those, then retry once
            ok = fast[RAW].str.json_path_match("$").str.starts_with("{").fill_null(False)
            slow = pl.concat([slow, fast.filter(~ok)])
            fast = fast.filter(ok)
            try:
                records = _typed_records(ent, fast, fast[RAW].str.join("\n").item().encode())
            except Exception:
                slow, records = lines, None
    parts = [] if records is None else [records]
    if slow.height:
        rec, errs = _loads_lines(ent, list(slow.iter_rows()), where)
        parts.append(rec)
        errors += errs
    recs = pl.concat(parts) if parts else _empty_records(ent)
    recs = recs.sort(LINE)
    present = {f.name for f in ent.all_fields if recs[kind_col(f.name)].is_not_null().any()}
    return Parsed(recs, error_frame(errors), present)


# ---------------------------------------------------------------- CSV
def parse_csv(ent: Entity, data: bytes, where: str) -> Parsed:
    frame, errors = decode_lines(data, where)
    good = list(frame.iter_rows())
    if not good or good[0][0] != 1:
        for line, text in good:
            errors.append((line, text, "unreadable_file", None,
                           f"{where}: the header (line 1) is missing or not UTF-8, so no "
                           "column can be identified"))
        return Parsed(_empty_records(ent), error_frame(errors))
    header, body = good[0][1], good[1:]
    columns = next(csv.reader([header]))
    rows = _csv_fast(header, body, len(columns)) if '"' not in header else None
    if rows is None:
        rows, errs = _csv_slow(columns, body, where)
        errors += errs
    names = [f.name for f in ent.all_fields]
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
        extra = (pl.when(pl.any_horizontal([pl.col(c).is_not_null() for c in extras]))
                 .then(pl.struct(extras).struct.json_encode()))
    else:
        extra = pl.lit(None, pl.String)
    recs = rows.select(pl.col(LINE), pl.col(RAW), extra.alias(EXTRA), *exprs).select(
        _empty_records(ent).columns)
    present = {n for n in names if n in columns}
    return Parsed(recs, error_frame(errors), present)


def _csv_fast(header: str, body: list[tuple[int, str]], ncols: int) -> pl.DataFrame | None:
    """polars CSV read when every line is one record with the right field count (no quotes)."""
    lines = pl.DataFrame(body, schema={LINE: pl.Int64, RAW: pl.String}, orient="row")
    if not lines.height:
        frame = pl.read_csv(io.StringIO(header + "\n"), infer_schema=False)
        return pl.concat([lines, frame], how="horizontal")
    raw = lines[RAW]
    if raw.str.contains('"', literal=True).any():
        return None
    if not (raw.str.count_matches(",", literal=True) == ncols - 1).all():
        return None
    try:
        frame = pl.read_csv(io.StringIO(header + "\n" + "\n".join(raw.to_list())),
                            infer_schema=False)
    except Exception:
        return None
    if frame.height != lines.height or frame.width != ncols:
        return None
    return pl.concat([lines, frame], how="horizontal")


def _csv_slow(columns: list[str], body: list[tuple[int, str]], where: str):
    """csv-module read: quoted fields, multi-line records, wrong field counts."""
    texts = [t for _, t in body]
    reader = csv.reader([t + "\n" for t in texts])
    rows: list[dict] = []
    errors = []
    consumed = 0
    for record in reader:
        start, consumed = consumed, reader.line_num
        line = body[start][0]
        raw = "\n".join(texts[start:consumed])
        if len(record) != len(columns):
            errors.append((line, raw, "malformed_csv", None,
                           f"{where} line {line}: {len(record)} fields, the header has "
                           f"{len(columns)}"))
            continue
        row = {c: (v if v != "" else None) for c, v in zip(columns, record, strict=True)}
        row[LINE], row[RAW] = line, raw
        rows.append(row)
    schema = {LINE: pl.Int64, RAW: pl.String} | {c: pl.String for c in columns}
    return pl.DataFrame(rows, schema=schema), errors


# ---------------------------------------------------------------- JSON documents
DOCUMENT_ARRAYS = {("catalog", "products"): "products", ("locations", "locations"): "locations",
                   ("locations", "shipping_rates"): "rates"}


def parse_document(ents: list[Entity], data: bytes, where: str) -> dict[str, Parsed]:
    """A JSON export holding one array per entity; an unreadable document is one error row."""
    out = {e.name: Parsed(_empty_records(e), error_frame([])) for e in ents}
    raw_text = data.decode("utf-8", errors="replace")
    try:
        doc = json.loads(data.decode("utf-8"))
        if not isinstance(doc, dict):
            raise ValueError(f"expected a JSON object at the top, got {type(doc).__name__}")
        arrays = {e.name: doc.get(DOCUMENT_ARRAYS[(e.channel, e.name)]) for e in ents}
        for e in ents:
            if not isinstance(arrays[e.name], list):
                raise ValueError(f"key {DOCUMENT_ARRAYS[(e.channel, e.name)]!r} is missing "
                                 "or not a list")
    except (ValueError, UnicodeDecodeError) as exc:
        out[ents[0].name].errors = error_frame(
            [(1, raw_text, "unreadable_file", None,
              f"{where}: cannot read the JSON document ({exc}); no record was loaded")])
        return out
    doc_extra = {k: v for k, v in doc.items() if k not in DOCUMENT_ARRAYS.values()} or None
    for e in ents:
        objs, errors = [], []
        for i, obj in enumerate(arrays[e.name], start=1):
            raw = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
            if isinstance(obj, dict):
                objs.append((i, raw, obj))
            else:
                errors.append((i, raw, "wrong_type", None,
                               f"{where} record {i} of {DOCUMENT_ARRAYS[(e.channel, e.name)]!r}:"
                               f" expected an object, got {type(obj).__name__}"))
        recs = records_from_objects(e, objs, doc_extra)
        present = {f.name for f in e.all_fields if recs[kind_col(f.name)].is_not_null().any()}
        out[e.name] = Parsed(recs, error_frame(errors), present)
    return out


def spec_field(ent: Entity, name: str) -> Field:
    return next(f for f in ent.all_fields if f.name == name)
