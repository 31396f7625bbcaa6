"""Data Docs: the gate's GX results rendered by GX's site builder into the home; no PII values."""

import multiprocessing

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from data_quality.docs import (
    KEEP,
    KEEP_ENV,
    docs_dir,
    index_page,
    keep_per_suite,
    one_index,
    render,
)
from data_quality.gate import validate_table
from data_quality.gx_engine import build_index
from data_quality.suites import Expect, Suite

SUITE = Suite("silver.orders", (
    Expect("ExpectColumnValuesToNotBeNull", "order_id"),
    Expect("ExpectColumnValuesToNotMatchRegex", "email", (("regex", "@"),)),
), pii_columns=frozenset({"email"}))


def test_gx_renders_each_validation_and_withholds_pii(tmp_path):
    uri = str(tmp_path / "lake" / "silver" / "orders")
    write_deltalake(uri, pa.table({"order_id": ["o1", "o2"],
                                   "email": ["ok", "secret@private.org"]}))
    result = validate_table(uri, SUITE, engine="gx")
    assert not result.passed and result.gx_result is not None
    assert render(tmp_path, [None]) is None  # nothing validated by GX: nothing rendered
    index = render(tmp_path, [result.gx_result], run_id="r1")
    assert index == index_page(tmp_path).resolve()
    assert "silver.orders" in index.read_text()
    pages = [p.read_text() for p in docs_dir(tmp_path).rglob("*.html")]
    assert len(pages) >= 2 and not any("private.org" in text for text in pages)


OTHER = Suite("silver.returns", (Expect("ExpectColumnValuesToNotBeNull", "order_id"),))


def test_each_suite_keeps_its_newest_results_and_the_index_lists_only_those(tmp_path):
    uri = str(tmp_path / "lake" / "silver" / "orders")
    write_deltalake(uri, pa.table({"order_id": ["o1", "o2"], "email": ["a", "b"]}))
    site = docs_dir(tmp_path)
    for run in range(1, 6):
        results = [validate_table(uri, SUITE, engine="gx").gx_result]
        if run % 2:  # the other suite only in runs 1, 3 and 5
            results.append(validate_table(uri, OTHER, engine="gx").gx_result)
        render(tmp_path, results, run_id=f"run-{run}", keep=2)
    stored = sorted(p.relative_to(site / "_results").parts[:-3]
                    for p in (site / "_results").rglob("*.json"))
    assert stored == [("silver", "orders")] * 2 + [("silver", "returns")] * 2
    runs = {p.relative_to(site / "_results").parts[-3] for p in (site / "_results").rglob("*.json")}
    assert runs == {"run-3", "run-4", "run-5"}
    pages = {p.relative_to(site / "validations").with_suffix(".json")
             for p in (site / "validations").rglob("*.html")}
    assert pages == {p.relative_to(site / "_results") for p in (site / "_results").rglob("*.json")}
    index = index_page(tmp_path).read_text()
    assert "run-5" in index and "run-3" in index and "run-2" not in index
    assert "run-1" not in index
    # no empty run folders are left behind
    assert all(any(d.iterdir()) for d in site.rglob("*") if d.is_dir())


def test_the_number_kept_is_read_from_the_environment(monkeypatch):
    monkeypatch.delenv(KEEP_ENV, raising=False)
    assert keep_per_suite() == KEEP
    monkeypatch.setenv(KEEP_ENV, "3")
    assert keep_per_suite() == 3
    for bad in ("0", "-1", "ten"):
        monkeypatch.setenv(KEEP_ENV, bad)
        with pytest.raises(ValueError, match=f"{KEEP_ENV}={bad!r}"):
            keep_per_suite()


def test_inside_one_index_renders_write_pages_and_the_index_is_built_once_at_the_end(tmp_path):
    uri = str(tmp_path / "lake" / "silver" / "orders")
    write_deltalake(uri, pa.table({"order_id": ["o1", "o2"], "email": ["a", "b"]}))
    site = docs_dir(tmp_path)
    render(tmp_path, [validate_table(uri, SUITE, engine="gx").gx_result], run_id="before")
    before = index_page(tmp_path).read_text()
    with pytest.raises(RuntimeError, match="a step failed"), one_index(tmp_path):
        render(tmp_path, [validate_table(uri, SUITE, engine="gx").gx_result], run_id="step-1")
        render(tmp_path, [validate_table(uri, OTHER, engine="gx").gx_result], run_id="step-2")
        # each step's pages are there at once; the index is still the one before
        pages = {p.parts[-3] for p in (site / "validations").rglob("*.html")}
        assert {"before", "step-1", "step-2"} <= pages
        assert index_page(tmp_path).read_text() == before
        raise RuntimeError("a step failed")  # the index is rebuilt all the same
    index = index_page(tmp_path).read_text()
    assert all(run in index for run in ("before", "step-1", "step-2")), index
    assert "silver.returns" in index and "silver.returns" not in before


def test_an_index_is_built_only_from_stored_results(tmp_path):
    assert build_index(docs_dir(tmp_path)) is None
    assert not index_page(tmp_path).exists()


def _step_process(home, uri: str, run_id: str) -> None:
    render(home, [validate_table(uri, OTHER, engine="gx").gx_result], run_id=run_id)


def test_a_run_workers_steps_in_processes_of_their_own_leave_the_index_to_the_worker(tmp_path):
    """A launched run's worker (orchestration/runtime/prefork.py) holds one_index: a step
    in a process it starts (Dagster's forkserver, as the nightly's steps run) and a step in
    the worker itself write their pages only; the worker rebuilds the index once."""
    uri = str(tmp_path / "lake" / "silver" / "orders")
    write_deltalake(uri, pa.table({"order_id": ["o1", "o2"], "email": ["a", "b"]}))
    site = docs_dir(tmp_path)
    render(tmp_path, [validate_table(uri, SUITE, engine="gx").gx_result], run_id="before")
    before = index_page(tmp_path).read_text()
    with one_index(tmp_path):
        step = multiprocessing.get_context("forkserver").Process(
            target=_step_process, args=(tmp_path, uri, "step-1"))
        step.start()
        step.join()
        assert step.exitcode == 0
        render(tmp_path, [validate_table(uri, SUITE, engine="gx").gx_result], run_id="step-2")
        pages = {p.parts[-3] for p in (site / "validations").rglob("*.html")}
        assert {"before", "step-1", "step-2"} <= pages
        assert index_page(tmp_path).read_text() == before
    index = index_page(tmp_path).read_text()
    assert all(run in index for run in ("before", "step-1", "step-2")), index
    assert not list(site.glob(".index-stale-*"))
    # after the run, a render builds the index at once again
    render(tmp_path, [validate_table(uri, OTHER, engine="gx").gx_result], run_id="after")
    assert "after" in index_page(tmp_path).read_text()


def test_a_worker_whose_steps_rendered_nothing_leaves_the_index_alone(tmp_path):
    uri = str(tmp_path / "lake" / "silver" / "orders")
    write_deltalake(uri, pa.table({"order_id": ["o1"], "email": ["a"]}))
    render(tmp_path, [validate_table(uri, SUITE, engine="gx").gx_result], run_id="before")
    stamp = index_page(tmp_path).stat().st_mtime_ns
    with one_index(tmp_path):
        pass
    assert index_page(tmp_path).stat().st_mtime_ns == stamp
