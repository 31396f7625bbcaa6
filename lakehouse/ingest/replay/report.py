"""What a replay did with the rows it selected, for run metadata and for a person."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from lakehouse.ingest.replay.listing import Selection, redacted, rows, text_table


@dataclass
class ReplayReport:
    """What a replay did with the rows it selected (frames hold identities, kinds, reasons)."""

    batch_id: str
    selection: Selection
    selected: int = 0  # rows selected, not released before
    already_released: int = 0  # selected rows released before this replay (left alone)
    # pending rows: released by this replay's silver pass, or still waiting (kind, reason)
    released: pl.DataFrame = field(default_factory=pl.DataFrame)
    waiting: pl.DataFrame = field(default_factory=pl.DataFrame)
    released_unselected: int = 0  # pending rows outside the selection the same pass released
    # dead rows: now in bronze (and those silver holds back as pending), still failing
    # (with the current reason), or not replayable (why)
    replayed: pl.DataFrame = field(default_factory=pl.DataFrame)
    now_pending: pl.DataFrame = field(default_factory=pl.DataFrame)
    failing: pl.DataFrame = field(default_factory=pl.DataFrame)
    skipped: pl.DataFrame = field(default_factory=pl.DataFrame)
    bronze_appended: dict[str, int] = field(default_factory=dict)  # bronze table -> rows
    recovered_batches: list[str] = field(default_factory=list)  # interrupted replays finished
    silver: dict = field(default_factory=dict)  # SilverResult.metadata() per batch built

    def counts(self) -> pl.DataFrame:
        """Rows per outcome, kind and channel."""
        parts = [frame.select(pl.lit(outcome).alias("outcome"), "error_kind",
                              "_source_channel")
                 for outcome, frame in (("released", self.released),
                                        ("waiting", self.waiting),
                                        ("replayed", self.replayed),
                                        ("still_failing", self.failing),
                                        ("not_replayable", self.skipped))
                 if not frame.is_empty()]
        if not parts:
            return pl.DataFrame(schema={"outcome": pl.String, "error_kind": pl.String,
                                        "_source_channel": pl.String, "rows": pl.UInt32})
        return (pl.concat(parts).group_by("outcome", "error_kind", "_source_channel")
                .agg(pl.len().alias("rows"))
                .sort("outcome", "rows", "error_kind", descending=[False, True, False]))

    def metadata(self) -> dict:
        counts = self.counts()

        def per(outcome: str) -> dict[str, int]:
            mine = counts.filter(pl.col("outcome") == outcome)
            return {f"{k}/{c}": n for k, c, n in
                    mine.select("error_kind", "_source_channel", "rows").iter_rows()}

        return {
            "batch_id": self.batch_id, "selection": self.selection.describe(),
            "selected": self.selected, "already_released": self.already_released,
            "released": self.released.height, "waiting": self.waiting.height,
            "released_outside_selection": self.released_unselected,
            "dead_replayed": self.replayed.height, "dead_now_pending": self.now_pending.height,
            "dead_still_failing": self.failing.height, "not_replayable": self.skipped.height,
            "released_by_kind_channel": per("released"),
            "waiting_by_kind_channel": per("waiting"),
            "replayed_by_kind_channel": per("replayed"),
            "still_failing_by_kind_channel": per("still_failing"),
            "bronze_appended": dict(self.bronze_appended),
            "recovered_batches": list(self.recovered_batches),
        }

    def describe(self, limit: int = 0) -> str:
        """The report for a person: counts, and why rows still wait or fail."""
        out = [f"replay {self.batch_id} ({self.selection.describe()}): {self.selected} row(s) "
               "selected" + (f", {self.already_released} released earlier (left alone)"
                             if self.already_released else "")]
        if self.selected == 0:
            out.append("nothing to replay")
            return "\n".join(out)
        out.append(f"pending: {self.released.height} released, {self.waiting.height} still "
                   "waiting" + (f" ({self.released_unselected} other pending row(s) released "
                                "by the same pass)" if self.released_unselected else ""))
        out.append(f"dead: {self.replayed.height} now pass the contract and went to bronze"
                   + (f" ({self.now_pending.height} of them wait in the quarantine as pending)"
                      if self.now_pending.height else "")
                   + f", {self.failing.height} still fail, {self.skipped.height} cannot be "
                   "replayed")
        if self.bronze_appended:
            out.append("bronze appended: " + ", ".join(
                f"{t} +{n}" for t, n in sorted(self.bronze_appended.items())))
        if self.recovered_batches:
            out.append("finished interrupted replays: " + ", ".join(self.recovered_batches))
        counts = self.counts()
        if not counts.is_empty():
            out += ["", text_table(counts)]
        for title, frame in (("still waiting", self.waiting),
                             ("replayed, now pending", self.now_pending),
                             ("still failing", self.failing),
                             ("not replayable", self.skipped)):
            if frame.is_empty():
                continue
            why = (frame.group_by("error_kind", "_source_channel")
                   .agg(pl.len().alias("rows"),
                        pl.struct("reason", "field").first().alias("_r"))
                   .sort("rows", descending=True)
                   .with_columns(pl.col("_r").map_elements(
                       lambda s: redacted(s["reason"], s["field"]), return_dtype=pl.String)
                       .alias("example_reason")).drop("_r"))
            out += ["", f"{title}:", text_table(why)]
            if limit:
                out.append(text_table(rows(frame.with_columns(
                    pl.lit(title).alias("status")), limit).drop("status")))
        return "\n".join(out)
