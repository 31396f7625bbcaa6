"""Commits of a batch, exactly once per file and table.

Every file's rows (possibly none) are committed to each table it feeds together with
``Transaction(file.app_id, 1)``; ``append_files_once`` checks those ids on the snapshot it
writes through, so a re-run, a re-delivery or a retry after a crash writes only what is
missing. The quarantine table commits each file's transaction last, after every bronze table
it feeds, so the lake itself says which files are done (``ingested``). There are no side files.
"""

from __future__ import annotations

from collections import defaultdict, deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from deltalake import DeltaTable

from lakehouse.home import Home
from lakehouse.ingest.bronze.results import IngestResult, TableCounts
from lakehouse.ingest.bronze.work import GroupOut
from lakehouse.ingest.landing import LandingFile
from lakehouse.storage.delta import append_files_once, committed
from lakehouse.storage.paths import quarantine_uri

QUARANTINE_TABLE = "quarantine/rows"
APP_VERSION = 1


class Commits:
    """What the groups of a batch produced, held until committed: bronze parts per table
    (committed on a writer thread, while later groups are parsed) and quarantine parts
    (committed by ``flush``, after the bronze tables); ``held`` is the bytes of frames held."""

    def __init__(self, result: IngestResult, quarantine: str) -> None:
        self.result = result
        self.quarantine = quarantine
        self.bronze: dict[str, list] = defaultdict(list)  # table uri -> parts
        self.q_parts: list = []
        self.held = 0
        self._writer = ThreadPoolExecutor(1)
        self._commits: deque[tuple[str, dict[str, int], Future]] = deque()

    def add(self, out: GroupOut) -> None:
        for uri, parts in out.bronze:
            self.bronze[uri] += parts
        self.q_parts.extend(out.quarantine)
        self.held += out.held

    def commit(self, uri: str) -> None:
        """Commit what is pending for one bronze table, on the writer thread."""
        parts = self.bronze.pop(uri)
        sizes = {ids[0]: len(frame) for ids, frame in parts}
        self._commits.append((uri, sizes, self._writer.submit(append_files_once, uri, parts,
                                                              APP_VERSION)))

    def settle(self) -> None:
        while self._commits:
            uri, sizes, done = self._commits.popleft()
            written = done.result()
            tc = self.result.tables[Path(uri).name]
            tc.rows_appended += sum(sizes[a] for a in written)
            tc.files_committed += len(written)

    def flush(self) -> None:
        """Commit everything held: every bronze table, then the quarantine."""
        for uri in sorted(self.bronze):
            self.commit(uri)
        self.settle()
        if self.q_parts:
            sizes = {ids[0]: len(frame) for ids, frame in self.q_parts}
            written = append_files_once(self.quarantine, self.q_parts, APP_VERSION)
            tc = self.result.tables.setdefault(QUARANTINE_TABLE, TableCounts(QUARANTINE_TABLE))
            tc.rows_appended += sum(sizes[a] for a in written)
            tc.files_committed += len(written)
            self.q_parts.clear()
        self.held = 0

    def close(self) -> None:
        self._writer.shutdown(wait=True, cancel_futures=True)


def ingested(home: Home | str | Path, files: list[LandingFile]) -> set[str]:
    """Identities of the ``files`` whose content is fully ingested: the quarantine table
    commits each file's transaction last, after every bronze table it feeds, so the lake
    itself says which files are done (no list kept beside it)."""
    home = home if isinstance(home, Home) else Home.resolve(home)
    uri = quarantine_uri(home)
    if not files or not DeltaTable.is_deltatable(uri):
        return set()
    dt = DeltaTable(uri)
    return {f.identity for f in files if committed(dt, f.app_id, APP_VERSION)}
