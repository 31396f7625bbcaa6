"""Which persons an erasure request names: identifiers -> person ids through the identity map.

The identity map holds keyed hashes only, so a request's e-mail, phone or loyalty id is
normalised exactly as silver normalises identity inputs (``lakehouse.silver.normalize``) and
matched by its HMAC. An e-mail is also tried as a record id (the e-mail channel's records are
keyed by the address as sent).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from deltalake import DeltaTable

from lakehouse.home import Home
from lakehouse.identity.pii import pseudonymise
from lakehouse.silver import normalize as nz
from lakehouse.storage.paths import table_uri

# request kind -> (identity-map identifier type, normaliser)
KINDS = {
    "email": ("email", nz.email),
    "phone": ("phone", nz.phone),
    "loyalty_id": ("loyalty_id", nz.identifier),
}


@dataclass(frozen=True)
class Request:
    """One identifier of an erasure request, as given (never stored: see ``audit``)."""

    kind: str  # "person_id" | "email" | "phone" | "loyalty_id"
    value: str


def normalised(kind: str, value: str) -> str | None:
    """The value as identity stores it before hashing (None: not a valid identifier)."""
    if kind == "person_id":
        return value.strip() or None
    _, norm = KINDS[kind]
    return norm(pl.Series([value], dtype=pl.String))[0]


def lookups(requests: list[Request], key: bytes) -> pl.DataFrame:
    """``kind, identifier_type, identifier_hash`` rows to look up in the identity map (pure)."""
    rows = []
    for r in requests:
        if r.kind == "person_id":
            continue
        value = normalised(r.kind, r.value)
        if value is not None:
            rows.append((r.kind, KINDS[r.kind][0], pseudonymise(value, key)))
        if r.kind == "email":  # an e-mail record: keyed by the address as sent
            rows.append((r.kind, "record", pseudonymise(r.value.strip(), key)))
    return pl.DataFrame(rows, schema={"kind": pl.String, "identifier_type": pl.String,
                                      "identifier_hash": pl.String}, orient="row")


def match(identity_map: pl.DataFrame, wanted: pl.DataFrame) -> list[str]:
    """Person ids of the identity-map rows whose (type, hash) is wanted (pure)."""
    hits = identity_map.join(wanted.select("identifier_type", "identifier_hash"),
                             on=["identifier_type", "identifier_hash"])
    return sorted(hits["person_id"].drop_nulls().unique().to_list())


def resolve_persons(home: Home, requests: list[Request], key: bytes) -> list[str]:
    """Every person id the request names (given ids are kept even when the map lacks them:
    their rows elsewhere, e.g. ML marts, are still erased)."""
    ids = {r.value.strip() for r in requests if r.kind == "person_id" and r.value.strip()}
    wanted = lookups(requests, key)
    uri = table_uri(home, "gold", "identity_map")
    if wanted.height and DeltaTable.is_deltatable(uri):
        the_map = pl.from_arrow(DeltaTable(uri).to_pyarrow_table(
            columns=["person_id", "identifier_type", "identifier_hash"]))
        assert isinstance(the_map, pl.DataFrame)
        ids |= set(match(the_map, wanted))
    return sorted(ids)
