"""Ingest a batch of landing files: parse -> validate -> bronze tables + quarantine, once.

Exactly once per file and table (see ``commit``). Each table is one commit per batch, made as
soon as its last group is parsed (while later groups are), unless the frames held pass
``FLUSH_BYTES``: then what is pending is committed early, so memory stays bounded. Files of one
entity are parsed and validated together (per ``plan.GROUP_BYTES`` group, see ``group``), which
keeps the per-file cost of a batch of many small files low.
"""

from __future__ import annotations

import itertools
import os
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from lakehouse.home import Home
from lakehouse.ingest.bronze.commit import Commits
from lakehouse.ingest.bronze.plan import Step, plan
from lakehouse.ingest.bronze.results import FileCounts, IngestResult, TableCounts
from lakehouse.ingest.bronze.work import Batch, GroupOut, group_work
from lakehouse.ingest.landing import LandingFile, location_timezones
from lakehouse.ingest.release import release_waiting
from lakehouse.storage.paths import bronze_uri, quarantine_uri

FLUSH_BYTES = 1 << 30  # commit what is pending once the frames held reach about this
# groups parsed and validated at once (LAKEHOUSE_THREADS=1: one at a time)
WORKERS = int(os.environ.get("LAKEHOUSE_THREADS") or min(2, os.cpu_count() or 1))


def ingest_files(
    home: Home | str | Path,
    files: list[LandingFile],
    batch_id: str,
    *,
    now: datetime | None = None,
    max_skew: timedelta = timedelta(days=1),
) -> IngestResult:
    """Ingest ``files`` as batch ``batch_id``; safe to re-run, in any order, after any crash."""
    home = home if isinstance(home, Home) else Home.resolve(home)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    ingested_at = now.replace(microsecond=now.microsecond)
    files = sorted({f.identity: f for f in files}.values(), key=lambda f: f.identity)
    steps, skipped = plan(home, files)
    counts_of = {f.identity: FileCounts(f.relpath, f.channel, f.entity,
                                        skipped=f.identity in skipped) for f in files}
    result = IngestResult(batch_id, files=list(counts_of.values()))
    zones = (location_timezones(home) if any(ents and ents[0].channel == "pos"
                                             for ents, _ in steps) else None)
    batch = Batch(home, batch_id, now, ingested_at, max_skew, zones)
    _work_and_commit(steps, partial(group_work, batch=batch), home, result, counts_of)
    assert result.rows_read == result.rows_bronze + result.rows_quarantined
    # rows that waited for reference data this batch may have brought (a store's time zone)
    for name, n in release_waiting(home, batch_id, now=now, max_skew=max_skew,
                                   ingested_at=ingested_at).items():
        tc = result.tables.setdefault(name, TableCounts(name))
        tc.rows_appended += n
        tc.rows_released += n
    return result


def _work_and_commit(steps: list[Step], work: Callable[..., GroupOut], home: Home,
                     result: IngestResult, counts_of: dict[str, FileCounts]) -> None:
    """Work every step and commit what it produced into ``result``'s tables.

    Groups are parsed and validated on a small thread pool (polars, Arrow and hashing run
    outside the GIL); results are taken in plan order. A bronze table is committed (on the
    writer thread) as soon as its last group is in, the quarantine once all are: tables and
    commits are the same as one thread would make them.
    """
    commits = Commits(result, quarantine_uri(home))
    left: dict[str, int] = defaultdict(int)  # groups still to come per bronze table
    for ents, _ in steps:
        for e in ents:
            left[bronze_uri(home, e.channel, e.name)] += 1
    pool = ThreadPoolExecutor(max(1, WORKERS)) if WORKERS > 1 and len(steps) > 1 else None
    try:
        for (ents, _), out in _in_order(steps, work, pool):
            commits.add(out)
            _count(result, counts_of, out)
            del out
            for e in ents:
                uri = bronze_uri(home, e.channel, e.name)
                left[uri] -= 1
                if not left[uri] and uri in commits.bronze:
                    commits.commit(uri)
            if commits.held > FLUSH_BYTES:
                commits.flush()
        commits.flush()
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        commits.close()


def _in_order(steps: list[Step], work: Callable[..., GroupOut],
              pool: ThreadPoolExecutor | None) -> Iterator[tuple[Step, GroupOut]]:
    """(step, what ``work`` made of it) in plan order, with up to ``WORKERS`` steps in the works
    on ``pool`` (on this thread, one at a time, without one)."""
    pending: deque = deque()
    todo = iter(steps)
    while True:
        while len(pending) < max(1, WORKERS) and (step := next(todo, None)) is not None:
            pending.append((step, pool.submit(work, *step) if pool else None))
        if not pending:
            return
        step, head = pending.popleft()
        yield step, (head.result() if head is not None else work(*step))


def _count(result: IngestResult, counts_of: dict[str, FileCounts], out: GroupOut) -> None:
    """A group's rows added to the batch's counts: per file, per table, quarantined per kind."""
    # one count over the group's files (a group_by per file costs more than the rows)
    kinds = Counter(itertools.chain.from_iterable(
        part["error_kind"].to_list() for _, part in out.quarantine))
    for kind, n in kinds.items():
        result.quarantined_by_kind[kind] = result.quarantined_by_kind.get(kind, 0) + n
    for identity, (read, good, bad) in out.files.items():
        counts = counts_of[identity]
        counts.rows_read += read
        counts.rows_bronze += good
        counts.rows_quarantined += bad
        assert counts.rows_read == counts.rows_bronze + counts.rows_quarantined
    for name, (read, good, bad) in out.tables.items():
        tc = result.tables.setdefault(name, TableCounts(name))
        tc.rows_read += read
        tc.rows_bronze += good
        tc.rows_quarantined += bad
