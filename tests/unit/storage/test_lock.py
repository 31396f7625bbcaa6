"""The lake-writer lock on real processes: one writer at a time, a killed holder frees it,
re-entrant in the holder and its children, a bounded wait fails with a clear message."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from lakehouse.storage.lock import LakeBusy, current_holder, lake_writer, read_log

HOLD = textwrap.dedent("""
    import sys, time
    from lakehouse.storage.lock import lake_writer
    with lake_writer(sys.argv[1], holder=sys.argv[2]):
        print("held", flush=True)
        if float(sys.argv[3]) < 0:
            sys.stdin.read()  # until the test closes our stdin
        else:
            time.sleep(float(sys.argv[3]))
    print("released", flush=True)
""")


def _hold(home: Path, name: str, seconds: float) -> subprocess.Popen:
    """A process that takes the lock, says so on stdout, and holds it `seconds` (negative:
    until its stdin is closed)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(home), name, str(seconds)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            cwd=Path(__file__).parents[3])
    return proc


def _until_held(proc: subprocess.Popen) -> None:
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held", proc.stderr.read() if proc.stderr else ""


def test_a_second_process_waits_for_the_first(tmp_path):
    first = _hold(tmp_path, "nightly run", -1)
    _until_held(first)
    assert current_holder(tmp_path).holder == "nightly run"
    second = _hold(tmp_path, "micro-batch", 0.0)
    assert second.stderr is not None and first.stdin is not None
    waiting = second.stderr.readline()  # printed once it found the lake taken
    assert waiting.startswith(f"waiting for nightly run (pid {first.pid} "), waiting
    assert second.poll() is None
    first.stdin.close()
    out, _ = second.communicate(timeout=60)
    first.wait(timeout=30)
    assert out.split() == ["held", "released"]
    log = read_log(tmp_path)
    assert [(e["event"], e["holder"]) for e in log] == [
        ("acquired", "nightly run"), ("released", "nightly run"),
        ("acquired", "micro-batch"), ("released", "micro-batch")]
    assert log[2]["at"] >= log[1]["at"] and log[2]["waited"] > 0
    assert current_holder(tmp_path) is None


def test_a_killed_holder_frees_the_lake(tmp_path):
    holder = _hold(tmp_path, "doomed", 600)
    _until_held(holder)
    waiter = _hold(tmp_path, "survivor", 0.0)
    time.sleep(0.5)
    assert waiter.poll() is None  # waiting
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=10)
    out, _ = waiter.communicate(timeout=30)
    assert out.split() == ["held", "released"]
    with lake_writer(tmp_path, wait=False):
        pass


def test_reentrant_in_the_process_and_its_children(tmp_path):
    with lake_writer(tmp_path, holder="outer"):
        with lake_writer(tmp_path, wait=False, holder="inner"):
            assert current_holder(tmp_path).holder == "outer"
        # a child process (a run's step process) is part of the holder's write
        child = subprocess.run(
            [sys.executable, "-c", "import sys; from lakehouse.storage.lock import lake_writer\n"
             "with lake_writer(sys.argv[1], wait=False): print('in')", str(tmp_path)],
            capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[3])
        assert child.stdout.strip() == "in", child.stderr
        # another thread of this process waits like another process would
        entered = threading.Event()

        def other_thread() -> None:
            with lake_writer(tmp_path, holder="thread"):
                entered.set()

        thread = threading.Thread(target=other_thread)
        thread.start()
        assert not entered.wait(0.3)
    thread.join(10)
    assert entered.is_set()
    assert [e["holder"] for e in read_log(tmp_path) if e["event"] == "acquired"] == [
        "outer", "thread"]


def test_a_timeout_names_the_holder(tmp_path):
    holder = _hold(tmp_path, "lakehouse run", 600)
    try:
        _until_held(holder)
        started = time.monotonic()
        gave_up = rf"gave up after 1 s waiting for lakehouse run \(pid {holder.pid}"
        with (pytest.raises(LakeBusy, match=gave_up),
              lake_writer(tmp_path, timeout=1.0, on_wait=lambda _: None)):
            pass
        assert 1.0 <= time.monotonic() - started < 5
        with (pytest.raises(LakeBusy, match="being written by lakehouse run"),
              lake_writer(tmp_path, wait=False)):
            pass
    finally:
        holder.kill()
        holder.wait()
