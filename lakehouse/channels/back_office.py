"""The landing contracts of the back-office channels: stock movements, the product master,
suppliers and purchase orders, shipments, returns, promotions, and stores, warehouses and
shipping rates.
"""

from __future__ import annotations

from lakehouse.channels.spec import Field as F
from lakehouse.channels.spec import landing_entity

WMS = landing_entity(
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

CATALOG = landing_entity(
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

SUPPLIERS = landing_entity(
    "suppliers", "suppliers", "csv", "supplier_id", None,
    "Supplier master.",
    [
        F("supplier_id", "str", True, "supplier id"),
        F("name", "str", True, "supplier company name"),
        F("country", "str", True, "supplier country code"),
        F("lead_time_days", "int", True, "contractual lead time", minimum=0),
    ],
)

PURCHASE_ORDERS = landing_entity(
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

SHIPMENTS = landing_entity(
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

RETURNS = landing_entity(
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

PROMOTIONS = landing_entity(
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

LOCATIONS = landing_entity(
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

SHIPPING_RATES = landing_entity(
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
