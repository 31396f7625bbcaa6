"""The record schema ``resolve`` takes and the derived match keys every pass shares.

Callers may omit any column but ``record_id`` and ``source``: a missing column is a null one,
so a channel that knows only a cookie resolves through the same code as a loyalty sign-up.
"""

from __future__ import annotations

import weakref

import polars as pl

from lakehouse.identity.names import first_name_keys

INPUT_COLUMNS = (
    "record_id", "source", "first_name", "last_name", "email", "phone", "address_line1",
    "address_line2", "city", "postcode", "state", "country", "date_of_birth", "loyalty_id",
    "payment_fingerprint", "device_id", "login_id",
)
# identifiers that may join two records on their own (in priority order for ``matched_by``)
STRONG = ("login_id", "loyalty_id", "email", "phone", "payment_fingerprint")
# identifiers that join records only through observations (``resolve(..., observations=)``):
# an order id ties a review or a purchase event to the order's shop record
# an e-mail click key ties a subscriber address to the browser that landed from the click
LINKS = (*STRONG, "order_id", "email_click")
# identifiers that stitch anonymous activity to a person and join named records only when
# their names agree (a family tablet or cookie never joins two persons on its own)
STITCH = ("device_id",)
OBSERVATION_TYPES = (*LINKS, *STITCH)
RESOLVED_SCHEMA = {"source": pl.String, "record_id": pl.String, "person_id": pl.String,
                   "household_id": pl.String, "match_probability": pl.Float64,
                   "matched_by": pl.String}


# records frame id -> its conformed frame, while the records frame lives. A run conforms the
# same records three times (resolution, the identity map, the profiles): 0.9 s each at 10M
# events. Sound because a polars frame never changes unless an in-place method is called (no
# identity code calls one) and anything derived from it is a new object.
_CONFORMED: dict[int, pl.DataFrame] = {}


def conform(records: pl.DataFrame) -> pl.DataFrame:
    """All input columns present as strings (dates as ISO text), plus an integer ``_i`` row key
    and the derived match keys (``_fn``, ``_fnc``, ``_fn_alts``, ``_ln``, ...).

    Raises ``ValueError`` when ``record_id`` or ``source`` is missing, or when a
    ``(source, record_id)`` pair repeats: one row per source record is the contract.
    """
    key = id(records)
    if key not in _CONFORMED:
        out = _conform(records)
        _CONFORMED[key] = out
        weakref.finalize(records, _CONFORMED.pop, key, None)
    return _CONFORMED[key]


def _conform(records: pl.DataFrame) -> pl.DataFrame:
    missing = {"record_id", "source"} - set(records.columns)
    if missing:
        raise ValueError(f"identity records need columns {sorted(missing)}")
    cols = []
    for c in INPUT_COLUMNS:
        if c in records.columns:
            cols.append(pl.col(c).cast(pl.String))
        else:
            cols.append(pl.lit(None, pl.String).alias(c))
    extra = [c for c in ("first_seen", "last_seen") if c in records.columns]
    out = records.select(*cols, *extra)
    if out.select(pl.struct("source", "record_id").is_duplicated().any()).item():
        raise ValueError("identity records repeat a (source, record_id); give one row per record")
    # stable row order: results never depend on the order rows arrived in
    out = out.sort("source", "record_id").with_row_index("_i").with_columns(_keys())
    # the first-name key and its nickname alternates (lakehouse.identity.names), built once
    # per distinct name
    return pl.concat([out, first_name_keys(out["_fn"])], how="horizontal")


def identifier_long(rec: pl.DataFrame, observations: pl.DataFrame | None = None
                    ) -> pl.DataFrame:
    """``_i, identifier_type, value``: every linking identifier of every record, distinct. From
    the record columns, plus (when given) every value in ``observations`` (silver
    ``identifier_observations``: ``source, record_id, identifier_type, value``), where a record
    keeps all the e-mails, phones, cards, devices and orders it was ever seen with, not only
    its latest one."""
    parts = [rec.select("_i", pl.lit(t).alias("identifier_type"), pl.col(t).alias("value"))
             for t in (*STRONG, *STITCH)]
    if observations is not None and observations.height:
        parts.append(
            observations.select("source", "record_id", "identifier_type",
                                pl.col("value").cast(pl.String))
            .filter(pl.col("identifier_type").is_in(OBSERVATION_TYPES))
            .join(rec.select("_i", "source", "record_id"), on=["source", "record_id"])
            .select("_i", "identifier_type", "value"))
    # lazily: the same rows, where the eager unique took 2.7 s against 0.3 s on 6M rows
    return pl.concat(parts).drop_nulls().lazy().unique().collect()


def _letters(c: str) -> pl.Expr:
    return pl.col(c).str.to_uppercase().str.replace_all(r"[^A-Z]", "")


def _keys() -> list[pl.Expr]:
    fn, ln = _letters("first_name"), _letters("last_name")
    local = pl.col("email").str.to_lowercase().str.extract(r"^([^@]+)@", 1)
    digits = pl.col("phone").str.replace_all(r"[^0-9]", "")
    return [
        pl.when(fn.str.len_chars() > 0).then(fn).alias("_fn"),
        pl.when(ln.str.len_chars() > 0).then(ln).alias("_ln"),
        local.str.replace_all(r"[^a-z0-9]", "").alias("_email_local"),
        pl.when(digits.str.len_chars() >= 7).then(digits.str.slice(-7)).alias("_phone7"),
        pl.col("address_line1").str.to_uppercase().alias("_addr"),
        pl.col("address_line1").str.extract(r"^(\d+)", 1).alias("_house"),
        pl.col("postcode").str.to_uppercase().str.replace_all(r"\s+", "").alias("_postcode"),
        pl.col("city").str.to_uppercase().alias("_city"),
        pl.col("date_of_birth").str.slice(0, 10).alias("_dob"),
    ]
