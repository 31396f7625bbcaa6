"""A person's footprint: the values that mark a row, a line or a byte as theirs.

From the person ids: their source records in the identity map (keyed hashes), matched to
silver's raw record ids by the same HMAC; the identifiers observed on those records; then the
raw spellings of those identifiers as the bronze rows that carry them hold them (an e-mail as
typed, a phone in any format). Values that other persons' records carry too (a household's
shared tablet or card) are not the person's alone and do not mark rows; the person's own
records still go, by their record ids.

Pure functions on polars frames; ``erase.py`` reads the tables and applies them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from lakehouse.identity.pii import pseudonymise, pseudonymise_expr

# identifier types strong enough to mark a row as the person's (names, cities, postcodes and
# dates of birth are not: they mark no row on their own, but leave with the rows that hold them)
STRONG = ("email", "phone", "loyalty_id", "payment_fingerprint", "device_id", "login_id",
          "order_id")
MIN_SUBSTRING = 6  # shorter values are only matched whole (``"1"`` is in every payload)


@dataclass
class Footprint:
    person_ids: list[str]
    records: pl.DataFrame  # source, record_id (raw)
    values: set[str] = field(default_factory=set)  # raw and normalised identifier values
    hashes: set[str] = field(default_factory=set)  # HMACs of the values and record ids

    @property
    def exact(self) -> set[str]:
        """Whole values that mark a row: person ids, identifiers, their lower-case forms and
        their keyed hashes."""
        return set(self.person_ids) | self.values | {v.lower() for v in self.values} \
            | self.hashes

    @property
    def substrings(self) -> list[str]:
        """Values searched inside free text (raw payloads, reasons, logs, Data Docs)."""
        return sorted(v for v in self.exact if len(v) >= MIN_SUBSTRING)


def person_records(identity_map: pl.DataFrame, customer_records: pl.DataFrame,
                   person_ids: list[str], key: bytes) -> pl.DataFrame:
    """``source, record_id`` (raw, from silver) of the persons' records in the map."""
    hashes = identity_map.filter(pl.col("person_id").is_in(person_ids)
                                 & (pl.col("identifier_type") == "record")
                                 ).select("source", "identifier_hash").unique()
    if not hashes.height:
        return pl.DataFrame(schema={"source": pl.String, "record_id": pl.String})
    return (customer_records.select("source", "record_id").unique()
            .with_columns(pseudonymise_expr("record_id", key).alias("identifier_hash"))
            .join(hashes, on=["source", "identifier_hash"])
            .select("source", "record_id").sort("source", "record_id"))


def others_values(observations: pl.DataFrame, records: pl.DataFrame) -> set[str]:
    """Every identifier value observed on a record that is not one of ``records``."""
    keys = ["source", "record_id"]
    others = observations.filter(pl.col("value").is_not_null()).join(records, on=keys,
                                                                      how="anti")
    return set(others["value"].to_list())


def own_values(observations: pl.DataFrame, records: pl.DataFrame) -> set[str]:
    """Strong identifier values observed on ``records`` and on no other record."""
    strong = observations.filter(pl.col("identifier_type").is_in(STRONG)
                                 & pl.col("value").is_not_null())
    mine = strong.join(records, on=["source", "record_id"])
    shared = others_values(strong, records)
    return {v for v in mine["value"].unique().to_list() if v not in shared}


def own_hashes(identity_map: pl.DataFrame, person_ids: list[str]) -> set[str]:
    """The persons' keyed hashes in the identity map that no other person holds (a shared
    card's hash stays: it is the other person's identifier too)."""
    mine = identity_map.filter(pl.col("person_id").is_in(person_ids))
    others = identity_map.filter(~pl.col("person_id").is_in(person_ids))
    shared = set(others["identifier_hash"].drop_nulls().to_list())
    return {h for h in mine["identifier_hash"].drop_nulls().to_list() if h not in shared}


def keyed(values: set[str], key: bytes) -> set[str]:
    return {h for v in values if (h := pseudonymise(v, key)) is not None}


def strings(frame: pl.DataFrame) -> list[pl.Expr]:
    """Every string column of a frame as an expression, struct fields included (one level
    deep per nesting, recursively: ``orders.customer.email``)."""
    out: list[pl.Expr] = []

    def walk(expr: pl.Expr, dtype: pl.DataType) -> None:
        if dtype == pl.String:
            out.append(expr)
        elif isinstance(dtype, pl.Struct):
            for f in dtype.fields:
                walk(expr.struct.field(f.name), f.dtype)

    for name, dtype in frame.schema.items():
        walk(pl.col(name), dtype)
    return out


def marks(frame: pl.DataFrame, exact: set[str], substrings: list[str] = ()) -> pl.Expr:
    """True for rows holding one of ``exact`` as a whole string value (any case), or one of
    ``substrings`` inside any string value."""
    wanted = sorted(exact | {v.lower() for v in exact})
    hit = pl.lit(False)
    for e in strings(frame):
        hit = hit | e.is_in(wanted).fill_null(False) \
            | e.str.strip_chars().str.to_lowercase().is_in(wanted).fill_null(False)
        if substrings:
            hit = hit | e.str.to_lowercase().str.contains_any(
                [s.lower() for s in substrings]).fill_null(False)
    return hit


def raw_values(rows: pl.DataFrame, pii_fields: frozenset[str]) -> set[str]:
    """Identifier spellings in the person's bronze rows: values of PII fields that are not
    names or addresses (e-mails and phones as typed, card and loyalty numbers, cookies)."""
    weak = {"first_name", "last_name", "address1", "address2", "address_line1",
            "address_line2", "zip", "postcode", "date_of_birth", "reviewer_name"}
    strong_names = (pii_fields - weak) | {"cookie_id", "deviceId", "user_id", "userId",
                                          "browser_id", "member_id", "id"}
    found: set[str] = set()

    def walk(expr: pl.Expr, name: str, dtype: pl.DataType) -> None:
        if dtype == pl.String and name in strong_names:
            found.update(v.strip() for v in rows.select(expr).to_series().drop_nulls()
                         .to_list() if v and v.strip())
        elif isinstance(dtype, pl.Struct):
            for f in dtype.fields:
                walk(expr.struct.field(f.name), f.name, f.dtype)

    for name, dtype in rows.schema.items():
        if name == "id" and dtype == pl.String:
            continue  # a top-level id is an event/order id, collected as order_id when it is
        walk(pl.col(name), name, dtype)
    return found
