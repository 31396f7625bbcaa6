"""Deterministic pass: strong identifiers joined as a graph, guarded against super nodes.

Why a guard: one placeholder e-mail (``none@none.com``), a store's default phone or a shared
card would otherwise weld hundreds of people into one "customer". The guard is data-driven:
per identifier type it looks at how many records and how many distinct names a value usually
carries, and a value far outside that distribution links nothing on its own.

Why name checks on otherwise normal values: a household shares a card or a family e-mail
between two or three people. Such a value joins records whose names are compatible (typos,
initials, swapped first/last) and no others; records without a name that carry only such a
value attach to the name that uses it most.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl

from lakehouse.identity.schema import STRONG

NAME_FLOOR = 3          # a value shared by this many distinct names is never a super node
RECORD_FLOOR = 50       # ... nor one carried by this many records
NAME_FACTOR = 3.0       # super node: more names than NAME_FACTOR x the 99th percentile
RECORD_FACTOR = 10.0    # ... or more records than RECORD_FACTOR x the 99th percentile


@dataclass(frozen=True)
class Links:
    """Edges between node ids (records are ``0..n-1``; helper nodes follow) and what was guarded."""

    a: np.ndarray
    b: np.ndarray
    n_nodes: int
    super_nodes: pl.DataFrame      # identifier_type, value, n_records, n_names, threshold_*
    record_types: pl.DataFrame     # _i, matched_by (strongest type that links it to another)
    identified: pl.DataFrame       # _i of records that carry a usable strong identifier


def _long(rec: pl.DataFrame) -> pl.DataFrame:
    parts = [rec.select("_i", pl.lit(t).alias("identifier_type"), pl.col(t).alias("value"),
                        "_fn", "_ln").filter(pl.col("value").is_not_null()) for t in STRONG]
    out = pl.concat(parts)
    named = pl.col("_fn").is_not_null() & pl.col("_ln").is_not_null()
    return out.with_columns(pl.when(named).then(pl.col("_fn") + "|" + pl.col("_ln"))
                            .alias("_name"))


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


_COMPATIBLE_SQL = """
select a.vid, a.var as va, b.var as vb
from v a join v b on a.vid = b.vid and a.var < b.var
where (a.ln = b.ln or jaro_winkler_similarity(a.ln, b.ln) >= 0.88
       or (a.ln = b.fn and a.fn = b.ln))
  and (a.fn = b.fn or jaro_winkler_similarity(a.fn, b.fn) >= 0.88
       or ((length(a.fn) = 1 or length(b.fn) = 1) and left(a.fn, 1) = left(b.fn, 1))
       or (a.ln = b.fn and a.fn = b.ln))
"""


def strong_links(rec: pl.DataFrame) -> Links:
    """Edges of the deterministic graph over ``rec`` (a frame from ``schema.conform``)."""
    n = rec.height
    long = _long(rec)
    stats = long.group_by("identifier_type", "value").agg(
        pl.len().alias("n_records"), pl.col("_name").drop_nulls().n_unique().alias("n_names"))
    stats = stats.join(guard_thresholds(stats), on="identifier_type")
    is_super = ((pl.col("n_names") > pl.col("threshold_names"))
                | (pl.col("n_records") > pl.col("threshold_records")))
    super_nodes = stats.filter(is_super).sort("identifier_type", "value")
    stats = stats.filter(~is_super).sort("identifier_type", "value").with_row_index("vid")
    long = long.join(stats.select("identifier_type", "value", "vid", "n_records"),
                     on=["identifier_type", "value"])

    # name variants per value, and which pairs of them are compatible (typos, initials, swaps)
    variants = (long.filter(pl.col("_name").is_not_null())
                .group_by("vid", "_name").agg(pl.len().alias("n"), pl.first("_fn").alias("fn"),
                                              pl.first("_ln").alias("ln"))
                .sort("vid", "_name").with_row_index("var"))
    con = duckdb.connect()
    con.register("v", variants.select("vid", "var", "fn", "ln").to_arrow())
    pairs = pl.from_arrow(con.sql(_COMPATIBLE_SQL).to_arrow_table())
    con.close()
    n_var = variants.group_by("vid").agg(pl.len().alias("nv"))
    n_ok = pairs.group_by("vid").agg(pl.len().alias("np"))
    clean = (n_var.join(n_ok, on="vid", how="left").with_columns(pl.col("np").fill_null(0))
             .filter(pl.col("np") == pl.col("nv") * (pl.col("nv") - 1) // 2).select("vid"))
    clean_vids = pl.concat([clean, stats.select("vid").join(n_var, on="vid", how="anti")])
    long = long.with_columns(pl.col("vid").is_in(clean_vids["vid"].implode()).alias("_clean"))

    value_node = n
    variant_node = n + stats.height
    edges: list[pl.DataFrame] = []
    # clean values: every record joins the value's node
    edges.append(long.filter("_clean").select(
        pl.col("_i").cast(pl.Int64).alias("a"), (pl.col("vid") + value_node).cast(pl.Int64)
        .alias("b")))
    amb = long.filter(~pl.col("_clean")).join(
        variants.select("vid", "_name", "var"), on=["vid", "_name"], how="left")
    # ambiguous values: named records join their own name variant ...
    edges.append(amb.filter(pl.col("var").is_not_null()).select(
        pl.col("_i").cast(pl.Int64).alias("a"), (pl.col("var") + variant_node).cast(pl.Int64)
        .alias("b")))
    # ... compatible variants join each other ...
    edges.append(pairs.select((pl.col("va") + variant_node).cast(pl.Int64).alias("a"),
                              (pl.col("vb") + variant_node).cast(pl.Int64).alias("b")))
    # ... and a nameless record with nothing better attaches to the most used variant
    identified = long.filter("_clean").select("_i").unique()
    primary = (variants.sort(["vid", "n", "_name"], descending=[False, True, False])
               .group_by("vid", maintain_order=True).first().select("vid", "var"))
    edges.append(amb.filter(pl.col("var").is_null()).join(identified, on="_i", how="anti")
                 .join(primary, on="vid", how="left", suffix="_p")
                 .select(pl.col("_i").cast(pl.Int64).alias("a"),
                         (pl.col("var_p") + variant_node).cast(pl.Int64).alias("b")))
    e = pl.concat(edges)

    order = {t: k for k, t in enumerate(STRONG)}
    record_types = (long.filter(pl.col("n_records") > 1)
                    .with_columns(pl.col("identifier_type").replace_strict(order).alias("_p"))
                    .sort("_i", "_p").group_by("_i", maintain_order=True).first()
                    .select("_i", pl.col("identifier_type").alias("matched_by")))
    identified = long.select("_i").unique()
    return Links(e["a"].to_numpy(), e["b"].to_numpy(), variant_node + variants.height,
                 super_nodes, record_types, identified)


def device_stitch(rec: pl.DataFrame, labels: np.ndarray, identified: pl.DataFrame
                  ) -> tuple[np.ndarray, np.ndarray, pl.DataFrame]:
    """Edges that attach anonymous records (no name, no usable strong identifier) to the person
    who owns their device or cookie, back in time.

    The owner of a device is the identified component seen with it on most records; a device seen
    with more identified persons than the data's usual spread (a kiosk) attaches nothing. Only
    anonymous records attach, so a shared tablet never joins two persons.
    """
    dev = rec.select("_i", "device_id", pl.Series("label", labels[: rec.height]),
                     (pl.col("_fn").is_null() | pl.col("_ln").is_null()).alias("_nameless")
                     ).filter(pl.col("device_id").is_not_null())
    anon = dev.filter("_nameless").join(identified, on="_i", how="anti")
    known = dev.join(anon.select("_i"), on="_i", how="anti")
    owners = known.group_by("device_id", "label").agg(pl.len().alias("n"))
    spread = owners.group_by("device_id").agg(pl.len().alias("n_owners"))
    q = spread["n_owners"].quantile(0.99, "higher") if spread.height else 1
    limit = max(NAME_FLOOR, math.ceil((q or 1) * NAME_FACTOR))
    kiosks = spread.filter(pl.col("n_owners") > limit).select("device_id")
    owner = (owners.join(kiosks, on="device_id", how="anti")
             .sort(["device_id", "n", "label"], descending=[False, True, False])
             .group_by("device_id", maintain_order=True).first().select("device_id", "label"))
    # anonymous records of one device stay together even when no owner is known
    first_anon = anon.group_by("device_id").agg(pl.col("_i").min().alias("_first"))
    a = anon.join(kiosks, on="device_id", how="anti").join(owner, on="device_id", how="left",
                                                           suffix="_o")
    a = a.join(first_anon, on="device_id").with_columns(
        pl.coalesce(pl.col("label_o"), pl.col("_first")).alias("_to"))
    stitched = a.filter(pl.col("label_o").is_not_null()).select("_i")
    return (a["_i"].cast(pl.Int64).to_numpy(), a["_to"].cast(pl.Int64).to_numpy(), stitched)
