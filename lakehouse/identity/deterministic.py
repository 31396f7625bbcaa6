"""Deterministic pass: identifiers joined as a graph, guarded against super nodes and against
chaining through shared things.

Why a guard: one placeholder e-mail (``none@none.com``), a store's default phone or a shared
card would otherwise weld hundreds of people into one "customer". The guard is data-driven:
per identifier type it looks at how many records and how many distinct names a value usually
carries, and a value far outside that distribution links nothing on its own.

Why name checks on otherwise normal values: a household shares a card, a tablet or a family
e-mail between two or three people. Among named records (shop accounts, guest checkouts,
loyalty sign-ups, reviews) such a value joins records whose names are compatible (typos,
nicknames, initials, swapped first/last: ``names.compatible_sql``) and no others. A device or
cookie is such a value always: it joins named records only through compatible names.

Nameless records (a cookie, an app device, a till transaction, an e-mail address) cannot be
name-checked, so they never bridge persons blindly (back-in-time stitching without chaining):
each attaches to the person its identifiers point at; when they point at several persons, the
record joins the one with the strongest evidence, and the others merge into it only when their
names are compatible (a cookie that logged into two accounts of one person). Nameless records
that share a value nobody named carries (a card only ever used at the till) form one cluster
that attaches, as a whole, to the person its other members point at.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from lakehouse.identity.graph import components
from lakehouse.identity.names import alternates, compatible_sql
from lakehouse.identity.schema import LINKS, STITCH
from lakehouse.storage import duck

NAME_FLOOR = 3          # a value shared by this many distinct names is never a super node
RECORD_FLOOR = 50       # ... nor one carried by this many records
NAME_FACTOR = 3.0       # super node: more names than NAME_FACTOR x the 99th percentile
RECORD_FACTOR = 10.0    # ... or more records than RECORD_FACTOR x the 99th percentile
DOMINANCE = 0.6        # a shared value's nameless record joins its main user only above this share
PRIORITY = (*LINKS, *STITCH)  # for ``matched_by``: the strongest type that links a record


@dataclass(frozen=True)
class Links:
    """Edges between node ids (records are ``0..n-1``; helper nodes follow) and what was guarded."""

    a: np.ndarray
    b: np.ndarray
    n_nodes: int
    super_nodes: pl.DataFrame      # identifier_type, value, n_records, n_names, threshold_*
    record_types: pl.DataFrame     # _i, matched_by (strongest type that links it to another)
    report: dict


def guard_thresholds(stats: pl.DataFrame) -> pl.DataFrame:
    """Per identifier type, the distinct-name and record counts above which a value is a super
    node, from the 99th percentile of that type's own distribution."""
    return stats.group_by("identifier_type").agg(
        pl.col("n_names").quantile(0.99, "higher").alias("_q_names"),
        pl.col("n_records").quantile(0.99, "higher").alias("_q_records"),
    ).with_columns(
        pl.max_horizontal(pl.lit(NAME_FLOOR), (pl.col("_q_names") * NAME_FACTOR).ceil())
        .cast(pl.Int64).alias("threshold_names"),
        pl.max_horizontal(pl.lit(RECORD_FLOOR), (pl.col("_q_records") * RECORD_FACTOR).ceil())
        .cast(pl.Int64).alias("threshold_records"),
    ).drop("_q_names", "_q_records")


def _sql(sql: str, **frames: pl.DataFrame) -> pl.DataFrame:
    con = duck.connect()
    try:
        for name, frame in frames.items():
            con.register(name, frame.to_arrow())
        return pl.from_arrow(con.sql(sql).to_arrow_table())  # type: ignore[return-value]
    finally:
        con.close()


_VARIANT_PAIRS_SQL = f"""
select a.vid, a.var as va, b.var as vb
from v a join v b on a.vid = b.vid and a.var < b.var
where {compatible_sql("a", "b")}
"""

_LABEL_PAIRS_SQL = f"""
select distinct p.a, p.b
from p join nm a on a.label = p.a join nm b on b.label = p.b
where {compatible_sql("a", "b")}
"""


def _edges(a: pl.Expr, b: pl.Expr) -> list[pl.Expr]:
    return [a.cast(pl.Int64).alias("a"), b.cast(pl.Int64).alias("b")]


def strong_links(rec: pl.DataFrame, long: pl.DataFrame) -> Links:
    """Edges of the deterministic graph over ``rec`` (a frame from ``schema.conform``) and its
    identifiers ``long`` (``_i, identifier_type, value`` from ``schema.identifier_long``)."""
    n = rec.height
    names = rec.select("_i", pl.col("_fnc").alias("fn"), pl.col("_ln").alias("ln")).filter(
        pl.col("fn").is_not_null() & pl.col("ln").is_not_null())
    long = long.join(names, on="_i", how="left").with_columns(
        pl.when(pl.col("fn").is_not_null()).then(pl.col("fn") + "|" + pl.col("ln"))
        .alias("_name"))
    stats = long.group_by("identifier_type", "value").agg(
        pl.len().alias("n_records"), pl.col("_name").drop_nulls().n_unique().alias("n_names"))
    stats = stats.join(guard_thresholds(stats), on="identifier_type")
    is_super = ((pl.col("n_names") > pl.col("threshold_names"))
                | (pl.col("n_records") > pl.col("threshold_records")))
    super_nodes = stats.filter(is_super).sort("identifier_type", "value")
    stats = stats.filter(~is_super).sort("identifier_type", "value").with_row_index("vid")
    long = long.join(stats.select("identifier_type", "value", "vid", "n_records"),
                     on=["identifier_type", "value"])
    value_node = n
    variant_node = n + stats.height

    # -- named records: values join compatible names only ---------------------------------
    named = long.filter(pl.col("_name").is_not_null())
    variants = (named.group_by("vid", "_name")
                .agg(pl.len().alias("n"), pl.first("fn"), pl.first("ln"))
                .sort("vid", "_name").with_row_index("var"))
    variants = variants.with_columns(alternates(variants["fn"]).alias("fna"))
    pairs = _sql(_VARIANT_PAIRS_SQL, v=variants.select("vid", "var", "fn", "ln", "fna"))
    n_var = variants.group_by("vid").agg(pl.len().alias("nv"))
    n_ok = pairs.group_by("vid").agg(pl.len().alias("np"))
    clean = (n_var.join(n_ok, on="vid", how="left").with_columns(pl.col("np").fill_null(0))
             .filter(pl.col("np") == pl.col("nv") * (pl.col("nv") - 1) // 2).select("vid"))
    named = named.with_columns(pl.col("vid").is_in(clean["vid"].implode()).alias("_clean"))
    amb = named.filter(~pl.col("_clean")).join(variants.select("vid", "_name", "var"),
                                               on=["vid", "_name"])
    edges = [
        named.filter("_clean").select(_edges(pl.col("_i"), pl.col("vid") + value_node)),
        amb.select(_edges(pl.col("_i"), pl.col("var") + variant_node)),
        pairs.select(_edges(pl.col("va") + variant_node, pl.col("vb") + variant_node)),
    ]
    n_nodes = variant_node + variants.height
    e = pl.concat(edges)
    labels = components(n_nodes, e["a"].to_numpy(), e["b"].to_numpy())

    # -- nameless records: what each value points at -------------------------------------
    clean_w = named.filter("_clean").group_by("vid").agg(pl.len().alias("w"))
    amb_var = variants.join(clean, on="vid", how="anti")
    point = pl.concat([
        clean_w.with_columns(pl.Series("label", labels[clean_w["vid"].to_numpy() + value_node])),
        amb_var.select("vid", pl.col("n").alias("w"), pl.Series(
            "label", labels[amb_var["var"].to_numpy() + variant_node])),
    ]).group_by("vid", "label").agg(pl.col("w").sum())
    nameless = long.filter(pl.col("_name").is_null()).select("_i", "identifier_type", "vid")
    direct = (nameless.join(point, on="vid")
              .with_columns((pl.col("identifier_type") != "device_id").alias("strong"))
              .group_by("_i", "label").agg(pl.col("strong").any(), pl.col("w").sum()))
    best = (direct.sort(["_i", "strong", "w", "label"], descending=[False, True, True, False])
            .group_by("_i", maintain_order=True).first().select("_i", "label",
                                                                  pl.col("w").alias("w_dom")))
    # a record pointing at several persons merges them only when their names agree
    rival = (direct.join(best.rename({"label": "dom"}), on="_i")
             .filter(pl.col("label") != pl.col("dom"))
             .with_columns(pl.min_horizontal("label", "dom").alias("a"),
                           pl.max_horizontal("label", "dom").alias("b")))
    others = rival.select("a", "b").unique()
    bridges = others.clear()
    if others.height:
        nm = (names.with_columns(pl.Series("label", labels[names["_i"].to_numpy()]))
              .select("label", "fn", "ln").unique())
        nm = nm.with_columns(alternates(nm["fn"]).alias("fna"))
        bridges = _sql(_LABEL_PAIRS_SQL, p=others, nm=nm)
    # ... and joins the strongest one only when it clearly dominates the incompatible rest
    # (a household tablet used by two people belongs to neither: it stays on its own)
    contest = (rival.join(bridges.with_columns(pl.lit(True).alias("_ok")), on=["a", "b"],
                          how="left").filter(pl.col("_ok").is_null())
               .group_by("_i").agg(pl.col("w").sum().alias("w_inc")))
    best = best.join(contest, on="_i", how="left").with_columns(pl.col("w_inc").fill_null(0))
    contested = best.filter(pl.col("w_dom") <= DOMINANCE * (pl.col("w_dom") + pl.col("w_inc")))
    best = best.join(contested.select("_i"), on="_i", how="anti").select("_i", "label")
    edges = [e, best.select(_edges(pl.col("_i"), pl.col("label"))),
             bridges.select(_edges(pl.col("a"), pl.col("b")))]

    # -- values no named record carries: clusters of nameless records --------------------
    free = nameless.join(point.select("vid").unique(), on="vid", how="anti")
    loose = free.join(direct.select("_i").unique(), on="_i", how="anti")
    edges.append(loose.select(_edges(pl.col("_i"), pl.col("vid") + value_node)))
    if loose.height:
        cl = components(n_nodes, loose["_i"].to_numpy(), (loose["vid"] + value_node).to_numpy())
        votes = free.join(best, on="_i")
        votes = votes.with_columns(
            pl.Series("cluster", cl[(votes["vid"] + value_node).to_numpy()]))
        loose_clusters = pl.Series(cl[loose["_i"].to_numpy()]).unique()
        owner = (votes.filter(pl.col("cluster").is_in(loose_clusters.implode()))
                 .group_by("cluster", "label").agg(pl.len().alias("w"))
                 .with_columns(pl.col("w").sum().over("cluster").alias("w_all"))
                 .sort(["cluster", "w", "label"], descending=[False, True, False])
                 .group_by("cluster", maintain_order=True).first()
                 .filter(pl.col("w") > DOMINANCE * pl.col("w_all")))
        edges.append(owner.select(_edges(pl.col("cluster"), pl.col("label"))))
    e = pl.concat(edges)

    order = {t: k for k, t in enumerate(PRIORITY)}
    record_types = (long.filter(pl.col("n_records") > 1)
                    .with_columns(pl.col("identifier_type").replace_strict(order).alias("_p"))
                    .sort("_i", "_p").group_by("_i", maintain_order=True).first()
                    .select("_i", pl.col("identifier_type").replace({"device_id": "device_stitch"})
                            .alias("matched_by")))
    report = {"nameless_attached": best.height, "nameless_contested": contested.height,
              "bridges_merged": bridges.height,
              "bridges_refused": others.height - bridges.height,
              "ambiguous_values": int(variants["vid"].n_unique() - clean.height)
              if variants.height else 0}
    return Links(e["a"].to_numpy(), e["b"].to_numpy(), n_nodes, super_nodes, record_types,
                 report)
