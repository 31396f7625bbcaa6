"""Multi-touch attribution: which channels earned each conversion.

Every channel claims the sale it touched; ``attribute`` splits each conversion's credit over
the touches of its journey, by rules or learned from all journeys, so the claims add up to 1.

Journeys, one row per touch (a polars DataFrame or LazyFrame):

- ``journey_id`` str, not null: the journey the touch belongs to
- ``touch_id`` str, not null, unique; it breaks ties in ``occurred_at`` so results never depend
  on input row order
- ``channel`` str, not null (paid_search, email, direct, store, ...)
- ``occurred_at`` datetime (any unit or zone), not null
- ``conversion_id`` str: the same on every touch of a converting journey (at most one
  conversion per journey, one journey per conversion), null for a non-converting one
- ``converted_at`` datetime: set exactly when ``conversion_id`` is; no touch after it
- ``conversion_value`` float, optional (1.0 when absent): >= 0 for conversions, else null
- any other column, returned per touch when named in ``keep=(...)``

``validate_journeys`` raises ``JourneyError`` naming the column, journey and touch at fault.

``attribute(journeys, model, keep=(), **params)`` returns ``conversion_id, journey_id,
touch_id, channel, *keep, model, credit, value``: one row per (model, conversion, touch),
credits >= 0 summing to 1 per conversion, ``value = credit * conversion_value``. Non-converting
journeys get no rows but train ``markov`` and ``shapley``. ``MODELS``:

- ``first_touch``, ``last_touch``, ``linear``
- ``last_non_direct``: the last touch outside ``direct_channels=("direct",)``, else the last
- ``time_decay``: weight ``2 ** (-(converted_at - occurred_at) / half_life_days)`` (7.0)
- ``position_based``: ``first=0.4`` and ``last=0.4`` to the ends, the rest to the middle;
  one touch takes 1, two share ``first : last``
- ``markov``: removal effects of an absorbing Markov chain over all journeys (``order=1``,
  ``collapse_repeats=True``), normalised over the journey's channels
- ``shapley``: Shapley values of the conversion-rate game over channel sets
  (``missing="max_subset"``, ``max_channels=12``), normalised over the journey's channels

For both data-driven models a channel's credit is split evenly over its touches in the journey.
``channel_shares(credits)`` sums credits per model and channel; ``markov_removal_effects`` and
``shapley_values`` give the models' channel-level figures.
"""

from lakehouse.marketing.attribute import MODELS, attribute, channel_shares
from lakehouse.marketing.markov import markov_removal_effects
from lakehouse.marketing.schema import JourneyError, validate_journeys
from lakehouse.marketing.shapley import shapley_values

__all__ = ["MODELS", "JourneyError", "attribute", "channel_shares", "markov_removal_effects",
           "shapley_values", "validate_journeys"]
