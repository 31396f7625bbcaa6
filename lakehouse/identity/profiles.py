"""Unified customer profile: one row per person, pseudonymised, for the marts."""

from __future__ import annotations

import polars as pl

from lakehouse.identity.pii import pseudonymise_expr
from lakehouse.identity.schema import conform


def customer_profiles(records: pl.DataFrame, resolved: pl.DataFrame, key: bytes,
                      observations: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per person: best name (most frequent, hashed), hashed e-mails and phones, address
    (hashed line, plain city/postcode/state/country), first/last seen, sources, device count,
    and the household (``resolved``'s ``household_id`` of the person's records; where they
    disagree, the most common, ties to the smallest id).
    With ``observations`` (silver identifier observations) the e-mails, phones and devices are
    every one the person was seen with, not only each record's latest.
    No raw name, e-mail, phone, street or card leaves this function."""
    rec = conform(records).join(
        resolved.select("source", "record_id", "person_id", "household_id"),
        on=["source", "record_id"])
    if observations is not None and observations.height:
        seen = (observations.filter(pl.col("identifier_type").is_in(["email", "phone",
                                                                     "device_id"]))
                .join(rec.select("source", "record_id", "person_id"),
                      on=["source", "record_id"])
                .select("person_id", "identifier_type", pl.col("value").cast(pl.String)))
        rec = pl.concat([rec, *[seen.filter(pl.col("identifier_type") == t).select(
            "person_id", pl.col("value").alias(t)) for t in ("email", "phone", "device_id")]],
            how="diagonal_relaxed")
    if "first_seen" not in rec.columns:
        rec = rec.with_columns(pl.lit(None, pl.Datetime("us", "UTC")).alias("first_seen"),
                               pl.lit(None, pl.Datetime("us", "UTC")).alias("last_seen"))
    rec = rec.with_columns(
        pl.concat_str("first_name", "last_name", separator=" ").alias("_name"))
    out = rec.group_by("person_id").agg(
        pl.col("email").drop_nulls().unique().sort().alias("emails"),
        pl.col("phone").drop_nulls().unique().sort().alias("phones"),
        pl.col("first_seen").min(), pl.col("last_seen").max(),
        pl.col("source").drop_nulls().unique().sort().alias("sources"),
        pl.col("device_id").drop_nulls().n_unique().alias("device_count"),
        pl.col("record_id").drop_nulls().len().alias("records"))
    for column, name in _BEST.items():
        out = out.join(most_common(rec, "person_id", column, name), on="person_id",
                       how="left")
    out = out.select(_ORDER)
    h = lambda c: pseudonymise_expr(c, key)  # noqa: E731
    return out.with_columns(
        h("name").alias("name_hash"), h("address").alias("address_hash"),
        pl.col("emails").list.eval(pseudonymise_expr(pl.element(), key)).alias("email_hashes"),
        pl.col("phones").list.eval(pseudonymise_expr(pl.element(), key)).alias("phone_hashes"),
    ).drop("name", "address", "emails", "phones").sort("person_id")


# column -> the profile field holding its most common value per person
_BEST = {"household_id": "household_id", "_name": "name", "address_line1": "address",
         "city": "city", "postcode": "postcode", "state": "state", "country": "country"}
_ORDER = ["person_id", "household_id", "name", "emails", "phones", "address", "city", "postcode",
          "state", "country", "first_seen", "last_seen", "sources", "device_count", "records"]


def most_common(rows: pl.DataFrame, by: str, column: str, name: str) -> pl.DataFrame:
    """``by, name``: per ``by``, the most frequent non-null ``column`` value (ties: the
    smallest), for every ``by`` with one. Counted by (key, value) pairs: a per-group ``mode()``
    gathers every group's values into lists (profiles of 1.4M records: 11.5 s with it, 4.7 s
    with counts)."""
    counts = rows.select(by, column).drop_nulls(column).group_by(by, column).len()
    return (counts.sort([by, "len", column], descending=[False, True, False])
            .group_by(by, maintain_order=True).agg(pl.col(column).first().alias(name)))


def identity_map(resolved: pl.DataFrame, records: pl.DataFrame, key: bytes,
                 hashed: pl.DataFrame | None = None) -> pl.DataFrame:
    """Every source record and each strong identifier it carries, as keyed hashes, with its
    person and household ids: the Delta identity map (no raw identifiers; person and household
    ids are the resolver's own). ``hashed``: the records' ``source, record_id,
    identifier_hash`` when the caller has them (``store.record_hashes``), else made here."""
    rec = conform(records).join(resolved, on=["source", "record_id"])
    ids = ("source", "record_id", "person_id", "household_id", "match_probability", "matched_by")
    parts = [rec.select(*ids, pl.lit(t).alias("identifier_type"), pseudonymise_expr(t, key)
                        .alias("identifier_hash")).filter(pl.col("identifier_hash").is_not_null())
             for t in ("email", "phone", "login_id", "loyalty_id", "payment_fingerprint",
                       "device_id")]
    if hashed is None:
        base = rec.select(*ids, pl.lit("record").alias("identifier_type"),
                          pseudonymise_expr("record_id", key).alias("identifier_hash"))
    else:
        base = rec.select(*ids, pl.lit("record").alias("identifier_type")).join(
            hashed, on=["source", "record_id"], how="left", maintain_order="left")
    return pl.concat([base, *parts]).drop("record_id").sort("person_id", "source")
