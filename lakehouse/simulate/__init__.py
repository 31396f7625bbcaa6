"""Deterministic retail simulator: writes every channel of ``lakehouse.channels`` into
``H/landing/<channel>/`` and the ground truth into ``H/truth/``.

Public API::

    simulate(home, config, progress=None) -> SimSummary
    live(home, config, interval_seconds, max_batches=None, progress=None) -> None
    crm_records(config, sources=("crm", "loyalty", "store_signup")) -> (records, truth)

``crm_records`` is the identifier-free mode (``lakehouse/simulate/crm.py``): the same
population as customer exports with names, addresses and dates of birth only (no e-mail, phone,
login, loyalty, card or device), typed with FEBRL-style errors, in memory (no files); truth is
``source, record_id, person_id, household_id``. It measures what name + address + dob alone
resolve.

Knobs (``SimConfig``; every fault knob can be 0 to switch it off):

- size: ``persons=2000, products=200, stores=4, warehouses=2, days=60,
  start=2026-01-01, seed=42``
- identity: ``duplicate_share=0.40`` (share of customer records, i.e. shop accounts and loyalty
  memberships, whose person already had another record), ``household_share=0.30``,
  ``shared_device_share=0.30`` (multi-person households sharing a tablet, browser and card),
  ``typo_rate=0.05``, ``guest_share=0.25``, ``cookie_reset_rate=0.02`` (per web visit)
- delivery: ``late_rate=0.03`` (arrive 1..``max_late_days=3`` days late),
  ``duplicate_rate=0.01`` (same record re-sent 1-2 days later), ``malformed_rate=0.005`` (an
  extra corrupted copy next to the intact record; kinds: broken_json, missing_required,
  wrong_type, negative_quantity, unknown_product, bad_timestamp, future_timestamp,
  encoding_error), ``clock_skew_share=0.05`` (app devices), ``schema_change_day=30`` (web
  ``consent`` / app ``pushOptIn`` appear from that day index; None = never)
- world: ``shrinkage_rate=0.002``, ``cycle_count_share=0.05``, ``cancel_rate=0.03``,
  ``sessions_per_person_day=0.12``, ``promo_lift_per_pct=0.03``, ``ad_effect=1.5``,
  ``ad_decay_days=3``, ``email_effect=0.8``, ``email_decay_days=5``

Landing files are named by ARRIVAL slice: ``<entity>_<YYYYMMDD>_000.<ext>`` (``simulate``, one
slice per day) or ``<entity>_<YYYYMMDD>_<HHMMSS>_000.<ext>`` (``live``, one slice per tick);
records inside carry their event time. Reference documents (catalog, locations, suppliers,
promotions) are written once at the start and never faulted. Records still in flight when a
batch run ends (late or re-sent past the last day) are not written.

Truth record ids in ``identity.parquet`` (``source, record_id, person_id, shared``), chosen so
ingestion can derive them from the files:

- ``shop_customer``: ``customer.id`` of an order; ``shop_guest``: order ``id`` of a guest checkout
- ``loyalty``: ``member_id``; ``reviews``: ``review_id``; ``email``: recipient address as sent
- ``web``: ``cookie_id``; ``app``: ``deviceId`` (a household-shared cookie / device maps to the
  member it is registered to, with ``shared`` true)
- ``pos``: ``transaction_id`` of a transaction with a loyalty card or a card token (``shared``
  when paid with a household card and no loyalty card)

Other truth tables: ``persons``, ``products`` (quality, popularity, return probability,
supplier reliability), ``stock_daily`` (on hand / reserved per catalog ``product_id`` and
``location_code`` at the close of business day ``date``: after the last store closes, before the
next day's first WMS movement at 07:00 UTC), ``demand_daily`` (demanded / sold / lost:
stock-outs censor sales), ``orders`` (web, app and store purchases), ``touchpoints`` (touches in
the 14 days before each purchase), ``conversion_drivers`` (one row per ``orders`` row: what
the purchase decision was made of: ``order_id, person_id, order_channel`` (web | app | store),
``session_source`` (organic | direct | ads | email | store; app sessions are direct),
``session_campaign_id``, ``ad_campaign_id`` and ``ad_network`` (search | social | display) of the
person's latest ad touch that the lift used ("" = none), ``p_buy`` (purchase probability used,
capped at 0.95), ``p_without_ads`` / ``p_without_email`` (the same with that channel's lift
removed, capped the same way); an ads or email session exists only because of its click),
``channel_effects`` (true lift ``effect`` and ``decay_days`` per channel),
``promo_lift``, ``faults`` (``channel, entity, file, line, kind, field,
record_key``; line is the 1-based physical line, CSV header = 1), ``deliveries`` (late and
duplicate lines, with file and line) and ``records`` (rows, faults, late, duplicates per file).

Updates by design (not duplicates): a cancelled order re-appears with a later ``updated_at``;
a shipment is reported at pick-up (``delivered_at`` empty) and again when delivered.
"""

from __future__ import annotations

from lakehouse.simulate.config import SimConfig, SimSummary
from lakehouse.simulate.crm import crm_records
from lakehouse.simulate.live import live
from lakehouse.simulate.run import simulate

__all__ = ["SimConfig", "SimSummary", "crm_records", "live", "simulate"]
