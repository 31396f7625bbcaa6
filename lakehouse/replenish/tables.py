"""The plan's gold table: its name and what it holds (the description the asset graph shows;
columns: the dbt gold sources).

Apart from ``publish.py``, which imports scipy.stats: the code location reads this when it
loads.
"""

from __future__ import annotations

TABLE = "replenishment_recommendations"
# table -> what it holds
DESCRIPTIONS: dict[str, str] = {
    TABLE: "What to order from which supplier, or move from which warehouse, per product x "
    "location, when, and why: a cost-aware (s, S) policy on the forecast's lead-time demand "
    "(lead times and fill rates learnt from purchase orders), transfers within each "
    "warehouse's daily ship capacity.",
}
