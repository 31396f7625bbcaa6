"""Raw records -> typed bronze rows or quarantine rows, with vectorised polars expressions.

Nothing is cast silently: a JSON string "7" in an integer field is ``wrong_type``, CSV text must
parse strictly, and every error names the file, line and field in a sentence a person can act
on. A row with several problems is quarantined once, under its first problem, with all of them
in the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl

from lakehouse.channels.spec import Entity, Field
from lakehouse.ingest.parse import EXTRA, LINE, RAW, kind_col

UTC = "UTC"
SEP = "\x1f"
_INT_RE = r"^[+-]?[0-9]+$"
_FLOAT_RE = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_ISO = "%Y-%m-%dT%H:%M:%S%.f%#z"
_LOCAL = "%Y-%m-%d %H:%M:%S"
_EPOCH_MAX_S = 4102444800  # 2100-01-01
_TS_TYPES = {"ts_iso", "ts_local", "epoch_ms", "epoch_s"}


@dataclass(frozen=True)
class Context:
    """What validation needs besides the rows: where they came from and the ingest clock."""

    source: str  # path relative to landing, named in every reason
    now: datetime  # ingest wall clock (tz-aware)
    max_skew: timedelta = timedelta(days=1)
    timezones: dict[str, str] | None = None  # location_code -> IANA zone, for ts_local
    unit: str = "line"  # "line" for line files, "record" for JSON documents


def bronze_dtype(f: Field) -> pl.DataType:
    """The bronze column type of a spec field."""
    return {
        "str": pl.String(), "int": pl.Int64(), "float": pl.Float64(), "bool": pl.Boolean(),
        "ts_iso": pl.Datetime("us", UTC), "ts_local": pl.Datetime("us", UTC),
        "epoch_ms": pl.Datetime("us", UTC), "epoch_s": pl.Datetime("us", UTC),
        "date": pl.Date(), "object": pl.String(), "array": pl.String(),
    }[f.type]


def _shown(f: Field) -> pl.Expr:
    """The offending value as a person would recognise it (strings quoted, long ones cut)."""
    text, kind = pl.col(f.name), pl.col(kind_col(f.name))
    cut = pl.when(text.str.len_chars() > 60).then(text.str.slice(0, 57) + "...").otherwise(text)
    quoted = pl.when(kind.is_in(["str", "csv"])).then(pl.lit('"') + cut + pl.lit('"'))
    described = (pl.when(kind == "str").then(pl.lit("the string ")).otherwise(pl.lit("")))
    return described + quoted.otherwise(cut)


def _err(ctx: Context, kind: str, field: str, message: pl.Expr) -> pl.Expr:
    where = pl.format(f"{ctx.source} {ctx.unit} {{}}: ", pl.col(LINE))
    return pl.concat_str([pl.lit(kind + SEP + field + SEP), where, pl.lit(SEP),
                          pl.lit(f"field `{field}` "), message])


def _typed(f: Field, ctx: Context) -> tuple[pl.Expr, list[tuple[pl.Expr, pl.Expr]]]:
    """(typed value, [(condition, error)]) for one spec field."""
    text, kind = pl.col(f.name), pl.col(kind_col(f.name))
    shown = _shown(f)
    is_csv = kind == "csv"
    stringy = kind.is_in(["str", "csv"])
    checks: list[tuple[pl.Expr, pl.Expr]] = []
    if f.required:
        empty = kind.is_null() | (stringy & (text.str.strip_chars() == ""))
        checks.append((empty, _err(ctx, "missing_required", f.name,
                                   pl.lit("is missing or empty, but it is required"))))

    def wrong(ok: pl.Expr, expected: str) -> None:
        checks.append((kind.is_not_null() & ~ok,
                       _err(ctx, "wrong_type", f.name,
                            pl.lit("is ") + shown + pl.lit(f", expected {expected}"))))

    t = f.type
    if t == "str":
        wrong(stringy, "a string")
        return text, checks
    if t in ("int", "epoch_ms", "epoch_s"):
        ok = (kind == "int") | (is_csv & text.str.contains(_INT_RE))
        value = pl.when(ok).then(text.str.strip_prefix("+").cast(pl.Int64, strict=False))
        wrong(ok, "an integer")
        checks.append((ok & value.is_null(), _err(ctx, "wrong_type", f.name, pl.lit("is ")
                                                  + shown + pl.lit(", out of the 64-bit range"))))
        if t == "int":
            return value, checks
        scale = 1000 if t == "epoch_ms" else 1
        in_range = (value >= 0) & (value < _EPOCH_MAX_S * scale)
        checks.append((value.is_not_null() & ~in_range, _err(
            ctx, "bad_timestamp", f.name, pl.lit("is ") + shown + pl.lit(
                f", not epoch {'milliseconds' if scale == 1000 else 'seconds'} "
                "between 1970 and 2100"))))
        stamp = pl.from_epoch(pl.when(in_range).then(value), time_unit="ms" if scale == 1000
                              else "s")
        return _future(f, ctx, stamp.cast(pl.Datetime("us")).dt.replace_time_zone(UTC), checks)
    if t == "float":
        ok = kind.is_in(["int", "float"]) | (is_csv & text.str.contains(_FLOAT_RE))
        wrong(ok, "a number")
        return pl.when(ok).then(text.cast(pl.Float64, strict=False)), checks
    if t == "bool":
        low = text.str.to_lowercase()
        ok = (kind == "bool") | (is_csv & low.is_in(["true", "false"]))
        wrong(ok, "true or false")
        return pl.when(ok).then(low == "true"), checks
    if t in ("object", "array"):
        wrong(kind == t, "a JSON object" if t == "object" else "a JSON array")
        return pl.when(kind == t).then(text), checks
    if t == "date":
        wrong(stringy, "a date string YYYY-MM-DD")
        value = pl.when(stringy).then(text.str.to_date("%Y-%m-%d", strict=False))
        checks.append((stringy & text.is_not_null() & (text != "") & value.is_null(), _err(
            ctx, "bad_timestamp", f.name, pl.lit("is ") + shown
            + pl.lit(", not a date YYYY-MM-DD"))))
        return value, checks
    if t == "ts_iso":
        wrong(stringy, "an ISO-8601 timestamp string")
        value = pl.when(stringy).then(text.str.to_datetime(_ISO, strict=False, time_unit="us"))
        value = value.dt.convert_time_zone(UTC)
        checks.append((stringy & (text != "") & value.is_null(), _err(
            ctx, "bad_timestamp", f.name, pl.lit("is ") + shown
            + pl.lit(", not ISO-8601 with an offset like 2026-03-01T10:15:30.123+01:00"))))
        return _future(f, ctx, value, checks)
    if t == "ts_local":
        return _local(f, ctx, checks, stringy, shown)
    raise ValueError(f"field {f.name}: unknown field type {t!r} in the spec")


def _future(f: Field, ctx: Context, value: pl.Expr, checks: list) -> tuple[pl.Expr, list]:
    limit = ctx.now + ctx.max_skew
    checks.append((value > pl.lit(limit).cast(pl.Datetime("us", UTC)), _err(
        ctx, "future_timestamp", f.name,
        pl.lit("is ") + value.dt.to_string("%Y-%m-%dT%H:%M:%S%.fZ")
        + pl.lit(f", more than {_human(ctx.max_skew)} after the ingest time "
                 f"{ctx.now.astimezone(ZoneInfo(UTC)):%Y-%m-%dT%H:%M:%SZ}"))))
    return value, checks


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0 and seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} seconds"


def _local(f: Field, ctx: Context, checks: list, stringy: pl.Expr, shown: pl.Expr):
    """Store-local wall time -> UTC through the location's zone (store_code / site_code)."""
    text = pl.col(f.name)
    naive = pl.when(stringy).then(text.str.to_datetime(_LOCAL, strict=False, time_unit="us"))
    checks.append((stringy & (text != "") & naive.is_null(), _err(
        ctx, "bad_timestamp", f.name, pl.lit("is ") + shown
        + pl.lit(", not local time YYYY-MM-DD HH:MM:SS"))))
    zones = {code: tz for code, tz in (ctx.timezones or {}).items() if _valid_zone(tz)}
    loc = pl.col("store_code")
    zone = loc.replace_strict(list(zones), list(zones.values()), default=None,
                              return_dtype=pl.String) if zones else pl.lit(None, pl.String)
    checks.append((naive.is_not_null() & zone.is_null(), _err(
        ctx, "unresolved_timezone", f.name, pl.lit("is local time but store_code ")
        + pl.lit('"') + loc.fill_null("") + pl.lit('"')
        + pl.lit(" has no valid time zone in landing/locations/locations_*.json"))))
    branches = [pl.when(zone == tz).then(naive.dt.replace_time_zone(
        tz, ambiguous="earliest", non_existent="null").dt.convert_time_zone(UTC))
        for tz in sorted(set(zones.values()))]
    value = pl.coalesce(branches) if branches else pl.lit(None, pl.Datetime("us", UTC))
    checks.append((naive.is_not_null() & zone.is_not_null() & value.is_null(), _err(
        ctx, "bad_timestamp", f.name, pl.lit("is ") + shown
        + pl.lit(" which does not exist in ") + zone + pl.lit(" (clock change)"))))
    return _future(f, ctx, value, checks)


def _valid_zone(tz: str) -> bool:
    try:
        ZoneInfo(tz)
    except Exception:
        return False
    return True


_QUANTITIES = {"quantity", "qty", "counted_qty", "units"}


def _bound_checks(ent: Entity, ctx: Context, typed: dict[str, pl.Expr]) -> list:
    """Numeric bounds from the channel contract; a quantity below its floor is its own kind.

    WMS `qty` is the one conditional bound: >= 0, except ADJUSTMENT rows, which may be negative.
    """
    checks = []
    for f in ent.all_fields:
        value = typed[f.name]
        bounds = [(f.minimum, ">="), (f.maximum, "<=")]
        if (ent.channel, f.name) == ("wms", "qty"):
            bounds = [(0, ">=")]
        for bound, word in bounds:
            if bound is None:
                continue
            bad = value < bound if word == ">=" else value > bound
            if (ent.channel, f.name) == ("wms", "qty"):
                bad = bad & (pl.col("movement_type") != "ADJUSTMENT").fill_null(True)
            kind = "negative_quantity" if f.name in _QUANTITIES and word == ">=" else (
                "out_of_range")
            shown = int(bound) if float(bound).is_integer() else bound
            message = pl.lit("is ") + value.cast(pl.String) + pl.lit(f", must be {word} {shown}")
            checks.append((bad, _err(ctx, kind, f.name, message)))
    return checks


def _nested_order_errors(source: str, unit: str, lines: list[int], items: list[str | None],
                         customers: list[str | None]) -> list[str | None]:
    """Orders carry nested line items: check their types and quantities per order."""
    out: list[str | None] = []
    for line, raw_items, raw_customer in zip(lines, items, customers, strict=True):
        problem = None
        where = f"{source} {unit} {line}: {SEP}field "
        for i, item in enumerate(json.loads(raw_items) if raw_items else []):
            path = f"line_items[{i}]"
            if not isinstance(item, dict):
                problem = ("wrong_type", path, f"`{path}` is not an object")
                break
            for key in ("id", "variant_id", "price"):
                if item.get(key) in (None, ""):
                    problem = ("missing_required", f"{path}.{key}",
                               f"`{path}.{key}` is missing or empty, but it is required")
                elif not isinstance(item[key], str):
                    problem = ("wrong_type", f"{path}.{key}",
                               f"`{path}.{key}` is {item[key]!r}, expected a string")
                if problem:
                    break
            if problem:
                break
            q = item.get("quantity")
            if q is None:
                problem = ("missing_required", f"{path}.quantity",
                           f"`{path}.quantity` is missing, but it is required")
            elif isinstance(q, bool) or not isinstance(q, int):
                problem = ("wrong_type", f"{path}.quantity",
                           f"`{path}.quantity` is {json.dumps(q)}, expected an integer")
            elif q < 1:
                problem = ("negative_quantity", f"{path}.quantity",
                           f"`{path}.quantity` is {q}, must be >= 1")
            if problem:
                break
        if problem is None and raw_customer:
            cust = json.loads(raw_customer)
            if not isinstance(cust.get("id"), str) or not cust.get("id"):
                problem = ("missing_required", "customer.id",
                           "`customer.id` is missing or not a string, but it is required")
        out.append(None if problem is None else
                   problem[0] + SEP + problem[1] + SEP + where + problem[2])
    return out


def validate(ent: Entity, records: pl.DataFrame, ctx: Context) -> tuple[pl.DataFrame,
                                                                         pl.DataFrame]:
    """Split raw records into (typed good rows, error rows with kind/field/reason)."""
    typed: dict[str, pl.Expr] = {}
    checks: list[tuple[pl.Expr, pl.Expr]] = []
    for f in ent.all_fields:
        value, field_checks = _typed(f, ctx)
        typed[f.name] = value.cast(bronze_dtype(f)).alias(f.name)
        checks += field_checks
    checks += _bound_checks(ent, ctx, typed)
    errors = [pl.when(cond.fill_null(False)).then(msg) for cond, msg in checks]
    frame = records.with_columns(
        pl.concat_list(errors).list.drop_nulls().alias("_errors") if errors
        else pl.lit([], pl.List(pl.String)).alias("_errors"))
    if ent.channel == "orders" and ent.name == "orders" and frame.height:
        nested = _nested_order_errors(ctx.source, ctx.unit, frame[LINE].to_list(),
                                      frame["line_items"].to_list(),
                                      frame["customer"].to_list())
        frame = frame.with_columns(pl.concat_list(
            "_errors", pl.Series(nested, dtype=pl.String)).list.drop_nulls().alias("_errors"))
    good = frame.filter(pl.col("_errors").list.len() == 0).select(
        LINE, EXTRA, *typed.values())
    bad = frame.filter(pl.col("_errors").list.len() > 0).select(
        LINE, RAW, _error_parts(pl.col("_errors")))
    bad = bad.unnest("_first").select(LINE, RAW, "error_kind", "field", "reason")
    return good, bad


def _error_parts(errors: pl.Expr) -> pl.Expr:
    first = errors.list.first().str.splitn(SEP, 4).struct.rename_fields(
        ["error_kind", "field", "_where", "_msg"])
    more = errors.list.slice(1).list.eval(pl.element().str.splitn(SEP, 4).struct.field("field_3"))
    head = first.struct.field("_where") + first.struct.field("_msg")
    reason = pl.when(errors.list.len() > 1).then(
        head + pl.lit("; also ") + more.list.join("; ")).otherwise(head)
    return pl.struct(first.struct.field("error_kind"), first.struct.field("field"),
                     reason.alias("reason")).alias("_first")
