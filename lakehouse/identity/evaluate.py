"""Scoring an identity map against the simulator's truth.

Pairwise figures count record pairs: a pair is predicted when both records share a person id,
true when both share a true person. Cluster figures say what a marketer feels: a person split
across ids (fragments) and an id that merges several people (the worse error: one person sees
another's data).
"""

from __future__ import annotations

import polars as pl


def _pairs(frame: pl.DataFrame, *keys: str) -> int:
    counts = frame.group_by(*keys).len()["len"].cast(pl.Int64)
    return int((counts * (counts - 1) // 2).sum())


def evaluate(resolved: pl.DataFrame, truth: pl.DataFrame) -> dict:
    """Pairwise precision/recall/F1, split-person and over-merged-id shares over the records both
    frames hold (``source, record_id`` keys; ``person_id`` on each side)."""
    j = resolved.select("source", "record_id", pl.col("person_id").alias("pred")).join(
        truth.select("source", "record_id", pl.col("person_id").alias("true")),
        on=["source", "record_id"])
    tp = _pairs(j, "pred", "true")
    pred_pairs, true_pairs = _pairs(j, "pred"), _pairs(j, "true")
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    per_true = j.group_by("true").agg(pl.col("pred").n_unique().alias("k"))
    per_pred = j.group_by("pred").agg(pl.col("true").n_unique().alias("k"))
    return {
        "records": j.height, "true_persons": per_true.height, "predicted_persons": per_pred.height,
        "precision": round(precision, 5), "recall": round(recall, 5), "f1": round(f1, 5),
        "split_person_share": round(float((per_true["k"] > 1).mean()), 5),
        "overmerged_id_share": round(float((per_pred["k"] > 1).mean()), 5),
    }
