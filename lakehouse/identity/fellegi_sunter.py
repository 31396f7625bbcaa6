"""Probabilistic pass: Fellegi-Sunter record linkage for records no strong identifier joins.

Why not exact keys: a second account under a typo'd name, a reformatted address or a swapped
first/last name shares no identifier with the first. Candidate pairs come from blocking rules
(cheap equality keys, union of rules, oversized blocks skipped so cost stays near linear);
each pair gets a comparison level per field; ``u`` (chance agreement) is estimated from random
record pairs and ``m`` (agreement among true matches) plus the match prior by EM over the
blocked pairs, as Splink does; a pair's match probability is the posterior under those.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from lakehouse.identity.names import typo_sql
from lakehouse.storage import duck

# (name, key columns): records equal on every key column are compared
BLOCKING_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("postcode+last_initial", ("_postcode", "_ln1")),
    ("postcode+name_initials", ("_postcode", "_initials")),
    ("date_of_birth+last_initial", ("_dob", "_ln1")),
    ("phone_last7", ("_phone7",)),
    ("email_local", ("_email_local",)),
    ("names+city", ("_names", "_city")),
)
MIN_LABELLED = 50  # labelled match pairs needed to estimate the prior from them
MAX_BLOCK = 400  # a block larger than this is skipped (its pairs would be mostly non-matches)

# comparison -> number of levels (level -1 = a side is null: no evidence either way)
# address, postcode and city are one comparison: they agree together (no independence)
COMPARISONS = {"first_name": 5, "last_name": 4, "date_of_birth": 3, "email_local": 3,
               "phone": 3, "address": 5}

_GAMMA_SQL = f"""
select a, b,
 case when l.fn is null or r.fn is null then -1 when l.fn = r.fn then 4
      when l.fn = r.ln and l.ln = r.fn then 3
      when {typo_sql("l.fn", "r.fn")} or list_has_any(l.fna, r.fna) then 2
      when (length(l.fn) = 1 or length(r.fn) = 1) and left(l.fn, 1) = left(r.fn, 1) then 1
      else 0 end as first_name,
 case when l.ln is null or r.ln is null then -1
      when l.ln = r.ln or (l.fn = r.ln and l.ln = r.fn) then 3
      when {typo_sql("l.ln", "r.ln")} then 2
      when (length(l.ln) = 1 or length(r.ln) = 1) and left(l.ln, 1) = left(r.ln, 1) then 1
      else 0 end as last_name,
 case when l.dob is null or r.dob is null then -1 when l.dob = r.dob then 2
      when levenshtein(l.dob, r.dob) <= 1
        or (left(l.dob, 4) = left(r.dob, 4) and substr(l.dob, 6, 2) = substr(r.dob, 9, 2)
            and substr(l.dob, 9, 2) = substr(r.dob, 6, 2)) then 1 else 0 end as date_of_birth,
 case when l.el is null or r.el is null then -1 when l.el = r.el then 2
      when jaro_winkler_similarity(l.el, r.el) >= 0.88 then 1 else 0 end as email_local,
 case when l.ph is null or r.ph is null then -1 when l.ph = r.ph then 2
      when l.p7 = r.p7 or levenshtein(l.ph, r.ph) <= 1 then 1 else 0 end as phone,
 case when (l.addr is null or r.addr is null) and (l.pc is null or r.pc is null) then -1
      when l.addr = r.addr and l.pc = r.pc then 4
      when jaro_winkler_similarity(l.addr, r.addr) >= 0.90 and l.pc = r.pc then 3
      when l.pc = r.pc and (l.house = r.house or l.addr is null or r.addr is null) then 2
      when l.pc = r.pc or l.city = r.city then 1 else 0 end as address
from pairs p join f l on p.a = l._i join f r on p.b = r._i
"""
# comparisons built from the name itself: their chance agreement is measured among records
# that already agree on the name (see ``train``)
NAME_DERIVED = ("email_local",)


@dataclass
class Model:
    """Trained parameters: match prior and per-comparison level probabilities."""

    prior: float
    m: dict[str, np.ndarray]
    u: dict[str, np.ndarray]
    iterations: int = 0
    pairs_blocked: int = 0
    rules: dict[str, int] = field(default_factory=dict)

    def weights(self) -> dict[str, list[float]]:
        """log2 Bayes factor of each level: what a report or a reviewer reads."""
        return {c: np.round(np.log2(self.m[c] / self.u[c]), 2).tolist() for c in self.m}


def features(rec: pl.DataFrame) -> pl.DataFrame:
    """The comparison inputs of named records (first and last name both known)."""
    named = rec.filter(pl.col("_fn").is_not_null() & pl.col("_ln").is_not_null())
    i1 = pl.col("_fn").str.slice(0, 1)
    l1 = pl.col("_ln").str.slice(0, 1)
    return named.select(
        "_i", pl.col("_fnc").alias("fn"), pl.col("_fn_alts").alias("fna"),
        pl.col("_ln").alias("ln"), pl.col("_dob").alias("dob"),
        pl.col("_email_local").alias("el"), pl.col("phone").alias("ph"),
        pl.col("_phone7").alias("p7"), pl.col("_addr").alias("addr"),
        pl.col("_house").alias("house"), pl.col("_postcode").alias("pc"),
        pl.col("_city").alias("city"),
        # blocking keys
        "_postcode", "_dob", "_phone7", "_email_local", "_city",
        l1.alias("_ln1"),
        pl.min_horizontal(i1, l1).add(pl.max_horizontal(i1, l1)).alias("_initials"),
        pl.min_horizontal("_fn", "_ln").add("|").add(pl.max_horizontal("_fn", "_ln"))
        .alias("_names"),
    )


def candidate_pairs(f: pl.DataFrame, rules=BLOCKING_RULES, max_block: int = MAX_BLOCK
                    ) -> tuple[pl.DataFrame, dict[str, int]]:
    """Distinct pairs ``a < b`` of records that agree on every key of at least one rule."""
    out, counts = [], {}
    for name, keys in rules:
        k = f.select("_i", *keys).drop_nulls()
        k = k.filter(pl.len().over(list(keys)) <= max_block)
        p = (k.join(k, on=list(keys), suffix="_r").filter(pl.col("_i") < pl.col("_i_r"))
             .select(pl.col("_i").alias("a"), pl.col("_i_r").alias("b")))
        counts[name] = p.height
        out.append(p)
    pairs = pl.concat(out).unique() if out else pl.DataFrame(schema={"a": pl.UInt32,
                                                                      "b": pl.UInt32})
    return pairs, counts


def gammas(f: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """Comparison level of every field for each pair (DuckDB string similarity)."""
    con = duck.connect()
    con.register("f", f.select("_i", "fn", "fna", "ln", "dob", "el", "ph", "p7", "addr", "house",
                               "pc", "city").to_arrow())
    con.register("pairs", pairs.to_arrow())
    out = pl.from_arrow(con.sql(_GAMMA_SQL).to_arrow_table())
    con.close()
    return out.with_columns(pl.col(c).cast(pl.Int8) for c in COMPARISONS)


def _random_pairs(f: pl.DataFrame, n: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    ids = f["_i"].to_numpy()
    a, b = rng.choice(ids, n), rng.choice(ids, n)
    keep = a != b
    return pl.DataFrame({"a": np.minimum(a, b)[keep], "b": np.maximum(a, b)[keep]})


def _level_probs(g: pl.DataFrame, weight: np.ndarray | None, c: str) -> np.ndarray:
    levels = g[c].to_numpy()
    w = np.ones(len(levels)) if weight is None else weight
    counts = np.array([w[levels == k].sum() for k in range(COMPARISONS[c])]) + 0.5
    return counts / counts.sum()


def _likelihoods(pat: pl.DataFrame, model: Model) -> tuple[np.ndarray, np.ndarray]:
    lm = np.full(pat.height, np.log(model.prior))
    lu = np.full(pat.height, np.log(1 - model.prior))
    for c in COMPARISONS:
        lv = pat[c].to_numpy().astype(np.int64)
        has = lv >= 0
        lm[has] += np.log(model.m[c][lv[has]])
        lu[has] += np.log(model.u[c][lv[has]])
    return lm, lu


def posterior(pat: pl.DataFrame, model: Model) -> np.ndarray:
    """Match probability of each comparison pattern."""
    lm, lu = _likelihoods(pat, model)
    return 1.0 / (1.0 + np.exp(lu - lm))


def _same_name_pairs(f: pl.DataFrame, labels: np.ndarray, n: int, seed: int) -> pl.DataFrame:
    """Up to ``n`` random pairs of records with the same first and last name key that the
    deterministic pass left apart: the population a name agreement does not tell apart."""
    k = f.select("_i", "fn", "ln").with_columns(pl.Series("_l", labels[f["_i"].to_numpy()]))
    k = k.filter(pl.len().over("fn", "ln").is_between(2, 200))
    p = (k.join(k, on=["fn", "ln"], suffix="_r")
         .filter((pl.col("_i") < pl.col("_i_r")) & (pl.col("_l") != pl.col("_l_r")))
         .select(pl.col("_i").alias("a"), pl.col("_i_r").alias("b")))
    return p.sort("a", "b").sample(n, seed=seed) if p.height > n else p


def train(f: pl.DataFrame, g: pl.DataFrame, same: np.ndarray, labels: np.ndarray | None = None,
          *, seed: int = 7, u_pairs: int = 100_000, recall: float = 0.9, max_iter: int = 50,
          tol: float = 1e-6) -> Model:
    """Parameters from the data, no hand-set weights.

    ``u`` (chance agreement) from random record pairs, except for the e-mail local part: its
    ``u`` comes from random pairs of records that share a first and last name but no strong
    identifier. Why: e-mail local parts are built from names, and among 60-odd common
    names two different "Maria Smith"s agree on ``mariasmith`` far more often than two random
    records do; that conditional ``u`` is the dependence a plain random-pair ``u`` ignores (the
    job Splink's term-frequency adjustments do). ``m`` from the pairs a strong identifier
    already joined (``same``: labelled matches, free supervision). The prior as Splink
    estimates it from deterministic rules: their match pairs over all record pairs, divided
    by their assumed ``recall``; without enough labelled pairs, by EM over the blocked pairs
    the strong pass left apart with ``m`` and ``u`` held (EM that also moves ``m`` over those
    pairs learns "same household": same surname, address and phone, as the match class).
    """
    u_g = gammas(f, _random_pairs(f, u_pairs, seed)) if f.height > 1 else g
    u = {c: _level_probs(u_g, None, c) for c in COMPARISONS}
    if labels is not None:
        sn = _same_name_pairs(f, labels, u_pairs, seed)
        if sn.height >= 200:
            sn_g = gammas(f, sn)
            for c in NAME_DERIVED:
                u[c] = _level_probs(sn_g, None, c)
    labelled = g.filter(pl.Series(same))
    m = {}
    for c, k in COMPARISONS.items():
        if labelled.filter(pl.col(c) >= 0).height >= 20:
            m[c] = _level_probs(labelled, None, c)
        else:
            p = np.full(k, 0.05 / max(k - 1, 1))
            p[k - 1] = 0.95
            m[c] = p / p.sum()
    model = Model(prior=0.05, m=m, u=u)
    if labels is not None:
        # Splink's "probability two random records match" from the deterministic rules: their
        # match pairs over all pairs of named records, divided by the recall assumed for them
        k = pl.Series(labels[f["_i"].to_numpy()]).value_counts()["count"].cast(pl.Float64)
        matched = float((k * (k - 1) / 2).sum())
        total = f.height * (f.height - 1) / 2
        if matched >= MIN_LABELLED and total:
            model.prior = float(np.clip(matched / recall / total, 1e-9, 0.5))
            return model
    # too few labelled pairs: the prior among the blocked pairs the strong pass left apart,
    # by EM with m and u held
    pat = g.filter(~pl.Series(same)).group_by(list(COMPARISONS)).agg(pl.len().alias("n"))
    if pat.is_empty():
        return model
    n = pat["n"].to_numpy().astype(float)
    for it in range(max_iter):
        prior = float(np.clip((posterior(pat, model) * n).sum() / n.sum(), 1e-6, 1 - 1e-6))
        done = abs(prior - model.prior) < tol
        model.prior, model.iterations = prior, it + 1
        if done:
            break
    return model


def score(g: pl.DataFrame, model: Model) -> pl.DataFrame:
    """``g`` with ``match_weight`` (log2 odds) and ``match_probability`` columns."""
    lm, lu = _likelihoods(g, model)
    mw = (lm - lu) / np.log(2)
    return g.with_columns(pl.Series("match_weight", mw),
                          pl.Series("match_probability", 1.0 / (1.0 + np.power(2.0, -mw))))
