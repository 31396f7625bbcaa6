"""What an attribution run in the warehouse says: credit per channel and model, journey
completeness, and (on a simulated home) each model's error against the true channel effects.

The credits are dbt's ``intermediate.int_attribution__credits`` (a Python model calling
``attribute``) and the journeys ``main.fct_conversions``; both are read from the warehouse
file through a DuckDB connection the caller holds.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

CREDITS = "intermediate.int_attribution__credits"
SHARES_SQL = f"""
with sums as (
    select attribution_model as model, touch_channel as channel,
           sum(credit) as conversions, sum(attributed_revenue) as value
    from {CREDITS} group by attribution_model, touch_channel
)
select *, conversions / sum(conversions) over (partition by model) as share
from sums order by model, channel
"""
COMPLETENESS_SQL = """
select conversion_channel, count(*) as conversions,
       count(*) filter (where has_cross_platform_touch) as with_cross_platform_touch,
       count(*) filter (where not is_anonymous) as identified,
       count(*) filter (where has_cross_platform_touch) / count(*) as share_cross_platform
from main.fct_conversions group by conversion_channel order by conversion_channel
"""


def channel_shares(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """``model, channel, conversions, value, share`` of the warehouse's credits."""
    return con.sql(SHARES_SQL).pl()


def journey_completeness(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Per conversion channel: conversions, those with a linked touch on another platform
    (the online side of a store purchase), those linked to a person, and the share."""
    return con.sql(COMPLETENESS_SQL).pl()


def truth_scores(home_root: Path, shares: pl.DataFrame) -> pl.DataFrame | None:
    """Each model's channel shares against the simulator's true incremental shares (total
    absolute error, largest error in points, rank agreement), when the home has that truth."""
    from lakehouse.marketing.evaluate import score, true_incremental

    truth = home_root / "truth"
    if not (truth / "conversion_drivers.parquet").exists():
        return None
    # conversions are the orders not cancelled: the truth counts the same
    return score(shares.select("model", "channel", "share"),
                 true_incremental(truth, include_cancelled=False))


def share_chart(shares: pl.DataFrame, width: int = 40) -> str:
    """Credit share per channel and model as a markdown bar chart (one row per channel and
    model, ``width`` characters = 100%)."""
    lines = ["Share of conversions credited to each channel, per model "
             f"({width} characters = 100%).", "",
             "| channel | model | share | |", "| --- | --- | ---: | :--- |"]
    for r in shares.sort("channel", "model").iter_rows(named=True):
        bar = "█" * max(1, round(r["share"] * width)) if r["share"] > 0 else ""
        lines.append(f"| {r['channel']} | {r['model']} | {r['share']:.1%} | {bar} |")
    return "\n".join(lines)
