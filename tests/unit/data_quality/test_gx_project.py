"""The GX project under data_quality/gx/: generated from the suites-as-code, never drifting,
and what the GX engine validates."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from data_quality.gx_engine import validate_rows
from data_quality.gx_project import (
    PROJECT_DIR,
    PROJECT_ROOT,
    all_suites,
    export_suites,
    suite_json,
    suite_path,
)
from data_quality.suites import Expect, Suite


def test_committed_suite_files_equal_the_code():
    suites = all_suites()
    stale = []
    for name, suite in suites.items():
        path = suite_path(name)
        if not path.exists() or path.read_text() != suite_json(suite):
            stale.append(name)
    on_disk = {p for p in (PROJECT_DIR / "expectations").rglob("*.json")}
    extra = on_disk - {suite_path(n) for n in suites}
    assert not stale and not extra, (
        f"data_quality/gx is out of date ({len(stale)} changed, {len(extra)} removed "
        f"suites): run `python -m data_quality.gx_project` and commit the files")


def test_export_is_idempotent_and_removes_stale_files(tmp_path):
    project = tmp_path / "gx"
    (project / "expectations" / "bronze").mkdir(parents=True)
    (project / "expectations" / "bronze" / "gone__table.json").write_text("{}")
    first = export_suites(project)
    texts = {p: p.read_text() for p in first}
    assert export_suites(project) == first
    assert {p: p.read_text() for p in first} == texts
    assert not (project / "expectations" / "bronze" / "gone__table.json").exists()
    assert len(first) == len(all_suites())


def test_gx_opens_the_project_and_finds_every_suite(tmp_path):
    import great_expectations as gx

    shutil.copytree(PROJECT_DIR, tmp_path / "gx")  # opening a file context writes into it
    context = gx.get_context(project_root_dir=str(tmp_path))
    for name, suite in all_suites().items():
        gx_suite = context.suites.get(name)
        assert len(gx_suite.expectations) == len(suite.expectations), name
    assert PROJECT_ROOT / "gx" == PROJECT_DIR


def test_every_layer_is_exported():
    layers = {name.split(".")[0] for name in all_suites()}
    assert layers == {"bronze", "silver", "quarantine", "gold", "warehouse"}


def test_an_edit_of_the_suite_file_is_what_the_engine_checks(tmp_path):
    """A data engineer widens a vocabulary in the JSON file: the engine validates the edit."""
    suite = Suite("silver.edit_demo", (
        Expect("ExpectColumnValuesToBeInSet", "status", (("value_set", ("open", "delivered")),)),
        Expect("ExpectColumnValuesToNotBeNull", "status"),))
    project = tmp_path / "gx"
    path = suite_path(suite.name, project)
    path.parent.mkdir(parents=True)
    path.write_text(suite_json(suite))
    data = tmp_path / "rows.parquet"
    pq.write_table(pa.table({"status": ["open", "cancelled", None, "delivered"]}), data)
    query = f"select * from read_parquet(['{data}'])"
    from data_quality.gx_engine import validate

    def outcomes():
        return {o.name: o for o in validate(None, query, suite, suite.expectations,
                                            project_dir=project).outcomes}

    before = outcomes()
    assert before["ExpectColumnValuesToBeInSet(status)"].unexpected_count == 1
    edited = json.loads(path.read_text())
    for e in edited["expectations"]:
        if e["type"] == "expect_column_values_to_be_in_set":
            e["kwargs"]["value_set"].append("cancelled")
    # and an expectation the code does not have
    edited["expectations"].append({"type": "expect_column_values_to_match_regex",
                                   "kwargs": {"column": "status", "regex": "^[a-z]+$"},
                                   "meta": {}})
    path.write_text(json.dumps(edited))
    after = outcomes()
    assert after["ExpectColumnValuesToBeInSet(status)"].passed
    assert after["ExpectColumnValuesToBeInSet(status)"].unexpected_count == 0
    assert after["ExpectColumnValuesToMatchRegex(status)"].passed
    assert not after["ExpectColumnValuesToNotBeNull(status)"].passed


def test_the_repo_project_is_what_validate_rows_uses_by_default(tmp_path):
    suite = all_suites()["quarantine.rows"]
    data = tmp_path / "q.parquet"
    pq.write_table(pa.table({"error_kind": ["not_a_kind"], "raw": ["a@b.com"]}), data)
    outcomes = {o.name: o for o in validate_rows(
        None, f"select * from read_parquet(['{data}'])", suite,
        tuple(e for e in suite.expectations if e.column in {"error_kind", "raw"}))}
    assert not outcomes["ExpectColumnValuesToBeInSet(error_kind)"].passed
    assert outcomes["ExpectColumnValuesToBeInSet(error_kind)"].sample == ["not_a_kind"]
    assert outcomes["ExpectColumnValuesToNotBeNull(raw)"].passed


def test_project_is_a_gx_project():
    assert (PROJECT_DIR / "great_expectations.yml").exists()
    assert "uncommitted/" in (PROJECT_DIR / ".gitignore").read_text()
    assert isinstance(PROJECT_DIR, Path)
