"""What the attribution model's materialization shows in the UI: credit per channel and model
(a table and a chart), journey completeness, and truth scores on a simulated home.

Attribution itself is a dbt Python model (``int_attribution__credits``) in the warehouse
build, gated by its dbt tests (credits sum to 1 per conversion and model, none after the
conversion, every conversion credited) as blocking checks, then by the warehouse gate.
"""

from pathlib import Path

import dagster as dg

from lakehouse.marketing.report import (
    CREDITS,
    channel_shares,
    journey_completeness,
    share_chart,
    truth_scores,
)

SHARE_SCHEMA = dg.TableSchema(columns=[
    dg.TableColumn("model", "string"), dg.TableColumn("channel", "string"),
    dg.TableColumn("conversions", "float", description="Sum of credits"),
    dg.TableColumn("revenue", "float", description="Credited revenue"),
    dg.TableColumn("share", "float", description="Share of the model's conversions")])


def attribution_metadata(con, home_root: Path) -> dict:
    """Metadata of the credits relation, read on the step's read-only connection."""
    shares = channel_shares(con)
    if shares.is_empty():
        return {}
    metadata: dict = {
        "credit_by_channel": dg.MetadataValue.md(share_chart(shares)),
        "channel_shares": dg.MetadataValue.table(
            [dg.TableRecord({"model": r["model"], "channel": r["channel"],
                             "conversions": round(r["conversions"], 3),
                             "revenue": round(r["value"] or 0.0, 2),
                             "share": round(r["share"], 4)})
             for r in shares.iter_rows(named=True)], schema=SHARE_SCHEMA),
    }
    for r in journey_completeness(con).iter_rows(named=True):
        metadata[f"completeness_{r['conversion_channel']}"] = round(r["share_cross_platform"],
                                                                    4)
    scores = truth_scores(home_root, shares)
    for r in (scores.iter_rows(named=True) if scores is not None else ()):
        metadata[f"truth_tae_{r['model']}"] = round(r["total_absolute_error"], 4)
        metadata[f"truth_max_error_pp_{r['model']}"] = round(r["max_abs_error_pp"], 2)
        if r["spearman"] is not None:
            metadata[f"truth_spearman_{r['model']}"] = round(r["spearman"], 4)
    return metadata


# relation -> its extra materialization metadata
EXTRA_METADATA = {CREDITS: attribution_metadata}
