"""One entity's records of a group of files validated together, one pass per record form."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from lakehouse.channels.spec import Entity
from lakehouse.ingest.group import Group, from_parsed
from lakehouse.ingest.parse.records import LINE, RAW, Parsed, empty_records, error_frame
from lakehouse.ingest.validate import FILE, Context, validate


def check_group(ent: Entity, group: Group, sources: tuple[str, ...], now: datetime,
                max_skew: timedelta, zones: dict[str, str] | None):
    """Validate one entity's records of several files in one pass per record form.

    Returns (good, bad) for the whole group, each with the ``_file`` index column and sorted by
    (file, line): good rows typed, bad rows (parse errors included) with raw text filled in.
    """
    ctx = Context(sources[0], now, max_skew, zones,
                  "record" if ent.format == "json" else "line", sources)
    goods, bads = [], []
    for frames in (group.native, group.text):
        if not frames:
            continue
        # one chunk: the many small chunks of a parse cost polars more than the copy
        good, bad = validate(ent, pl.concat(frames, how="vertical_relaxed").rechunk(), ctx)
        goods.append(good)
        if bad.height:
            bads.append(bad.with_columns(pl.col(FILE).cast(pl.Int32)))
    if not goods:
        good = validate(ent, empty_records(ent), ctx)[0].with_columns(
            pl.lit(None, pl.Int32).alias(FILE))
    elif len(goods) == 1 and goods[0][FILE].is_sorted():
        good = goods[0]  # one record form, and its frames came in file order
    else:  # (files read one by one or under another CSV header come after the others)
        good = pl.concat(goods, how="diagonal_relaxed").sort(FILE, LINE)
    errors = group.errors
    bad = pl.concat([b.select(LINE, RAW, "error_kind", "field", "reason", FILE)
                     for b in errors + bads], how="vertical_relaxed") if errors or bads else (
        error_frame([]).with_columns(pl.lit(None, pl.Int32).alias(FILE)))
    missing = bad.filter(pl.col(RAW).is_null())
    if missing.height:
        fills = []
        for (i,), rows in missing.partition_by(FILE, as_dict=True, maintain_order=True).items():
            lines = rows[LINE].to_list()
            raw_of = group.raw_of[i]
            fills.append(pl.DataFrame({FILE: pl.Series([i] * len(lines), dtype=pl.Int32),
                                       LINE: pl.Series(lines, dtype=pl.Int64),
                                       "_fill": pl.Series(raw_of(lines) if raw_of else
                                                          [None] * len(lines), dtype=pl.String)}))
        bad = bad.join(pl.concat(fills), on=[FILE, LINE], how="left").with_columns(
            pl.col(RAW).fill_null(pl.col("_fill"))).drop("_fill")
    return good, bad.sort(FILE, LINE)


def file_sizes(frame: pl.DataFrame, n: int) -> list[int]:
    """Rows per file index (0..n-1) of a frame sorted by ``_file``."""
    sizes = [0] * n
    if frame.height:
        for i, c in frame[FILE].value_counts().iter_rows():
            sizes[i] = c
    return sizes


def slices(frame, sizes: list[int]) -> list:
    """Consecutive zero-copy slices of ``frame`` (polars or Arrow) of the given sizes."""
    out, offset = [], 0
    for size in sizes:
        out.append(frame.slice(offset, size))
        offset += size
    return out


def validate_group(ent: Entity, parsed: list[Parsed], sources: tuple[str, ...], now: datetime,
                   max_skew: timedelta, zones: dict[str, str] | None):
    """Per-file (good, bad) frames of ``check_group``, in the order of ``parsed``."""
    good, bad = check_group(ent, from_parsed(parsed), sources, now, max_skew, zones)
    goods = slices(good, file_sizes(good, len(parsed)))
    bads = slices(bad, file_sizes(bad, len(parsed)))
    return [(g.drop(FILE) if g.height else None, b.drop(FILE))
            for g, b in zip(goods, bads, strict=True)]
