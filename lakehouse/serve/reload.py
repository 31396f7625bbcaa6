"""Keeps the served snapshot on the newest validated pins: a background thread polls the
validation registry (its Delta log only, unless a commit landed) and loads a new snapshot when
a served table's pin moved, then swaps it in whole, so a request sees one snapshot or the
next, never a mix. A failed load keeps the old snapshot, says why on ``/health`` and is
retried at the next poll.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from pathlib import Path

from deltalake import DeltaTable

from lakehouse.serve.snapshot import TABLES, Snapshot, load
from lakehouse.storage.validations import registry_uri, validated_versions

POLL_SECONDS = 1.0
log = logging.getLogger(__name__)


class Reloader:
    """The current :class:`Snapshot` of a lake (``H/lake``), reloaded when its pins move."""

    def __init__(self, lake: Path, poll_seconds: float = POLL_SECONDS) -> None:
        self.lake = lake
        self.poll_seconds = poll_seconds
        self.snapshot: Snapshot | None = None
        self.pins: dict[str, int] = {}  # validated pins of the served tables, as last read
        self.polled_at: datetime | None = None
        self.error: str | None = None
        self._registry: DeltaTable | None = None
        self._registry_version: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def reason(self) -> str:
        """Why nothing is served (when ``snapshot`` is None)."""
        if self.error:
            return f"loading the validated inventory positions failed: {self.error}"
        return (f"no validated version of {TABLES['positions']} yet (registry "
                f"{registry_uri(self.lake)}): build the inventory and pass its quality gate")

    def _registry_version_now(self) -> int | None:
        """The registry's latest commit (reads only its log); None while it does not exist."""
        uri = registry_uri(self.lake)
        if self._registry is None:
            if not DeltaTable.is_deltatable(uri):
                return None
            self._registry = DeltaTable(uri)
        else:
            self._registry.update_incremental()
        return self._registry.version()

    def poll(self) -> bool:
        """One poll; True when a new snapshot was swapped in."""
        self.polled_at = datetime.now(UTC)
        served = self.snapshot.versions if self.snapshot else None
        version = self._registry_version_now()
        if version is not None and version != self._registry_version:
            pins = validated_versions(self.lake)
            self.pins = {t: int(pins[t]) for t in TABLES.values() if t in pins}
            self._registry_version = version
        if TABLES["positions"] not in self.pins or self.pins == served:
            return False
        try:
            self.snapshot = load(self.lake, self.pins, self.snapshot)
        except Exception as exc:  # keep serving the old snapshot; retried next poll
            self.error = f"{type(exc).__name__}: {exc}"
            log.exception("inventory API: loading %s failed", self.pins)
            return False
        self.error = None
        log.info("inventory API: serving %s", self.pins)
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.poll()
            except Exception as exc:  # a registry read failed: say so, reopen, try again
                self.error = f"{type(exc).__name__}: {exc}"
                self._registry = None
                log.exception("inventory API: polling the registry failed")

    def start(self) -> None:
        """Load now (a server starts ready when data is), then poll in the background."""
        try:
            self.poll()
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            log.exception("inventory API: first load failed")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="inventory-reload", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
