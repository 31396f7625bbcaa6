"""What the silver columns hold that the dbt sources (``dbt_project/models/staging/silver/
_silver__sources.yml``) do not document: the columns dbt does not read (raw personal data, the
systems' own product codes, app and web extras) and the identity-input tables, which only
identity resolution reads. Lineage columns are described in ``lakehouse.ingest.bronze``.

Personal data: silver keeps it raw (as typed, or normalised in the identity inputs); from the
identity map on, gold holds keyed hashes (HMAC-SHA256) of names, e-mails, phones, street lines
and machine identifiers, city, postcode, state and country in clear (``customer_profiles``),
and no date of birth or second address line.
"""

from __future__ import annotations

_GOLD_NAME = "gold keeps only a keyed hash of the name (customer_profiles.name_hash)"
_GOLD_EMAIL = "gold keeps only keyed hashes (identity_map, customer_profiles.email_hashes)"
_GOLD_PHONE = "gold keeps only keyed hashes (identity_map, customer_profiles.phone_hashes)"
_GOLD_STREET = "gold keeps only a keyed hash (customer_profiles.address_hash)"
_GOLD_CLEAR = "customer_profiles keeps the person's most common normalised value in clear"
_GOLD_NEVER = "never carried into gold"
_PRODUCT_CODE = "mapped to product_id through the product crosswalk"

CLICKSTREAM = {
    "event_time_source": "Clock event_time comes from: client (web tag time), device (app "
    "device clock) or received (app collector time, used when the device claims a time more "
    "than 1 minute after receipt or more than 12 hours before it).",
    "received_at": "When the app collector received the event (UTC); null on web events.",
    "variant_id": f"Shop variant id as sent on product and cart events; {_PRODUCT_CODE}.",
    "consent": "Web consent state as sent by the tag (granted, denied); null on app events "
    "and on web events sent before the field appeared mid-stream.",
    "push_opt_in": "App push notification opt-in as sent; null on web events and on app "
    "events sent before the field appeared mid-stream.",
    "app_version": "App version (app events); null on web events.",
    "user_agent": "Browser user agent (web events); null on app events.",
}

ORDERS = {
    "phone": "Contact phone at checkout, as typed (raw personal data); identity normalises "
    f"it to E.164, {_GOLD_PHONE}.",
    "customer_email": "E-mail of the shop account on the order (raw personal data); null for "
    f"guest checkout; {_GOLD_EMAIL}.",
    "customer_first_name": "First name on the shop account (raw personal data); null for "
    f"guest checkout; {_GOLD_NAME}.",
    "customer_last_name": "Last name on the shop account (raw personal data); null for guest "
    f"checkout; {_GOLD_NAME}.",
    "customer_phone": "Phone on the shop account, as typed (raw personal data); null for "
    f"guest checkout or when the account has none; {_GOLD_PHONE}.",
    "customer_created_at": "When the shop account was created (UTC); null for guest checkout.",
    "ship_first_name": f"Recipient first name of the shipping address (raw personal data); "
    f"{_GOLD_NAME}.",
    "ship_last_name": f"Recipient last name of the shipping address (raw personal data); "
    f"{_GOLD_NAME}.",
    "ship_address1": f"Street line of the shipping address, as typed (raw personal data); "
    f"{_GOLD_STREET}.",
    "ship_address2": "Second line of the shipping address (apartment, unit), as typed (raw "
    f"personal data); null when none; {_GOLD_NEVER}.",
    "ship_postcode": "Postcode of the shipping address, as typed, ZIP or ZIP+4 (personal "
    f"data); {_GOLD_CLEAR} (5-digit ZIP).",
    "ship_phone": "Phone on the shipping address, as typed (raw personal data); "
    f"{_GOLD_PHONE}.",
    "browser_id": "Cookie id (web) or advertising device id (app) that checked out: ties the "
    "order to that browser's clickstream (identity device_id); gold keeps only a keyed hash.",
}

LOYALTY_MEMBERS = {
    "first_name": f"First name as typed at sign-up (raw personal data); {_GOLD_NAME}.",
    "last_name": f"Last name as typed at sign-up (raw personal data); {_GOLD_NAME}.",
    "address_line2": "Second address line as typed (apartment, unit; raw personal data); "
    f"null when none; {_GOLD_NEVER}.",
    "city": f"City as typed; null when not given; {_GOLD_CLEAR}.",
    "postcode": "Postcode as typed, ZIP or ZIP+4 (personal data); null when none; "
    f"{_GOLD_CLEAR} (5-digit ZIP).",
    "state": f"State as typed; null when not given; {_GOLD_CLEAR}.",
    "country": "Country as typed, any spelling (US, USA, ...); null when none; "
    f"{_GOLD_CLEAR} (upper case).",
    "date_of_birth": "Date of birth (raw personal data); null when not given; identity "
    f"resolution compares it, {_GOLD_NEVER}.",
}

REVIEWS = {
    "variant_id": f"Shop variant id of the reviewed product as sent; {_PRODUCT_CODE}.",
    "title": "Review headline as written; null when the reviewer gave none.",
    "body": "Review text as written (free text).",
    "reviewer_email": "Reviewer's e-mail as typed (raw personal data); null when not given; "
    f"{_GOLD_EMAIL}.",
    "reviewer_name": "Reviewer's display name, \"First L.\" (raw personal data); identity "
    f"splits it into first and last name; {_GOLD_NAME}.",
}

INVENTORY_MOVEMENTS = {
    "movement_id": "WMS movement id.",
    "seq_no": "WMS sequence number of the movement, increasing per site.",
    "location_id": "Site of the movement: warehouse or store code (WMS site_code).",
    "product_id": f"Canonical product: the WMS item_code {_PRODUCT_CODE}.",
    "item_code": "WMS item code as sent.",
    "movement_type": "RECEIPT, PICK, TRANSFER_OUT, TRANSFER_IN, ADJUSTMENT, RETURN_RESTOCK or "
    "CYCLE_COUNT.",
    "qty": "Units moved (>= 0; signed for ADJUSTMENT). A CYCLE_COUNT's count is in "
    "counted_qty.",
    "counted_qty": "On hand counted (CYCLE_COUNT rows); null on every other movement.",
    "reference": "What the movement belongs to: PO number (RECEIPT), shop order id (PICK), "
    "transfer id (TRANSFER_OUT, TRANSFER_IN), return id (RETURN_RESTOCK); adjustments and "
    "counts may carry the WMS's own note.",
    "event_time": "Movement time (UTC).",
    "event_date": "UTC date of event_time (partition).",
}

SHIPPING_RATES = {
    "rate_id": "Rate id: one per from_zone, to_zone and service.",
    "from_zone": "Shipping zone the parcel leaves from (the shipping location's zone).",
    "to_zone": "Destination shipping zone.",
    "service": "Service level: standard or express.",
    "cost": "Base shipping cost of a parcel on this route and service, currency units.",
    "days": "Transit days on this route and service.",
}

_RECORD_ID = ("Source record id: shop customer id (shop_customer), order id of a guest "
              "checkout (shop_guest), member id (loyalty), cookie id (web), device id (app), "
              "till transaction id (pos), recipient address as sent (email; raw personal "
              "data), review id (reviews).")
_SOURCE = ("Identity source of the record: shop_customer, shop_guest, loyalty, web, app, pos, "
           "email or reviews.")
_LATEST = "the record's most recently observed value, normalised"

CUSTOMER_RECORDS = {
    "record_id": f"{_RECORD_ID} Gold keeps only its keyed hash (identity_map).",
    "source": _SOURCE,
    "first_name": f"First name: {_LATEST} (trimmed, title case); raw personal data; "
    f"{_GOLD_NAME}.",
    "last_name": f"Last name: {_LATEST} (trimmed, title case; a review gives an initial); "
    f"raw personal data; {_GOLD_NAME}.",
    "email": f"E-mail: {_LATEST} (lower case; gmail dots and +tags dropped); raw personal "
    f"data; {_GOLD_EMAIL}.",
    "phone": f"Phone: {_LATEST} to E.164; raw personal data; {_GOLD_PHONE}.",
    "address_line1": f"Street line: {_LATEST} to USPS Publication 28 form; raw personal "
    f"data; {_GOLD_STREET}.",
    "address_line2": f"Second address line (unit, as \"# <id>\"): {_LATEST}; raw personal "
    f"data; {_GOLD_NEVER}.",
    "city": f"City: {_LATEST} (title case); {_GOLD_CLEAR}.",
    "postcode": f"Postcode: {_LATEST} (upper case; ZIP+4 cut to ZIP); personal data; "
    f"{_GOLD_CLEAR}.",
    "state": f"State: {_LATEST} (trimmed, upper case); {_GOLD_CLEAR}.",
    "country": f"Country: {_LATEST} (trimmed, upper case); {_GOLD_CLEAR}.",
    "date_of_birth": "Date of birth given at loyalty sign-up (raw personal data); null when "
    f"unknown or not a date; {_GOLD_NEVER}.",
    "loyalty_id": "Loyalty card number (loyalty sign-ups, cards scanned at the till); raw "
    "personal data; gold keeps only a keyed hash (identity_map).",
    "payment_fingerprint": "Payment card fingerprint (shop orders) or till card token (pos); "
    "raw personal data; gold keeps only a keyed hash (identity_map).",
    "device_id": "Cookie or app device id: the record's own (web, app) or the browser that "
    "checked out (shop orders); gold keeps only a keyed hash (identity_map).",
    "login_id": "Shop customer id the record was logged in as (shop accounts, web and app "
    "events while logged in); gold keeps only a keyed hash (identity_map).",
    "first_seen": "Earliest time any identifier was observed on the record (its source event "
    "time: order, sign-up, event, transaction or review time; UTC).",
    "last_seen": "Latest time any identifier was observed on the record (UTC).",
}

IDENTIFIER_OBSERVATIONS = {
    "record_id": f"{_RECORD_ID} Gold keeps only its keyed hash (identity_map).",
    "source": _SOURCE,
    "identifier_type": "What value holds: first_name, last_name, email, phone, address_line1, "
    "address_line2, city, postcode, state, country, date_of_birth, loyalty_id, "
    "payment_fingerprint, device_id, login_id, order_id (ties a review or a purchase event to "
    "the order's shop record) or email_click (campaign and second of an e-mail click, ties a "
    "subscriber to the browser that landed from it).",
    "value": "The identifier as observed, normalised per type as in customer_records (order "
    "ids, click keys and dates as given); raw personal data for names, e-mails, phones, "
    "address lines, cards and dates of birth.",
    "observed_at": "First time this value was observed on the record (the source row's event "
    "time, UTC); the row's lineage columns are that first observation's.",
    "last_observed_at": "Last time this value was observed on the record (UTC).",
}

# table -> column -> description
COLUMNS: dict[str, dict[str, str]] = {
    "clickstream_events": CLICKSTREAM,
    "orders": ORDERS,
    "order_lines": {
        "sku": "Merchant SKU text as on the order line (free form, not a key: the product is "
        "product_id).",
        "title": "Product title at order time, as on the order line.",
    },
    "pos_transaction_lines": {
        "pos_sku": f"Till SKU as rung up; {_PRODUCT_CODE}.",
    },
    "products": {
        "web_variant_id": "Shop variant id of the product (web and app): its web code in the "
        "crosswalk.",
        "pos_sku": "Till SKU of the product: its pos code in the crosswalk.",
        "wms_item_code": "WMS item code of the product: its wms code in the crosswalk.",
    },
    "purchase_orders": {
        "events": "Deduplicated events folded into the row (created and delivered).",
    },
    "returns": {
        "variant_id": f"Shop variant id of the returned product as sent; {_PRODUCT_CODE}.",
    },
    "email_events": {
        "user_agent": "User agent of the mail client or browser (open and click events); null "
        "when the provider sent none.",
    },
    "reviews": REVIEWS,
    "loyalty_members": LOYALTY_MEMBERS,
    "inventory_movements": INVENTORY_MOVEMENTS,
    "shipping_rates": SHIPPING_RATES,
    "customer_records": CUSTOMER_RECORDS,
    "identifier_observations": IDENTIFIER_OBSERVATIONS,
}
