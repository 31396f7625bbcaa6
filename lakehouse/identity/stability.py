"""Stable person ids across runs, and the history of merges and splits.

Why: marts, models and CRM exports key on person ids; a re-run must not relabel everyone. Each
new component inherits the previous id held by most of its records (ties: the oldest, i.e.
smallest, id): that is the survivor of a merge, and the other ids it absorbed are recorded as
merged into it. A previous id whose records now fall into several components stays with the
largest part; the other parts get new ids and a ``split`` event.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

HISTORY_SCHEMA = {"person_id": pl.String, "event": pl.String, "other_ids": pl.List(pl.String),
                  "at": pl.Datetime("us", "UTC"), "reason": pl.String}


def assign_ids(fresh: pl.DataFrame, previous: pl.DataFrame | None, *, at: datetime
               ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Relabel ``fresh`` (components labelled by content) with ``previous`` ids where they
    exist; return the relabelled map and the history events (merge, split, new)."""
    empty = pl.DataFrame(schema=HISTORY_SCHEMA)
    if previous is None or previous.is_empty():
        new = fresh.select(pl.col("person_id").unique().sort())
        hist = new.select("person_id", pl.lit("new").alias("event"),
                          pl.lit([], pl.List(pl.String)).alias("other_ids"),
                          pl.lit(at).cast(HISTORY_SCHEMA["at"]).alias("at"),
                          pl.lit("first resolution").alias("reason"))
        return fresh, pl.concat([empty, hist])
    prev = previous.select("source", "record_id", pl.col("person_id").alias("_old"))
    j = fresh.join(prev, on=["source", "record_id"], how="left")
    # votes: how many records of each new component carry each old id
    votes = (j.filter(pl.col("_old").is_not_null()).group_by("person_id", "_old")
             .agg(pl.len().alias("n")))
    # each old id goes to the component holding most of its records (ties: smallest label) ...
    home = (votes.sort(["_old", "n", "person_id"], descending=[False, True, False])
            .group_by("_old", maintain_order=True).first().select("_old", "person_id"))
    # ... and each component keeps, among the old ids homed in it, the most-voted (ties: smallest)
    cand = votes.join(home, on=["_old", "person_id"])
    keep = (cand.sort(["person_id", "n", "_old"], descending=[False, True, False])
            .group_by("person_id", maintain_order=True).first()
            .select("person_id", pl.col("_old").alias("_kept")))
    out = (fresh.join(keep, on="person_id", how="left")
           .with_columns(pl.coalesce("_kept", "person_id").alias("_new")))

    events = []
    merged = (cand.join(keep, on="person_id").filter(pl.col("_old") != pl.col("_kept"))
              .group_by("_kept").agg(pl.col("_old").sort().alias("other_ids")))
    events.append(merged.select(pl.col("_kept").alias("person_id"), pl.lit("merge").alias("event"),
                                "other_ids", pl.lit("records of these ids now resolve to one "
                                                    "person; the survivor keeps its id")
                                .alias("reason")))
    # components that hold records of an old id homed elsewhere: split off that id
    split = (votes.join(home, on="_old", suffix="_home")
             .filter(pl.col("person_id") != pl.col("person_id_home"))
             .join(out.select("person_id", "_new").unique(), on="person_id")
             .group_by("_new").agg(pl.col("_old").unique().sort().alias("other_ids")))
    events.append(split.select(pl.col("_new").alias("person_id"), pl.lit("split").alias("event"),
                               "other_ids", pl.lit("records of these ids no longer resolve "
                                                   "together; this part got its own id")
                               .alias("reason")))
    brand_new = (out.filter(pl.col("_kept").is_null()).select(pl.col("_new").unique())
                 .join(split.select("_new"), on="_new", how="anti"))
    events.append(brand_new.select(pl.col("_new").alias("person_id"), pl.lit("new").alias("event"),
                                   pl.lit([], pl.List(pl.String)).alias("other_ids"),
                                   pl.lit("records of a person not seen before").alias("reason")))
    hist = pl.concat([e.with_columns(pl.lit(at).cast(HISTORY_SCHEMA["at"]).alias("at"))
                      .select(list(HISTORY_SCHEMA)) for e in events])
    out = out.with_columns(pl.col("_new").alias("person_id")).drop("_kept", "_new")
    return out, pl.concat([empty, hist.cast(HISTORY_SCHEMA)]).sort("event", "person_id")
