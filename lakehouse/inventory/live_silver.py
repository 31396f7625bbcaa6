"""Silver reads for one micro-batch (``live.py``): only the batch's rows (files picked from
the Delta log's ``_batch_id`` statistics, as silver reads bronze), whole small reference tables,
and the stored rows of given keys from the partitions they can live in.
"""

from __future__ import annotations

import polars as pl

from lakehouse.home import Home
from lakehouse.silver.delta_io import Layout, PinnedTables, read_bronze, read_existing
from lakehouse.storage.paths import table_uri


class SilverBatch:
    """The silver tables a micro-batch reads, pinned for the batch (``PinnedTables``): the
    batch's own rows, whole small tables, and the stored rows of some keys."""

    def __init__(self, home: Home, batch_id: str) -> None:
        self.home, self.batch_id, self.tables = home, batch_id, PinnedTables()

    def uri(self, name: str) -> str:
        return table_uri(self.home, "silver", name)

    def batch(self, name: str) -> pl.DataFrame:
        """Rows of this batch in a silver table (files chosen from log statistics)."""
        out = read_bronze(self.tables, self.uri(name), self.batch_id)
        return pl.DataFrame() if out is None else out

    def whole(self, name: str, columns: list[str] | None = None) -> pl.DataFrame:
        dt = self.tables.get(self.uri(name))
        if dt is None:
            return pl.DataFrame()
        out = pl.from_arrow(dt.to_pyarrow_table(columns=columns))
        assert isinstance(out, pl.DataFrame)
        return out

    def lookup(self, name: str, layout: Layout, rows: pl.DataFrame) -> pl.DataFrame:
        """Stored rows of the keys in ``rows``, read only from the partitions in ``rows``."""
        dt = self.tables.get(self.uri(name))
        if dt is None or rows.is_empty():
            return pl.DataFrame()
        return read_existing(self.uri(name), dt, layout, rows)


def spread(frame: pl.DataFrame, key: str, day: str, out_day: str, days=(-1, 0, 1)
           ) -> pl.DataFrame:
    """(key, out_day) for each row's day +- the given offsets (a partition lookup)."""
    if frame.is_empty():
        return pl.DataFrame(schema={key: pl.String, out_day: pl.Date})
    return pl.concat([frame.select(pl.col(key), (pl.col(day) + pl.duration(days=k))
                                   .cast(pl.Date).alias(out_day)) for k in days]).unique()
