"""dagster-dbt's `DbtCliResource` without two things it does before every dbt command that
this project never uses, about 2 s of every `lakehouse run`.

- **`dbt --version` in a subprocess** (`_cli_version`), to tell dbt Core from the Fusion
  engine: a whole Python start that imports dbt (1.2 s), and dbt's version check asks PyPI for
  the latest release on the way. The resource runs the venv's own dbt
  (`orchestration.assets.dbt.DbtResource`), so its version is the dbt-core package this process
  imported already.
- **A dbt adapter built in this process** (`_initialize_dbt_core_adapter`: profile, project,
  adapter registration, the macros; 0.9 s the first time, 0.3 s after). dagster-dbt uses it
  only for `fetch_column_metadata` and `fetch_row_counts` on the event stream; the dbt asset
  measures its tables itself (`orchestration/assets/dbt.py`, `_table_metadata`), so it is never
  built here and an invocation's ``adapter`` is None.

Both are private members of a public class: listed in this package's README and guarded by
`tests/unit/orchestration/runtime/test_private_api.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import dbt.version
from dagster_dbt import DbtCliResource
from packaging import version


class VenvDbtCliResource(DbtCliResource):
    """`DbtCliResource` for a dbt executable of this interpreter's environment."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(dbt.version.__version__)

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None
