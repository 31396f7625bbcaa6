"""Crash safety: SIGKILL the ingesting process at commit boundaries, re-run, compare to clean."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lakehouse.home import Home
from lakehouse.storage.faults import ENV
from tests.integration.conftest import standard_landing, write_landing
from tests.integration.test_bronze_ingest import tables

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import sys
from datetime import UTC, datetime
from lakehouse.ingest import batch_id_for, discover, ingest_files
files = discover(sys.argv[1])
ingest_files(sys.argv[1], files, batch_id_for(files), now=datetime(2026, 3, 2, tzinfo=UTC))
"""


def run(home: Home, fault: str | None) -> int:
    env = {k: v for k, v in os.environ.items() if k != ENV}
    env["PYTHONPATH"] = str(ROOT)
    if fault:
        env[ENV] = fault
    return subprocess.run([sys.executable, "-c", SCRIPT, str(home.root)], env=env,
                          cwd=ROOT, timeout=120).returncode


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> dict:
    home = Home.resolve(tmp_path_factory.mktemp("clean")).ensure()
    write_landing(home, standard_landing())
    assert run(home, None) == 0
    return tables(home)


@pytest.mark.parametrize("fault", [
    "kill:before_commit:bronze/locations__locations",  # nothing committed yet
    "kill:before_commit:bronze/web__events",  # some bronze tables committed
    "kill:after_commit:bronze/web__events",  # all bronze committed, quarantine not
    "kill:after_commit:quarantine",  # everything committed, process dies before returning
])
def test_killed_run_then_retry_equals_clean_run(tmp_path, clean, fault):
    home = Home.resolve(tmp_path / "home").ensure()
    write_landing(home, standard_landing())
    assert run(home, fault) == -signal.SIGKILL
    assert run(home, None) == 0
    after = tables(home)
    assert after.keys() == clean.keys()
    for name, frame in after.items():
        assert frame.equals(clean[name]), name
    assert run(home, None) == 0  # and once more: still nothing new
    assert all(tables(home)[n].equals(f) for n, f in clean.items())
