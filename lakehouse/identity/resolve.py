"""``resolve``: both passes, stitching and stable ids, as one pure function on polars frames."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import polars as pl

from lakehouse.identity import fellegi_sunter as fs
from lakehouse.identity.clustering import constrained_links
from lakehouse.identity.deterministic import strong_links
from lakehouse.identity.graph import components
from lakehouse.identity.households import household_ids, household_labels
from lakehouse.identity.schema import RESOLVED_SCHEMA, conform, identifier_long
from lakehouse.identity.stability import HISTORY_SCHEMA, assign_ids

THRESHOLD = 0.99  # our engine's match threshold; Splink's is chosen per run (splink_model)
# probabilistic engines: Splink's (the default: as accurate as ours on the simulated retailer and
# at 1M records, and within the time target; figures in README's identity section) and our own
# Fellegi-Sunter model, kept selectable (it needs no Splink and is faster on small inputs)
ENGINES = ("splink", "fellegi_sunter")
DEFAULT_ENGINE = "splink"
_NO_HITS = pl.DataFrame(schema={"a": pl.Int64, "b": pl.Int64, "match_probability": pl.Float64})


@dataclass
class Resolution:
    """Everything one run produced: the map, the id history, and figures for a report."""

    records: pl.DataFrame  # source, record_id, person_id, match_probability, matched_by
    history: pl.DataFrame  # person_id_history rows written by this run
    report: dict = field(default_factory=dict)
    model: fs.Model | None = None


def _fresh_id(first: str) -> str:
    return "P" + hashlib.sha256(first.encode()).hexdigest()[:16]


def _fs_links(rec: pl.DataFrame, labels: np.ndarray, threshold: float
              ) -> tuple[pl.DataFrame, dict, fs.Model | None]:
    """Pairs our Fellegi-Sunter model links that the deterministic pass left apart."""
    f = fs.features(rec)
    if f.height < 2:
        return _NO_HITS, {}, None
    pairs, rule_counts = fs.candidate_pairs(f)
    if not pairs.height:
        return _NO_HITS, {}, None
    g = fs.gammas(f, pairs)
    same = labels[g["a"].to_numpy()] == labels[g["b"].to_numpy()]
    model = fs.train(f, g, same, labels)
    model.pairs_blocked, model.rules = pairs.height, rule_counts
    scored = fs.score(g, model)
    # only pairs the deterministic pass left apart can add a link
    hits = scored.filter((pl.col("match_probability") >= threshold) & pl.Series(~same))
    report = {"pairs_blocked": pairs.height, "pairs_linked": hits.height,
              "prior": round(model.prior, 5), "weights": model.weights(), "rules": rule_counts}
    return hits.select(pl.col("a", "b").cast(pl.Int64), "match_probability"), report, model


def _splink_links(rec: pl.DataFrame, labels: np.ndarray, threshold: float | None
                  ) -> tuple[pl.DataFrame, dict]:
    """Pairs Splink links that the deterministic pass left apart (its blocking skips the rest)."""
    from lakehouse.identity import splink_comparisons, splink_model

    f = splink_comparisons.features(rec, labels)
    if f.height < 2:
        return _NO_HITS, {}
    run = splink_model.link(f, threshold)
    hits = run.pairs
    return (hits.select(pl.col("a", "b").cast(pl.Int64), "match_probability"),
            {**run.report(), "pairs_linked": hits.height})


def resolve_full(records: pl.DataFrame, previous: pl.DataFrame | None = None, *,
                 threshold: float | None = None, probabilistic: bool = True,
                 at: datetime | None = None, observations: pl.DataFrame | None = None,
                 engine: str = DEFAULT_ENGINE) -> Resolution:
    """Resolve ``records`` into persons; see ``resolve`` for the contract. Returns the identity
    map plus the ``person_id_history`` events of this run and a report (counts, guard, model)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown identity engine {engine!r}; one of {', '.join(ENGINES)}")
    at = at or datetime.now(UTC)
    rec = conform(records)
    n = rec.height
    if n == 0:
        return Resolution(pl.DataFrame(schema=RESOLVED_SCHEMA), pl.DataFrame(schema=HISTORY_SCHEMA))
    long = identifier_long(rec, observations)
    links = strong_links(rec, long)
    a, b = links.a, links.b
    labels = components(links.n_nodes, a, b)[:n]

    prob = pl.DataFrame(schema={"_i": pl.UInt32, "_p": pl.Float64})
    model, prob_report = None, {}
    if probabilistic:
        if engine == "splink":
            hits, prob_report = _splink_links(rec, labels, threshold)
        else:
            hits, prob_report, model = _fs_links(rec, labels, threshold or THRESHOLD)
        hits, refused = constrained_links(labels, rec, hits)
        prob_report["links_refused"] = refused  # would have put two people in one cluster
        if hits.height:
            a = np.concatenate([a, hits["a"].to_numpy()])
            b = np.concatenate([b, hits["b"].to_numpy()])
            labels = components(links.n_nodes, a, b)[:n]
            prob = pl.concat([hits.select(pl.col("a").alias("_i"),
                                          pl.col("match_probability").alias("_p")),
                              hits.select(pl.col("b").alias("_i"),
                                          pl.col("match_probability").alias("_p"))]
                             ).group_by("_i").agg(pl.col("_p").max()).cast({"_i": pl.UInt32})

    household, household_report = household_labels(rec, long, labels)
    out = rec.select("_i", "source", "record_id", pl.Series("_label", labels),
                     household_ids(rec["source"] + "|" + rec["record_id"], household))
    out = (out.join(links.record_types, on="_i", how="left")
           .join(prob, on="_i", how="left"))
    out = out.with_columns(
        pl.coalesce("matched_by", pl.when(pl.col("_p").is_not_null()).then(pl.lit(engine)))
        .alias("matched_by"),
    ).with_columns(
        pl.when(pl.col("matched_by") == engine).then(pl.col("_p"))
        .when(pl.col("matched_by").is_not_null()).then(pl.lit(1.0))
        .alias("match_probability"),
        pl.col("matched_by").fill_null("none"),
    )
    size = pl.len().over("_label")
    # a record alone in its component was matched by nothing
    out = out.with_columns(
        pl.when(size == 1).then(pl.lit("none")).otherwise("matched_by").alias("matched_by"),
        pl.when(size == 1).then(None).otherwise("match_probability").alias("match_probability"))
    first = out.group_by("_label").agg(
        pl.concat_str("source", "record_id", separator="|").min().alias("_first"))
    first = first.select("_label", pl.col("_first").map_elements(
        _fresh_id, return_dtype=pl.String).alias("person_id"))
    out = out.join(first, on="_label")
    out = out.sort("_i").select("source", "record_id", "person_id", "household_id",
                                "match_probability", "matched_by")
    out, history = assign_ids(out, previous, at=at)
    out = _keep_household_ids(out, previous, at)
    report = {
        "records": n, "persons": out["person_id"].n_unique(),
        "matched_by": dict(out.group_by("matched_by").len().iter_rows()),
        "super_nodes": dict(links.super_nodes.group_by("identifier_type").len().iter_rows()),
        "stitched": links.report["nameless_attached"],  # anonymous records joined a person
        "deterministic": links.report, "engine": engine, engine: prob_report,
        "households": household_report,
        "history": dict(history.group_by("event").len().iter_rows()),
    }
    return Resolution(out, history, report, model)


def _keep_household_ids(out: pl.DataFrame, previous: pl.DataFrame | None, at: datetime
                        ) -> pl.DataFrame:
    """Household ids kept across runs as person ids are (``stability.assign_ids``: the id most
    of a household's records had survives; no history is written for households)."""
    if previous is None or "household_id" not in previous.columns:
        return out
    keys = ["source", "record_id"]
    fresh = out.select(*keys, pl.col("household_id").alias("person_id"))
    old = previous.select(*keys, pl.col("household_id").alias("person_id")).drop_nulls()
    kept, _ = assign_ids(fresh, old, at=at)
    return (out.drop("household_id")
            .join(kept.select(*keys, pl.col("person_id").alias("household_id")), on=keys,
                  how="left", maintain_order="left")
            .select(out.columns))


def resolve(records: pl.DataFrame, previous: pl.DataFrame | None = None, *,
            threshold: float | None = None, probabilistic: bool = True,
            observations: pl.DataFrame | None = None, engine: str = DEFAULT_ENGINE
            ) -> pl.DataFrame:
    """One row per source record: ``source, record_id, person_id, household_id,
    match_probability, matched_by``.

    ``records``: columns ``record_id, source`` and any of ``first_name, last_name, email, phone,
    address_line1, address_line2, city, postcode, state, country, date_of_birth, loyalty_id,
    payment_fingerprint, device_id, login_id`` (missing = null), normalised as silver does.
    ``previous``: the identity map of the last run (``source, record_id, person_id``, and
    ``household_id`` when it has one); ids in it are kept, and the survivor of a merge keeps
    its id. ``observations`` (optional, silver
    ``identifier_observations``: ``source, record_id, identifier_type, value``) adds every
    value a record was ever seen with (all its e-mails, cards, devices, order ids), where the
    record columns hold only the latest. ``matched_by`` is the strongest
    identifier type that joined the record to another one, ``device_stitch``, the probabilistic
    ``engine`` (``fellegi_sunter`` or ``splink``, see ``ENGINES``) or ``none``;
    ``match_probability`` is 1 for deterministic links, the posterior for probabilistic ones
    and null for a record alone. ``household_id``: the persons who share a home, a device, a
    card or an e-mail (``households``); a person living alone is a household of one.
    ``threshold``: the match probability at or above which a probabilistic pair links; None
    lets Splink's model choose it for its expected precision (``splink_model.PRECISION``).
    """
    return resolve_full(records, previous, threshold=threshold, probabilistic=probabilistic,
                        observations=observations, engine=engine).records
