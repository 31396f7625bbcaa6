"""Name keys and the one rule for "could these two names be the same person?".

Used wherever a shared identifier (a household card, a family tablet, a cookie that logged into
two accounts) may only join records whose names agree: a typo (a dropped, doubled or swapped
letter), a nickname (Bob for Robert), an initial (J. for John), first and last swapped, or a
review's "First L." display name. A one-letter substitution is not a typo here: between real
given names it is usually another person (Mark / Mary, Hall / Hill).

Nicknames come from the ``nicknames`` package (Apache-2.0; a CSV of ~2,700 "given name
has_nickname short form" relations in English usage), not from a list of our own. A short
form belongs to many given names (Al: Albert, Alan, Alfred, ...), so one replacement key cannot
say which two names agree. Each first name therefore gets two things, built once per distinct
name:

- a key (:func:`canonical_first`, ``_fnc``) for blocking and exact comparison: the name itself
  when it is a given name of the table (or one the table does not know), else the one given
  name it is a short form of, else (several) the name itself;
- its alternates (:func:`first_name_keys`, ``_fn_alts``): the name, its key and every given
  name the key is a short form of. Two names are nickname-compatible when their alternates
  meet (``list_has_any`` in SQL): one is a short form of the other (Bob / Robert), or both
  are short forms of one given name (Peggy / Maggie: Margaret). Not two given names that
  merely share a short form: Albert and Alfred share Al, Patrick and Patricia share Pat, and
  are different people in one household. (So the alternates hold no short forms of the name:
  with them, every two given names sharing a short form would meet.)

The table is what its maintainers say and is taken as it is, quirks included (it lists Bill
as a short form of Robert and Andrew of Andrea).
"""

from __future__ import annotations

import re
from functools import cache

import polars as pl


def _letters(name: str) -> str:
    return re.sub(r"[^A-Z]", "", name.upper())


@cache
def nickname_table() -> tuple[dict[str, frozenset[str]], frozenset[str]]:
    """(short form -> the given names it stands for, every given name that has short forms),
    upper case letters only, from the ``nicknames`` package's relations."""
    from nicknames import NickNamer  # on first use (~0.1 s with its CSV)

    namer = NickNamer()
    givens: dict[str, set[str]] = {}
    for short, names in namer.canonical_lookup.items():
        key = _letters(short)
        if key:
            givens.setdefault(key, set()).update(
                g for g in map(_letters, names) if g and g != key)
    canonical = frozenset(k for k in map(_letters, namer.nickname_lookup) if k)
    return {k: frozenset(v) for k, v in givens.items() if v}, canonical


def _key(name: str, givens: dict[str, frozenset[str]], canonical: frozenset[str]) -> str:
    of = givens.get(name)
    if name in canonical or not of or len(of) > 1:
        return name
    return next(iter(of))


def _per_distinct(names: pl.Series, f, dtype: pl.DataType) -> pl.Series:
    """``f`` of each distinct non-null name once, gathered back onto every row."""
    distinct = names.drop_nulls().unique()
    index = names.replace_strict(
        distinct, pl.int_range(len(distinct), dtype=pl.UInt32, eager=True), default=None)
    return pl.Series(names.name, [f(n) for n in distinct.to_list()], dtype=dtype).gather(index)


def canonical_first(first: pl.Series) -> pl.Series:
    """The key ``_fnc`` of each first name (upper case letters): the name itself when it is a
    given name of the nickname table or unknown to it, else the one given name it is a short
    form of, else (a short form of several) the name itself."""
    givens, canonical = nickname_table()
    return _per_distinct(first, lambda n: _key(n, givens, canonical), pl.String())


def alternates(keys: pl.Series) -> pl.Series:
    """For first-name keys (``_fnc``): the key and every given name it is a short form of,
    sorted. Two names are nickname-compatible when the alternates of their keys meet."""
    givens, _ = nickname_table()
    return _per_distinct(keys, lambda k: sorted({k, *givens.get(k, ())}), pl.List(pl.String))


def first_name_keys(first: pl.Series) -> pl.DataFrame:
    """``_fnc`` and ``_fn_alts`` for first-name keys ``_fn`` (upper case letters, or null;
    nulls stay null), each computed once per distinct name. ``_fn_alts`` is the name itself
    plus :func:`alternates` of its key: adding the name changes no compatibility (a name
    whose key is another name is a short form of that one given name only, so no other name
    lists it), it only lets a reader see the name in its own list."""
    givens, canonical = nickname_table()

    def alts(n: str) -> list[str]:
        k = _key(n, givens, canonical)
        return sorted({n, k, *givens.get(k, ())})

    return pl.DataFrame([canonical_first(first).alias("_fnc"),
                         _per_distinct(first, alts, pl.List(pl.String)).alias("_fn_alts")])


def typo_sql(a: str, b: str) -> str:
    """SQL: equal, or one letter dropped, doubled or two neighbours swapped (length >= 3)."""
    return (f"({a} = {b} or (least(length({a}), length({b})) >= 3 "
            f"and damerau_levenshtein({a}, {b}) = 1 "
            f"and (length({a}) <> length({b}) or list_sort(str_split({a}, '')) "
            f"= list_sort(str_split({b}, '')))))")


def compatible_sql(a: str, b: str) -> str:
    """SQL predicate over two aliases that each have ``fn`` (first name key ``_fnc``), ``fna``
    (:func:`alternates` of that key, or the record's ``_fn_alts``: the same answer) and ``ln``
    (last name key): the two names may belong to one person."""
    swapped = f"({a}.ln = {b}.fn and {a}.fn = {b}.ln)"
    last = (f"({typo_sql(f'{a}.ln', f'{b}.ln')} or ((length({a}.ln) = 1 or length({b}.ln) = 1)"
            f" and left({a}.ln, 1) = left({b}.ln, 1)))")
    first = (f"({typo_sql(f'{a}.fn', f'{b}.fn')} or ((length({a}.fn) = 1 or length({b}.fn) = 1)"
             f" and left({a}.fn, 1) = left({b}.fn, 1)) or list_has_any({a}.fna, {b}.fna))")
    return f"(({last} and {first}) or {swapped})"
