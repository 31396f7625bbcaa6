"""What a run shows of its identity model in Dagster (orchestration/assets/identity.py): the
weight chart of the model's parameters."""

from __future__ import annotations

from orchestration.assets.identity import BAR_MAX_BITS, parameter_rows, weight_chart


def test_the_weight_chart_draws_evidence_both_ways_and_cuts_the_extremes() -> None:
    rows = parameter_rows({"parameters": [
        {"comparison": "dob", "level": 1, "label": "exact", "m": 0.9, "u": 0.01, "weight": 6.49},
        {"comparison": "dob", "level": 2, "label": "a | b", "m": 0.0, "u": 0.9,
         "weight": -74.9},
        {"comparison": "dob", "level": 3, "label": "never seen", "m": None, "u": None,
         "weight": None},
        {"comparison": "dob", "level": 4, "label": "u = 0", "m": 0.1, "u": 0.0,
         "weight": float("inf")}]})
    assert rows[3]["weight"] is None and rows[3]["u"] == 0.0  # no infinite number shown
    chart = weight_chart(rows, threshold=0.99, prior=0.001)
    lines = chart.splitlines()
    table = [line for line in lines if line.startswith("| dob")]
    assert len(table) == 4
    assert "| " + "█" * 13 + " | +6.49 |" in table[0]
    assert "◂" + "░" * (2 * BAR_MAX_BITS) + " |" in table[1] and "a \\| b" in table[1]
    assert table[2].endswith("|  |  | n/a |") and table[3].endswith("|  |  | n/a |")
    assert "match threshold 0.99, prior 0.001." in lines
    # our engine's report without parameters: its weights, without m and u
    fallback = parameter_rows({"weights": {"phone": [-5.3, 6.6, 11.4]}})
    assert [(r["level"], r["weight"], r["m"]) for r in fallback] == [(0, -5.3, None),
                                                                     (1, 6.6, None),
                                                                     (2, 11.4, None)]
