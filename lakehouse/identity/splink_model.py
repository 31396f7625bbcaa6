"""Probabilistic pass on Splink (Fellegi-Sunter, DuckDB backend), the engine the issue names.

Same job and inputs as ``fellegi_sunter``: named records the deterministic pass may have left
apart, compared on names, date of birth, e-mail local part, phone and address. What Splink
does here: comparison levels as SQL (the nickname-resolved first name key comes from
``schema``; a typo is a dropped, doubled or swapped letter, not a substitution, as
``names.compatible_sql`` has it), term-frequency adjustments on exact first and last names
(two "Maria Smith"s are weaker evidence than two "Xanthe Okonkwo"s), ``u`` by random sampling,
``m`` from the pairs the deterministic pass joined (its component label as Splink's label
column; a level those pairs never show, such as first and last name swapped, keeps Splink's
default ``m``), the match prior from those labels, and prediction over blocking rules that skip the
pairs the deterministic pass already joined.

One parameter Splink cannot learn by itself: the e-mail local part is built from the name
(``mariasmith@``), so among records agreeing on the name it agrees by chance far more often
than among random pairs. Its ``u`` is measured among same-name pairs of different persons and
fixed before Splink trains the rest (independence would otherwise count the name twice).

Splink is imported inside ``link`` so a process that never runs this engine never loads it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import duckdb
import numpy as np
import polars as pl

from lakehouse.identity.names import _typo_sql

U_PAIRS = 500_000  # random pairs for u (Splink's estimate_u_using_random_sampling)
SAME_NAME_PAIRS = 100_000  # same-name pairs for the e-mail local part's u
RECALL = 0.9  # share of true matches the deterministic pass is assumed to find (for the prior)
MIN_LABELLED = 50  # labelled match pairs needed to estimate the prior from them
DEFAULT_PRIOR = 1e-4

# blocking rules for prediction (records equal on every column are compared)
BLOCKING_RULES: tuple[tuple[str, ...], ...] = (
    ("_postcode", "_ln1"),
    ("_postcode", "_initials"),
    ("dob", "_ln1"),
    ("p7",),
    ("el",),
    ("_names", "city"),
)


def _lvl(label: str, sql: str, **kw) -> dict:
    return {"sql_condition": sql, "label_for_charts": label, **kw}


def _null(*cols: str) -> dict:
    return _lvl("null", " or ".join(f"{c}_l is null or {c}_r is null" for c in cols),
                is_null_level=True)


_SWAPPED = "fn_l = ln_r and ln_l = fn_r"
_ELSE = _lvl("else", "else")


def _name_levels(c: str, other: str) -> list[dict]:
    """First and last name compare alike: exact (term-frequency adjusted), swapped with the
    other name, a typo, an initial."""
    left, right = f"{c}_l", f"{c}_r"
    return [
        _null(c),
        _lvl("exact", f"{left} = {right}", tf_adjustment_column=c),
        _lvl(f"swapped with {other}", _SWAPPED),
        _lvl("typo", _typo_sql(left, right)),
        _lvl("initial", f"(length({left}) = 1 or length({right}) = 1) "
                          f"and left({left}, 1) = left({right}, 1)"),
        _ELSE,
    ]


# comparison -> levels, most specific first (Splink's order); the SQL reads columns of the
# frame ``features`` builds, suffixed _l/_r
COMPARISONS: dict[str, list[dict]] = {
    "first_name": _name_levels("fn", "last"),
    "last_name": _name_levels("ln", "first"),
    "date_of_birth": [
        _null("dob"),
        _lvl("exact", "dob_l = dob_r"),
        _lvl("one digit or day/month swapped",
             "levenshtein(dob_l, dob_r) <= 1 or (left(dob_l, 4) = left(dob_r, 4) "
             "and substr(dob_l, 6, 2) = substr(dob_r, 9, 2) "
             "and substr(dob_l, 9, 2) = substr(dob_r, 6, 2))"),
        _ELSE,
    ],
    "email_local": [
        _null("el"),
        _lvl("exact", "el_l = el_r"),
        _lvl("jaro-winkler >= 0.88", "jaro_winkler_similarity(el_l, el_r) >= 0.88"),
        _ELSE,
    ],
    "phone": [
        _null("ph"),
        _lvl("exact", "ph_l = ph_r"),
        _lvl("last 7 digits or one digit", "p7_l = p7_r or levenshtein(ph_l, ph_r) <= 1"),
        _ELSE,
    ],
    # address, postcode and city agree together: one comparison, not three independent ones
    "address": [
        _lvl("null", "(addr_l is null or addr_r is null) and (pc_l is null or pc_r is null)",
             is_null_level=True),
        _lvl("exact with postcode", "addr_l = addr_r and pc_l = pc_r"),
        _lvl("similar with postcode", "jaro_winkler_similarity(addr_l, addr_r) >= 0.90 "
             "and pc_l = pc_r"),
        _lvl("postcode and house number",
             "pc_l = pc_r and (house_l = house_r or addr_l is null or addr_r is null)"),
        _lvl("postcode or city", "pc_l = pc_r or city_l = city_r"),
        _ELSE,
    ],
}
NAME_DERIVED = ("email_local",)  # u measured among same-name pairs, see the module docstring


@dataclass
class SplinkRun:
    """What one Splink pass produced: links above the threshold and figures for a report."""

    pairs: pl.DataFrame  # a, b (record keys ``_i``), match_probability, match_weight
    prior: float
    weights: dict[str, list[float | None]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def report(self) -> dict:
        return {"prior": round(self.prior, 6), "weights": self.weights, "seconds": self.seconds}


def features(rec: pl.DataFrame, labels: np.ndarray) -> pl.DataFrame:
    """Comparison inputs and blocking keys of named records, with ``_det``: the deterministic
    component each record is in (Splink's label column for ``m``)."""
    named = rec.filter(pl.col("_fn").is_not_null() & pl.col("_ln").is_not_null())
    i1 = pl.col("_fn").str.slice(0, 1)
    l1 = pl.col("_ln").str.slice(0, 1)
    return named.select(
        pl.col("_i").cast(pl.Int64), pl.col("_fnc").alias("fn"), pl.col("_ln").alias("ln"),
        pl.col("_dob").alias("dob"), pl.col("_email_local").alias("el"),
        pl.col("phone").alias("ph"), pl.col("_phone7").alias("p7"),
        pl.col("_addr").alias("addr"), pl.col("_house").alias("house"),
        pl.col("_postcode").alias("pc"), pl.col("_city").alias("city"),
        pl.Series("_det", labels[named["_i"].to_numpy()]).cast(pl.Int64),
        "_postcode", l1.alias("_ln1"),
        pl.min_horizontal(i1, l1).add(pl.max_horizontal(i1, l1)).alias("_initials"),
        pl.min_horizontal("_fn", "_ln").add("|").add(pl.max_horizontal("_fn", "_ln"))
        .alias("_names"),
    )


def prior_from_labels(labels: np.ndarray, recall: float = RECALL) -> float | None:
    """Splink's "probability two random records match" from deterministic rules: the pairs the
    labels join over all pairs, divided by the recall assumed for them (None if too few)."""
    n = len(labels)
    k = np.unique(labels, return_counts=True)[1].astype(np.float64)
    matched = float((k * (k - 1) / 2).sum())
    total = n * (n - 1) / 2
    if matched < MIN_LABELLED or not total:
        return None
    return float(np.clip(matched / recall / total, 1e-9, 0.5))


def _case_sql(levels: list[dict]) -> str:
    body = " ".join(f"when {lv['sql_condition']} then {k}"
                    for k, lv in enumerate(levels) if lv["sql_condition"] != "else")
    return f"case {body} else {len(levels) - 1} end"


def same_name_u(f: pl.DataFrame, name: str, n_pairs: int = SAME_NAME_PAIRS
                ) -> list[float] | None:
    """``u`` of each non-null level of comparison ``name`` among pairs of records with the same
    first and last name key in different deterministic components (None if under 200)."""
    levels = COMPARISONS[name]
    sql = f"""
    with k as (select *, count(*) over (partition by fn, ln) as n from f),
    p as (select {", ".join(f"l.{c} as {c}_l, r.{c} as {c}_r" for c in f.columns)}
          from k l join k r on l.fn = r.fn and l.ln = r.ln and l._i < r._i
          where l._det <> r._det and l.n <= 200),
    s as (select * from p order by hash(_i_l, _i_r), _i_l, _i_r limit {n_pairs})
    select {_case_sql(levels)} as g, count(*) as n from s group by g
    """
    con = duckdb.connect()
    try:
        con.register("f", f.to_arrow())
        counts = dict(con.sql(sql).fetchall())
    finally:
        con.close()
    observed = {g: c for g, c in counts.items() if g > 0}
    if sum(observed.values()) < 200:
        return None
    raw = np.array([observed.get(g, 0) for g in range(1, len(levels))], dtype=float) + 0.5
    return (raw / raw.sum()).tolist()


def settings(f: pl.DataFrame, prior: float) -> dict:
    """Splink settings: the comparisons (with ``u`` fixed where measured among same-name
    pairs), blocking rules that never re-score a pair the deterministic pass joined, prior."""
    comparisons = []
    for name, levels in COMPARISONS.items():
        u = same_name_u(f, name) if name in NAME_DERIVED else None
        if u is not None:
            levels = [levels[0], *({**lv, "u_probability": p, "fix_u_probability": True}
                                   for lv, p in zip(levels[1:], u, strict=True))]
        comparisons.append({"output_column_name": name, "comparison_levels": levels})
    rules = [" and ".join(f"l.{c} = r.{c}" for c in keys) + " and l._det <> r._det"
             for keys in BLOCKING_RULES]
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "_i",
        "comparisons": comparisons,
        "blocking_rules_to_generate_predictions": rules,
        "probability_two_random_records_match": prior,
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
    }


def weights(model: dict) -> dict[str, list[float | None]]:
    """log2 Bayes factor of each non-null level, from a saved Splink model: what a report or a
    reviewer reads (None where Splink has no m or u for the level)."""
    def w(lv: dict) -> float | None:
        m, u = lv.get("m_probability"), lv.get("u_probability")
        return round(float(np.log2(m / u)), 2) if m and u else None
    return {c["output_column_name"]: [w(lv) for lv in c["comparison_levels"]
                                      if not lv.get("is_null_level")]
            for c in model["comparisons"]}


def link(f: pl.DataFrame, threshold: float, *, seed: int = 7, u_pairs: float = U_PAIRS
         ) -> SplinkRun:
    """Train on ``f`` (from ``features``) and return the pairs at or above ``threshold``."""
    from splink import DuckDBAPI, Linker

    t0 = time.perf_counter()
    prior = prior_from_labels(f["_det"].to_numpy()) or DEFAULT_PRIOR
    con = duckdb.connect()
    db = DuckDBAPI(con)
    linker = Linker(db.register(f.to_arrow(), table_name="named_records"),
                    settings(f, prior), log_level=logging.WARNING)
    # chunks let Splink stop sampling early; when the sample is every pair, they only cost time
    every_pair = f.height * (f.height - 1) / 2 <= u_pairs
    linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=seed,
                                                     num_chunks=1 if every_pair else 10)
    linker.training.estimate_m_from_label_column("_det")
    t1 = time.perf_counter()
    scored = linker.inference.predict(threshold_match_probability=threshold,
                                      warning_mode="never")
    pairs = pl.from_arrow(scored.as_duckdbpyrelation().select(
        "_i_l as a, _i_r as b, match_probability, match_weight")
        .to_arrow_table())
    t2 = time.perf_counter()
    model = linker.misc.save_model_to_json()
    con.close()
    return SplinkRun(pairs=pairs, prior=prior, weights=weights(model),  # type: ignore[arg-type]
                     seconds={"train": round(t1 - t0, 2), "predict": round(t2 - t1, 2)})
