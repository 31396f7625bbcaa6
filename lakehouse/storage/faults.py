"""Fault injection at commit boundaries, so crash-safety can be tested on real processes.

``LAKEHOUSE_FAULT`` holds comma-separated entries:

- ``kill:<point>[:<table substring>]`` sends SIGKILL to this process (a crash with no cleanup)
  at the first crossing of ``point`` (on a table whose path contains the substring);
- ``raise:<point>[:<table substring>]`` raises :class:`InjectedFault` once per process there
  (a write that fails after, or before, it committed);
- ``kill-at:<k>`` sends SIGKILL at the k-th crossing of any point in this process (1-based),
  so a crash campaign can pick a random boundary among those a run passes;
- ``log:<path>`` appends one line per crossing to ``path``: ``<pid>\\t<n>\\t<point>\\t<table>``,
  written and closed before any kill, so the last line of a killed run is where it died.

Points (``<writer>.<before|after>``; ``before_commit``/``after_commit`` are the exactly-once
appends of :mod:`lakehouse.storage.delta`): see :data:`POINTS`. Unset in production: the check
is one dict lookup.
"""

from __future__ import annotations

import os
import signal
import threading

ENV = "LAKEHOUSE_FAULT"
_raised: set[str] = set()
_lock = threading.Lock()
_crossings = 0

# every point a writer crosses, with the writer and why it is a boundary worth a crash
POINTS = {
    "before_commit": "delta.append_files_once: bronze, quarantine appends, release, replay",
    "after_commit": "delta.append_files_once: committed, caller not told yet",
    "silver.create.before": "silver sync: first append that creates a table",
    "silver.create.after": "silver sync: table created",
    "silver.append.before": "silver sync: append of new keys",
    "silver.append.after": "silver sync: new keys committed",
    "silver.merge.before": "silver sync: MERGE of changed keys",
    "silver.merge.after": "silver sync: MERGE committed",
    "silver.overwrite.before": "silver full rebuild of a table",
    "silver.overwrite.after": "silver full rebuild committed",
    "quarantine.release.before": "quarantine rows marked released (MERGE)",
    "quarantine.release.after": "quarantine release marks committed",
    "quarantine.reasons.before": "quarantine reasons updated (MERGE)",
    "quarantine.reasons.after": "quarantine reasons committed",
    "quarantine.replayed.before": "quarantine rows marked replayed (MERGE)",
    "quarantine.replayed.after": "quarantine replay marks committed",
    "replace.before": "replace_table: identity map/profiles, inventory positions, ML marts",
    "replace.after": "replace_table committed",
    "identity.history.before": "person id history append (after map and profiles)",
    "identity.history.after": "person id history committed",
    "ledger.overwrite.before": "inventory ledger rebuilt whole (batch)",
    "ledger.overwrite.after": "inventory ledger committed, positions not yet",
    "live.mark.before": "live inventory: empty commit recording a batch",
    "live.mark.after": "live inventory: batch recorded",
    "live.append.before": "live inventory ledger append",
    "live.append.after": "live inventory ledger append committed",
    "live.merge.before": "live inventory ledger MERGE",
    "live.merge.after": "live inventory ledger MERGE committed",
    "live.replace.before": "live positions / channel availability replaced",
    "live.replace.after": "live positions / channel availability committed",
    "pins.before": "validation registry append: data committed, pin not recorded",
    "pins.after": "validation registry committed",
    "pins.compact.before": "validation registry compaction",
    "pins.compact.after": "validation registry compacted, not checkpointed",
    "maintenance.compact.before": "maintenance: optimize.compact",
    "maintenance.compact.after": "maintenance: compacted, not checkpointed",
    "maintenance.vacuum.before": "maintenance: checkpoint written, vacuum next",
    "maintenance.vacuum.after": "maintenance: vacuumed, metadata not cleaned",
    "warehouse.audit.before": "warehouse audit record: temp written, not renamed",
    "warehouse.audit.after": "warehouse audit record renamed",
    "warehouse.copy.after": "warehouse publish: copy written, not renamed",
    "warehouse.rename.after": "warehouse publish: renamed, publish record not written",
    "warehouse.record.after": "warehouse publish: publish record renamed",
    "dbt.build.before": "dbt build of the warehouse build file",
    "dbt.build.after": "dbt build done, its tables not measured yet",
}


class InjectedFault(RuntimeError):
    """Raised by a ``raise:`` fault entry; never raised unless the variable is set."""


def fault(point: str, table_uri: str) -> None:
    """A commit boundary: act on ``LAKEHOUSE_FAULT`` if it is set, else return at once."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    _act(spec, point, str(table_uri))


def _act(spec: str, point: str, table_uri: str) -> None:
    global _crossings
    entries = [e.strip() for e in spec.split(",") if e.strip()]
    with _lock:  # bronze commits from a thread pool: count and log one crossing at a time
        _crossings += 1
        n = _crossings
        for entry in entries:
            if entry.startswith("log:"):
                with open(entry[4:], "a") as log:
                    log.write(f"{os.getpid()}\t{n}\t{point}\t{table_uri}\n")
    for entry in entries:
        action, _, rest = entry.partition(":")
        if action == "kill-at":
            if n == int(rest):
                os.kill(os.getpid(), signal.SIGKILL)
            continue
        parts = rest.split(":", 1)
        if action not in ("kill", "raise") or parts[0] != point:
            continue
        if len(parts) == 2 and parts[1] not in table_uri:
            continue
        if action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if entry not in _raised:
            _raised.add(entry)
            raise InjectedFault(f"injected fault {entry!r} at {point} on {table_uri}")
