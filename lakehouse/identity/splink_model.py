"""Probabilistic pass on Splink (Fellegi-Sunter, DuckDB backend): how the model is trained
and which pairs it links.

Named records the deterministic pass may have left apart, compared on names, date of birth,
e-mail local part, phone and address (the comparison levels and the frame they read:
``splink_comparisons.py``).

How the model is estimated, so it works with and without labels:

- ``u`` by random sampling (Splink's ``estimate_u_using_random_sampling``);
- ``m`` by expectation maximisation over blocking rules (Splink's training API): each rule
  trains the comparisons it does not block on, so every comparison is learnt from the data
  itself, whether or not any identifier links records;
- the match prior from the deterministic pass's labels where there are enough labelled pairs
  (identifiers joined them), else from a deterministic name-and-birth-date rule with an assumed
  recall (as Splink's ``estimate_probability_two_random_records_match`` does, computed here so
  a handful of records cannot drive it to 0 or 1);
- labelled pairs, where there are enough of them, refine ``m`` for the levels they show
  (Splink's ``estimate_m_from_label_column``; the levels they never show keep EM's estimate),
  and the report shows how far the two estimates' match weights are apart. Labels come from
  identifiers, so they see persons whose records EM's blocks may mix up with their household
  (same surname and address); on data without identifiers EM stands alone.

The match threshold is not a constant: pairs are scored down to a low floor, and the
threshold is the lowest probability at which the model's own expected precision of the pairs
above it (the mean of their match probabilities) still reaches ``PRECISION``. The expected
recall at that threshold (the share of the scored pairs' expected matches kept) is reported
beside it.

One parameter EM cannot learn well: the e-mail local part is built from the name
(``mariasmith@``), so among records agreeing on the name it agrees by chance far more often
than among random pairs. Its ``u`` is measured among same-name pairs of different persons and
fixed before training (independence would otherwise count the name twice).

Splink is imported inside ``link`` so a process that never runs this engine never loads it.
"""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from lakehouse.identity.splink_comparisons import COMPARISONS, case_sql
from lakehouse.storage import duck

U_PAIRS = 500_000  # random pairs for u (Splink's estimate_u_using_random_sampling)
EM_PAIRS = 500_000  # at most this many blocked pairs per EM training rule (sampled above)
SAME_NAME_PAIRS = 100_000  # same-name pairs for the e-mail local part's u
RECALL = 0.9  # share of true matches the deterministic pass is assumed to find (for the prior)
RULE_RECALL = 0.6  # ... and the name-and-birth-date rules, where no identifier labels pairs
MIN_LABELLED = 50  # labelled match pairs needed to estimate the prior from them
DEFAULT_PRIOR = 1e-4
PRECISION = 0.99  # expected pairwise precision the threshold is chosen for
FLOOR = 0.5  # never link a pair the model thinks more likely apart than together
SCORE_FLOOR = 0.01  # pairs scored down to this probability (for the expected recall)

# blocking rules for prediction (records equal on every column are compared)
BLOCKING_RULES: tuple[tuple[str, ...], ...] = (
    ("_postcode", "_ln1"),
    ("_postcode", "_initials"),
    ("_postcode", "house"),
    ("_names", "house"),
    ("addr", "_fn1"),
    ("dob", "_ln1"),
    ("dob", "_fn1"),
    ("p7",),
    ("el",),
    ("_names", "city"),
)
# blocking rules for EM: each trains every comparison it does not block on
# (not on the address: a block of one address is mostly one household, and EM would learn
# "same household" as its match class)
EM_RULES: tuple[tuple[str, ...], ...] = (("dob",), ("fn", "ln"))
M_FLOOR = 0.005  # the least m of any level (see ``floor_m``): at most ~7.6 bits against
MIN_EM_PAIRS = 100  # compared pairs an EM rule needs to run at all
MIN_LABELLED_M = 200  # labelled pairs above which they estimate m where they show a level
# deterministic rules for the prior where no labels exist: (rules, their assumed recall)
PRIOR_RULES: tuple[tuple[str, ...], ...] = (("fn", "ln", "dob"),)


NAME_DERIVED = ("email_local",)  # u measured among same-name pairs, see the module docstring


@dataclass
class SplinkRun:
    """What one Splink pass produced: links above the threshold and figures for a report."""

    pairs: pl.DataFrame  # a, b (record keys ``_i``), match_probability, match_weight
    prior: float
    weights: dict[str, list[float | None]] = field(default_factory=dict)
    parameters: list[dict] = field(default_factory=list)  # m, u, weight per level
    threshold: float = 1.0
    expected_precision: float = 1.0
    expected_recall: float = 1.0
    labelled_pairs: int = 0  # record pairs the deterministic pass joined (Splink's labels)
    m_from: str = "expectation maximisation"
    em_skipped: list[str] = field(default_factory=list)  # EM rules that could not converge
    label_check: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def report(self) -> dict:
        return {"prior": round(self.prior, 6), "threshold": round(self.threshold, 4),
                "expected_precision": round(self.expected_precision, 4),
                "expected_recall": round(self.expected_recall, 4),
                "labelled_pairs": self.labelled_pairs, "m_from": self.m_from,
                "label_check": self.label_check, "em_skipped": self.em_skipped,
                "weights": self.weights, "parameters": self.parameters,
                "seconds": self.seconds}


def prior_from_labels(labels: np.ndarray, recall: float = RECALL) -> float | None:
    """Splink's "probability two random records match" from deterministic rules: the pairs the
    labels join over all pairs, divided by the recall assumed for them (None if too few)."""
    n = len(labels)
    matched = labelled_pairs(labels)
    total = n * (n - 1) / 2
    if matched < MIN_LABELLED or not total:
        return None
    return float(np.clip(matched / recall / total, 1e-9, 0.5))


def prior_from_rules(f: pl.DataFrame, recall: float = RULE_RECALL) -> float:
    """The prior as Splink's ``estimate_probability_two_random_records_match`` has it: pairs the
    deterministic ``PRIOR_RULES`` join over all pairs, divided by their assumed recall (the
    default prior where they join none)."""
    total = f.height * (f.height - 1) / 2
    matched = max(block_pairs(f, keys) for keys in PRIOR_RULES)
    if not matched or not total:
        return DEFAULT_PRIOR
    return float(np.clip(matched / recall / total, 1e-9, 0.5))


def same_name_u(f: pl.DataFrame, name: str, n_pairs: int = SAME_NAME_PAIRS
                ) -> list[float] | None:
    """``u`` of each non-null level of comparison ``name`` among pairs of records with the same
    first and last name key in different deterministic components (None if under 200)."""
    levels = COMPARISONS[name]
    # the sample is drawn on record numbers alone, then its records' columns are joined: a
    # top-n over every column of every same-name pair took 4.3 s at 10M events, this 0.75 s
    sql = f"""
    with k as (select _i, fn, ln, _det, count(*) over (partition by fn, ln) as n from f),
    pairs as (select l._i as _i_l, r._i as _i_r
              from k l join k r on l.fn = r.fn and l.ln = r.ln and l._i < r._i
              where l._det <> r._det and l.n <= 200),
    sample as (select * from pairs order by hash(_i_l, _i_r), _i_l, _i_r limit {n_pairs}),
    s as (select {", ".join(f"l.{c} as {c}_l, r.{c} as {c}_r" for c in f.columns)}
          from sample join f l on l._i = sample._i_l join f r on r._i = sample._i_r)
    select {case_sql(levels)} as g, count(*) as n from s group by g
    """
    con = duck.connect()
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


def floor_m(model: dict, floor: float = M_FLOOR) -> dict:
    """The saved model with every trained ``m`` at least ``floor``: a level the training pairs
    never showed (a surname no match ever disagreed on) would otherwise veto any pair that
    shows it, whatever else agrees; a typo past the levels must stay possible."""
    out = copy.deepcopy(model)
    for c in out["comparisons"]:
        for lv in c["comparison_levels"]:
            if lv.get("m_probability") is not None:
                lv["m_probability"] = max(float(lv["m_probability"]), floor)
    return out


def _rule(keys: tuple[str, ...]) -> str:
    return " and ".join(f"l.{c} = r.{c}" for c in keys)


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
    rules = [_rule(keys) + " and l._det <> r._det" for keys in BLOCKING_RULES]
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "_i",
        "comparisons": comparisons,
        "blocking_rules_to_generate_predictions": rules,
        "probability_two_random_records_match": prior,
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
    }


def parameters(model: dict) -> list[dict]:
    """One row per comparison level of a saved Splink model: ``m``, ``u`` and the match weight
    (log2 m/u; None where Splink has no estimate), what a report or a reviewer reads."""
    rows = []
    for c in model["comparisons"]:
        for k, lv in enumerate(c["comparison_levels"]):
            if lv.get("is_null_level"):
                continue
            m, u = lv.get("m_probability"), lv.get("u_probability")
            rows.append({"comparison": c["output_column_name"], "level": k,
                         "label": lv.get("label_for_charts", lv["sql_condition"]),
                         "m": round(float(m), 6) if m else None,
                         "u": round(float(u), 8) if u else None,
                         "weight": round(float(np.log2(m / u)), 2) if m and u else None})
    return rows


def weights(model: dict) -> dict[str, list[float | None]]:
    """log2 Bayes factor of each non-null level per comparison (see ``parameters``)."""
    out: dict[str, list[float | None]] = {}
    for row in parameters(model):
        out.setdefault(row["comparison"], []).append(row["weight"])
    return out


def choose_threshold(p: np.ndarray, precision: float = PRECISION, floor: float = FLOOR
                     ) -> tuple[float, float, float]:
    """``(threshold, expected precision, expected recall)`` from scored pairs' probabilities:
    the lowest probability (not under ``floor``) at which the mean probability of the pairs at
    or above it still reaches ``precision``; recall is the share of all scored pairs' expected
    matches (the sum of their probabilities) kept above it."""
    if not len(p):
        return 1.0, 1.0, 1.0
    q = np.sort(p)[::-1]
    mean = np.cumsum(q) / np.arange(1, len(q) + 1)
    ok = (mean >= precision) & (q >= floor)
    if not ok.any():
        return 1.0, 1.0, 0.0
    k = int(np.flatnonzero(ok).max())
    return (float(q[k]), float(mean[k]), float(q[:k + 1].sum() / q.sum()))


def block_pairs(f: pl.DataFrame, keys: tuple[str, ...]) -> int:
    """Record pairs a blocking rule on ``keys`` compares (records equal on every key)."""
    n = f.drop_nulls(list(keys)).group_by(list(keys)).len()["len"].cast(pl.Int64)
    return int((n * (n - 1) // 2).sum())


def labelled_pairs(labels: np.ndarray) -> float:
    """Record pairs the labels put together (pairs within each label)."""
    k = np.unique(labels, return_counts=True)[1].astype(np.float64)
    return float((k * (k - 1) / 2).sum())


def label_check(em: dict, labelled: dict) -> dict[str, float]:
    """How far the match weights of two saved models are apart (EM's and the one refined on
    labels): the mean absolute difference over the levels both estimate, per comparison."""
    by_label = {(r["comparison"], r["level"]): r["weight"] for r in parameters(labelled)}
    diffs: dict[str, list[float]] = {}
    for r in parameters(em):
        w = by_label.get((r["comparison"], r["level"]))
        if r["weight"] is not None and w is not None:
            diffs.setdefault(r["comparison"], []).append(abs(r["weight"] - w))
    return {c: round(float(np.mean(d)), 2) for c, d in diffs.items()}


def link(f: pl.DataFrame, threshold: float | None = None, *, seed: int = 7,
         u_pairs: float = U_PAIRS, precision: float = PRECISION) -> SplinkRun:
    """Train on ``f`` (from ``splink_comparisons.features``) and return the pairs at or above
    ``threshold`` (None: chosen for ``precision`` by ``choose_threshold``)."""
    from splink import DuckDBAPI, Linker

    t0 = time.perf_counter()
    labels = f["_det"].to_numpy()
    labelled = labelled_pairs(labels)
    # no identifier labels enough pairs: exact name and birth date do
    prior = prior_from_labels(labels) or prior_from_rules(f)
    con = duck.connect()
    # training on one thread: parallel float sums differ in their last bits from run to run,
    # and so would every score; pairs that then swap places around the threshold or in
    # constrained_links make other persons from the same records (seen on 1 run in 6)
    threads = con.execute("select current_setting('threads')").fetchone()[0]
    con.execute("set threads = 1")
    db = DuckDBAPI(con)
    table = db.register(f.to_arrow(), table_name="named_records")
    linker = Linker(table, settings(f, prior), log_level=logging.WARNING)
    # chunks let Splink stop sampling early; when the sample is every pair, they only cost time
    every_pair = f.height * (f.height - 1) / 2 <= u_pairs
    linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=seed,
                                                     num_chunks=1 if every_pair else 10)
    em_skipped = []
    for keys in EM_RULES:
        compared = block_pairs(f, keys)
        if compared < MIN_EM_PAIRS:  # too few comparisons to estimate anything
            em_skipped.append("_".join(keys))
            continue
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                _rule(keys), estimate_without_term_frequencies=True,
                max_pairs=EM_PAIRS if compared > EM_PAIRS else None)
        except ValueError:  # a level's m converged to 0 (a handful of records): keep the last
            em_skipped.append("_".join(keys))
    model = linker.misc.save_model_to_json()
    check: dict[str, float] = {}
    if labelled >= MIN_LABELLED_M or (labelled and len(em_skipped) == len(EM_RULES)):
        linker.training.estimate_m_from_label_column("_det")
        em, model = model, linker.misc.save_model_to_json()
        check = label_check(em, model)
    model = floor_m(model)
    linker = Linker(table, model, log_level=logging.WARNING)  # scores with the floored model
    con.execute(f"set threads = {int(threads)}")  # a pair's score is computed on its own row
    t1 = time.perf_counter()
    scored = linker.inference.predict(threshold_match_probability=SCORE_FLOOR,
                                      warning_mode="never")
    pairs = pl.from_arrow(scored.as_duckdbpyrelation().select(
        "_i_l as a, _i_r as b, match_probability, match_weight")
        .to_arrow_table())
    t2 = time.perf_counter()
    chosen, exp_precision, exp_recall = choose_threshold(
        pairs["match_probability"].to_numpy(), precision)  # type: ignore[index]
    if threshold is None:
        threshold = chosen
    con.close()
    prior_used = model["probability_two_random_records_match"]
    return SplinkRun(
        pairs=pairs.filter(pl.col("match_probability") >= threshold),  # type: ignore[union-attr]
        prior=prior_used, weights=weights(model), parameters=parameters(model),
        threshold=threshold, expected_precision=exp_precision, expected_recall=exp_recall,
        labelled_pairs=int(labelled), label_check=check, em_skipped=em_skipped,
        m_from="expectation maximisation" + (" and labels" if check else ""),
        seconds={"train": round(t1 - t0, 2), "predict": round(t2 - t1, 2)})
