"""The landing zone: which files are there, what they hold, and what identifies them.

A file's identity is its path relative to ``landing/`` plus the SHA-256 of its content, so a
changed file re-delivered under an old name is new work, and the same content is never
ingested twice. Batch ids derive from the sorted identities, so the same set of files is the
same batch whatever order it arrived in.

A file's delivery time (its modification time, UTC microseconds) is the knowledge time of every
record it brings (bronze ``_delivered_at``, DESIGN.md rule 8). It is not part of the identity:
touching a file changes neither its identity nor its batch, and never makes it new work.
"""

from __future__ import annotations

import glob
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from lakehouse.channels import Entity, entity_for_file
from lakehouse.home import Home

_SKIP_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload")


@dataclass(frozen=True, order=True)
class LandingFile:
    """One landed file; ``entity`` is None for a file whose name matches no spec pattern."""

    relpath: str  # relative to landing/, with "/" separators: "web/events_20260301_000.jsonl"
    sha256: str
    size: int
    channel: str
    entity: str | None
    path: Path
    # knowledge time of its records: the file's mtime (UTC, us); not part of the identity
    delivered_at: datetime | None = field(default=None, compare=False)

    @property
    def identity(self) -> str:
        return f"{self.relpath}@{self.sha256}"

    @property
    def app_id(self) -> str:
        """Delta application-transaction id of this file's content in every table it feeds."""
        return f"lakehouse.ingest/{self.identity}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def mtime_utc(path: Path) -> datetime:
    """A file's modification time as a UTC datetime truncated to microseconds: its delivery
    time (what the simulator sets with ``os.utime``, and what a copy with ``cp -p`` keeps)."""
    return _from_ns(path.stat().st_mtime_ns)


def _from_ns(ns: int) -> datetime:
    us = ns // 1000
    return datetime.fromtimestamp(us // 1_000_000, UTC).replace(microsecond=us % 1_000_000)


def landing_file(home: Home, path: Path) -> LandingFile:
    rel = path.relative_to(home.landing).as_posix()
    channel = rel.split("/", 1)[0]
    try:
        ent: Entity | None = entity_for_file(channel, path.name)
    except ValueError:
        ent = None
    st = path.stat()
    return LandingFile(rel, sha256_file(path), st.st_size, channel,
                       ent.name if ent else None, path, _from_ns(st.st_mtime_ns))


def delivered_at(f: LandingFile) -> datetime:
    """The file's delivery time: as discovered, else its current modification time."""
    return f.delivered_at if f.delivered_at is not None else mtime_utc(f.path)


def discover(home: Home | str | Path, channel: str | None = None) -> list[LandingFile]:
    """Every landed file (``landing/<channel>/<file>``; of ``channel`` only, when given),
    sorted by path. Each file is hashed (its identity), so a caller that needs one channel
    names it: at 10M events the whole landing zone took 1.5 s to hash.

    Hidden files and in-flight names (``.tmp``, ``.part``) are not landed yet and are left alone.
    """
    home = home if isinstance(home, Home) else Home.resolve(home)
    if not home.landing.exists():
        return []
    found = []
    for path in sorted(home.landing.glob(f"{glob.escape(channel) if channel else '*'}/*")):
        if not path.is_file() or path.name.startswith(".") or path.name.endswith(_SKIP_SUFFIXES):
            continue
        found.append(landing_file(home, path))
    return found


def batch_id_for(files: list[LandingFile]) -> str:
    """Stable id of a set of files: the same files give the same id in any order."""
    digest = hashlib.sha256("\n".join(sorted(f.identity for f in files)).encode())
    return "b-" + digest.hexdigest()[:20]


def location_timezones(home: Home) -> dict[str, str]:
    """location_code -> IANA zone from every readable locations file (later names win)."""
    zones: dict[str, str] = {}
    for path in sorted(home.channel_dir("locations").glob("locations_*.json")):
        try:
            doc = json.loads(path.read_bytes().decode("utf-8"))
            rows = doc.get("locations", []) if isinstance(doc, dict) else []
        except (ValueError, OSError):
            continue
        for row in rows:
            if (isinstance(row, dict) and isinstance(row.get("location_code"), str)
                    and isinstance(row.get("timezone"), str)):
                zones[row["location_code"]] = row["timezone"]
    return zones
