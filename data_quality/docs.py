"""Data Docs: every gate result as static HTML in the home (``H/docs/quality/``).

One page per validation (``<suite>/<stamp>.html``), the suite's latest result
(``<suite>/latest.html``) and an index of every suite's latest status (``index.html``), so a
check in the Dagster UI links to a page anyone can open without Dagster or Python. Pages show
what the gate's report shows: counts, observed values and samples, never values of PII columns.
Rendered here rather than by GX's Data Docs builder, because the gate validates in chunks and
in DuckDB, and GX's site builder only renders results stored in a file-backed GX context.
"""

from __future__ import annotations

import html
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from data_quality.gate import GateResult

_STYLE = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
.ok{color:#1a7f37}.bad{color:#cf222e;font-weight:bold}"""


def docs_dir(home_root: Path) -> Path:
    return home_root / "docs" / "quality"


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{_STYLE}</style></head><body>{body}</body></html>")


def _result_html(result: GateResult, at: datetime, run_id: str | None) -> str:
    status = "<span class=ok>passed</span>" if result.passed else "<span class=bad>FAILED</span>"
    rows = []
    for o in sorted(result.outcomes, key=lambda o: (o.passed, o.name)):
        shown = o.observed if o.observed is not None else (
            "(PII: values withheld)" if o.sample is None and o.unexpected_count else o.sample)
        rows.append(
            f"<tr><td>{html.escape(o.name)}</td>"
            f"<td class={'ok' if o.passed else 'bad'}>{'yes' if o.passed else 'NO'}</td>"
            f"<td>{o.element_count or ''}</td><td>{o.unexpected_count or ''}</td>"
            f"<td>{html.escape('' if shown is None else str(shown))}</td></tr>")
    version = "" if result.version is None else f", Delta version {result.version}"
    return _page(result.suite, (
        f"<p><a href='../index.html'>all suites</a></p><h1>{html.escape(result.suite)}</h1>"
        f"<p>{status}: {len(result.outcomes) - len(result.failed)} of {len(result.outcomes)} "
        f"expectations on {result.rows} rows of <code>{html.escape(result.table)}</code>"
        f"{version}; validated {at.isoformat(timespec='seconds')}"
        f"{'' if run_id is None else f', run {html.escape(run_id)}'}.</p>"
        "<table><tr><th>expectation</th><th>passed</th><th>rows</th><th>unexpected</th>"
        f"<th>observed / sample</th></tr>{''.join(rows)}</table>"))


def write_data_docs(home_root: Path, result: GateResult, run_id: str | None = None,
                    at: datetime | None = None) -> Path:
    """Write the page of one validation, refresh the suite's latest page and the index;
    returns the page's path."""
    at = at or datetime.now(UTC)
    root = docs_dir(home_root)
    suite_dir = root / result.suite
    suite_dir.mkdir(parents=True, exist_ok=True)
    page = _result_html(result, at, run_id)
    path = suite_dir / f"{at.strftime('%Y%m%dT%H%M%S%fZ')}.html"
    _write(path, page)
    _write(suite_dir / "latest.html", page)
    _write(suite_dir / "latest.json", json.dumps({
        "suite": result.suite, "table": result.table, "passed": result.passed,
        "rows": result.rows, "failed": len(result.failed), "at": at.isoformat(),
        "page": path.name}))
    _write_index(root)
    return path


def _write_index(root: Path) -> None:
    rows = []
    for latest in sorted(root.glob("*/latest.json")):
        s = json.loads(latest.read_text())
        status = "<span class=ok>passed</span>" if s["passed"] else (
            f"<span class=bad>FAILED ({s['failed']})</span>")
        rows.append(f"<tr><td><a href='{html.escape(latest.parent.name)}/latest.html'>"
                    f"{html.escape(s['suite'])}</a></td><td>{status}</td><td>{s['rows']}</td>"
                    f"<td>{html.escape(s['at'][:19])}</td></tr>")
    _write(root / "index.html", _page("Data quality", (
        "<h1>Data quality: latest result of every suite</h1><table><tr><th>suite</th>"
        f"<th>status</th><th>rows validated</th><th>at (UTC)</th></tr>{''.join(rows)}</table>")))
