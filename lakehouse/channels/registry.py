"""Every source channel and its entities (the landing contract's table), and the lookups
ingestion and the simulator use: an entity by name, the entity a landing file holds.
"""

from __future__ import annotations

import fnmatch
from datetime import timedelta

from lakehouse.channels.back_office import (
    CATALOG,
    LOCATIONS,
    PROMOTIONS,
    PURCHASE_ORDERS,
    RETURNS,
    SHIPMENTS,
    SHIPPING_RATES,
    SUPPLIERS,
    WMS,
)
from lakehouse.channels.customer_facing import (
    AD_CLICKS,
    AD_SPEND,
    APP_EVENTS,
    EMAIL,
    LOYALTY,
    ORDER_ADDRESS,
    ORDER_CUSTOMER,
    ORDER_LINE_ITEM,
    ORDERS,
    POS,
    REVIEWS,
    WEB_EVENTS,
)
from lakehouse.channels.spec import Channel, Entity

# Expected delivery cadences (part of each source's contract, not of any simulator):
# - event streams that feed micro-batches (clickstream, orders, tills, stock movements, e-mail
#   webhooks) deliver within minutes; an hour without a file means a feed is down;
# - operational exports (ads clicks and spend, shipments, returns, reviews, CRM, buying) and
#   the product master arrive at least once a day;
# - reference data that is re-exported only when it changes (promotions calendar: weekly
#   planning; stores, warehouses and shipping rates: monthly at most).
HOURLY = timedelta(hours=1)
DAILY = timedelta(days=1)
WEEKLY = timedelta(days=7)
MONTHLY = timedelta(days=31)


CHANNELS: tuple[Channel, ...] = (
    Channel("web", "site tag", "Web clickstream", (WEB_EVENTS,), cadence=HOURLY),
    Channel("app", "mobile analytics SDK", "App events", (APP_EVENTS,), cadence=HOURLY),
    Channel("orders", "shop platform", "Web and app orders",
            (ORDERS, ORDER_CUSTOMER, ORDER_ADDRESS, ORDER_LINE_ITEM), cadence=HOURLY),
    Channel("pos", "store tills", "Point-of-sale transactions", (POS,), cadence=HOURLY),
    Channel("loyalty", "CRM", "Loyalty members", (LOYALTY,), cadence=DAILY),
    Channel("wms", "warehouse management", "Stock movements and cycle counts", (WMS,),
            cadence=HOURLY),
    Channel("catalog", "product information management", "Product master", (CATALOG,),
            cadence=DAILY),
    Channel("suppliers", "buying system", "Suppliers and purchase orders",
            (SUPPLIERS, PURCHASE_ORDERS), cadence=DAILY),
    Channel("email", "e-mail service", "E-mail events", (EMAIL,), cadence=HOURLY),
    Channel("ads", "ad platform", "Ad clicks and daily spend", (AD_CLICKS, AD_SPEND),
            cadence=DAILY),
    Channel("shipments", "carrier", "Shipments", (SHIPMENTS,), cadence=DAILY),
    Channel("returns", "returns desk", "Returns", (RETURNS,), cadence=DAILY),
    Channel("reviews", "review platform", "Reviews", (REVIEWS,), cadence=DAILY),
    Channel("promotions", "merchandising", "Promotions calendar", (PROMOTIONS,),
            cadence=WEEKLY),
    Channel("locations", "store operations", "Stores, warehouses, shipping rates",
            (LOCATIONS, SHIPPING_RATES), cadence=MONTHLY),
)

# Entities nested inside another record, not landed as files of their own.
NESTED = {("orders", "customer"), ("orders", "address"), ("orders", "line_item"),
          ("locations", "shipping_rates")}


def entity(channel: str, name: str) -> Entity:
    for ch in CHANNELS:
        if ch.name == channel:
            for ent in ch.entities:
                if ent.name == name:
                    return ent
    raise KeyError(f"no entity {channel}/{name} in the channel spec")


def entity_for_file(channel: str, filename: str) -> Entity:
    """Which entity a landing file holds, from its name; a clear error for a stray file."""
    for ch in CHANNELS:
        if ch.name != channel:
            continue
        for ent in ch.entities:
            if (channel, ent.name) not in NESTED and fnmatch.fnmatch(filename, ent.pattern):
                return ent
        known = ", ".join(e.pattern for e in ch.entities if (channel, e.name) not in NESTED)
        raise ValueError(f"landing/{channel}/{filename}: not a known file name (expected {known})")
    raise ValueError(f"landing/{channel}/{filename}: unknown channel {channel!r}")
