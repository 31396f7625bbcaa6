"""The business assumptions a replenishment plan is priced with, in one place to argue about.

Every default is a planning assumption of ours, not a fact of the data: change them per
retailer. Costs in the catalog's currency; rates per unit of catalog ``cost``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Costs:
    """Prices of holding, ordering, shipping and losing a sale, and the planning knobs.

    - ``holding_rate_per_year``: capital, space, insurance and obsolescence, as a share of the
      unit cost per year (25 % is the usual textbook figure for general merchandise);
    - ``order_cost``: fixed cost of one purchase-order line (buyer time, receiving, invoice
      matching), whatever the quantity;
    - ``lost_sale_penalty``: cost of one unit of demand not served; ``None`` prices it at the
      product's margin (price - cost), the profit the sale would have made;
    - ``inbound_freight_per_unit``: supplier freight paid by us (our data has no rates for it);
    - ``units_per_parcel``: units one transfer parcel holds; a transfer pays the lane's rate
      per parcel, and a warehouse's ``ship_capacity_per_day`` (parcels) caps its outbound
      transfer units at capacity x units per parcel;
    - ``horizon_days``: how far ahead expected lost units are counted;
    - ``review_days``: days between two planning runs (the plan runs daily);
    - ``max_cover_days``: the most days of demand one order may buy (shelf life, cash);
    - ``min_service`` / ``max_service``: bounds on the critical-ratio service level, so a
      near-zero holding cost does not ask for infinite safety stock;
    - ``plan_days``: actions due within this many days are listed (today's are to be placed
      now, later ones are a preview, and capacity-limited transfers wait in it);
    - ``lead_prior_weight``: how many purchase orders the supplier's stated lead time counts
      for when blended with the observed ones (a supplier with few orders keeps its promise);
    - ``transfer_lead_cv``: spread of a transfer's transit time around the lane's days.
    """

    holding_rate_per_year: float = 0.25
    order_cost: float = 25.0
    lost_sale_penalty: float | None = None
    inbound_freight_per_unit: float = 0.0
    units_per_parcel: int = 10
    horizon_days: int = 28
    review_days: int = 1
    max_cover_days: float = 60.0
    min_service: float = 0.5
    max_service: float = 0.995
    plan_days: int = 7
    lead_prior_weight: float = 3.0
    transfer_lead_cv: float = 0.5

    def holding_per_day(self, unit_cost: float) -> float:
        return unit_cost * self.holding_rate_per_year / 365.0
