"""What the Splink pass compares: the comparison levels, as SQL, and the frame they read.

Named records the deterministic pass may have left apart, compared on names, date of birth,
e-mail local part, phone and address. Comparison levels are SQL, most specific first: exact
(term-frequency adjusted for names: two "Maria Smith"s are weaker evidence than two "Xanthe
Okonkwo"s), first and last swapped, one edit (a typo, substitutions included), Jaro-Winkler
similarity, an initial. How the model is trained on them: ``splink_model.py``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from lakehouse.identity.names import typo_sql


def _lvl(label: str, sql: str, **kw) -> dict:
    return {"sql_condition": sql, "label_for_charts": label, **kw}


def _null(*cols: str) -> dict:
    return _lvl("null", " or ".join(f"{c}_l is null or {c}_r is null" for c in cols),
                is_null_level=True)


_SWAPPED = "fn_l = ln_r and ln_l = fn_r"
_ELSE = _lvl("else", "else")


def _nickname(c: str) -> list[dict]:
    """A first name's nickname level (Bob / Robert: the name keys share a given name,
    ``names.first_name_keys``); a last name has none."""
    if c != "fn":
        return []
    return [_lvl("nickname", "list_has_any(fna_l, fna_r)")]


def _name_levels(c: str, other: str) -> list[dict]:
    """First and last name compare alike: exact (term-frequency adjusted), swapped with the
    other name, a nickname (first names), a dropped, doubled or swapped letter, any one edit
    (a substitution: often another person, Mark / Mary, so it learns its own weight),
    similar, an initial."""
    left, right = f"{c}_l", f"{c}_r"
    return [
        _null(c),
        _lvl("exact", f"{left} = {right}", tf_adjustment_column=c),
        _lvl(f"swapped with {other}", _SWAPPED),
        *_nickname(c),
        _lvl("typo", typo_sql(left, right)),
        _lvl("one edit", f"least(length({left}), length({right})) >= 3 "
             f"and damerau_levenshtein({left}, {right}) <= 1"),
        _lvl("jaro-winkler >= 0.88", f"jaro_winkler_similarity({left}, {right}) >= 0.88"),
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
        _lvl("two digits", "levenshtein(dob_l, dob_r) <= 2"),
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
        _lvl("similar, postcode differs", "jaro_winkler_similarity(addr_l, addr_r) >= 0.90"),
        _lvl("postcode or city", "pc_l = pc_r or city_l = city_r"),
        _ELSE,
    ],
}


def features(rec: pl.DataFrame, labels: np.ndarray) -> pl.DataFrame:
    """Comparison inputs and blocking keys of records with a first or last name, with
    ``_det``: the deterministic component each record is in (Splink's label column)."""
    named = rec.filter(pl.col("_fn").is_not_null() | pl.col("_ln").is_not_null())
    i1 = pl.col("_fn").str.slice(0, 1)
    l1 = pl.col("_ln").str.slice(0, 1)
    return named.select(
        pl.col("_i").cast(pl.Int64), pl.col("_fnc").alias("fn"), pl.col("_fn_alts").alias("fna"),
        pl.col("_ln").alias("ln"),
        pl.col("_dob").alias("dob"), pl.col("_email_local").alias("el"),
        pl.col("phone").alias("ph"), pl.col("_phone7").alias("p7"),
        pl.col("_addr").alias("addr"), pl.col("_house").alias("house"),
        pl.col("_postcode").alias("pc"), pl.col("_city").alias("city"),
        pl.Series("_det", labels[named["_i"].to_numpy()]).cast(pl.Int64),
        "_postcode", l1.alias("_ln1"), i1.alias("_fn1"),
        pl.min_horizontal(i1, l1).add(pl.max_horizontal(i1, l1)).alias("_initials"),
        pl.min_horizontal("_fn", "_ln").add("|").add(pl.max_horizontal("_fn", "_ln"))
        .alias("_names"),
    )


def case_sql(levels: list[dict]) -> str:
    """SQL: the index of the first of ``levels`` a pair (``_l``/``_r`` columns) is at."""
    body = " ".join(f"when {lv['sql_condition']} then {k}"
                    for k, lv in enumerate(levels) if lv["sql_condition"] != "else")
    return f"case {body} else {len(levels) - 1} end"
