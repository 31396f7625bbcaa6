"""The records of a group of files of one entity, as one set of frames tagged with ``_file``.

Why: a batch holds hundreds of files, and most of them have a bad line somewhere. Parsing
them one by one pays per-file overhead and a second attempt for nearly every file. Here every
line of every JSON-lines file of the group is screened at once: lines that fit the typed reader
exactly (spec keys only, every value of its column's JSON type, checked line by line) are read
by one ``read_ndjson`` call; only the others take the exact path (``parse.exact``), per
file, so every reason still names its own file and line. Entities with nested values have
no typed frame: all their lines take the exact path, still in one go. A file the screen cannot
take (CR, NUL or blank lines) is parsed on its own by ``parse_jsonl``, as is the whole
group when the typed reader refuses what the screen let through.

One module (about 400 lines): the JSON-lines and CSV group readers share ``Group``, ``_merge``
and the line arithmetic over the joined files, and read best side by side.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from lakehouse.channels.spec import Entity
from lakehouse.ingest.parse.csv_file import csv_records, parse_csv, read_fitting
from lakehouse.ingest.parse.exact import gc_paused, load_line, records_from_objects
from lakehouse.ingest.parse.jsonl import parse_jsonl
from lakehouse.ingest.parse.records import (
    BLANK,
    EXTRA,
    LINE,
    RAW,
    Parsed,
    error_frame,
    is_native,
    kind_col,
    strip_bom,
)
from lakehouse.ingest.parse.typed import (
    fast_ok,
    polars_schema,
    string_fields,
    surrogate_lines,
    suspect_pattern,
    unvouched,
)
from lakehouse.ingest.validate import FILE

RawOf = Callable[[list[int]], list[str]]


@dataclass
class Group:
    """What the files of a group held: typed rows, (text, kind) rows, errors, per-file facts.

    Every frame carries ``_file`` (the file's index in the group); ``raw_of[i]`` gives file
    ``i``'s raw text by line number (only bad typed rows ever need it).
    """

    native: list[pl.DataFrame]
    text: list[pl.DataFrame]
    errors: list[pl.DataFrame]
    rows: list[int]  # records + errors per file
    present: list[set[str]]  # spec fields each file has (added fields at least)
    raw_of: list[RawOf | None]


def _tag(frame: pl.DataFrame, i: int) -> pl.DataFrame:
    return frame.with_columns(pl.lit(i, pl.Int32).alias(FILE))


def from_parsed(parsed: list[Parsed]) -> Group:
    """A group of files parsed one by one (CSV, documents, files the screen refuses)."""
    group = Group([], [], [], [], [], [])
    for i, p in enumerate(parsed):
        for part in p.parts:
            if part.height:
                (group.native if is_native(part) else group.text).append(_tag(part, i))
        if p.errors.height:
            group.errors.append(_tag(p.errors, i))
        group.rows.append(p.rows)
        group.present.append(p.present)
        group.raw_of.append(p.raw_of)
    return group


def _merge(into: Group, other: Group, index: list[int]) -> None:
    """Add ``other`` (whose files are ``index`` of ``into``) to ``into``."""
    lookup = pl.lit(pl.Series(index, dtype=pl.Int32))
    for mine, theirs in ((into.native, other.native), (into.text, other.text),
                         (into.errors, other.errors)):
        mine += [f if index == list(range(len(index))) else
                 f.with_columns(lookup.gather(pl.col(FILE)).alias(FILE)) for f in theirs]
    for k, i in enumerate(index):
        into.rows[i], into.present[i], into.raw_of[i] = (other.rows[k], other.present[k],
                                                         other.raw_of[k])


def _screenable(data: bytes) -> bool:
    """Whether the screen can judge a file's lines (no CR or NUL; blank lines: ``_screened``)."""
    return bool(data) and b"\r" not in data and b"\x00" not in data


def parse_jsonl_group(ent: Entity, datas: list[bytes], wheres: list[str]) -> Group:
    """The records of several JSON-lines files of ``ent`` (``wheres`` name them in reasons)."""
    datas = [strip_bom(d) for d in datas]
    n = len(datas)
    group = Group([], [], [], [0] * n, [set() for _ in range(n)], [None] * n)
    clean = [i for i, d in enumerate(datas) if _screenable(d)]
    fast = _screened(ent, [datas[i] for i in clean], [wheres[i] for i in clean]) if clean \
        else None
    if isinstance(fast, set):  # files with empty lines: screen the others
        clean = [i for k, i in enumerate(clean) if k not in fast]
        fast = _screened(ent, [datas[i] for i in clean], [wheres[i] for i in clean]) if clean \
            else None
    if isinstance(fast, Group):
        _merge(group, fast, clean)
    screened = set(clean) if isinstance(fast, Group) else set()
    rest = [i for i in range(n) if i not in screened]
    if rest:
        _merge(group, from_parsed([parse_jsonl(ent, datas[i], wheres[i]) for i in rest]), rest)
    return group


def _screened(ent: Entity, datas: list[bytes], wheres: list[str]) -> Group | set[int] | None:
    """Every line of files the screen can judge; the files with empty lines when there are
    any (the screen reads one record per line), None when the typed reader disagrees with the
    screen (the caller then parses those files file by file)."""
    body = b"".join(d if d.endswith(b"\n") else d + b"\n" for d in datas)
    ends = np.flatnonzero(np.frombuffer(body, np.uint8) == 10)
    total = len(ends)
    starts = np.concatenate([[0], ends[:-1] + 1])
    sizes = np.cumsum([len(d) + (not d.endswith(b"\n")) for d in datas])
    first = np.searchsorted(ends, np.concatenate([[0], sizes[:-1]]))  # each file's line 1
    counts = np.diff(np.append(first, total))
    file_of = np.repeat(np.arange(len(datas), dtype=np.int32), counts)
    number = np.arange(total, dtype=np.int64) - first[file_of] + 1
    if (empty := ends == starts).any():
        return set(np.unique(file_of[empty]).tolist())
    lines = pl.read_csv(io.BytesIO(body), has_header=False, separator="\x00", quote_char=None,
                        schema={RAW: pl.String}, encoding="utf8-lossy")[RAW]
    if lines.len() != total:
        return None
    if fast_ok(ent):
        suspect = ~lines.str.starts_with("{") | ~lines.str.ends_with("}")
        if (pattern := suspect_pattern(ent)) is not None:
            suspect = suspect | lines.str.contains(pattern)
        if (halves := surrogate_lines(lines, body)) is not None:
            suspect = suspect | halves  # polars reads a lone surrogate escape as NUL
        suspect = suspect.to_numpy().copy()
    else:  # nested values have no typed frame: every line takes the exact path
        suspect = np.ones(total, dtype=bool)
    errors: list[tuple] = []
    if not body.isascii():  # lossy decoding marks every undecodable line with U+FFFD
        for g in np.flatnonzero(lines.str.contains("\ufffd", literal=True).to_numpy()):
            i, no = int(file_of[g]), int(number[g])
            if error := _undecodable(body[int(starts[g]):int(ends[g])], i, no, wheres[i]):
                errors.append(error)
                suspect[g] = True
    undecodable = np.zeros(total, dtype=bool)
    for e in errors:
        undecodable[first[e[0]] + e[1] - 1] = True
    keep = np.flatnonzero(~suspect)
    read = _read_lines(ent, body, starts, ends, suspect, len(keep))
    if read is None:
        return None
    frame = read
    misfit = keep[~_fits(ent, frame, _key_counts(ent, lines)[keep])] if len(keep) else keep
    if len(misfit):
        suspect[misfit] = True
        frame = frame.filter(pl.Series(~np.isin(keep, misfit)))
        keep = np.flatnonzero(~suspect)
    native = frame.with_columns(pl.Series(LINE, number[keep]),
                                pl.lit(None, pl.String).alias(EXTRA),
                                pl.Series(FILE, file_of[keep]))
    slow = np.flatnonzero(suspect & ~undecodable)
    group = Group([native] if native.height else [], [], [], counts.tolist(),
                  [set() for _ in datas], [])
    objs, files = [], []
    with gc_paused():
        for g, text in zip(slow.tolist(), lines.gather(slow).to_list(), strict=True):
            i, no = int(file_of[g]), int(number[g])
            if not text.strip(BLANK):  # a blank line is no record
                group.rows[i] -= 1
                continue
            obj = load_line(no, text, wheres[i])
            if isinstance(obj, dict):
                objs.append((no, text, obj))
                files.append(i)
            else:
                errors.append((i, *obj))
        if objs:
            group.text.append(records_from_objects(ent, objs).with_columns(
                pl.Series(FILE, files, dtype=pl.Int32)))
    if errors:
        frame = error_frame([e[1:] for e in errors]).with_columns(
            pl.Series(FILE, [e[0] for e in errors], dtype=pl.Int32))
        group.errors.append(frame.sort(FILE, LINE))
    _presence(ent, group)
    group.raw_of = [_raw_of(lines, int(first[i])) for i in range(len(datas))]
    return group


def parse_csv_group(ent: Entity, datas: list[bytes], wheres: list[str]) -> Group:
    """The records of several CSV files of ``ent``: files without quotes, CR or NUL that share
    a header are read as one (a record is then one line, see ``parse.csv_file.csv_whole``);
    the others file by file."""
    datas = [strip_bom(d) for d in datas]
    n = len(datas)
    group = Group([], [], [], [0] * n, [set() for _ in range(n)], [None] * n)
    by_header: dict[bytes, list[int]] = {}
    rest = []
    for i, d in enumerate(datas):
        if d and not any(c in d for c in (b'"', b"\r", b"\x00")) and not d.startswith(b"\n"):
            by_header.setdefault(d.split(b"\n", 1)[0], []).append(i)
        else:
            rest.append(i)
    for header, index in by_header.items():
        got = _csv_lines(ent, header, [datas[i] for i in index], [wheres[i] for i in index])
        if got is None:
            rest += index
        else:
            _merge(group, got, index)
    if rest:
        rest.sort()
        _merge(group, from_parsed([parse_csv(ent, datas[i], wheres[i]) for i in rest]), rest)
    return group


def _undecodable(raw: bytes, file: int, no: int, where: str) -> tuple | None:
    """The quarantine row of a line that is not UTF-8 (the bytes kept, escaped), else None."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (file, no, raw.decode("utf-8", errors="backslashreplace"), "encoding_error", None,
                f"{where} line {no}: bytes are not valid UTF-8 ({exc.reason} at byte "
                f"{exc.start})")
    return None


def _csv_lines(ent: Entity, header: bytes, datas: list[bytes], wheres: list[str]
               ) -> Group | None:
    """Files with one header and no quotes, CR or NUL as one read; None when the header is not
    usable (the file-by-file path then words the problem)."""
    try:
        columns = header.decode("utf-8").split(",")
    except UnicodeDecodeError:
        return None
    if not header.strip() or len(set(columns)) != len(columns):
        return None
    rests = [memoryview(d)[len(header) + 1:] for d in datas]  # views: the join is the copy
    ended = [not r or d.endswith(b"\n") for d, r in zip(datas, rests, strict=True)]
    body = b"".join(itertools.chain.from_iterable(
        (r,) if done else (r, b"\n") for r, done in zip(rests, ended, strict=True)))
    array = np.frombuffer(body, np.uint8)
    ends = np.flatnonzero(array == 10)
    total = len(ends)
    starts = np.concatenate([[0], ends[:-1] + 1])
    sizes = np.cumsum([len(r) + (not done) for r, done in zip(rests, ended, strict=True)])
    first = np.searchsorted(ends, np.concatenate([[0], sizes[:-1]]))
    counts = np.diff(np.append(first, total))
    file_of = np.repeat(np.arange(len(datas), dtype=np.int32), counts)
    number = np.arange(total, dtype=np.int64) - first[file_of] + 2  # line 1 is the header
    blank = ends == starts
    errors: list[tuple] = []
    if not body.isascii():  # only lines with a byte above 127 can be undecodable
        for g in np.unique(np.searchsorted(ends, np.flatnonzero(array >= 128))).tolist():
            raw = body[int(starts[g]):int(ends[g])]
            i, no = int(file_of[g]), int(number[g])
            if error := _undecodable(raw, i, no, wheres[i]):
                errors.append(error)
                blank[g] = True  # not a record
    keep = np.flatnonzero(~blank)
    if blank.any():
        view, pieces, previous = memoryview(body), [], -1
        for g in [*np.flatnonzero(blank).tolist(), total]:
            if g > previous + 1:
                pieces.append(view[int(starts[previous + 1]):int(ends[g - 1]) + 1])
            previous = g
        body = b"".join(pieces)
    lines = pl.read_csv(io.BytesIO(body), has_header=False, separator="\x00", quote_char=None,
                        schema={RAW: pl.String}) if len(keep) else pl.DataFrame(
        schema={RAW: pl.String})
    if lines.height != len(keep):
        return None
    lines = lines.with_columns(
        pl.Series(LINE, number[keep]), pl.Series(FILE, file_of[keep]),
        (pl.col(RAW).str.count_matches(",", literal=True) + 1).alias("_n"),
        (pl.col(RAW).str.strip_chars(BLANK) == "").alias("_blank"))
    wrong = lines.filter((pl.col("_n") != len(columns)) & ~pl.col("_blank"))
    errors += [(i, no, raw, "malformed_csv", None,
                f"{wheres[i]} line {no}: {k} fields, the header has {len(columns)}")
               for no, raw, k, i in wrong.select(LINE, RAW, "_n", FILE).iter_rows()]
    good = lines.filter((pl.col("_n") == len(columns)) & ~pl.col("_blank"))
    text = header + b"\n" + (body if good.height == lines.height else
                             "\n".join(good[RAW].to_list()).encode())
    frame = read_fitting(text, columns, good.height)
    if frame is None:  # the file-by-file path decides
        return None
    rows = pl.concat([good.select(LINE, RAW, FILE), frame], how="horizontal")
    present = {f.name for f in ent.all_fields if f.name in columns}
    read = np.bincount(np.concatenate([rows[FILE].to_numpy(), [e[0] for e in errors]])
                       .astype(np.int64), minlength=len(datas))
    out = Group([], [], [], read.tolist(), [set(present) for _ in datas], [None] * len(datas))
    if rows.height:
        out.text.append(csv_records(ent, columns, rows))
    if errors:
        out.errors.append(error_frame([e[1:] for e in errors]).with_columns(
            pl.Series(FILE, [e[0] for e in errors], dtype=pl.Int32)).sort(FILE, LINE))
    return out


def _read_lines(ent: Entity, body: bytes, starts, ends, skip, expect: int):
    """Typed frame of the lines not in ``skip``; None when polars refuses them."""
    if expect == 0:
        return pl.DataFrame(schema=polars_schema(ent))
    if skip.any():
        view, pieces, previous = memoryview(body), [], -1  # views: one copy (the join), not two
        for i in [*np.flatnonzero(skip).tolist(), len(starts)]:
            if i > previous + 1:
                pieces.append(view[int(starts[previous + 1]):int(ends[i - 1]) + 1])
            previous = i
        body = b"".join(pieces)
    try:
        frame = pl.scan_ndjson(io.BytesIO(body), schema=polars_schema(ent)).collect()
    except Exception:  # something the screen missed: the file-by-file path decides
        return None
    return frame if frame.height == expect else None


def _key_counts(ent: Entity, lines: pl.Series) -> pl.DataFrame:
    """Per line: key separators ``":`` (``k``), those followed by a string (``s``) or by null
    (``n``), and whether the counts cannot vouch for the line (``e``): a ``\\":`` (an escaped
    quote before a colon) is there, or a key may repeat or be unknown
    (``parse.typed.unvouched``).

    Counted by polars on the lines (one pass per count, faster than scanning the bytes);
    the optional space after the colon is only looked for when some line has one."""
    raw = pl.col(RAW)
    if lines.str.contains('": ', literal=True).any():
        strings, nulls = raw.str.count_matches(r'": ?"'), raw.str.count_matches(r'": ?null')
    else:
        strings = raw.str.count_matches('":"', literal=True)
        nulls = raw.str.count_matches('":null', literal=True)
    counts = pl.DataFrame({RAW: lines}).select(
        raw.str.count_matches('":', literal=True).alias("k"), strings.alias("s"),
        nulls.alias("n"), raw.str.contains('\\":', literal=True).alias("e"))
    return counts.with_columns(counts["e"] | unvouched(lines, ent))


def _fits(ent: Entity, frame: pl.DataFrame, counts: pl.DataFrame) -> np.ndarray:
    """Per line read (``counts``: its ``_key_counts``): every key is a spec field holding null
    or a value of its type.

    polars refused a wrong type in number and bool fields already (the screen keeps those
    lines away); it would turn a number into text in a string field and drop unknown keys.
    Without ``\\":`` in a line every ``":`` ends a key, so: keys = non-null values + nulls,
    and keys followed by a string = non-null string-field values. A null under an unknown or
    repeated key balances the counts too: ``e`` marks such lines as it marks escapes. Such a
    line only takes the exact path, which decides (and refuses a repeated key).
    """
    strings = string_fields(ent)
    nonnull = frame.select(
        pl.sum_horizontal([pl.col(c).is_not_null() for c in frame.columns]).alias("all"),
        pl.sum_horizontal([pl.col(c).is_not_null() for c in strings] or [pl.lit(0)])
        .alias("str"))
    return ((counts["k"] == nonnull["all"] + counts["n"]) & (counts["s"] == nonnull["str"])
            & ~counts["e"]).to_numpy()


def _presence(ent: Entity, group: Group) -> None:
    """Which added fields each file has (schema drift: they appear mid-stream; only they
    decide columns, see ``bronze.bronze_frame``)."""
    added = [f.name for f in ent.added_fields]
    if not added:
        return
    for frames, native in ((group.native, True), (group.text, False)):
        for frame in frames:
            for n in added:  # the files of the rows that hold it (cheaper than a group_by)
                c = n if native else kind_col(n)
                files = frame.select(pl.col(FILE).filter(pl.col(c).is_not_null()).unique())
                for i in files[FILE].to_list():
                    group.present[i].add(n)


def _raw_of(lines: pl.Series, first: int) -> RawOf:
    def raw_of(numbers: list[int]) -> list[str]:
        return lines.gather(np.asarray(numbers, np.int64) - 1 + first).to_list()

    return raw_of

