"""Malformed-row kinds and how to make each one out of a real record.

A malformed row is always an *extra* corrupted copy of a real record (the real record is also
delivered intact), so the truth stays recoverable; ``faults.parquet`` says where each one is.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

FAULT_KINDS = ("broken_json", "missing_required", "wrong_type", "negative_quantity",
               "unknown_product", "bad_timestamp", "future_timestamp", "encoding_error")

ENCODING_MARK = "\u2063ENCERR\u2063"
ENCODING_BYTES = b"Caf\xe9 \xff\xfe"  # Latin-1 e-acute and stray bytes: invalid UTF-8
FUTURE_SECONDS = 400 * 86400  # a future_timestamp is arrival time + 400 days


@dataclass(frozen=True)
class FaultSpec:
    """Which field each fault kind touches in one entity (dotted path into nested JSON)."""

    required: str  # a required str field: dropped (missing_required) / garbled (encoding_error)
    time: str  # the event-time field
    time_type: str  # ts_iso | ts_local | epoch_ms | epoch_s | date
    numeric: str | None = None  # a numeric field that gets text (wrong_type)
    product: str | None = None  # product code field (unknown_product)
    quantity: str | None = None  # quantity field (negative_quantity)
    text: str | None = None  # str field that gets invalid bytes (default: required)


FAULT_SPECS: dict[tuple[str, str], FaultSpec] = {
    ("web", "events"): FaultSpec("cookie_id", "ts", "ts_iso", "quantity", "variant_id",
                                 "quantity", "page_url"),
    ("app", "events"): FaultSpec("deviceId", "eventTimestamp", "epoch_ms", "eventTimestamp",
                                 "variantId", "quantity", "screenName"),
    ("orders", "orders"): FaultSpec("line_items", "created_at", "ts_iso", "order_number",
                                    "line_items.0.variant_id", "line_items.0.quantity",
                                    "line_items.0.title"),
    ("pos", "transactions"): FaultSpec("store_code", "txn_time", "ts_local", "qty", "pos_sku",
                                       "qty", "register_id"),
    ("loyalty", "members"): FaultSpec("card_number", "signed_up_at", "ts_iso", None, None,
                                      None, "last_name"),
    ("wms", "movements"): FaultSpec("site_code", "event_time", "ts_iso", "seq_no", "item_code",
                                    "qty", "reference"),
    ("suppliers", "purchase_orders"): FaultSpec("po_number", "event_time", "ts_iso", "qty",
                                                "wms_item_code", "qty", "supplier_id"),
    ("email", "events"): FaultSpec("email", "timestamp", "epoch_s", "timestamp", None, None,
                                   "campaign_id"),
    ("ads", "clicks"): FaultSpec("campaign_id", "click_time", "ts_iso", "cost", None, None,
                                 "ad_group"),
    ("ads", "spend"): FaultSpec("campaign_id", "date", "date", "clicks", None, None, "network"),
    ("shipments", "shipments"): FaultSpec("order_id", "shipped_at", "ts_iso", "units", None,
                                          "units", "carrier"),
    ("returns", "returns"): FaultSpec("order_id", "received_at", "ts_iso", "qty", "variant_id",
                                      "qty", "reason"),
    ("reviews", "reviews"): FaultSpec("variant_id", "submitted_at", "ts_iso", "rating",
                                      "variant_id", None, "body"),
}


def applicable(spec: FaultSpec, fmt: str, has: dict[str, bool]) -> list[str]:
    """Fault kinds that make sense for this record (e.g. no negative_quantity without a qty)."""
    kinds = ["broken_json"] if fmt == "jsonl" else []
    kinds.append("missing_required")
    if spec.numeric:
        kinds.append("wrong_type")
    if spec.quantity and has.get("quantity", True):
        kinds.append("negative_quantity")
    if spec.product and has.get("product", True):
        kinds.append("unknown_product")
    kinds += ["bad_timestamp", "future_timestamp", "encoding_error"]
    return kinds


def field_for(spec: FaultSpec, kind: str) -> str:
    return {
        "broken_json": "",
        "missing_required": spec.required,
        "wrong_type": spec.numeric or "",
        "negative_quantity": spec.quantity or "",
        "unknown_product": spec.product or "",
        "bad_timestamp": spec.time,
        "future_timestamp": spec.time,
        "encoding_error": spec.text or spec.required,
    }[kind]


def bad_time_value(time_type: str) -> object:
    """An unparseable (or impossible) value for the time field."""
    return {"ts_iso": "2026-02-30T25:61:00Z", "ts_local": "30/02/2026 25:61",
            "date": "2026-02-30", "epoch_ms": -1, "epoch_s": -1}[time_type]


def _get_parent(obj: dict, path: str) -> tuple[object, str | int]:
    parts = path.split(".")
    cur: object = obj
    for p in parts[:-1]:
        cur = cur[int(p)] if isinstance(cur, list) else cur[p]  # type: ignore[index]
    last = parts[-1]
    return cur, (int(last) if isinstance(cur, list) else last)


def corrupt_json(obj: dict, kind: str, spec: FaultSpec, future_value: object) -> dict:
    """A corrupted deep copy of ``obj`` (broken_json and encoding_error finish at bytes level)."""
    bad = copy.deepcopy(obj)
    if kind == "broken_json":
        return bad
    path = field_for(spec, kind)
    parent, key = _get_parent(bad, path)
    if kind == "missing_required":
        del parent[key]  # type: ignore[attr-defined]
    elif kind == "wrong_type":
        parent[key] = "n/a"  # type: ignore[index]
    elif kind == "negative_quantity":
        parent[key] = -abs(int(parent.get(key) or 1))  # type: ignore[union-attr,index]
    elif kind == "unknown_product":
        parent[key] = "UNKNOWN-404"  # type: ignore[index]
    elif kind == "bad_timestamp":
        parent[key] = bad_time_value(spec.time_type)  # type: ignore[index]
    elif kind == "future_timestamp":
        parent[key] = future_value  # type: ignore[index]
    elif kind == "encoding_error":
        parent[key] = ENCODING_MARK  # type: ignore[index]
    return bad


def corrupt_row(row: list[str], columns: tuple[str, ...], kind: str, spec: FaultSpec,
                future_value: str) -> list[str]:
    """A corrupted copy of a CSV row (values already text)."""
    bad = list(row)
    col = columns.index(field_for(spec, kind))
    if kind == "missing_required":
        bad[col] = ""
    elif kind == "wrong_type":
        bad[col] = "n/a"
    elif kind == "negative_quantity":
        bad[col] = str(-abs(int(bad[col] or 1)))
    elif kind == "unknown_product":
        bad[col] = "UNKNOWN-404"
    elif kind == "bad_timestamp":
        bad[col] = str(bad_time_value(spec.time_type))
    elif kind == "future_timestamp":
        bad[col] = future_value
    elif kind == "encoding_error":
        bad[col] = ENCODING_MARK
    return bad
