"""`lakehouse dev` runs Dagster's own `dev` with our daemon entry point, which lowers the
sensor loop: these tests fail loudly if a Dagster upgrade moves what the two rely on."""

import inspect
import os
import signal
import socket
import subprocess
import sys
import urllib.request

import dagster._cli.dev as dagster_dev
import dagster._daemon.sensor as sensor_daemon

from orchestration.runtime import daemon
from orchestration.runtime.dev import serve_home_docs, stop_late_starters, with_our_daemon
from orchestration.runtime.docs_server import DOCS_URL_ENV


def test_the_daemon_command_is_pointed_at_our_entry_point():
    assert with_our_daemon(["/py", "-m", "dagster._daemon", "run", "--log-level", "info"]) == [
        "/py", "-m", "orchestration.runtime.daemon", "run", "--log-level", "info"]
    webserver = ["/py", "-m", "dagster_webserver", "--port", "3000"]
    assert with_our_daemon(webserver) == webserver


def test_dagster_dev_still_spawns_its_daemon_the_way_we_replace():
    source = inspect.getsource(dagster_dev.dev_command_impl)
    assert "open_ipc_subprocess(" in source
    assert '"dagster._daemon"' in source


def test_the_sensor_loop_reads_the_constant_we_set(monkeypatch):
    source = inspect.getsource(sensor_daemon.execute_sensor_iteration_loop)
    assert "MIN_INTERVAL_LOOP_TIME - loop_duration" in source
    default = sensor_daemon.MIN_INTERVAL_LOOP_TIME
    monkeypatch.setattr(sensor_daemon, "MIN_INTERVAL_LOOP_TIME", default)  # restored after
    monkeypatch.setattr("dagster._daemon.cli.main", lambda: None)
    daemon.main()
    assert sensor_daemon.MIN_INTERVAL_LOOP_TIME == daemon.SENSOR_LOOP_SECONDS == 1


LEADER = """
import subprocess, sys, time
from orchestration.runtime.dev import stop_late_starters
late = subprocess.Popen(["sleep", "60"])  # started in the group after it was stopped
stop_late_starters()
print(late.wait(timeout=10), flush=True)
"""


def test_a_stopped_dev_stops_what_started_in_its_group_after_the_signal():
    # SIGTERM as a terminal gives it: a background pytest worker may ignore it (see
    # tests/integration/test_launcher.py, `default_stop_signals`), and `sleep` would inherit that
    done = subprocess.run([sys.executable, "-c", LEADER], capture_output=True, text=True,
                          timeout=60, start_new_session=True, check=False,
                          preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL))
    assert done.returncode == 0, done.stderr  # the leader itself ignores its own signal
    assert done.stdout.strip() == str(-signal.SIGTERM)


def test_a_dev_that_does_not_lead_its_group_signals_no_one(monkeypatch):
    sent = []
    monkeypatch.setattr(os, "killpg", lambda *args: sent.append(args))
    if os.getpgrp() == os.getpid():  # pytest run as a group leader itself: pretend not
        monkeypatch.setattr(os, "getpgrp", lambda: os.getpid() + 1)
    before = signal.signal(signal.SIGTERM, signal.SIG_DFL)  # whatever the worker had
    try:
        stop_late_starters()
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # not ignored by this call
    finally:
        signal.signal(signal.SIGTERM, before)
    assert sent == []


def test_the_docs_take_a_free_port_when_the_one_above_the_ui_is_taken(tmp_path, monkeypatch):
    # a port whose neighbour above is held by someone else (a race that killed dev in CI)
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        ui_port = held.getsockname()[1] - 1
        monkeypatch.setenv("LAKEHOUSE_HOME", str(tmp_path))
        monkeypatch.delenv(DOCS_URL_ENV, raising=False)
        url = serve_home_docs(["--port", str(ui_port)])
    assert url is not None and not url.endswith(f":{ui_port + 1}")
    assert os.environ[DOCS_URL_ENV] == url
    (tmp_path / "docs" / "probe.txt").write_text("served")
    with urllib.request.urlopen(f"{url}/probe.txt", timeout=5) as answer:
        assert answer.read() == b"served"
