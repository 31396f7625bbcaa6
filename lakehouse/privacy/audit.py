"""The erasure audit log: that an erasure happened, when, and what it removed, without the
personal data itself.

One JSON line per erasure in ``H/privacy/erasures.jsonl`` (beside the lake, not in it: every
directory of a lake layer is a Delta table to its maintenance): an id, the time, the request as
keyed hashes (``HMAC(key, "erasure-request:<kind>:<normalised value>")``: an auditor holding the
key can check whether a given e-mail was erased; the hash differs from the pseudonyms in gold,
so it links to nothing there), row counts per table and each Delta table's version before and
after. Training sets pinned to versions before an erasure read it to refuse a rebuild.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lakehouse.identity.pii import pseudonymise
from lakehouse.storage.validations import NotValidatedError

TIME_TRAVEL_WARNING = (
    "time travel to versions older than this erasure is gone for the tables it rewrote (their "
    "old files and commit logs were removed, by design); training sets pinned to those "
    "versions cannot be rebuilt")


@dataclass
class AuditRecord:
    erasure_id: str
    at: str  # ISO-8601 UTC
    request: list[dict[str, str]]  # {"kind": .., "hash": ..}
    persons: list[str]  # keyed hashes of the person ids
    rows: dict[str, int] = field(default_factory=dict)  # "<layer>/<table>" or file -> count
    versions: dict[str, list[int]] = field(default_factory=dict)  # table -> [before, after]
    landing_files: int = 0
    dry_run: bool = False
    warning: str = TIME_TRAVEL_WARNING


def request_hash(kind: str, normalised: str, key: bytes) -> str:
    return pseudonymise(f"erasure-request:{kind}:{normalised}", key) or ""


def person_hash(person_id: str, key: bytes) -> str:
    return pseudonymise(f"erasure-person:{person_id}", key) or ""


def log_path(lake: Path) -> Path:
    """The log of the home whose lake is ``lake`` (``H/lake`` -> ``H/privacy/...``)."""
    return Path(lake).parent / "privacy" / "erasures.jsonl"


def append(lake: Path, record: AuditRecord) -> None:
    path = log_path(lake)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fh.write(json.dumps(asdict(record), sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def records(lake: Path) -> list[dict]:
    path = log_path(lake)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class ErasedVersionError(NotValidatedError):
    """A pinned table version predates an erasure that rewrote the table."""


def check_pins(lake: Path, versions: Mapping[str, int]) -> None:
    """Raise :class:`ErasedVersionError` when a pinned version is older than an erasure of
    its table: its files are gone, and reading it would bring the person back."""
    stale = []
    for record in records(lake):
        for table, (_, after) in record.get("versions", {}).items():
            pinned = versions.get(table)
            if pinned is not None and 0 <= int(pinned) < after:
                stale.append(f"{table}@{pinned} (erasure {record['erasure_id']} at "
                             f"{record['at']}, now from version {after})")
    if stale:
        raise ErasedVersionError(
            "cannot rebuild from pinned versions that predate a right-to-be-forgotten "
            "erasure: " + "; ".join(sorted(set(stale))) + ". Build a new training set from "
            "the current validated versions")
