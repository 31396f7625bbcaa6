"""The journey schema every attribution model reads (one row per touch), checked once.

A model is only as good as its journeys: a touch after its conversion, a journey with two
conversions or a repeated touch would each silently skew every channel's credit, so they are
refused with an error that names the column, journey and touch to fix.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

J = "journey_id"
TEXT_COLUMNS = ("journey_id", "touch_id", "channel", "conversion_id")
REQUIRED = ("journey_id", "touch_id", "channel", "occurred_at", "conversion_id", "converted_at")
NOT_NULL = ("journey_id", "touch_id", "channel", "occurred_at")
DEFAULT_VALUE = 1.0
# columns of the attribution output a kept column must not shadow
RESERVED = (*TEXT_COLUMNS, "conversion_value", "model", "credit", "value")
_FINER = {"ns": 0, "us": 1, "ms": 2}


class JourneyError(ValueError):
    """Journeys that break the schema; the message names the column, journey and touch."""


def validate_journeys(journeys: pl.DataFrame | pl.LazyFrame) -> None:
    """Raise ``JourneyError`` on the first broken rule of the journey schema (see
    ``lakehouse.marketing``); return quietly when every touch is valid."""
    _checked(journeys, ())


def touches(journeys: pl.DataFrame | pl.LazyFrame, keep: Sequence[str] = ()) -> pl.DataFrame:
    """The checked touches every model reads, with ``keep`` columns carried along.

    Sorted by journey, time and ``touch_id`` so no result depends on input row order. Adds
    ``_at``/``_conv_at`` (both times as naive UTC of one unit), ``_pos`` (0-based place of the
    touch in its journey) and ``_n`` (touches in the journey); ``conversion_value`` defaults
    to 1.0 for conversions when the column is absent.
    """
    return _checked(journeys, tuple(keep)).sort(J, "_at", "touch_id").with_columns(
        pl.int_range(pl.len()).over(J).alias("_pos"), pl.len().over(J).alias("_n"))


def _is_text(dtype: pl.DataType) -> bool:
    return dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum)


def _time(name: str, dtype: pl.DataType, unit: str) -> pl.Expr:
    """``name`` as naive UTC in ``unit``: comparable whatever zone or unit each column had."""
    if dtype == pl.Null:
        return pl.lit(None, pl.Datetime(unit))
    col = pl.col(name)
    if dtype.time_zone is not None:
        col = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return col.cast(pl.Datetime(unit))


def _typed(journeys: pl.DataFrame | pl.LazyFrame, keep: tuple[str, ...]) -> pl.DataFrame:
    """The schema's columns cast to their canonical types, after checking names and dtypes."""
    schema = journeys.collect_schema()
    missing = [c for c in REQUIRED if c not in schema]
    if missing:
        raise JourneyError(f"journeys lack column(s) {missing}; one row per touch needs "
                           f"{list(REQUIRED)} (conversion_value optional)")
    clash = [c for c in keep if c in RESERVED]
    if clash:
        raise JourneyError(f"keep={clash} would shadow output columns {list(RESERVED)}")
    absent = [c for c in keep if c not in schema]
    if absent:
        raise JourneyError(f"keep names column(s) {absent} the journeys do not have")
    for c in TEXT_COLUMNS:
        if not (_is_text(schema[c]) or (c == "conversion_id" and schema[c] == pl.Null)):
            raise JourneyError(f"column {c!r} must be text, got {schema[c]}")
    for c in ("occurred_at", "converted_at"):
        if not (isinstance(schema[c], pl.Datetime) or (c == "converted_at"
                                                       and schema[c] == pl.Null)):
            raise JourneyError(f"column {c!r} must be a datetime, got {schema[c]}")
    value = schema.get("conversion_value")
    if value is not None and not (value.is_numeric() or value == pl.Null):
        raise JourneyError(f"column 'conversion_value' must be numeric, got {value}")
    units = [schema[c].time_unit for c in ("occurred_at", "converted_at")
             if isinstance(schema[c], pl.Datetime)]
    unit = min(units, key=_FINER.__getitem__)
    converting = pl.col("conversion_id").is_not_null()
    value_expr = (pl.col("conversion_value").cast(pl.Float64) if value is not None
                  else pl.when(converting).then(pl.lit(DEFAULT_VALUE)))
    return journeys.lazy().select(
        *[pl.col(c).cast(pl.String) for c in TEXT_COLUMNS],
        _time("occurred_at", schema["occurred_at"], unit).alias("_at"),
        _time("converted_at", schema["converted_at"], unit).alias("_conv_at"),
        value_expr.alias("conversion_value"),
        *keep,
    ).collect()


def _first(df: pl.DataFrame, bad: pl.Expr) -> dict:
    """The first offending row (by journey and touch), so the same error names the same touch."""
    return df.filter(bad).sort(J, "touch_id").row(0, named=True)


def _checked(journeys: pl.DataFrame | pl.LazyFrame, keep: tuple[str, ...]) -> pl.DataFrame:
    df = _typed(journeys, keep)
    for c in NOT_NULL:
        col = "_at" if c == "occurred_at" else c
        if df[col].null_count():
            row = df.filter(pl.col(col).is_null()).row(0, named=True)
            raise JourneyError(f"column {c!r} is null for touch_id {row['touch_id']!r} "
                               f"(journey_id {row[J]!r}); it must be set on every touch")
    dup = df.filter(pl.col("touch_id").is_duplicated())
    if dup.height:
        tid = dup["touch_id"].min()
        journeys_of = sorted(set(dup.filter(pl.col("touch_id") == tid)[J]))
        raise JourneyError(f"touch_id {tid!r} appears more than once (journey_id "
                           f"{', '.join(map(repr, journeys_of))}); touch_id must be unique")
    per_journey = df.group_by(J).agg(
        pl.col("conversion_id").unique().sort(nulls_last=True),
        pl.col("_conv_at").n_unique().alias("_times"),
        pl.col("conversion_value").n_unique().alias("_values"))
    for what, bad in (("conversion_id", pl.col("conversion_id").list.len() > 1),
                      ("converted_at", pl.col("_times") > 1),
                      ("conversion_value", pl.col("_values") > 1)):
        if per_journey.select(bad.any()).item():
            row = per_journey.filter(bad).sort(J).row(0, named=True)
            raise JourneyError(f"journey_id {row[J]!r} carries more than one {what} (conversion "
                               f"ids {row['conversion_id']}); every touch of a journey carries "
                               f"its one conversion, or none")
    shared = (per_journey.explode("conversion_id").drop_nulls("conversion_id")
              .filter(pl.col("conversion_id").is_duplicated()))
    if shared.height:
        cid = shared["conversion_id"].min()
        js = sorted(shared.filter(pl.col("conversion_id") == cid)[J])
        raise JourneyError(f"conversion_id {cid!r} ends journeys {js}; a conversion ends one "
                           "journey")
    converting = pl.col("conversion_id").is_not_null()
    value = pl.col("conversion_value")
    rules = (
        (converting != pl.col("_conv_at").is_not_null(),
         "has conversion_id {conversion_id!r} but converted_at {_conv_at}: both are set "
         "(a conversion) or both null"),
        (converting & ~(value.is_not_null() & value.is_finite() & (value >= 0)),
         "converts ({conversion_id!r}) with conversion_value {conversion_value}; it must be a "
         "finite number >= 0"),
        (~converting & value.is_not_null(),
         "has conversion_value {conversion_value} but no conversion_id"),
        (pl.col("_at") > pl.col("_conv_at"),
         "occurred at {_at} (UTC), after its conversion {conversion_id!r} at {_conv_at}: a "
         "touch cannot follow its conversion"),
    )
    flags = df.select(*[bad.any().alias(str(i)) for i, (bad, _) in enumerate(rules)]).row(0)
    for flagged, (bad, message) in zip(flags, rules, strict=True):
        if flagged:
            row = _first(df, bad)
            raise JourneyError(f"touch_id {row['touch_id']!r} of journey_id {row[J]!r} "
                               + message.format(**row))
    return df
