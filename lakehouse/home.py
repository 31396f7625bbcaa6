"""The lakehouse home: one directory that holds everything a run reads and writes.

The lake alone may live in an object store instead (``LAKEHOUSE_LAKE_URI=s3://bucket/prefix``,
see ``lakehouse.storage.objects``); landing zone, lock, Dagster instance and warehouse stay here.

Resolution order: an explicit path (``--home``), else ``LAKEHOUSE_HOME``, else ``./.lakehouse``.
Deleting the directory starts clean; several homes can live side by side.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = ".lakehouse"
# an object-store location for the lake (``s3://bucket/prefix``); unset: ``<home>/lake``
LAKE_URI_ENV = "LAKEHOUSE_LAKE_URI"

# The Dagster instance of a home: runs, event logs and schedules stay inside the home. A file
# that still starts with the marker line is ours and follows the project's defaults (and the
# home's place: a moved home's is rewritten); delete that line to keep edits of your own.
INSTANCE_YAML_MARKER = "# Written by lakehouse: rewritten when its defaults change."
_INSTANCE_YAML = f"""\
{INSTANCE_YAML_MARKER}
telemetry:
  enabled: false
event_log_storage:  # Dagster's SQLite event log and files, one connection kept per database
  module: orchestration.runtime.event_log
  class: PooledSqliteEventLogStorage
  config:
    base_dir: {{event_log_dir}}
run_coordinator:  # the queue, tagging UI materializations of lake assets as lake writers
  module: orchestration.runtime.launcher
  class: LakeRunCoordinator
  config:
    max_concurrent_runs: 2
    dequeue_interval_seconds: 1  # micro-batches: start a queued run within a second
    tag_concurrency_limits:  # runs that write the lake (micro-batch, nightly) never overlap
      - key: lakehouse/writes
        value: lake
        limit: 1
run_launcher:  # run workers forked from a process that imported the code already (~3 s saved)
  module: orchestration.runtime.launcher
  class: PreforkRunLauncher
  config:
    # what micro-batch steps import lazily; GX (~4 s to import) validates every gate
    preload_modules: [pandas, pyarrow.dataset, great_expectations, duckdb_engine,
                      great_expectations.execution_engine.sqlalchemy_execution_engine,
                      data_quality.gx_engine]
run_monitoring:  # a killed run worker fails its run instead of holding the lake tag for ever
  enabled: true
  poll_interval_seconds: 30
  # a worker waiting for the lake-writer lock behind a nightly run gives up (naming the
  # holder) only after this: a nightly on the default simulation takes a few minutes
  start_timeout_seconds: 900
retention:  # the landing sensor ticks every second: keep a day of its skipped ticks
  sensor:
    purge_after_days:
      skipped: 1
      success: 30
      failure: 30
  schedule:
    purge_after_days: 90
"""


def instance_yaml(dagster_home: Path) -> str:
    """The ``dagster.yaml`` lakehouse writes into ``dagster_home``. The event log stays where
    Dagster's default storage keeps it (``history/runs/``)."""
    return _INSTANCE_YAML.format(event_log_dir=json.dumps(str(dagster_home / "history" / "runs")))


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike[str] | None = None) -> Home:
        raw = home or os.environ.get("LAKEHOUSE_HOME") or DEFAULT_HOME
        return cls(Path(raw).expanduser().resolve())

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    def channel_dir(self, channel: str) -> Path:
        return self.landing / channel

    @property
    def lake(self) -> Path:
        """``root/lake``, or the object-store location ``LAKEHOUSE_LAKE_URI`` names (an
        ``ObjectPath``: ``/``, ``name``, ``parent`` and listing work as on a ``Path``)."""
        if not os.environ.get(LAKE_URI_ENV, "").strip():
            return self.root / "lake"  # local: nothing imported (lakehouse.storage is heavy)
        from lakehouse.storage.objects import lake_root

        return lake_root(self.root / "lake")  # type: ignore[return-value]

    @property
    def bronze(self) -> Path:
        return self.lake / "bronze"

    @property
    def silver(self) -> Path:
        return self.lake / "silver"

    @property
    def quarantine(self) -> Path:
        return self.lake / "quarantine"

    @property
    def mappings(self) -> Path:
        """Hand-kept mappings a data engineer edits (``product_crosswalk.csv``)."""
        return self.root / "mappings"

    @property
    def truth(self) -> Path:
        return self.root / "truth"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @property
    def dbt_target(self) -> Path:
        return self.root / "dbt" / "target"

    def environment(self) -> dict[str, str]:
        """The process environment for Dagster and dbt on this home, telemetry off."""
        self.dagster_home.mkdir(parents=True, exist_ok=True)
        instance_file = self.dagster_home / "dagster.yaml"
        current = instance_file.read_text() if instance_file.exists() else None
        ours = instance_yaml(self.dagster_home)
        if current is None or (current.startswith(INSTANCE_YAML_MARKER) and current != ours):
            instance_file.write_text(ours)
        return {
            **os.environ,
            "LAKEHOUSE_HOME": str(self.root),
            "DAGSTER_HOME": str(self.dagster_home),
            "DAGSTER_DISABLE_TELEMETRY": "1",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            "GX_ANALYTICS_ENABLED": "False",
            "DO_NOT_TRACK": "1",
        }

    def ensure(self) -> Home:
        for path in (self.landing, self.bronze, self.silver, self.quarantine, self.truth,
                     self.dagster_home):
            path.mkdir(parents=True, exist_ok=True)
        return self
