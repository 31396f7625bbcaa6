"""Resources shared by every asset."""

from __future__ import annotations

import dagster as dg

from lakehouse.home import Home


class LakehouseResource(dg.ConfigurableResource):
    """The lakehouse home every asset reads and writes (landing, lake, warehouse, truth)."""

    home: str

    @property
    def paths(self) -> Home:
        return Home.resolve(self.home)
