"""CSV files -> (text, kind) records: line 1 is the header, every value's kind is ``csv``.

A file without quotes is read by polars in one go (a record is then one line); otherwise the
lines are read by polars when they have the header's field count, else by the csv module.
"""

from __future__ import annotations

import csv
import io

import polars as pl

from lakehouse.channels.spec import Entity
from lakehouse.ingest.parse.records import (
    BLANK,
    EXTRA,
    LINE,
    RAW,
    Parsed,
    decode_lines,
    empty_records,
    error_frame,
    kind_col,
    strip_bom,
    undecodable_lines,
)

# The csv module refuses a field over 128 KiB by default (process-wide); a huge quoted field is
# data like any other, so the limit is the largest the module takes.
csv.field_size_limit((1 << 31) - 1)


def parse_csv(ent: Entity, data: bytes, where: str) -> Parsed:
    """Records of a CSV file: line 1 is the header, a record is one line unless a quoted field
    holds line breaks; every record is a row or an error row naming its first line."""
    data = strip_bom(data)
    errors: list[tuple] = []
    whole = csv_whole(data, where)
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
    return Parsed([empty_records(ent)], error_frame(sorted(errors)), entity=ent)


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
    return Parsed([empty_records(ent)], error_frame(sorted(errors)), entity=ent)


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
        *empty_records(ent).columns, *keep)


def csv_whole(data: bytes, where: str) -> tuple[list[str], pl.DataFrame, list[tuple]] | None:
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
    errors, undecodable = undecodable_lines(data, starts, ends, 1, where)
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
    frame = read_fitting(text, columns, good.height)
    if frame is None:
        return None
    return columns, pl.concat([good, frame], how="horizontal"), errors


def read_fitting(text: bytes, columns: list[str], height: int) -> pl.DataFrame | None:
    """polars' read of CSV text without quotes whose lines all have the header's field count:
    one text column per header column, under its ``csv_aliases`` name. None when polars reads
    another shape than ``height`` rows of ``columns`` (the line path decides then)."""
    try:
        frame = pl.read_csv(io.BytesIO(text), infer_schema=False)
    except Exception:
        return None
    if frame.height != height or frame.columns != columns:
        return None
    frame.columns = csv_aliases(columns)  # a header may name a column as the readers do
    return frame


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

