"""The lake-writer lock: one process writes a home's lake at a time.

Delta commits are atomic per table, but a run writes many tables and reads what it wrote: a
nightly rebuild and a micro-batch interleaving their commits leave tables that no order of the
two runs would give. The run queue (one run tagged ``lakehouse/writes: lake``) keeps launched
runs apart, but not `lakehouse run` or `lakehouse quarantine replay` (they execute in their own
process), nor a run dequeued in the moment one of those starts. This lock is the guarantee.

It is ``fcntl.flock`` on ``<home>/lake.lock``: the kernel releases it when the holder's last file
descriptor closes, so a SIGKILLed holder never leaves the lake locked. The file records the
holder (pid, what it is, since when) for the message a waiter prints, and ``lake.lock.log``
keeps the last acquisitions and releases (bounded), which tells who held the lake when.

Re-entrant: a thread of the holding process, and any descendant process of the holder (a run
worker's step processes, forked or spawned), enters without locking again. So the process that
forks run workers (the launcher's warm process, the daemon) must never hold it itself.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lakehouse.home import Home

LOCK_FILE = "lake.lock"
LOG_FILE = "lake.lock.log"
LOG_KEEP = 500  # lines kept when the log is trimmed (at twice that): bounded, not history
POLL_SECONDS = 0.05


class LakeBusy(TimeoutError):
    """The lake stayed locked by another writer for longer than the caller would wait."""


@dataclass(frozen=True)
class Holder:
    pid: int
    host: str
    holder: str
    since: float

    def describe(self) -> str:
        started = time.strftime("%H:%M:%S", time.localtime(self.since))
        return f"{self.holder} (pid {self.pid} on {self.host}, since {started})"


@dataclass
class _Held:
    pid: int
    fd: int
    depth: int
    thread: threading.RLock
    name: str = ""


_guard = threading.Lock()
_held: dict[str, _Held] = {}


def lock_path(home: Home | str | os.PathLike[str]) -> Path:
    root = home.root if isinstance(home, Home) else Path(home)
    return root / LOCK_FILE


def log_path(home: Home | str | os.PathLike[str]) -> Path:
    return lock_path(home).with_name(LOG_FILE)


def current_holder(home: Home | str | os.PathLike[str]) -> Holder | None:
    """Who holds the lake now, or None (free, or the recorded holder has died)."""
    return _alive(_read_holder(lock_path(home)))


def _read_holder(path: Path) -> Holder | None:
    try:
        data = json.loads(path.read_text() or "null")
        return Holder(int(data["pid"]), data["host"], data["holder"], float(data["since"]))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _alive(holder: Holder | None) -> Holder | None:
    if holder is None or holder.host != socket.gethostname():
        return holder
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return holder


def _ancestors() -> set[int]:
    """Pids of this process's parent, grandparent, ... (Linux /proc; else the parent only)."""
    pids, pid = set(), os.getppid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            pid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def _held_by_ancestor(path: Path) -> bool:
    """An ancestor holds the lock: this process is part of its write (a run's step process)."""
    holder = _alive(_read_holder(path))
    return (holder is not None and holder.host == socket.gethostname()
            and holder.pid in _ancestors()
            and _locked_elsewhere(path))


def _locked_elsewhere(path: Path) -> bool:
    """Whether some open file description holds the flock (probe with a fresh one)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing the probe's description releases what it took
    return False


def _log(path: Path, event: str, holder: str, waited: float = 0.0) -> None:
    """One line per acquisition and release; written only while holding the lock."""
    log = path.with_name(LOG_FILE)
    line = json.dumps({"event": event, "pid": os.getpid(), "holder": holder,
                       "at": time.time(), "waited": round(waited, 6)})
    with open(log, "a") as f:
        f.write(line + "\n")
    if event == "released" and log.stat().st_size > 2 * LOG_KEEP * 200:
        lines = log.read_text().splitlines()
        if len(lines) > 2 * LOG_KEEP:
            tmp = log.with_suffix(".tmp")
            tmp.write_text("\n".join(lines[-LOG_KEEP:]) + "\n")
            tmp.replace(log)


def read_log(home: Home | str | os.PathLike[str]) -> list[dict]:
    """The kept acquisitions and releases, oldest first."""
    try:
        return [json.loads(line) for line in log_path(home).read_text().splitlines() if line]
    except FileNotFoundError:
        return []


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _flock(fd: int, path: Path, wait: bool, timeout: float | None,
           on_wait: Callable[[str], None]) -> float:
    """Take the flock on `fd`; returns the seconds waited. Raises LakeBusy when it may not
    wait (longer). The clock starts before the first try, so a holder that leaves while we
    announce the wait still counts as waited for."""
    started = time.monotonic()
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return 0.0
    except BlockingIOError:
        pass
    holder = _alive(_read_holder(path))
    who = holder.describe() if holder else "another writer"
    if not wait:
        raise LakeBusy(f"the lake at {path.parent} is being written by {who}")
    on_wait(f"waiting for {who}, which writes the lake at {path.parent}, to finish ...")
    if timeout is None:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a signal (Ctrl-C, terminate) interrupts the wait
        return time.monotonic() - started
    deadline = started + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return time.monotonic() - started
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = _alive(_read_holder(path))
                who = holder.describe() if holder else "another writer"
                raise LakeBusy(f"gave up after {timeout:.0f} s waiting for {who}, which "
                               f"writes the lake at {path.parent}") from None
            time.sleep(POLL_SECONDS)


def _state(path: Path) -> _Held | None:
    with _guard:
        state = _held.get(str(path))
        if state is not None and state.pid != os.getpid():  # inherited through fork
            del _held[str(path)]
            state = None
        return state


@contextmanager
def lake_writer(home: Home | str | os.PathLike[str], wait: bool = True,
                timeout: float | None = None, holder: str = "",
                on_wait: Callable[[str], None] = _say) -> Iterator[None]:
    """Hold the home's lake-writer lock for the block.

    Waits (telling `on_wait` whom for) unless `wait` is False; raises LakeBusy after `timeout`
    seconds, or at once when not waiting. Re-entrant in the holding process and its
    descendants."""
    path = lock_path(home)
    state = _state(path)
    if state is None and _held_by_ancestor(path):
        yield
        return
    if state is None:
        with _guard:
            state = _held.setdefault(str(path), _Held(os.getpid(), -1, 0, threading.RLock()))
    acquired = (state.thread.acquire(blocking=False) if not wait
                else state.thread.acquire(timeout=-1 if timeout is None else timeout))
    if not acquired:
        raise LakeBusy(f"another thread of this process writes the lake at {path.parent}")
    try:
        if state.depth == 0:
            _acquire(state, path, wait, timeout, holder, on_wait)
        state.depth += 1
        try:
            yield
        finally:
            state.depth -= 1
            if state.depth == 0:
                _release(state, path)
    finally:
        state.thread.release()


def _acquire(state: _Held, path: Path, wait: bool, timeout: float | None, holder: str,
             on_wait: Callable[[str], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # close-on-exec: not inherited by exec
    try:
        waited = _flock(fd, path, wait, timeout, on_wait)
    except BaseException:
        os.close(fd)
        raise
    name = holder or " ".join(sys.argv)[:200] or "python"
    record = {"pid": os.getpid(), "host": socket.gethostname(), "holder": name,
              "since": time.time()}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(record).encode(), 0)
    state.fd, state.name = fd, name
    _log(path, "acquired", name, waited)


def _release(state: _Held, path: Path) -> None:
    fd, state.fd = state.fd, -1
    try:
        _log(path, "released", state.name)
        os.ftruncate(fd, 0)  # no stale holder for the next waiter's message
    finally:
        os.close(fd)  # releases the flock (the last descriptor of this description)
