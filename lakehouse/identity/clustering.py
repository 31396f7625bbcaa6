"""Clustering probabilistic links under cannot-link constraints.

Why not plain connected components: each link is judged on one pair, but a person is a
cluster. A household shares a surname, an address and a phone; one link through a record
without a date of birth ("L. Garcia") can chain father, mother and daughter into one person,
although no pair among them would have linked. So links are added strongest first, and a link
that would put two records of different people into one cluster is refused (the two records
the link joins are the model's call; the constraint guards the others it brings along): two
dates of birth more than two typing slips apart under different first names, or two first
names that are neither similar, nor an initial of the other, nor nicknames of one name, nor
swapped with the last name, unless the dates of birth agree (a name replaced at data entry,
which public benchmarks are full of, reads like that; so do twins, who are rare). Two
clusters that each hold a login, none in common, are two account holders: never one person
by probability (the deterministic pass may still join them on an e-mail or a card).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import polars as pl

SIMILAR_NAME = 0.8  # Jaro-Winkler at or above which two first names may be one person's


@lru_cache(maxsize=1 << 16)
def jaro_winkler(a: str, b: str) -> float:
    """Jaro-Winkler similarity (prefix scale 0.1, up to 4 letters), as DuckDB computes it."""
    if a == b:
        return 1.0
    la, lb = len(a), len(b)
    if not la or not lb:
        return 0.0
    window = max(max(la, lb) // 2 - 1, 0)
    used = [False] * lb
    matched_a = []
    for i, c in enumerate(a):
        for j in range(max(0, i - window), min(lb, i + window + 1)):
            if not used[j] and b[j] == c:
                used[j] = True
                matched_a.append(c)
                break
    m = len(matched_a)
    if not m:
        return 0.0
    matched_b = [b[j] for j in range(lb) if used[j]]
    t = sum(x != y for x, y in zip(matched_a, matched_b, strict=True)) / 2
    jaro = (m / la + m / lb + (m - t) / m) / 3
    prefix = 0
    for x, y in zip(a[:4], b[:4], strict=False):
        if x != y:
            break
        prefix += 1
    return jaro + prefix * 0.1 * (1 - jaro)


def dates_close(a: str, b: str) -> bool:
    """Two ISO dates a typing slip or two apart: equal, at most two characters different, or
    day and month swapped (a parent's and a child's differ in more)."""
    if a == b:
        return True
    if len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) <= 2:
        return True
    return a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]


@lru_cache(maxsize=1 << 16)
def names_close(a: str, b: str, alts_a: frozenset[str], alts_b: frozenset[str]) -> bool:
    """Two first-name keys that may be one person's: similar, an initial, or nicknames."""
    if (len(a) == 1 or len(b) == 1) and a[0] == b[0]:
        return True
    return bool(alts_a & alts_b) or jaro_winkler(a, b) >= SIMILAR_NAME


Sig = tuple[str | None, str | None, str | None, frozenset[str]]  # first, last, dob, alternates


def conflict(x: Sig, y: Sig) -> bool:
    """Records with these signatures are two people."""
    fx, lx, dx, ax = x
    fy, ly, dy, ay = y
    if dx and dy and not dates_close(dx, dy) and not (fx and fx == fy):
        return True
    if fx and fy and not names_close(fx, fy, ax, ay) and fx != ly and fy != lx:
        return not (dx and dy and dx == dy)
    return False


def signatures(rec: pl.DataFrame) -> list[Sig]:
    """One signature per record of ``rec`` (from ``schema.conform``), in row order."""
    alts = (rec["_fn_alts"].to_list() if "_fn_alts" in rec.columns
            else [None] * rec.height)
    return [(f, ln, d, frozenset(a or ())) for f, ln, d, a in
            zip(rec["_fnc"], rec["_ln"], rec["_dob"], alts, strict=True)]


def constrained_links(labels: np.ndarray, rec: pl.DataFrame, pairs: pl.DataFrame
                      ) -> tuple[pl.DataFrame, int]:
    """The ``pairs`` (``a, b`` record indexes ``_i``, ``match_probability``) that may be
    added, strongest first, to the clusters ``labels`` (one per record of ``rec``, from
    ``schema.conform``) without putting two conflicting records, or two distinct logins, in one
    cluster; and how many were refused."""
    if not pairs.height:
        return pairs, 0
    touched = np.unique(labels[np.concatenate([pairs["a"].to_numpy(), pairs["b"].to_numpy()])])
    idx = np.flatnonzero(np.isin(labels[:rec.height], touched))
    sigs = signatures(rec[idx])
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    members: dict[int, set[Sig]] = {}
    sig_of = dict(zip(idx.tolist(), sigs, strict=True))
    for k, sig in sig_of.items():
        if sig[0] or sig[2]:
            members.setdefault(int(labels[k]), set()).add(sig)
    logins: dict[int, set[str]] = {}
    for k, login in zip(idx.tolist(), rec["login_id"].gather(idx).to_list(), strict=True):
        if login:
            logins.setdefault(int(labels[k]), set()).add(login)
    kept, refused = [], 0
    # strongest first; ties (one comparison vector, one probability: common) in record order,
    # so the clusters do not depend on the order the scorer returned its pairs in
    ordered = pairs.sort(["match_probability", "a", "b"], descending=[True, False, False])
    for a, b, _ in ordered.select("a", "b", "match_probability").iter_rows():
        ra, rb = find(int(labels[a])), find(int(labels[b]))
        if ra == rb:
            kept.append(True)
            continue
        sa, sb = members.get(ra, set()), members.get(rb, set())
        # the pair itself is the model's call; the constraint guards the rest of the clusters
        own = (sig_of[a], sig_of[b])
        la, lb = logins.get(ra, set()), logins.get(rb, set())
        if (la and lb and not la & lb) or any(
                conflict(x, y) for x in sa for y in sb if (x, y) != own):
            kept.append(False)
            refused += 1
            continue
        parent[rb] = ra
        members[ra] = sa | sb
        members.pop(rb, None)
        if lb:
            logins[ra] = la | lb
            logins.pop(rb, None)
        kept.append(True)
    return ordered.filter(pl.Series(kept, dtype=pl.Boolean)), refused
