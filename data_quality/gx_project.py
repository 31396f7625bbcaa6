"""The suites-as-code as a Great Expectations project: ``data_quality/gx/``.

A GX user opens it with ``gx.get_context(project_root_dir="data_quality")`` and finds every
static suite as a GX 1.x ExpectationSuite JSON file under ``gx/expectations/``. The files are
generated from the code (``python -m data_quality.gx_project``) and a test holds them equal to
it; the GX engine (data_quality/gx_engine.py) validates what the files say.

Mart suites depend on the warehouse's columns (a no-PII regex per string column, the newest
timestamp column): their files hold the static part only (the rules of data_quality/mart_rules.py);
the column-derived expectations are added at run time from the code.

Importing this module is cheap; great_expectations loads inside the functions that need it.
"""

from __future__ import annotations

import json
import re
import uuid
from functools import cache
from pathlib import Path

from data_quality.suites import Expect, Suite

PROJECT_ROOT = Path(__file__).parent  # what gx.get_context(project_root_dir=...) takes
PROJECT_DIR = PROJECT_ROOT / "gx"
_ID_NAMESPACE = uuid.UUID("6f1c1f0e-2d4b-5a7e-9c3b-1a2b3c4d5e6f")
_TABLE_LEVEL = ("min_rows, unique_key, references and newest_column are table-level checks "
                "that the gate computes in DuckDB (data_quality/gate.py), not GX expectations")


def all_suites() -> dict[str, Suite]:
    """Every suite that can be built without data, by its GX name (``Suite.name``)."""
    from data_quality.mart_rules import MART_RULES
    from data_quality.ml_suites import ml_suites
    from data_quality.suites import (
        bronze_suites,
        gold_suites,
        mart_suite,
        quarantine_suite,
        silver_suite,
    )
    from lakehouse.silver import LAYOUTS

    suites = [*bronze_suites().values(),
              *(silver_suite(name, layout.key) for name, layout in LAYOUTS.items()),
              quarantine_suite(), *gold_suites().values(), *ml_suites().values(),
              *(mart_suite(relation, {}, rules) for relation, rules in MART_RULES.items())]
    return {s.name: s for s in suites}


def _kwargs(e: Expect) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in e.kwargs}


def gx_expectation(e: Expect, id: str | None = None):
    """The GX expectation object of one ``Expect``."""
    import great_expectations as gx

    return getattr(gx.expectations, e.type)(column=e.column, id=id, **_kwargs(e))


def to_gx_suite(suite: Suite):
    """``suite`` as a GX ExpectationSuite, with stable ids (the files must not churn) and the
    table-level parts of the suite in its ``meta``."""
    import great_expectations as gx

    meta = {
        "generated_from": "data_quality (python -m data_quality.gx_project)",
        "pii_columns": sorted(suite.pii_columns),
        "min_rows": suite.min_rows,
        "rows_expected_from": suite.rows_expected_from,
        "unique_key": list(suite.unique_key),
        "newest_column": suite.newest_column,
        "references": [list(r) for r in suite.references],
        "tags": dict(sorted(suite.tags.items())),
        "table_level": _TABLE_LEVEL,
    }
    if suite.name.startswith("warehouse."):
        meta["run_time_part"] = ("a no-PII regex per string column and the newest timestamp "
                                 "column are added from the relation's columns when it is "
                                 "validated")
    # as configurations: GX refuses Expectation objects that carry an id (and add_expectation
    # needs an active context)
    expectations = [{"type": snake(e.type), "kwargs": {"column": e.column, **_kwargs(e)},
                     "id": str(uuid.uuid5(_ID_NAMESPACE, f"{suite.name}/{i}/{e.name}"))}
                    for i, e in enumerate(suite.expectations)]
    return gx.ExpectationSuite(name=suite.name, expectations=expectations, meta=meta,
                               id=str(uuid.uuid5(_ID_NAMESPACE, suite.name)))


def suite_json(suite: Suite) -> str:
    """The file GX's own expectations store writes for this suite."""
    from great_expectations.core.expectation_suite import expectationSuiteSchema

    return expectationSuiteSchema.dumps(to_gx_suite(suite), indent=2, sort_keys=True) + "\n"


def suite_path(name: str, project_dir: Path = PROJECT_DIR) -> Path:
    """Where GX's filesystem store keeps a suite: the name's dots become folders
    (``bronze.web__orders`` -> ``expectations/bronze/web__orders.json``)."""
    *folders, leaf = name.split(".")
    return project_dir.joinpath("expectations", *folders, f"{leaf}.json")


def export_suites(project_dir: Path = PROJECT_DIR) -> list[Path]:
    """Write every static suite where GX's store keeps it (``suite_path``); files of suites
    that no longer exist in code are removed. Returns the written paths."""
    expectations_dir = project_dir / "expectations"
    suites = all_suites()
    written = []
    for name, suite in sorted(suites.items()):
        path = suite_path(name, project_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = suite_json(suite)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        written.append(path)
    for stale in expectations_dir.rglob("*.json"):
        if stale not in written:
            stale.unlink()
    return written


@cache
def _load(path: str, mtime_ns: int, size: int):
    from great_expectations.core.expectation_suite import (
        ExpectationSuite,
        expectationSuiteSchema,
    )

    return ExpectationSuite(**expectationSuiteSchema.loads(Path(path).read_text()))


def load_suite(name: str, project_dir: Path = PROJECT_DIR):
    """The GX suite as its file says it (None when there is no file), parsed by GX's own
    schema; re-read when the file changes."""
    path = suite_path(name, project_dir)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return _load(str(path), stat.st_mtime_ns, stat.st_size)


def class_name(expectation_type: str) -> str:
    """``expect_column_values_to_not_be_null`` -> ``ExpectColumnValuesToNotBeNull``."""
    return "".join(p.capitalize() for p in expectation_type.split("_"))


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def main() -> None:
    paths = export_suites()
    print(json.dumps({"project": str(PROJECT_DIR), "suites": len(paths)}))


if __name__ == "__main__":
    main()
