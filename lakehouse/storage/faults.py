"""Fault injection at commit boundaries, so crash-safety can be tested on real processes.

``LAKEHOUSE_FAULT`` holds comma-separated ``<action>:<point>[:<table substring>]`` entries:
``kill`` sends SIGKILL to this process (a crash with no cleanup), ``raise`` raises
:class:`InjectedFault` once per process (a write that fails after, or before, it committed).
Points: ``before_commit`` and ``after_commit``. Unset in production: the check is one dict lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "LAKEHOUSE_FAULT"
_raised: set[str] = set()


class InjectedFault(RuntimeError):
    """Raised by a ``raise:`` fault entry; never raised unless the variable is set."""


def fault(point: str, table_uri: str) -> None:
    spec = os.environ.get(ENV)
    if not spec:
        return
    for entry in spec.split(","):
        parts = entry.strip().split(":", 2)
        if len(parts) < 2 or parts[1] != point:
            continue
        if len(parts) == 3 and parts[2] not in table_uri:
            continue
        if parts[0] == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if parts[0] == "raise" and entry not in _raised:
            _raised.add(entry)
            raise InjectedFault(f"injected fault {entry!r} at {point} on {table_uri}")
