"""The UI as a person uses it: Playwright driving Debian's Chromium (``make browser`` installs
it; Playwright never downloads a browser here) against a real `lakehouse dev` and `lakehouse
serve` on a small built home. The asset graph renders; a mart materialized with the UI's
button succeeds and the warehouse automation then publishes it; a failing blocking check shows
as failed in the UI; the inventory API's docs page loads.

Not driven through the browser: launching a failing check together with what it feeds (the
UI's asset-selection filter did not narrow the graph reliably here); that a failed blocking
check stops the steps downstream of it in the same run is tested on real runs in
``tests/integration/test_checks.py``."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest

from tests.servers import free_port, stop

CHROMIUM = Path(os.environ.get("LAKEHOUSE_CHROMIUM", "/usr/bin/chromium"))
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"no Chromium at {CHROMIUM}: `make browser` installs Debian's (the browser tests "
    "need a real browser and Playwright must not download one)")

BIN = Path(sys.executable).parent
SMALL = ["--persons", "120", "--products", "15", "--stores", "2", "--warehouses", "1",
         "--days", "3"]
UI_TIMEOUT_MS = 180_000  # a loaded 2-core machine renders the first page slowly


def _cli(*args: str, home: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "LAKEHOUSE_HOME": str(home)}
    return subprocess.run([str(BIN / "lakehouse"), *args], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def _start(*args: str, home: Path) -> subprocess.Popen:
    env = {**os.environ, "LAKEHOUSE_HOME": str(home)}
    return subprocess.Popen([str(BIN / "lakehouse"), *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _wait_http(url: str, deadline: float, data: bytes | None = None) -> None:
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(url, data=data,
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=5) as response:
                body = response.read()
                if response.status == 200 and (data is None or b'"LOADED"' in body):
                    return
        except OSError:
            pass
        time.sleep(2)
    raise AssertionError(f"{url} did not answer in time")


def _run_ids(home: Path) -> set[str]:
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        return {r.run_id for r in instance.get_runs()}


def _wait_new_run(home: Path, asset: str, before: set[str], deadline: float) -> dg.DagsterRun:
    """The first run started after ``before`` (run ids) that materializes ``asset``, once it
    has finished."""
    done = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE,
            dg.DagsterRunStatus.CANCELED}
    key = dg.AssetKey.from_user_string(asset)
    runs: list[dg.DagsterRun] = []
    while time.monotonic() < deadline:
        with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
            runs = [r for r in instance.get_runs() if r.run_id not in before
                    and key in (r.asset_selection or set())]
        if runs and runs[-1].status in done:
            return runs[-1]
        time.sleep(2)
    raise AssertionError(f"no new finished run of {asset} in time: {runs}")


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("browser")
    for args in (("simulate", "--home", str(home), *SMALL), ("run", "--home", str(home))):
        done = _cli(*args, home=home)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return home


def test_the_ui_and_the_api_docs_in_a_real_browser(home):
    from playwright.sync_api import expect, sync_playwright

    port, api_port = free_port(), free_port()
    dev = _start("dev", "--home", str(home), "--port", str(port), home=home)
    api = _start("serve", "--home", str(home), "--port", str(api_port), home=home)
    ui = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        query = b'{"query": "{ workspaceOrError { ... on Workspace { locationEntries ' \
                b'{ loadStatus } } } }"}'
        _wait_http(f"{ui}/graphql", deadline, data=query)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(UI_TIMEOUT_MS)
            # assertions have their own 5 s default, too short for a loaded machine
            expect.set_options(timeout=UI_TIMEOUT_MS)

            # the asset graph renders: the silver group's tables as nodes of its lineage
            page.goto(f"{ui}/locations/orchestration.definitions/asset-groups/silver")
            _skip_welcome(page)
            expect(page.get_by_text("order_lines", exact=True).first).to_be_visible()
            expect(page.get_by_role("button").filter(has_text="Materialize all")).to_be_visible()

            # a materialization launched with the UI's button runs and succeeds
            page.goto(f"{ui}/assets/dim_dates")
            _skip_welcome(page)
            before = _run_ids(home)
            page.get_by_role("button").filter(has_text="Materialize").first.click()
            run = _wait_new_run(home, "dim_dates", before, time.monotonic() + 600)
            assert run.status == dg.DagsterRunStatus.SUCCESS, run.run_id
            page.goto(f"{ui}/runs/{run.run_id}")
            expect(page.get_by_text("Success").first).to_be_visible()

            # ... and the warehouse follows it: the automation sensor publishes the build
            published = _wait_new_run(home, "warehouse", before | {run.run_id},
                                      time.monotonic() + 600)
            assert published.tags.get("dagster/from_automation_condition") == "true"
            assert published.status == dg.DagsterRunStatus.SUCCESS, published.run_id

            # a failing blocking check: an empty promotions export (a transfer that wrote
            # nothing) fails the landing gate, and the asset's checks say so
            bad = home / "landing" / "promotions" / "promotions_29990101_000.csv"
            bad.write_bytes(b"")
            page.goto(f"{ui}/assets/landing/promotions")
            _skip_welcome(page)
            before = _run_ids(home)
            page.get_by_role("button").filter(has_text="Materialize").first.click()
            run = _wait_new_run(home, "landing/promotions", before, time.monotonic() + 600)
            assert _gate_passed(home, run.run_id) is False
            page.goto(f"{ui}/assets/landing/promotions?view=checks")
            expect(page.get_by_text("landing_files_gate").first).to_be_visible()
            expect(page.get_by_text("Failed").first).to_be_visible()

            # the inventory API documents itself
            page.goto(f"http://127.0.0.1:{api_port}/docs")
            expect(page.get_by_text("/availability").first).to_be_visible()
            expect(page.get_by_text("/fulfilment").first).to_be_visible()
            browser.close()
    finally:
        stop(dev, 30, group=True)
        stop(api, 30, group=True)


def _skip_welcome(page) -> None:
    """Dagster's one-time community dialog covers the page on a new instance."""
    from playwright.sync_api import TimeoutError as NoDialog

    skip = page.get_by_role("button", name="Skip")
    with contextlib.suppress(NoDialog):  # no dialog: nothing to dismiss
        skip.wait_for(timeout=10_000)
        skip.click()


def _gate_passed(home: Path, run_id: str) -> bool | None:
    """Whether the run's landing gate on the promotions channel passed (None: it did not run)."""
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        for record in instance.get_records_for_run(run_id).records:
            event = record.event_log_entry.dagster_event
            if event is not None and event.event_type_value == "ASSET_CHECK_EVALUATION":
                evaluation = event.event_specific_data
                if (evaluation.asset_key == dg.AssetKey(["landing", "promotions"])
                        and evaluation.check_name == "landing_files_gate"):
                    return evaluation.passed
    return None
