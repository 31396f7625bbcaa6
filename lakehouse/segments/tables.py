"""The segmentation's gold tables: their names and what each holds (the description the asset
graph shows; columns: ``segmentation.MEMBER_DOCS`` and ``PROFILE_DOCS``).

Apart from ``publish.py``, which imports scipy: the code location reads these when it loads.
"""

from __future__ import annotations

MEMBERS = "customer_segments"
PROFILES = "customer_segment_profiles"
# table -> what it holds
DESCRIPTIONS: dict[str, str] = {
    PROFILES: "One row per behaviour cluster of the customer feature mart: size, a name derived "
    "from its profile relative to the population, a description and the mean features that set "
    "it apart.",
    MEMBERS: "One row per person: RFM scores (1-5 among buyers, 0 never bought) and the classic "
    "RFM segment, and the person's behaviour cluster with its name.",
}
