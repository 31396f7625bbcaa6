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
from lakehouse.ingest.parse.exact import gc_paused
from lakehouse.ingest.parse.records import EXTRA, LINE, RAW, is_native, kind_col, native_kind
from lakehouse.ingest.timestamps import UTC, iso_to_utc

SRC = "_src"  # source file named in a reason (a column, so one frame can hold many files)
FILE = "_file"  # index of the row's file in ``Context.sources`` when one frame holds several
SEP = "\x1f"
_INT_RE = r"^[+-]?[0-9]+$"
_FLOAT_RE = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
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
    sources: tuple[str, ...] | None = None  # file names by the ``_file`` column of the rows


def bronze_dtype(f: Field) -> pl.DataType:
    """The bronze column type of a spec field."""
    return {
        "str": pl.String(), "int": pl.Int64(), "float": pl.Float64(), "bool": pl.Boolean(),
        "ts_iso": pl.Datetime("us", UTC), "ts_local": pl.Datetime("us", UTC),
        "epoch_ms": pl.Datetime("us", UTC), "epoch_s": pl.Datetime("us", UTC),
        "date": pl.Date(), "object": pl.String(), "array": pl.String(),
    }[f.type]


def _shown(f: Field, native: bool) -> pl.Expr:
    """The offending value as a person would recognise it (strings quoted, long ones cut)."""
    text = pl.col(f.name).cast(pl.String) if native else pl.col(f.name)
    kind = _kind(f, native)
    cut = pl.when(text.str.len_chars() > 60).then(text.str.slice(0, 57) + "...").otherwise(text)
    quoted = pl.when(kind.is_in(["str", "csv"])).then(pl.lit('"') + cut + pl.lit('"'))
    described = (pl.when(kind == "str").then(pl.lit("the string ")).otherwise(pl.lit("")))
    return described + quoted.otherwise(cut)


def _kind(f: Field, native: bool) -> pl.Expr:
    if native:  # every non-null value has the JSON type of its column
        return pl.when(pl.col(f.name).is_not_null()).then(pl.lit(native_kind(f)))
    return pl.col(kind_col(f.name))


def _err(ctx: Context, kind: str, field: str, message: pl.Expr) -> pl.Expr:
    where = pl.format(f"{{}} {ctx.unit} {{}}: ", pl.col(SRC), pl.col(LINE))
    return pl.concat_str([pl.lit(kind + SEP + field + SEP), where, pl.lit(SEP),
                          pl.lit(f"field `{field}` "), message])


def value_col(name: str) -> str:
    return f"{name}#v"


def _typed(f: Field, ctx: Context, native: bool) -> tuple[dict[str, pl.Expr], list]:
    """({column: typed value expr}, [(condition, error)]) for one spec field.

    The value columns are computed first; conditions refer to them by name (``#v``), so a
    timestamp is parsed once, and error texts are only ever built for rows that failed.
    """
    text, kind = pl.col(f.name), _kind(f, native)
    v = pl.col(value_col(f.name))
    shown = _shown(f, native)
    is_csv = pl.lit(False) if native else kind == "csv"
    stringy = kind.is_not_null() if native and f.type in _STRINGY else (
        pl.lit(False) if native else kind.is_in(["str", "csv"]))
    checks: list[tuple[pl.Expr, pl.Expr]] = []
    if f.required:
        blank = text.str.contains(r"^\s*$") if not native or f.type in _STRINGY else pl.lit(False)
        empty = kind.is_null() | (stringy & blank)
        checks.append((empty, _err(ctx, "missing_required", f.name,
                                   pl.lit("is missing or empty, but it is required"))))

    def wrong(ok: pl.Expr, expected: str) -> None:
        if not native:
            checks.append((kind.is_not_null() & ~ok,
                           _err(ctx, "wrong_type", f.name,
                                pl.lit("is ") + shown + pl.lit(f", expected {expected}"))))

    t = f.type
    if t == "str":
        wrong(stringy, "a string")
        return {value_col(f.name): text}, checks
    if t in ("int", "epoch_ms", "epoch_s"):
        if native:
            value = text
        else:
            ok = (kind == "int") | (is_csv & text.str.contains(_INT_RE))
            value = pl.when(ok).then(text.str.strip_prefix("+").cast(pl.Int64, strict=False))
            wrong(ok, "an integer")
            checks.append((ok & v.is_null(), _err(ctx, "wrong_type", f.name, pl.lit("is ")
                                                  + shown + pl.lit(", out of the 64-bit range"))))
        if t == "int":
            return {value_col(f.name): value}, checks
        scale = 1000 if t == "epoch_ms" else 1
        raw = pl.col(f"{f.name}#i")
        in_range = (raw >= 0) & (raw < _EPOCH_MAX_S * scale)
        checks.append((raw.is_not_null() & ~in_range, _err(
            ctx, "bad_timestamp", f.name, pl.lit("is ") + shown + pl.lit(
                f", not epoch {'milliseconds' if scale == 1000 else 'seconds'} "
                "between 1970 and 2100"))))
        stamp = pl.from_epoch(pl.when(in_range).then(raw), time_unit="ms" if scale == 1000
                              else "s")
        checks.append(_future(f, ctx, v))
        return {f"{f.name}#i": value, value_col(f.name): stamp.cast(pl.Datetime("us"))
                .dt.replace_time_zone(UTC)}, checks
    if t == "float":
        # 1e400 reads as infinity (JSON has no such number; Python's reader also takes NaN)
        checks.append((v.is_infinite() | v.is_nan(), _err(
            ctx, "out_of_range", f.name, pl.lit("is ") + shown
            + pl.lit(", not a finite number (beyond the 64-bit float range)"))))
        if native:
            return {value_col(f.name): text}, checks
        ok = kind.is_in(["int", "float"]) | (is_csv & text.str.contains(_FLOAT_RE))
        wrong(ok, "a number")
        return {value_col(f.name): pl.when(ok).then(text.cast(pl.Float64, strict=False))}, checks
    if t == "bool":
        if native:
            return {value_col(f.name): text}, checks
        low = text.str.to_lowercase()
        ok = (kind == "bool") | (is_csv & low.is_in(["true", "false"]))
        wrong(ok, "true or false")
        return {value_col(f.name): pl.when(ok).then(low == "true")}, checks
    if t in ("object", "array"):
        if native:
            raise ValueError(f"field {f.name}: nested values have no native frame")
        wrong(kind == t, "a JSON object" if t == "object" else "a JSON array")
        return {value_col(f.name): pl.when(kind == t).then(text)}, checks
    if t == "date":
        wrong(stringy, "a date string YYYY-MM-DD")
        value = pl.when(stringy).then(text.str.to_date("%Y-%m-%d", strict=False))
        checks.append((stringy & text.is_not_null() & (text != "") & v.is_null(), _err(
            ctx, "bad_timestamp", f.name, pl.lit("is ") + shown
            + pl.lit(", not a date YYYY-MM-DD"))))
        return {value_col(f.name): value}, checks
    if t == "ts_iso":
        wrong(stringy, "an ISO-8601 timestamp string")
        parsed = text.map_batches(iso_to_utc, return_dtype=pl.Datetime("us", UTC))
        value = parsed if native else pl.when(stringy).then(parsed)
        checks.append((stringy & (text != "") & v.is_null(), _err(
            ctx, "bad_timestamp", f.name, pl.lit("is ") + shown
            + pl.lit(", not ISO-8601 with an offset like 2026-03-01T10:15:30.123+01:00"))))
        checks.append(_future(f, ctx, v))
        return {value_col(f.name): value}, checks
    if t == "ts_local":
        return _local(f, ctx, checks, stringy, shown)
    raise ValueError(f"field {f.name}: unknown field type {t!r} in the spec")


_STRINGY = {"str", "ts_iso", "ts_local", "date"}


def _future(f: Field, ctx: Context, value: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    limit = ctx.now + ctx.max_skew
    return (value > pl.lit(limit).cast(pl.Datetime("us", UTC)), _err(
        ctx, "future_timestamp", f.name,
        pl.lit("is ") + value.dt.to_string("%Y-%m-%dT%H:%M:%S%.fZ")
        + pl.lit(f", more than {_human(ctx.max_skew)} after the ingest time "
                 f"{ctx.now.astimezone(ZoneInfo(UTC)):%Y-%m-%dT%H:%M:%SZ}")))


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
    naive_name = f"{f.name}#naive"
    naive = pl.col(naive_name)
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
    v = pl.col(value_col(f.name))
    checks.append((naive.is_not_null() & zone.is_not_null() & v.is_null(), _err(
        ctx, "bad_timestamp", f.name, pl.lit("is ") + shown
        + pl.lit(" which does not exist in ") + zone + pl.lit(" (clock change)"))))
    checks.append(_future(f, ctx, v))
    parsed = pl.when(stringy).then(text.str.to_datetime(_LOCAL, strict=False, time_unit="us"))
    return {naive_name: parsed, value_col(f.name): value}, checks


def _valid_zone(tz: str) -> bool:
    try:
        ZoneInfo(tz)
    except Exception:
        return False
    return True


_QUANTITIES = {"quantity", "qty", "counted_qty", "units"}


def _bound_checks(ent: Entity, ctx: Context) -> list:
    """Numeric bounds from the channel contract; a quantity below its floor is its own kind.

    WMS `qty` is the one conditional bound: >= 0, except ADJUSTMENT rows, which may be negative.
    """
    checks = []
    for f in ent.all_fields:
        value = pl.col(value_col(f.name))
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


def _decoded(frame: pl.DataFrame, name: str, kind: str) -> list:
    """The values of a nested field that are of its JSON ``kind`` (others None), decoded.

    Their texts are the parser's compact encoding of one JSON value each, so one array of
    them decodes at once (a call per value costs more than the decoding). A value of another
    kind is not looked into: it is ``wrong_type`` already."""
    texts = frame.select(pl.when(pl.col(kind_col(name)) == kind).then(pl.col(name))
                         .fill_null("null"))[name]
    values = json.loads("[" + ",".join(texts.to_list()) + "]")
    if len(values) != frame.height:
        raise ValueError(f"field {name}: nested texts are not one JSON value each")
    return values


def _nested_order_errors(sources: list[str], unit: str, lines: list[int],
                         items: list, customers: list) -> list[str | None]:
    """Orders carry nested line items: check their types and quantities per order."""
    out: list[str | None] = []
    for source, line, order_items, cust in zip(sources, lines, items, customers, strict=True):
        problem = None
        where = f"{source} {unit} {line}: {SEP}field "
        for i, item in enumerate(order_items or []):
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
        if problem is None and cust is not None and (
                not isinstance(cust.get("id"), str) or not cust.get("id")):
            problem = ("missing_required", "customer.id",
                       "`customer.id` is missing or not a string, but it is required")
        out.append(None if problem is None else
                   problem[0] + SEP + problem[1] + SEP + where + problem[2])
    return out


def validate(ent: Entity, records: pl.DataFrame, ctx: Context) -> tuple[pl.DataFrame,
                                                                         pl.DataFrame]:
    """Split raw records into (typed good rows, error rows with kind/field/reason).

    ``records`` is a native frame or a (text, kind) frame (see ``parse``); a native frame has no
    raw text, so its error rows carry ``_raw`` null for the caller to fill. Rows may come from
    several files (``_file`` indexes ``ctx.sources``); good rows keep ``_file``.
    """
    native = is_native(records)
    pre: dict[str, pl.Expr] = {}
    values: dict[str, pl.Expr] = {}
    checks: list[tuple[pl.Expr, pl.Expr]] = []
    for f in ent.all_fields:
        cols, field_checks = _typed(f, ctx, native)
        for name, expr in cols.items():
            (values if name.endswith("#v") else pre)[name] = expr
        checks += field_checks
    checks += _bound_checks(ent, ctx)
    frame = records.with_columns(**pre) if pre else records
    frame = frame.with_columns(**values)
    conds = [cond.fill_null(False) for cond, _ in checks]
    nested = None
    if ent.channel == "orders" and ent.name == "orders" and frame.height and not native:
        with gc_paused():
            nested = pl.Series(_nested_order_errors(
                _sources(frame, ctx), ctx.unit, frame[LINE].to_list(),
                _decoded(frame, "line_items", "array"), _decoded(frame, "customer", "object")),
                dtype=pl.String)
        frame = frame.with_columns(nested.alias("_nested"))
        conds.append(pl.col("_nested").is_not_null())
    bad_mask = pl.any_horizontal(conds) if conds else pl.lit(False)
    frame = frame.with_columns(bad_mask.alias("_bad"))
    keep = [c for c in (FILE,) if c in frame.columns]
    any_bad = bool(frame["_bad"].any())
    good = frame.select(  # then filtered: only the columns kept are copied
        LINE, EXTRA, *keep,
        *[pl.col(value_col(f.name)).cast(bronze_dtype(f)).alias(f.name) for f in ent.all_fields],
        *(["_bad"] if any_bad else []))
    if any_bad:
        good = good.filter(~pl.col("_bad")).drop("_bad")
    bad = frame.filter(pl.col("_bad"))
    bad = bad.with_columns(pl.Series(SRC, _sources(bad, ctx), dtype=pl.String))
    errors = [pl.when(cond.fill_null(False)).then(msg) for cond, msg in checks]
    if nested is not None:
        errors.append(pl.col("_nested"))
    raw = pl.col(RAW) if RAW in bad.columns else pl.lit(None, pl.String).alias(RAW)
    bad = bad.select(LINE, raw, *keep, pl.concat_list(errors).list.drop_nulls().alias("_errors"))
    bad = bad.select(LINE, RAW, *keep, _error_parts(pl.col("_errors"))).unnest("_first")
    return good, bad.select(LINE, RAW, "error_kind", "field", "reason", *keep)


def _sources(frame: pl.DataFrame, ctx: Context) -> list[str]:
    if ctx.sources is not None and FILE in frame.columns:
        return [ctx.sources[i] for i in frame[FILE].to_list()]
    return [ctx.source] * frame.height


def _error_parts(errors: pl.Expr) -> pl.Expr:
    first = errors.list.first().str.splitn(SEP, 4).struct.rename_fields(
        ["error_kind", "field", "_where", "_msg"])
    more = errors.list.slice(1).list.eval(pl.element().str.splitn(SEP, 4).struct.field("field_3"))
    head = first.struct.field("_where") + first.struct.field("_msg")
    reason = pl.when(errors.list.len() > 1).then(
        head + pl.lit("; also ") + more.list.join("; ")).otherwise(head)
    return pl.struct(first.struct.field("error_kind"), first.struct.field("field"),
                     reason.alias("reason")).alias("_first")
