"""The landing gate: is each landed file, as a whole, a file of the format its name promises?

Row-level faults (one undecodable or unparseable line, a missing field) are not the file
gate's business: ingestion quarantines such rows with file, line and reason. The file gate
catches what would otherwise fan out into thousands of quarantined rows or a silent no-op:
an empty or oversized file, a file in another encoding (UTF-16, Latin-1, gzip), a JSON lines
file that is not JSON lines, a JSON document that does not parse (truncated export), a CSV
without the entity's header.

Cost is bounded per file: line formats are judged on a head sample (and the tail of the file
for the encoding), never re-parsed whole; only JSON documents (small reference exports, under
their own size limit) are parsed whole, because a truncated document is unreadable as a whole.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from lakehouse.channels import Channel, Entity, entity_for_file
from lakehouse.ingest.parse.records import is_utf8

# Size limits per format. A line file is read in bounded chunks by ingestion, but a single file
# above this is a delivery problem (a runaway export, a wrong file), not a batch.
MAX_BYTES = {"jsonl": 4 << 30, "csv": 4 << 30, "json": 256 << 20}
HEAD_BYTES = 64 << 10  # the sample of a line file judged for encoding, format and header
TAIL_BYTES = 16 << 10  # the end of the file, judged for encoding
SAMPLE_LINES = 20  # lines of the head sample parsed as JSON (JSON lines)
_SKIP_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload")  # in flight, not landed yet
_FOREIGN_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE,
                 codecs.BOM_UTF32_BE)


@dataclass(frozen=True)
class FileFinding:
    """What the gate found for one landed file; ``problems`` empty means it passed."""

    relpath: str  # relative to landing/
    entity: str | None  # None: the name matches no file pattern of the channel
    size: int
    mtime: float  # seconds since the epoch
    problems: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return self.entity is not None and not self.problems


def landed_paths(landing: Path, channel: str) -> list[Path]:
    """Every landed file of a channel (what ``lakehouse.ingest.discover`` sees), unhashed."""
    folder = landing / channel
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and not p.name.startswith(".")
                  and not p.name.endswith(_SKIP_SUFFIXES))


def inspect_channel(landing: Path, channel: Channel,
                    limits: dict[str, int] = MAX_BYTES) -> list[FileFinding]:
    return [inspect_file(landing, path, limits) for path in landed_paths(landing, channel.name)]


def inspect_file(landing: Path, path: Path, limits: dict[str, int] = MAX_BYTES) -> FileFinding:
    rel = path.relative_to(landing).as_posix()
    channel = rel.split("/", 1)[0]
    stat = path.stat()
    try:
        ent: Entity | None = entity_for_file(channel, path.name)
    except ValueError:
        ent = None
    if ent is None:
        return FileFinding(rel, None, stat.st_size, stat.st_mtime)
    return FileFinding(rel, ent.name, stat.st_size, stat.st_mtime,
                       tuple(file_problems(path, ent, stat.st_size, limits)))


def file_problems(path: Path, ent: Entity, size: int,
                  limits: dict[str, int] = MAX_BYTES) -> list[str]:
    """Why the file cannot be ingested as a whole (empty list: it can)."""
    if size == 0:
        return ["empty file (0 bytes)"]
    limit = limits[ent.format]
    if size > limit:
        return [f"{size} bytes, above the {ent.format} limit of {limit} bytes"]
    if ent.format == "json":
        return _document_problems(path.read_bytes())
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
        tail = b""
        if size > HEAD_BYTES:
            fh.seek(max(HEAD_BYTES, size - TAIL_BYTES))
            tail = fh.read(TAIL_BYTES)
    problems = _encoding_problems(head, tail, complete=size <= HEAD_BYTES)
    if problems:
        return problems
    if ent.format == "csv":
        return _header_problems(head, ent)
    return _json_lines_problems(head, complete=size <= HEAD_BYTES)


def _sample_lines(data: bytes, complete: bool) -> list[bytes]:
    """Whole lines of a sample (the last one only when the sample is the whole file)."""
    lines = data.split(b"\n")
    if not complete:
        lines = lines[:-1]  # cut mid-line
    return [line.rstrip(b"\r") for line in lines if line.strip()]


def _encoding_problems(head: bytes, tail: bytes, complete: bool) -> list[str]:
    if head.startswith(_FOREIGN_BOMS):
        return ["not UTF-8: starts with a UTF-16/UTF-32 byte-order mark"]
    if head[:2] == b"\x1f\x8b":
        return ["not text: a gzip archive (deliver it uncompressed)"]
    if b"\x00" in head:
        return ["not UTF-8 text: NUL bytes in the first "
                f"{len(head)} bytes (binary, or UTF-16 without a byte-order mark)"]
    problems = []
    # Most lines must decode: a few undecodable ones are row faults that ingestion quarantines.
    for where, sample, whole in (("first", head, complete), ("last", tail, True)):
        if where == "last":
            if b"\n" not in sample:
                continue  # one line longer than the tail sample: nothing whole to judge
            sample = sample.split(b"\n", 1)[1]  # drop the line it starts in the middle of
        lines = _sample_lines(sample, whole)
        bad = sum(1 for line in lines if not is_utf8(line))
        if lines and bad * 2 > len(lines):
            problems.append(f"not UTF-8: {bad} of the {len(lines)} {where} lines sampled do not "
                            "decode")
    return problems


def _json_lines_problems(head: bytes, complete: bool) -> list[str]:
    lines = _sample_lines(head, complete)[:SAMPLE_LINES]
    if not lines:
        return [f"JSON lines: no complete line in the first {len(head)} bytes (a single line "
                f"longer than {HEAD_BYTES} bytes, or no line break at all)"]
    first_error = None
    parsed = 0
    for number, line in enumerate(lines, 1):
        try:
            ok = isinstance(json.loads(line), dict)
            error = None if ok else "not a JSON object"
        except ValueError as exc:
            ok, error = False, str(exc)
        parsed += ok
        if not ok and first_error is None:
            first_error = f"line {number}: {error}"
    # the first sampled lines must mostly be objects: one broken line is a quarantined row,
    # none or few parsing means the file is not JSON lines
    if parsed * 2 <= len(lines):
        return [f"not JSON lines: {len(lines) - parsed} of the first {len(lines)} lines are "
                f"not JSON objects ({first_error})"]
    return []


def _document_problems(data: bytes) -> list[str]:
    if data.startswith(_FOREIGN_BOMS) or b"\x00" in data[:HEAD_BYTES]:
        return ["not UTF-8: UTF-16/UTF-32 or binary content"]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [f"not UTF-8: byte {exc.start} does not decode ({exc.reason})"]
    try:
        doc = json.loads(text)
    except ValueError as exc:
        return [f"JSON document does not parse ({exc}): truncated or not JSON"]
    if not isinstance(doc, dict):
        return [f"JSON document is a {type(doc).__name__}, expected an object"]
    return []


def expected_header(ent: Entity) -> tuple[str, ...]:
    return tuple(f.name for f in ent.all_fields)


def _header_problems(head: bytes, ent: Entity) -> list[str]:
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    if first.startswith(codecs.BOM_UTF8):
        first = first[len(codecs.BOM_UTF8):]
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError:
        return ["CSV header (line 1) is not UTF-8"]
    if not text.strip():
        return ["CSV header (line 1) is empty"]
    columns = [c.strip() for c in next(csv.reader([text]))]
    known = set(expected_header(ent))
    if not known & set(columns):
        return [f"CSV header (line 1) names none of the {ent.name} columns: got "
                f"{', '.join(columns[:8])}{' ...' if len(columns) > 8 else ''}"]
    problems = []
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        problems.append(f"CSV header repeats column(s): {', '.join(duplicated)}")
    missing = [f for f in ent.required if f not in columns]
    if missing:
        problems.append(f"CSV header lacks required column(s): {', '.join(missing)}")
    return problems


def newest_file_mtime(landing: Path, channel: str) -> float | None:
    """Seconds since the epoch of the channel's newest landed file (stat only, nothing read)."""
    newest = None
    folder = landing / channel
    if not folder.is_dir():
        return None
    with os.scandir(folder) as entries:
        for entry in entries:
            if (entry.name.startswith(".") or entry.name.endswith(_SKIP_SUFFIXES)
                    or not entry.is_file()):
                continue
            mtime = entry.stat().st_mtime
            newest = mtime if newest is None or mtime > newest else newest
    return newest
