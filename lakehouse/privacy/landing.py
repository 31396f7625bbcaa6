"""Erasing lines from landing files without making them new deliveries.

A landed file's identity is its path plus the SHA-256 of its content (``ingest.landing``), so
a rewritten file would be ingested again as a new delivery. The person's lines are replaced by
empty lines (the file keeps its other records on the same line numbers, so lineage and
quarantine references stay true; an empty line is no record), the modification time (the
records' knowledge time) is restored, and the new content's application id is committed to
every table that already holds the old one: bronze then skips it as handled.
"""

from __future__ import annotations

import os
from pathlib import Path

from lakehouse.home import Home
from lakehouse.ingest.bronze import entities_of
from lakehouse.ingest.landing import LandingFile, landing_file
from lakehouse.storage.paths import bronze_uri, quarantine_uri

LINE_FORMATS = ("jsonl", "csv")


def lines_holding(data: bytes, substrings: list[str]) -> set[int]:
    """1-based numbers of the lines holding any of the values (any case; a CSV header, line
    1, is never one)."""
    needles = [s.lower().encode() for s in substrings]
    found = set()
    for n, line in enumerate(data.split(b"\n"), start=1):
        low = line.lower()
        if any(x in low for x in needles):
            found.add(n)
    return found


def blank_lines(data: bytes, numbers: set[int]) -> bytes:
    """The content with the numbered lines emptied (line count unchanged)."""
    lines = data.split(b"\n")
    return b"\n".join(b"" if n in numbers else line for n, line in enumerate(lines, start=1))


def targets(home: Home, f: LandingFile) -> list[str]:
    """Every table that records a landed file as handled: its bronze tables and quarantine."""
    return [bronze_uri(home, e.channel, e.name) for e in entities_of(f)] + [quarantine_uri(home)]


def rewrite(home: Home, path: Path, numbers: set[int]) -> tuple[LandingFile, LandingFile]:
    """Blank the lines of one landing file in place (atomic rename, delivery time kept);
    returns the file before and after."""
    before = landing_file(home, path)
    stat = path.stat()
    tmp = path.with_name(f".{path.name}.erasing")
    tmp.write_bytes(blank_lines(path.read_bytes(), numbers))
    os.utime(tmp, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(tmp, path)
    return before, landing_file(home, path)


def line_files(home: Home) -> list[Path]:
    """Landing files read line by line (JSON lines, CSV): the ones that hold person records."""
    return sorted(p for p in home.landing.glob("*/*")
                  if p.is_file() and not p.name.startswith(".")
                  and p.suffix.lstrip(".") in LINE_FORMATS)
