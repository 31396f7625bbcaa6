"""JSON-lines files -> records: typed frames where a chunk passes the fast test (``typed``),
the exact path (``exact``) for the lines that do not.

A chunk the fast test refuses is taken apart: a cheap screen and pyarrow's strict reader find
the lines that do not fit, polars reads the others again, and only when that cannot work is
every line checked with ``json.loads``.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Callable
from functools import cache

import polars as pl
import pyarrow as pa
import pyarrow.json as pj

from lakehouse.channels.spec import Entity
from lakehouse.ingest.parse.exact import DuplicateKey, loads_lines, strict_decode
from lakehouse.ingest.parse.records import (
    BLANK,
    BLANK_BYTES,
    EXTRA,
    LINE,
    RAW,
    Parsed,
    decode_lines,
    empty_records,
    error_frame,
    is_native,
    is_utf8,
    kind_col,
    strip_bom,
    undecodable_lines,
)
from lakehouse.ingest.parse.typed import (
    counts_fit,
    ent_types,
    fast_ok,
    fits,
    has_surrogate,
    polars_schema,
    read_native,
    surrogate_lines,
    suspect_pattern,
    unvouched,
)

CHUNK_BYTES = 8 << 20  # polars reads the file in pieces of about this size (bounded memory)


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
            frame = pl.read_ndjson(io.BytesIO(body), schema=polars_schema(ent))
            if frame.height == len(good) and counts_fit(body, frame, ent):
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
    errors, undecodable = undecodable_lines(chunk, starts, ends, first, where)
    lines = pl.read_csv(io.BytesIO(chunk), has_header=False, separator="\x00", quote_char=None,
                        schema={RAW: pl.String}, encoding="utf8-lossy")[RAW]
    if lines.len() != len(starts):
        return None
    pattern = suspect_pattern(ent)
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
        frame = pl.read_ndjson(io.BytesIO(body), schema=polars_schema(ent))
    except Exception:
        return None
    if frame.height != int(keep.sum()) or not counts_fit(body, frame, ent):
        return None
    lines = pl.Series(LINE, np.flatnonzero(keep) + first, dtype=pl.Int64)
    return frame.with_columns(lines, pl.lit(None, pl.String).alias(EXTRA))


def _empty_native(ent: Entity) -> pl.DataFrame:
    return pl.DataFrame(schema=polars_schema(ent)).with_columns(
        pl.lit(None, pl.Int64).alias(LINE), pl.lit(None, pl.String).alias(EXTRA))


@cache
def _arrow_schema(ent: Entity) -> pa.Schema:
    types = {"int": pa.int64(), "epoch_ms": pa.int64(), "epoch_s": pa.int64(),
             "float": pa.float64(), "bool": pa.bool_()}
    return pa.schema([(f.name, types.get(f.type, pa.string())) for f in ent.all_fields])


def _check_lines(ent: Entity, cands: list[tuple[int, bytes]]):
    """Every line through ``json.loads``: lines that fit -> one native frame, others -> slow."""
    types = ent_types(ent)
    good, numbers, slow = [], [], []
    for no, line in cands:
        text = line.decode("utf-8")
        if has_surrogate(line):
            slow.append((no, text))  # polars would read a lone half as NUL
            continue
        try:
            obj = strict_decode(text)
        except (ValueError, DuplicateKey, RecursionError):
            slow.append((no, text))
            continue
        if type(obj) is dict and fits(types, obj):
            good.append(line)
            numbers.append(no)
        else:
            slow.append((no, text))
    frame = None
    if good:
        try:
            frame = read_native(ent, b"\n".join(good), pl.Series(LINE, numbers, dtype=pl.Int64))
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
        recs, errs = loads_lines(ent, list(lines.iter_rows()), where)
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
                if chunk.isascii() or is_utf8(chunk):
                    frame = pl.read_ndjson(io.BytesIO(chunk), schema=polars_schema(ent))
                if frame is not None and (frame.height != n
                                          or not counts_fit(chunk, frame, ent)):
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
        recs, errs = loads_lines(ent, slow, where)
        parts.append(recs)
        errors += errs
    if not parts:
        parts = [empty_records(ent)]
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

