"""The lakehouse home: one directory that holds everything a run reads and writes.

Resolution order: an explicit path (``--home``), else ``LAKEHOUSE_HOME``, else ``./.lakehouse``.
Deleting the directory starts clean; several homes can live side by side.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = ".lakehouse"


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
        return self.root / "lake"

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

    def ensure(self) -> Home:
        for path in (self.landing, self.bronze, self.silver, self.quarantine, self.truth,
                     self.dagster_home):
            path.mkdir(parents=True, exist_ok=True)
        return self
