"""Data Docs: the gates' GX validation results rendered by GX's own site builder.

Results are stored under ``H/docs/gx/_results`` and rendered into ``H/docs/gx/`` (its
``index.html`` lists every validation; each has its page), so a check in the Dagster UI links
to pages anyone can open without Dagster or Python. Results of PII columns carry no values
(``data_quality.gx_engine`` scrubs them before a result is kept). A step renders once, with
every result of its gates, not once per table.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any


def docs_dir(home_root: Path) -> Path:
    return home_root / "docs" / "gx"


def index_page(home_root: Path) -> Path:
    return docs_dir(home_root) / "index.html"


def render(home_root: Path, results: Iterable[Any], run_id: str | None = None) -> Path | None:
    """Render GX validation results (``GateResult.gx_result``; None entries skipped) into the
    home's Data Docs site; the index page, or None when there was nothing to render."""
    kept = [r for r in results if r is not None]
    if not kept:
        return None
    from data_quality.gx_engine import build_data_docs

    index, _ = build_data_docs(docs_dir(home_root), kept, run_name=run_id)
    return index
