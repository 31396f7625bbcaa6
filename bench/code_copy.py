"""A copy of the project's code for a benchmark to run from (``chaos.py``,
``bench_refactor_equal.py``).

Why: a run that lasts minutes or hours must execute the code as it was when it started; the
working tree may be edited meanwhile, and the comparison it makes would then mix two versions.
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# what a run executes: the packages, the dbt project and the project files they read
PARTS = ("lakehouse", "orchestration", "data_quality", "dbt_project", "pyproject.toml",
        "workspace.yaml")
_BUILT = shutil.ignore_patterns("target", "logs", "__pycache__", "*.pyc", ".parse-*")


def copy_code(dst: Path, names: tuple[str, ...] = PARTS) -> Path:
    """``names`` (folders and files under the project root) copied into ``dst``, without dbt's
    build output and Python caches; ``dst`` appears whole or not at all (it is written beside
    and renamed)."""
    partial = dst.with_name(dst.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for name in names:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, partial / name, ignore=_BUILT)
        elif source.exists():
            shutil.copy2(source, partial / name)
    partial.rename(dst)
    return dst
