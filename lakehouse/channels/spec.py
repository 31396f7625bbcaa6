"""The landing-file contract of every source channel, in one place.

The simulator writes files that follow these schemas and ingestion validates rows against them,
so the contract cannot drift between writer and reader. Each source keeps its own format and
its own field names (camelCase app events, epoch timestamps from the e-mail service, local
store times at the till) because that is the mess real channels hand us.

Landing layout: ``H/landing/<channel>/<entity>_<YYYYMMDD>[_<HHMMSS>]_<part>.<ext>``; one file
holds the records that *arrived* in that slice, which is not the slice they happened in.

Field types (as they appear in the file):
- ``str``, ``int``, ``float``, ``bool``: JSON scalars, or CSV text that parses as one;
- ``ts_iso``: ISO-8601 timestamp with an offset (``2026-03-01T10:15:30.123+01:00`` or ``Z``);
- ``ts_local``: ``YYYY-MM-DD HH:MM:SS`` in the location's own time zone (see ``locations``);
- ``epoch_ms`` / ``epoch_s``: integer milliseconds / seconds since 1970-01-01 UTC;
- ``date``: ``YYYY-MM-DD``;
- ``object`` / ``array``: nested JSON (orders only), described by the nested entity named.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from datetime import timedelta

_ENUM = re.compile(r"^[A-Za-z_]+(?: \| [A-Za-z_]+)+$")

# Source fields that identify a person. They stay in bronze and silver only: quality reports
# never echo their values, and everything from the identity map on carries keyed hashes.
PII_FIELDS = frozenset({
    "email", "phone", "first_name", "last_name", "address1", "address2", "address_line1",
    "address_line2", "zip", "postcode", "date_of_birth", "card_token", "payment_fingerprint",
    "reviewer_email", "reviewer_name", "customer", "shipping_address", "loyalty_card",
    "card_number",
})


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    required: bool
    description: str
    nested: str | None = None  # name of the nested entity for object/array fields
    minimum: float | None = None  # inclusive bounds for numbers: validation and suites share them
    maximum: float | None = None

    @property
    def allowed(self) -> tuple[str, ...] | None:
        """The closed set of values, when the description documents one (``a | b | c``)."""
        head = self.description.split(";")[0].split(" (")[0].strip()
        return tuple(head.split(" | ")) if _ENUM.match(head) else None

    @property
    def pii(self) -> bool:
        return self.name in PII_FIELDS


@dataclass(frozen=True)
class Entity:
    channel: str
    name: str
    format: str  # "jsonl" | "csv" | "json"
    pattern: str  # file-name glob inside landing/<channel>/
    key: str  # the source's own record / event id
    event_time: str | None  # field holding the event time, None for reference data
    description: str
    fields: tuple[Field, ...]
    added_fields: tuple[Field, ...] = ()  # optional fields that appear mid-stream (schema drift)

    @property
    def all_fields(self) -> tuple[Field, ...]:
        return self.fields + self.added_fields

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


@dataclass(frozen=True)
class Channel:
    name: str
    system: str
    description: str
    entities: tuple[Entity, ...] = field(default=())
    # How often the source is expected to deliver at least one file: the landing freshness
    # check warns when the newest file of the channel is older than this. None: no expectation.
    cadence: timedelta | None = None


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


F = Field


def _e(channel, name, fmt, key, event_time, description, fields, added=()):
    ext = {"jsonl": "jsonl", "csv": "csv", "json": "json"}[fmt]
    return Entity(
        channel=channel,
        name=name,
        format=fmt,
        pattern=f"{name}_*.{ext}",
        key=key,
        event_time=event_time,
        description=description,
        fields=tuple(fields),
        added_fields=tuple(added),
    )


WEB_EVENTS = _e(
    "web", "events", "jsonl", "event_id", "ts",
    "Browser clickstream from the site's tag (one JSON object per line).",
    [
        F("event_id", "str", True, "unique event id (UUID); re-delivered events repeat it"),
        F("event_type", "str", True,
          "page_view | product_view | search | add_to_cart | remove_from_cart | checkout | "
          "purchase | login"),
        F("ts", "ts_iso", True, "client time of the event, ISO-8601 with offset"),
        F("cookie_id", "str", True, "first-party cookie; resets when the visitor clears cookies"),
        F("session_id", "str", True, "session id from the tag"),
        F("user_id", "str", False, "shop login id when the visitor is logged in"),
        F("page_url", "str", True, "page path"),
        F("variant_id", "str", False, "shop variant id of the product shown or carted"),
        F("quantity", "int", False, "units added or removed (cart events), >= 1", minimum=1),
        F("search_query", "str", False, "search text (search events)"),
        F("order_id", "str", False, "shop order id (purchase events)"),
        F("referrer", "str", False, "referring URL"),
        F("utm_source", "str", False, "campaign source tag"),
        F("utm_medium", "str", False, "campaign medium tag (cpc, email, ...)"),
        F("utm_campaign", "str", False, "campaign id tag"),
        F("gclid", "str", False, "ad click id when the visit came from an ad"),
        F("user_agent", "str", True, "browser user agent"),
    ],
    added=[F("consent", "str", False, "consent state (granted | denied); appears mid-stream")],
)

APP_EVENTS = _e(
    "app", "events", "jsonl", "eventId", "eventTimestamp",
    "Mobile app analytics events (camelCase, epoch milliseconds, device clock).",
    [
        F("eventId", "str", True, "unique event id"),
        F("eventName", "str", True,
          "screen_view | product_view | search | add_to_cart | remove_from_cart | checkout | "
          "purchase | login"),
        F("eventTimestamp", "epoch_ms", True, "device clock time (may be skewed)"),
        F("receivedTimestamp", "epoch_ms", True, "collector time the event was received"),
        F("deviceId", "str", True, "advertising device id (IDFA / GAID)"),
        F("sessionId", "str", True, "app session id"),
        F("userId", "str", False, "shop login id when signed in"),
        F("platform", "str", True, "ios | android"),
        F("appVersion", "str", True, "app version"),
        F("screenName", "str", True, "screen"),
        F("variantId", "str", False, "shop variant id"),
        F("quantity", "int", False, "units (cart events), >= 1", minimum=1),
        F("searchTerm", "str", False, "search text"),
        F("orderId", "str", False, "shop order id (purchase events)"),
        F("campaignId", "str", False, "attributed campaign (deep link / push)"),
    ],
    added=[F("pushOptIn", "bool", False, "push notification opt-in; appears mid-stream")],
)

ORDER_LINE_ITEM = _e(
    "orders", "line_item", "json", "id", None,
    "One line of a shop order (nested in orders.line_items).",
    [
        F("id", "str", True, "line item id"),
        F("variant_id", "str", True, "shop variant id"),
        F("sku", "str", False, "merchant SKU text (free form, not a key)"),
        F("title", "str", False, "product title at order time"),
        F("quantity", "int", True, "units ordered, >= 1", minimum=1),
        F("price", "str", True, "unit price as a decimal string"),
        F("total_discount", "str", False, "discount on the line, decimal string"),
    ],
)
ORDER_ADDRESS = _e(
    "orders", "address", "json", "zip", None,
    "Shipping address (nested in orders).",
    [
        F("first_name", "str", False, "recipient first name (PII)"),
        F("last_name", "str", False, "recipient last name (PII)"),
        F("address1", "str", False, "street address line (PII)"),
        F("address2", "str", False, "second address line: apartment, unit (PII)"),
        F("city", "str", False, "city"),
        F("zip", "str", False, "postcode"),
        F("province_code", "str", False, "state / region code"),
        F("country_code", "str", False, "ISO country code"),
        F("phone", "str", False, "as typed by the customer"),
    ],
)
ORDER_CUSTOMER = _e(
    "orders", "customer", "json", "id", None,
    "Customer account on the order (nested; absent for guest checkout).",
    [
        F("id", "str", True, "shop customer id; the login id used on web and app"),
        F("email", "str", False, "account e-mail"),
        F("first_name", "str", False, "account first name (PII)"),
        F("last_name", "str", False, "account last name (PII)"),
        F("phone", "str", False, "account phone, as typed (PII)"),
        F("created_at", "ts_iso", False, "account creation"),
    ],
)
ORDERS = _e(
    "orders", "orders", "jsonl", "id", "created_at",
    "Shop platform order export (web and app orders), one order object per line; an order "
    "re-appears with a later updated_at when it is cancelled.",
    [
        F("id", "str", True, "order id"),
        F("order_number", "int", True, "human order number", minimum=1),
        F("created_at", "ts_iso", True, "order time"),
        F("updated_at", "ts_iso", True, "last change"),
        F("cancelled_at", "ts_iso", False, "set when cancelled"),
        F("source_name", "str", True, "web | app"),
        F("financial_status", "str", True, "paid | refunded | voided"),
        F("email", "str", False, "contact e-mail at checkout (guest or account)"),
        F("phone", "str", False, "contact phone at checkout"),
        F("customer", "object", False, "account, absent for guests", nested="customer"),
        F("shipping_address", "object", False, "ship-to", nested="address"),
        F("line_items", "array", True, "order lines", nested="line_item"),
        F("currency", "str", True, "ISO currency"),
        F("total_price", "str", True, "order total, decimal string"),
        F("payment_fingerprint", "str", False, "card fingerprint from the payment provider"),
        F("browser_id", "str", False, "cookie id (web) or device id (app) that checked out"),
        F("landing_site", "str", False, "landing URL with utm tags"),
        F("discount_codes", "array", False, "promo codes applied (strings)"),
    ],
)

POS = _e(
    "pos", "transactions", "csv", "transaction_id", "txn_time",
    "Point-of-sale export, one row per transaction line, in the store's local time.",
    [
        F("transaction_id", "str", True, "till transaction id (store-register-number)"),
        F("line_no", "int", True, "line within the transaction"),
        F("store_code", "str", True, "store"),
        F("register_id", "str", True, "till"),
        F("txn_time", "ts_local", True, "store local time"),
        F("pos_sku", "str", True, "till SKU (POS product code)"),
        F("qty", "int", True, "units sold, >= 1", minimum=1),
        F("unit_price", "float", True, "price charged per unit", minimum=0),
        F("discount", "float", False, "discount on the line"),
        F("promo_id", "str", False, "promotion applied"),
        F("loyalty_card", "str", False, "loyalty card number scanned"),
        F("card_token", "str", False, "payment card token (fingerprint)"),
        F("payment_type", "str", True, "card | cash | mobile"),
    ],
)

LOYALTY = _e(
    "loyalty", "members", "csv", "member_id", "signed_up_at",
    "Loyalty / CRM member sign-ups (in store or on the site), with hand-typed details.",
    [
        F("member_id", "str", True, "member id"),
        F("card_number", "str", True, "loyalty card number"),
        F("first_name", "str", False, "first name as typed (PII)"),
        F("last_name", "str", False, "last name as typed (PII)"),
        F("email", "str", False, "as typed"),
        F("phone", "str", False, "as typed, any format"),
        F("address_line1", "str", False, "street address as typed (PII)"),
        F("address_line2", "str", False, "second address line as typed: apartment, unit (PII)"),
        F("city", "str", False, "city as typed"),
        F("postcode", "str", False, "postcode as typed, ZIP or ZIP+4 (PII)"),
        F("state", "str", False, "state or region as typed"),
        F("country", "str", False, "country as typed, any spelling (US, USA, ...)"),
        F("date_of_birth", "date", False, "date of birth (PII)"),
        F("signup_store", "str", False, "store code, empty for online sign-up"),
        F("signed_up_at", "ts_iso", True, "sign-up time"),
    ],
)

WMS = _e(
    "wms", "movements", "csv", "movement_id", "event_time",
    "Warehouse management system stock movements with the WMS's own item codes and a per-site "
    "sequence number. CYCLE_COUNT rows carry the counted on-hand in counted_qty.",
    [
        F("movement_id", "str", True, "movement id"),
        F("seq_no", "int", True, "WMS sequence number per site"),
        F("site_code", "str", True, "warehouse or store location code"),
        F("item_code", "str", True, "WMS item code"),
        F("movement_type", "str", True,
          "RECEIPT | PICK | TRANSFER_OUT | TRANSFER_IN | ADJUSTMENT | RETURN_RESTOCK | "
          "CYCLE_COUNT"),
        F("qty", "int", True, "units moved (>= 0; ADJUSTMENT may be negative)"),
        F("counted_qty", "int", False, "on-hand counted (CYCLE_COUNT only)", minimum=0),
        F("reference", "str", False, "PO number, order id, transfer id or return id"),
        F("event_time", "ts_iso", True, "movement time"),
    ],
)

CATALOG = _e(
    "catalog", "products", "json", "product_id", None,
    "Product master export: {\"exported_at\": ..., \"products\": [...]} with every system's code.",
    [
        F("product_id", "str", True, "canonical product id"),
        F("title", "str", True, "product title"),
        F("brand", "str", True, "brand name"),
        F("category", "str", True, "product category (top level of the assortment)"),
        F("subcategory", "str", True, "subcategory within the category"),
        F("price", "float", True, "list price", minimum=0),
        F("cost", "float", True, "unit cost", minimum=0),
        F("supplier_id", "str", True, "supplier of the product (suppliers master)"),
        F("web_variant_id", "str", True, "shop variant id (web and app)"),
        F("pos_sku", "str", True, "till SKU"),
        F("wms_item_code", "str", True, "WMS item code"),
        F("launched_on", "date", True, "date the product goes on sale (can be after the export)"),
        F("status", "str", True, "active | discontinued"),
    ],
)

SUPPLIERS = _e(
    "suppliers", "suppliers", "csv", "supplier_id", None,
    "Supplier master.",
    [
        F("supplier_id", "str", True, "supplier id"),
        F("name", "str", True, "supplier company name"),
        F("country", "str", True, "supplier country code"),
        F("lead_time_days", "int", True, "contractual lead time", minimum=0),
    ],
)

PURCHASE_ORDERS = _e(
    "suppliers", "purchase_orders", "jsonl", "event_id", "event_time",
    "Purchase-order events from the buying system: 'created' with the promised date, "
    "'delivered' with the actual delivery.",
    [
        F("event_id", "str", True, "unique event id"),
        F("po_number", "str", True,
          "purchase order number; its created and delivered events share it"),
        F("event", "str", True, "created | delivered"),
        F("supplier_id", "str", True, "supplier the order is placed with"),
        F("wms_item_code", "str", True, "ordered item (WMS code)"),
        F("site_code", "str", True, "destination warehouse"),
        F("qty", "int", True, "ordered (created) or delivered (delivered) units, >= 1", minimum=1),
        F("promised_date", "date", True, "promised delivery date"),
        F("event_time", "ts_iso", True,
          "time of the event: order placed (created) or goods received (delivered)"),
    ],
)

EMAIL = _e(
    "email", "events", "jsonl", "sg_event_id", "timestamp",
    "E-mail service webhook events (epoch seconds).",
    [
        F("sg_event_id", "str", True, "event id"),
        F("event", "str", True, "processed | delivered | open | click | unsubscribe"),
        F("email", "str", True, "recipient as on the list"),
        F("timestamp", "epoch_s", True, "event time, epoch seconds (UTC)"),
        F("campaign_id", "str", True, "e-mail campaign (also the utm_campaign of its links)"),
        F("url", "str", False, "clicked URL (click events) with utm tags"),
        F("useragent", "str", False,
          "user agent of the mail client or browser (open and click events)"),
    ],
)

AD_CLICKS = _e(
    "ads", "clicks", "jsonl", "click_id", "click_time",
    "Ad platform click log.",
    [
        F("click_id", "str", True, "gclid-style click id; appears on the landing web event"),
        F("campaign_id", "str", True, "ad campaign clicked (the campaign_id of ads spend)"),
        F("ad_group", "str", True, "ad group within the campaign"),
        F("network", "str", True, "search | social | display"),
        F("click_time", "ts_iso", True, "click time, ISO-8601 with offset"),
        F("landing_page", "str", True, "landing URL, carrying the click id as gclid"),
        F("device_type", "str", True, "desktop | mobile | tablet"),
        F("cost", "float", True, "cost of the click", minimum=0),
    ],
)

AD_SPEND = _e(
    "ads", "spend", "csv", "spend_id", "date",
    "Daily spend by campaign.",
    [
        F("spend_id", "str", True, "campaign-date key"),
        F("date", "date", True, "day the spend covers"),
        F("campaign_id", "str", True, "ad campaign"),
        F("network", "str", True, "ad network of the campaign (search, social, display)"),
        F("impressions", "int", True, "ad impressions on the day", minimum=0),
        F("clicks", "int", True, "clicks on the day as the network counts them", minimum=0),
        F("spend", "float", True, "currency units", minimum=0),
    ],
)

SHIPMENTS = _e(
    "shipments", "shipments", "csv", "shipment_id", "shipped_at",
    "Carrier / fulfilment shipments of shop orders.",
    [
        F("shipment_id", "str", True, "parcel id; reported again with delivered_at on delivery"),
        F("order_id", "str", True, "shop order id"),
        F("from_site", "str", True, "shipping location code"),
        F("carrier", "str", True, "carrier name"),
        F("service", "str", True, "standard | express"),
        F("zone", "str", True, "destination shipping zone"),
        F("shipped_at", "ts_iso", True, "time the parcel left from_site"),
        F("promised_delivery", "date", True, "delivery date promised at shipping"),
        F("delivered_at", "ts_iso", False, "empty until delivered"),
        F("cost", "float", True, "shipping cost", minimum=0),
        F("units", "int", True, "units in the parcel", minimum=1),
    ],
)

RETURNS = _e(
    "returns", "returns", "csv", "return_id", "received_at",
    "Returns received (online orders and store sales).",
    [
        F("return_id", "str", True, "return (RMA) id"),
        F("order_id", "str", True, "shop order id or POS transaction id"),
        F("channel", "str", True, "web | app | store"),
        F("variant_id", "str", True, "shop variant id of the returned product"),
        F("qty", "int", True, ">= 1", minimum=1),
        F("reason", "str", True,
          "damaged | defective | wrong_size | not_as_described | changed_mind"),
        F("disposition", "str", True, "restock | write_off"),
        F("site_code", "str", True, "location that received it"),
        F("received_at", "ts_iso", True, "time the return was received at site_code"),
        F("refund_amount", "float", True, "amount refunded, currency units", minimum=0),
    ],
)

REVIEWS = _e(
    "reviews", "reviews", "jsonl", "review_id", "submitted_at",
    "Product reviews from the review platform.",
    [
        F("review_id", "str", True, "review id"),
        F("variant_id", "str", True, "shop variant id"),
        F("rating", "int", True, "1..5", minimum=1, maximum=5),
        F("title", "str", False, "review headline"),
        F("body", "str", False, "free text"),
        F("reviewer_email", "str", False, "reviewer e-mail as typed (PII)"),
        F("reviewer_name", "str", False, "display name"),
        F("order_id", "str", False, "verified purchase"),
        F("submitted_at", "ts_iso", True, "submission time"),
    ],
)

PROMOTIONS = _e(
    "promotions", "promotions", "csv", "promo_id", None,
    "Promotions calendar.",
    [
        F("promo_id", "str", True, "promotion id (the promo_id on till lines)"),
        F("name", "str", True, "promotion name"),
        F("category", "str", False, "category on promotion, empty = all"),
        F("discount_pct", "float", True, "0..100", minimum=0, maximum=100),
        F("start_date", "date", True, "first day (inclusive)"),
        F("end_date", "date", True, "inclusive"),
        F("channels", "str", True, "semicolon list: web;app;store"),
        F("code", "str", False, "discount code online"),
    ],
)

LOCATIONS = _e(
    "locations", "locations", "json", "location_code", None,
    "Stores and warehouses: {\"locations\": [...], \"zones\": [...]}.",
    [
        F("location_code", "str", True, "location id: store or warehouse code"),
        F("type", "str", True, "store | warehouse"),
        F("name", "str", True, "location name"),
        F("region", "str", True, "state or region the location is in"),
        F("zone", "str", True, "shipping zone the location sits in"),
        F("timezone", "str", True, "IANA time zone"),
        F("ship_capacity_per_day", "int", True, "parcels per day (0: does not ship)", minimum=0),
        F("opened_on", "date", True, "date the location opened"),
    ],
)

SHIPPING_RATES = _e(
    "locations", "shipping_rates", "json", "rate_id", None,
    "Shipping cost and days from a location's zone to each destination zone (in locations file "
    "under \"rates\").",
    [
        F("rate_id", "str", True, "rate id, one per (from_zone, to_zone, service)"),
        F("from_zone", "str", True, "shipping zone the parcel leaves from"),
        F("to_zone", "str", True, "destination shipping zone"),
        F("service", "str", True, "standard | express"),
        F("cost", "float", True, "base shipping cost of a parcel, currency units", minimum=0),
        F("days", "int", True, "transit days", minimum=0),
    ],
)


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
