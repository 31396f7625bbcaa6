"""Attribution against the simulator's true channel effects, on a built home.

Simulates the default retailer into ``--home`` and runs the whole pipeline (``lakehouse run``)
unless ``--home`` already holds a published warehouse, then prints: the true incremental
conversions per channel (``lakehouse.marketing.evaluate.true_incremental``: the removal
counterfactual of the simulator's purchase model, orders not cancelled), every model's channel
shares next to them, each model's error (total absolute error, largest error in points,
Spearman rank agreement), and journey completeness per conversion channel (the share of
conversions with a linked touch on another platform, which depends on identity).

    .venv/bin/python bench/bench_attribution_truth.py [--home /tmp/attr_truth]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl

from lakehouse.marketing.evaluate import true_incremental
from lakehouse.marketing.report import channel_shares, journey_completeness, truth_scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, default=Path("/tmp/attr_truth"))
    args = parser.parse_args()
    home = args.home.resolve()
    warehouse = home / "warehouse.duckdb"
    if not warehouse.exists():
        cli = Path(sys.executable).with_name("lakehouse")
        env = {**os.environ, "LAKEHOUSE_HOME": str(home)}
        for step in (["simulate", "--home", str(home)], ["run", "--home", str(home)]):
            subprocess.run([str(cli), *step], env=env, check=True, capture_output=True)
    pl.Config.set_tbl_rows(50)
    pl.Config.set_tbl_cols(20)
    pl.Config.set_tbl_width_chars(200)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        shares = channel_shares(con)
        completeness = journey_completeness(con)
    finally:
        con.close()
    truth = true_incremental(home / "truth", include_cancelled=False)
    print("true incremental conversions (removal counterfactual, orders not cancelled)")
    print(truth)
    wide = shares.pivot(on="model", index="channel", values="share").join(
        truth.select("channel", pl.col("share").alias("TRUTH")), on="channel", how="full",
        coalesce=True).sort("channel")
    print("channel shares per model")
    print(wide.with_columns(pl.exclude("channel").round(4)))
    print("error against the truth (total absolute error, largest error in points, Spearman)")
    print(truth_scores(home, shares).sort("total_absolute_error"))
    print("journey completeness (conversions with a linked touch on another platform)")
    print(completeness)


if __name__ == "__main__":
    main()
