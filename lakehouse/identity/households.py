"""Households: the persons who share a home, a device, a card or an e-mail, as one entity.

Why beside persons and not inside them: a family tablet, a household card or a family e-mail
is evidence that two people are close, not that they are one. The person pass keeps them
apart (names are checked on shared values; a nameless record on a contested value stays on
its own); this pass puts them, and those contested records, into one household.

A household is a connected group of persons linked by a value records of two or more of them
carry: any linking identifier (``schema.OBSERVATION_TYPES``) or a postal address (the
normalised first address line with its postcode). A value carried by more than
``HOUSEHOLD_CAP`` persons links nobody: that is an office block without unit numbers, a store
kiosk or a placeholder, not a home.
"""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl

from lakehouse.identity.graph import components

HOUSEHOLD_CAP = 8  # persons a shared value may join into one household at most


def shared_values(rec: pl.DataFrame, long: pl.DataFrame, person: np.ndarray) -> pl.DataFrame:
    """``_i, identifier_type, value, _p``: every identifier and address of every record with
    its person (``_p``: a dense person index), keeping the values two to ``HOUSEHOLD_CAP``
    persons carry."""
    address = rec.filter(pl.col("_addr").is_not_null() & pl.col("_postcode").is_not_null()
                         ).select("_i", pl.lit("address").alias("identifier_type"),
                                  (pl.col("_addr") + "|" + pl.col("_postcode")).alias("value"))
    vals = pl.concat([long.select("_i", "identifier_type", "value"), address])
    vals = vals.with_columns(pl.Series("_p", person[vals["_i"].to_numpy()]))
    k = pl.col("_p").n_unique().over("identifier_type", "value")
    return vals.filter((k >= 2) & (k <= HOUSEHOLD_CAP))


def household_labels(rec: pl.DataFrame, long: pl.DataFrame, labels: np.ndarray
                     ) -> tuple[np.ndarray, dict]:
    """A household label per record (``rec`` from ``schema.conform``, ``long`` from
    ``schema.identifier_long``, ``labels`` the person label of each record) and a report."""
    _, person = np.unique(labels, return_inverse=True)
    n_persons = int(person.max()) + 1 if len(person) else 0
    shared = shared_values(rec, long, person)
    vid = shared.select("identifier_type", "value").unique(maintain_order=True
                                                           ).with_row_index("_v")
    edges = shared.join(vid, on=["identifier_type", "value"])
    comp = components(n_persons + vid.height, edges["_p"].to_numpy(),
                      edges["_v"].to_numpy().astype(np.int64) + n_persons)
    household = comp[person]
    sizes = np.unique(np.unique(np.stack([household, person]), axis=1)[0],
                      return_counts=True)[1] if len(person) else np.array([])
    report = {"households": len(sizes),
              "multi_person": int((sizes > 1).sum()),
              "persons_in_multi_person": int(sizes[sizes > 1].sum()),
              "linked_by": dict(edges.unique(["identifier_type", "value"])
                                .group_by("identifier_type").len().iter_rows())}
    return household, report


def household_ids(keys: pl.Series, household: np.ndarray) -> pl.Series:
    """``H`` + 16 hex digits per record: a hash of the household's smallest record key
    (``source|record_id``), so the same members give the same id on every run."""
    frame = pl.DataFrame({"k": keys, "h": household})
    first = frame.group_by("h").agg(pl.col("k").min()).with_columns(
        pl.col("k").map_elements(lambda k: "H" + hashlib.sha256(k.encode()).hexdigest()[:16],
                                 return_dtype=pl.String).alias("household_id"))
    return frame.join(first.select("h", "household_id"), on="h", how="left",
                      maintain_order="left")["household_id"]
