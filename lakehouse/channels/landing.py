"""What has landed: the files of a channel, identified by path and content."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from lakehouse.channels.spec import CHANNELS, entity_for_file
from lakehouse.home import Home


@dataclass(frozen=True)
class LandedFile:
    channel: str
    entity: str
    path: Path
    relative_path: str  # relative to the landing root, e.g. "web/events_20260101_000.jsonl"
    size: int
    sha256: str

    @property
    def identity(self) -> str:
        """Path plus content: a changed file under an old name is new work."""
        return f"{self.relative_path}@{self.sha256}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def landed_files(home: Home, channel: str) -> list[LandedFile]:
    """Every file of a channel in name order; stray files raise a clear error."""
    folder = home.channel_dir(channel)
    if not folder.is_dir():
        return []
    files = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        ent = entity_for_file(channel, path.name)
        files.append(
            LandedFile(
                channel=channel,
                entity=ent.name,
                path=path,
                relative_path=f"{channel}/{path.name}",
                size=path.stat().st_size,
                sha256=_sha256(path),
            )
        )
    return files


def all_landed_files(home: Home) -> list[LandedFile]:
    return [f for ch in CHANNELS for f in landed_files(home, ch.name)]


def landing_fingerprint(files: list[LandedFile]) -> str:
    """A stable id for a set of files, whatever order they are listed in."""
    digest = hashlib.sha256()
    for identity in sorted(f.identity for f in files):
        digest.update(identity.encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]
