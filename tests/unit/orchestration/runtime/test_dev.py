"""`lakehouse dev` runs Dagster's own `dev` with our daemon entry point, which lowers the
sensor loop: these tests fail loudly if a Dagster upgrade moves what the two rely on."""

import inspect

import dagster._cli.dev as dagster_dev
import dagster._daemon.sensor as sensor_daemon

from orchestration.runtime import daemon
from orchestration.runtime.dev import with_our_daemon


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
