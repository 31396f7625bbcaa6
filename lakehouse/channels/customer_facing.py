"""The landing contracts of the channels that carry shoppers: web and app events, shop orders,
till sales, loyalty sign-ups, e-mail events, ad clicks and spend, reviews (the identity
resolution reads their identifiers; ``PII_FIELDS`` names the personal ones).
"""

from __future__ import annotations

from lakehouse.channels.spec import Field as F
from lakehouse.channels.spec import landing_entity

WEB_EVENTS = landing_entity(
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

APP_EVENTS = landing_entity(
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

ORDER_LINE_ITEM = landing_entity(
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

ORDER_ADDRESS = landing_entity(
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

ORDER_CUSTOMER = landing_entity(
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

ORDERS = landing_entity(
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

POS = landing_entity(
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

LOYALTY = landing_entity(
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

EMAIL = landing_entity(
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

AD_CLICKS = landing_entity(
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

AD_SPEND = landing_entity(
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

REVIEWS = landing_entity(
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
