"""Records and error rows as the readers hand them over: one row per record with every spec
field as (text, kind), or a native (typed) frame.

Parsing does not judge values; it only records what each field *was* in the file, so the
validator can refuse silent casts: ``kind`` is the JSON type (``str``, ``int``, ``float``,
``bool``, ``object``, ``array``) or ``csv`` for CSV text, and null when the field is absent or
JSON null. Lines that cannot be decoded or parsed become error rows here (with their raw text).
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from lakehouse.channels.spec import Entity, Field

LINE, RAW, EXTRA = "_line", "_raw", "_extra"
ERROR_COLUMNS = {
    "_line": pl.Int64, "_raw": pl.String, "error_kind": pl.String, "field": pl.String,
    "reason": pl.String,
}


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


def is_utf8(data: bytes) -> bool:
    """Whether ``data`` decodes as UTF-8 as a whole."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass
class Parsed:
    """What one entity of one file held: record frames, pre-validation errors, keys seen.

    ``parts`` are native frames (typed, see ``typed``) and/or (text, kind) frames;
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
        return pl.concat(frames).sort(LINE) if frames else empty_records(self.entity)


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
                        *exprs).select(empty_records(ent).columns)


def error_frame(rows: list[tuple[int, str, str, str | None, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=ERROR_COLUMNS, orient="row")


def empty_records(ent: Entity) -> pl.DataFrame:
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


def undecodable_lines(chunk: bytes, starts, ends, first: int, where: str):
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
