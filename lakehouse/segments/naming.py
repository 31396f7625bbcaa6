"""Per-cluster profiles and the names a marketer reads, derived from the data.

A cluster is named from how its members differ from the whole population, never from its
number. For each key statistic, the *effect* of a cluster is
``(cluster mean - population mean) / population standard deviation`` (nulls ignored; the
purchase statistics over buyers only, so "high value" compares buyers with buyers). ``HIGH``
(+0.5 SD) and ``LOW`` (-0.5 SD) mark a clear difference. The first rule that holds names it:

1. most members never bought (``buyer_share`` < 0.5): "Browsers, not buyers" when they visit
   the web shop or app more than average, "Email readers, not buyers" when they open more
   e-mails, else "Dormant prospects";
2. spend well above other buyers (monetary effect >= ``VALUE``): "High-value, slipping away"
   when their last purchase is also longer ago than usual, "High-value omnichannel" when two
   or more channels each carry ``MIXED`` of their orders, else "High-value loyalists";
3. last purchase longer ago than other buyers (recency effect >= HIGH): "Lapsed";
4. return rate effect >= ``VALUE``: "Serial returners";
5. basket value effect >= ``VALUE`` while frequency is not high: "Big-ticket occasional";
6. one channel carries ``DOMINANT`` of their orders: "Store regulars" / "<Channel> shoppers";
7. one category affinity effect >= 2 * HIGH: "<Category> enthusiasts";
8. e-mail open rate effect >= HIGH: "Email-engaged shoppers";
9. recency effect <= LOW: "Recent shoppers";
10. else "Mainstream shoppers".

Two clusters with the same name get their strongest distinguishing trait appended
("Lapsed · mostly store"), then their cluster number if still equal.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

HIGH, LOW = 0.5, -0.5
VALUE = 0.75
MIXED, DOMINANT = 0.2, 0.6

# (statistic, column, over buyers only): the profile means and the effects naming reads
KEY_STATS = (
    ("recency_days", "recency_days", True),
    ("frequency", "frequency", True),
    ("monetary", "monetary", True),
    ("avg_order_value", "avg_order_value", True),
    ("return_rate", "return_rate", True),
    ("sessions_30d", "sessions_30d", False),
    ("visit_share", "visited", False),
    ("email_open_rate", "email_open_rate", False),
)
TRAIT_WORDS = {  # statistic -> (phrase when above, phrase when below)
    "recency_days": ("longer gone", "more recent"),
    "frequency": ("more orders", "fewer orders"),
    "monetary": ("higher spend", "lower spend"),
    "avg_order_value": ("bigger baskets", "smaller baskets"),
    "return_rate": ("more returns", "fewer returns"),
    "sessions_30d": ("more browsing", "less browsing"),
    "visit_share": ("more visitors", "fewer visitors"),
    "email_open_rate": ("more e-mail opens", "fewer e-mail opens"),
}


@dataclass(frozen=True)
class Profile:
    """One cluster's statistics: raw means and effects (in population SDs)."""

    cluster: int
    persons: int
    share: float
    buyer_share: float
    means: dict[str, float | None]
    effects: dict[str, float]
    channels: dict[str, float]  # channel ("web") -> mean share of its orders (buyers)
    categories: dict[str, float]  # category column -> effect of its affinity (buyers)


def _label(column: str, prefix: str) -> str:
    return column.removeprefix(prefix).replace("_", " ").capitalize()


def _stat_frame(features: pl.DataFrame) -> pl.DataFrame:
    """The columns the statistics read; a missing feature is all null."""
    present = set(features.columns)
    cols = [pl.col(c).cast(pl.Float64) if c in present else pl.lit(None, pl.Float64).alias(c)
            for _, c, _ in KEY_STATS if c != "visited"]
    visited = (pl.col("days_since_last_visit").is_not_null().cast(pl.Float64)
               if "days_since_last_visit" in present else pl.lit(None, pl.Float64))
    extra = [c for c in features.columns if c.startswith(("share_", "affinity_"))]
    buyer = pl.col("frequency").fill_null(0) > 0 if "frequency" in present else pl.lit(False)
    return features.select("cluster", buyer.alias("buyer"), *cols, visited.alias("visited"),
                           *[pl.col(c).cast(pl.Float64) for c in extra])


def _effects(frame: pl.DataFrame, columns: list[str], buyers: list[bool]) -> pl.DataFrame:
    """Per cluster: mean of each column and its effect against the population."""
    def value(c: str, only_buyers: bool) -> pl.Expr:
        return pl.when(pl.col("buyer")).then(pl.col(c)) if only_buyers else pl.col(c)

    pop = frame.select(
        *[value(c, b).mean().alias(f"{c}__mu") for c, b in zip(columns, buyers, strict=True)],
        *[value(c, b).std(ddof=0).alias(f"{c}__sd") for c, b in zip(columns, buyers,
                                                                    strict=True)])
    means = frame.group_by("cluster").agg(
        pl.len().alias("persons"), pl.col("buyer").mean().alias("buyer_share"),
        *[value(c, b).mean().alias(c) for c, b in zip(columns, buyers, strict=True)])
    return means.join(pop, how="cross").with_columns(
        ((pl.col(c) - pl.col(f"{c}__mu")) / pl.col(f"{c}__sd")).fill_nan(0.0).fill_null(0.0)
        .alias(f"{c}__effect") for c in columns).sort("cluster")


def profiles(features: pl.DataFrame) -> list[Profile]:
    """One :class:`Profile` per cluster of ``features`` (which carries a ``cluster``)."""
    frame = _stat_frame(features)
    stats = [(s, c) for s, c, _ in KEY_STATS]
    shares = [c for c in frame.columns if c.startswith("share_")]
    affinities = [c for c in frame.columns if c.startswith("affinity_")]
    columns = [c for _, c in stats] + shares + affinities
    buyers = [b for *_, b in KEY_STATS] + [True] * (len(shares) + len(affinities))
    table = _effects(frame, columns, buyers)
    total = frame.height
    out = []
    for row in table.iter_rows(named=True):
        out.append(Profile(
            cluster=int(row["cluster"]), persons=int(row["persons"]),
            share=row["persons"] / total, buyer_share=float(row["buyer_share"] or 0.0),
            means={s: row[c] for s, c in stats},
            effects={s: float(row[f"{c}__effect"]) for s, c in stats},
            channels={c.removeprefix("share_"): float(row[c] or 0.0) for c in shares},
            categories={c: float(row[f"{c}__effect"]) for c in affinities}))
    return out


def _channel_name(channel: str) -> str:
    return "Store regulars" if channel == "store" else f"{_label(channel, '')} shoppers"


def name_of(p: Profile) -> tuple[str, str]:
    """(name, the rule's reason) of one profile: rules 1-10 of the module docstring."""
    e = p.effects
    if p.buyer_share < 0.5:
        if max(e["sessions_30d"], e["visit_share"]) >= HIGH:
            return "Browsers, not buyers", "mostly no purchase, but visit more than average"
        if e["email_open_rate"] >= HIGH:
            return "Email readers, not buyers", "mostly no purchase, but open e-mails"
        return "Dormant prospects", "mostly no purchase and little activity"
    busy = [c for c, s in p.channels.items() if s >= MIXED]
    if e["monetary"] >= VALUE:
        if e["recency_days"] >= HIGH:
            return "High-value, slipping away", "high spend, but last order longer ago"
        if len(busy) >= 2:
            return "High-value omnichannel", f"high spend over {', '.join(busy)}"
        return "High-value loyalists", "high spend"
    if e["recency_days"] >= HIGH:
        return "Lapsed", "last order longer ago than other buyers"
    if e["return_rate"] >= VALUE:
        return "Serial returners", "return far more than other buyers"
    if e["avg_order_value"] >= VALUE and e["frequency"] < HIGH:
        return "Big-ticket occasional", "large baskets, few orders"
    top = max(p.channels.items(), key=lambda kv: (kv[1], kv[0]), default=None)
    if top and top[1] >= DOMINANT:
        return _channel_name(top[0]), f"{top[1]:.0%} of orders via {_label(top[0], '').lower()}"
    cat = max(p.categories.items(), key=lambda kv: (kv[1], kv[0]), default=None)
    if cat and cat[1] >= 2 * HIGH:
        label = _label(cat[0], "affinity_")
        return f"{label} enthusiasts", f"spend concentrated in {label.lower()}"
    if e["email_open_rate"] >= HIGH:
        return "Email-engaged shoppers", "open more e-mails than average"
    if e["recency_days"] <= LOW:
        return "Recent shoppers", "bought more recently than other buyers"
    return "Mainstream shoppers", "close to the average customer"


def traits(p: Profile, n: int = 3) -> list[str]:
    """The ``n`` statistics that set the cluster apart most, as phrases."""
    ranked = sorted(TRAIT_WORDS, key=lambda s: (-abs(p.effects[s]), s))
    return [TRAIT_WORDS[s][0 if p.effects[s] > 0 else 1] for s in ranked[:n]
            if abs(p.effects[s]) >= HIGH / 2]


def describe(p: Profile, reason: str) -> str:
    """A sentence a marketer can read: size, what defines it, what else stands out."""
    facts = [f"{p.persons} persons ({p.share:.0%})", f"{p.buyer_share:.0%} bought", reason]
    if p.means["monetary"] is not None and p.buyer_share > 0:
        facts.append(f"buyers spent {p.means['monetary']:.0f} over "
                     f"{p.means['frequency']:.1f} orders on average")
    extra = traits(p)
    return "; ".join(facts) + (f"; stands out: {', '.join(extra)}" if extra else "")


def names(profiles_: list[Profile]) -> dict[int, tuple[str, str]]:
    """cluster -> (unique name, description)."""
    base = {p.cluster: name_of(p) for p in profiles_}
    counts: dict[str, int] = {}
    for name, _ in base.values():
        counts[name] = counts.get(name, 0) + 1
    out: dict[int, tuple[str, str]] = {}
    for p in profiles_:
        name, reason = base[p.cluster]
        if counts[name] > 1:
            top = max(p.channels.items(), key=lambda kv: (kv[1], kv[0]), default=None)
            marks = ([f"mostly {_label(top[0], '').lower()}"] if top and top[1] >= DOMINANT else [])
            name = f"{name} · {(marks + traits(p, 1) + ['typical'])[0]}"
        out[p.cluster] = (name, describe(p, reason))
    final = [n for n, _ in out.values()]
    for c, (name, text) in out.items():  # still equal: the cluster number settles it
        if final.count(name) > 1:
            out[c] = (f"{name} ({c})", text)
    return out
