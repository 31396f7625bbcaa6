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
run renders once per step with gates (10 steps in the nightly, 3 in a micro-batch). Inside
``one_index``, which `lakehouse run` and a launched run's worker hold for the whole run (the
scheduled nightly's steps run in processes of their own: they inherit it), a render writes
its result pages only, and the index is rebuilt once when the run ends, failed or not. Every
other caller (tests, notebooks) rebuilds the index with each render.
"""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

KEEP = 10
KEEP_ENV = "LAKEHOUSE_DOCS_KEEP"
RESULTS = "_results"
PAGES = "validations"
# set inside ``one_index``, for this process and the step processes it starts: the block's mark
DEFER_ENV = "LAKEHOUSE_DOCS_DEFER_INDEX"
STALE = ".index-stale-"  # + the block's mark: a render left the site's index behind


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
    deferring = os.environ.get(DEFER_ENV)  # inside `one_index`: the index is left behind
    index, _ = build_data_docs(site, kept, run_name=run_id, index=not deferring)
    if deferring:
        (site / f"{STALE}{deferring}").touch()
    return index


@contextmanager
def one_index(home_root: Path) -> Iterator[None]:
    """One index rebuild for a whole run of the home at ``home_root``: renders into its site,
    in this process and in the processes it starts from now on (a launched run's step
    processes; they inherit ``LAKEHOUSE_DOCS_DEFER_INDEX``), write their pages only and leave
    a mark named for this block; on the way out (the body raised or not) the index is
    rebuilt once if a render left the mark. The mark is the block's own: another run
    rebuilding the index meanwhile does not take it. A process started before the block (a
    forkserver already running) keeps the environment it started with: a run worker and
    `lakehouse run` enter the block, once per process, before their run starts any."""
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
