"""dbt's documentation site for the published warehouse: models, columns, tests and lineage.

``dbt docs generate --static`` writes one self-contained page (manifest and catalog inlined), so
it opens from any static file server, offline. It is built on demand, not in the nightly run:
nobody pays for it until someone opens it, and it is rebuilt only when the published warehouse
changed. The catalog (row counts, column types) is read from a private copy of the published
file, so an analyst holding ``warehouse.duckdb`` open, or a dbt build writing the build file,
never blocks it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from lakehouse.home import Home
from lakehouse.warehouse.publish import published_path

PAGE = Path("dbt") / "index.html"  # under H/docs
_STAMP = Path("dbt") / "source.json"  # which published warehouse the page describes
_lock = threading.Lock()


class DocsUnavailable(RuntimeError):
    """No published warehouse yet, or dbt failed (the message says which, with dbt's output)."""


def _source(home: Home) -> dict:
    stat = published_path(home).stat()
    return {"path": str(published_path(home)), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def build_dbt_docs(home: Home, project_dir: Path, dbt_executable: str | Path,
                   timeout: float = 600) -> Path:
    """The docs page (``H/docs/dbt/index.html``) for the current published warehouse, built
    with dbt when it is missing or describes an older publish. One build at a time."""
    if not published_path(home).exists():
        raise DocsUnavailable(f"no published warehouse at {published_path(home)} yet: run "
                              "`lakehouse run` (or the nightly job) first")
    docs = home.root / "docs"
    page, stamp = docs / PAGE, docs / _STAMP
    with _lock:
        source = _source(home)
        if page.exists() and stamp.exists() and json.loads(stamp.read_text()) == source:
            return page
        with tempfile.TemporaryDirectory(prefix="dbt-docs-") as tmp:
            work = Path(tmp)
            copy = work / "warehouse.duckdb"
            shutil.copyfile(published_path(home), copy)
            env = {**os.environ, "LAKEHOUSE_HOME": str(home.root),
                   "LAKEHOUSE_DBT_DATABASE": str(copy), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
            env.pop("LAKEHOUSE_WAREHOUSE_UNVALIDATED", None)  # validated versions only
            done = subprocess.run(
                [str(dbt_executable), "docs", "generate", "--static",
                 "--project-dir", str(project_dir), "--profiles-dir", str(project_dir),
                 "--target-path", str(work / "target"), "--log-path", str(work / "logs")],
                env=env, capture_output=True, text=True, check=False, timeout=timeout)
            built = work / "target" / "static_index.html"
            if done.returncode != 0 or not built.exists():
                raise DocsUnavailable("dbt docs generate failed:\n" + done.stdout[-4000:]
                                      + done.stderr[-2000:])
            page.parent.mkdir(parents=True, exist_ok=True)
            tmp_page = page.with_suffix(".html.tmp")
            shutil.copyfile(built, tmp_page)
            os.replace(tmp_page, page)  # a reader sees the old page or the new one, whole
            stamp.write_text(json.dumps(source))
        return page
