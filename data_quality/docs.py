"""Data Docs: the gates' GX validation results rendered by GX's own site builder.

Results are stored under ``H/docs/gx/_results`` and rendered into ``H/docs/gx/`` (its
``index.html`` lists every kept validation; each has its page), so a check in the Dagster UI
links to pages anyone can open without Dagster or Python. Results of PII columns carry no values
(``data_quality.gx_engine`` scrubs them before a result is kept). A step renders once, with
every result of its gates, not once per table.

GX's site builder rebuilds the index from every stored result on each render, so without a
bound each render would cost more with every run the home has seen (20 suites: 0.27 s with no
history, 9.5 s after 1,000 runs, 28 s after 3,000: ``bench/bench_data_docs.py``). Each suite
keeps its ``LAKEHOUSE_DOCS_KEEP`` newest results (default ``KEEP``); older results and their
pages are deleted before a render. The validation registry (``H/lake/quality/validations``) and
Dagster's check history keep every outcome; only the rendered detail goes. A result another
process deletes while GX builds the index is skipped by GX with a warning (it reads each
result under its own ``try``), so two runs rendering at once do not fail each other.

Even bounded, the index is the dear part of a render: with about 90 suites and 10 results
each, every index rebuild reads some 900 stored results (0.5 s with 894 stored), and a
`lakehouse run` renders once per step with gates (10 steps). Inside ``one_index``
(`lakehouse run` holds it for its whole run) a render writes its result pages only, and the
index is rebuilt once when the run ends, failed or not. A launched run's worker (the scheduled
nightly, whose steps run in processes of their own, and every micro-batch) does the same
across processes with ``deferred_index``. Every other caller (tests, notebooks, a
materialization launched from the UI outside the lake's jobs) rebuilds the index with each
render, as before.
"""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

KEEP = 10
KEEP_ENV = "LAKEHOUSE_DOCS_KEEP"
RESULTS = "_results"
PAGES = "validations"
# set by ``deferred_index`` (a run worker) for its steps' processes: the worker's mark
DEFER_ENV = "LAKEHOUSE_DOCS_DEFER_INDEX"
STALE = ".index-stale-"  # + the worker's mark: a render left the site's index behind
# the sites rendered into inside ``one_index``, whose index is rebuilt when it ends
_ONE_INDEX: ContextVar[list[Path] | None] = ContextVar("docs_one_index", default=None)


def docs_dir(home_root: Path) -> Path:
    return home_root / "docs" / "gx"


def index_page(home_root: Path) -> Path:
    return docs_dir(home_root) / "index.html"


def keep_per_suite() -> int:
    """How many results each suite keeps: ``LAKEHOUSE_DOCS_KEEP``, else ``KEEP``."""
    raw = os.environ.get(KEEP_ENV)
    if raw is None:
        return KEEP
    try:
        keep = int(raw)
    except ValueError:
        keep = 0
    if keep < 1:
        raise ValueError(f"{KEEP_ENV}={raw!r}: expected a whole number of results per suite, "
                         "at least 1")
    return keep


def prune(site_dir: Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest stored results of each suite, and their pages;
    returns the results deleted.

    GX stores a result at ``_results/<suite>/<run name>/<run time>/<batch>.json`` (the suite
    name's dots are folders) and renders it at the same path under ``validations/`` as .html.
    The run time (``20261205T055620.693995Z``) sorts as text."""
    results = site_dir / RESULTS
    if not results.is_dir():
        return []
    by_suite: dict[tuple[str, ...], list[tuple[str, Path]]] = defaultdict(list)
    for path in results.rglob("*.json"):
        parts = path.relative_to(results).parts
        if len(parts) >= 4:
            by_suite[parts[:-3]].append((parts[-2], path))
    gone: list[Path] = []
    for stored in by_suite.values():
        stored.sort(reverse=True)
        for _, path in stored[keep:]:
            relative = path.relative_to(results)
            page = (site_dir / PAGES / relative).with_suffix(".html")
            path.unlink(missing_ok=True)
            page.unlink(missing_ok=True)
            for folder in (path.parent, page.parent):
                _remove_empty(folder, stop=folder.parents[1])
            gone.append(path)
    return gone


def _remove_empty(folder: Path, stop: Path) -> None:
    """Remove ``folder`` and its parents up to (not including) ``stop`` while they are empty
    (one another process just removed, or wrote into, is left to it)."""
    while folder != stop:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def render(home_root: Path, results: Iterable[Any], run_id: str | None = None,
           keep: int | None = None) -> Path | None:
    """Render GX validation results (``GateResult.gx_result``; None entries skipped) into the
    home's Data Docs site, after pruning it to ``keep`` results per suite (default
    ``keep_per_suite()``) besides the new ones; the index page, or None when there was
    nothing to render."""
    kept = [r for r in results if r is not None]
    if not kept:
        return None
    from data_quality.gx_engine import build_data_docs

    site = docs_dir(home_root)
    prune(site, max((keep or keep_per_suite()) - 1, 0))
    deferred = _ONE_INDEX.get()
    worker = os.environ.get(DEFER_ENV)
    index, _ = build_data_docs(site, kept, run_name=run_id,
                               index=deferred is None and not worker)
    if deferred is not None:
        deferred.append(site)
    elif worker:
        (site / f"{STALE}{worker}").touch()
    return index


@contextmanager
def one_index() -> Iterator[None]:
    """Within it, ``render`` writes result pages and leaves the index; on the way out (the body
    raised or not) the index of each site rendered into is rebuilt once, from every result
    the site keeps."""
    sites: list[Path] = []
    token = _ONE_INDEX.set(sites)
    try:
        yield
    finally:
        _ONE_INDEX.reset(token)
        if sites:
            from data_quality.gx_engine import build_index

            for site in dict.fromkeys(sites):
                build_index(site)


@contextmanager
def deferred_index(home_root: Path) -> Iterator[None]:
    """``one_index`` for a launched run's worker, whose steps may run in processes of their
    own: renders in this process and in the processes it starts from now on (they inherit
    ``LAKEHOUSE_DOCS_DEFER_INDEX``) write pages only and leave a mark named for this worker
    in the site; on the way out the index is rebuilt once if a render left the mark. A mark
    of its own per worker: another run's worker rebuilding meanwhile does not take it."""
    site = docs_dir(home_root)
    previous = os.environ.get(DEFER_ENV)
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    os.environ[DEFER_ENV] = token
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(DEFER_ENV, None)
        else:
            os.environ[DEFER_ENV] = previous
        mark = site / f"{STALE}{token}"
        if mark.exists():
            mark.unlink(missing_ok=True)
            from data_quality.gx_engine import build_index

            build_index(site)
