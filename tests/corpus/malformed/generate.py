"""Corpus kinds too big to commit, written on demand (deep nesting, huge fields).

Each function returns a landing zone (path under ``landing/`` -> bytes) like the committed kind
directories next to this file; ``tests/integration/test_malformed_corpus.py`` states what each
line must become.
"""

from __future__ import annotations

import json

DEPTH = 10_000  # levels: far past Python's recursion limit and polars' depth limit
HUGE = 50 << 20  # bytes in one string field: past every chunk and stream buffer of the reader


def web_event(n: int, **kw: object) -> str:
    """A valid web event line (the contract's required fields)."""
    row = {"event_id": f"e{n}", "event_type": "add_to_cart",
           "ts": "2026-03-01T10:15:30.123+01:00", "cookie_id": f"c{n % 3}", "session_id": "s1",
           "page_url": "/p", "user_agent": "ua", "quantity": 1 + n % 2}
    row.update(kw)
    return json.dumps(row)


def order(n: int, **kw: object) -> str:
    """A valid order line with one line item."""
    row = {"id": f"o{n}", "order_number": n, "created_at": "2026-03-01T10:00:00Z",
           "updated_at": "2026-03-01T10:00:00Z", "source_name": "web",
           "financial_status": "paid", "currency": "EUR", "total_price": "9.99",
           "line_items": [{"id": f"li{n}", "variant_id": "v1", "quantity": 1, "price": "9.99"}]}
    row.update(kw)
    return json.dumps(row)


def nested(depth: int, leaf: str = "1") -> str:
    """``depth`` arrays around ``leaf``."""
    return "[" * depth + leaf + "]" * depth


def deep_nesting() -> dict[str, bytes]:
    """10,000 levels under a spec field, as a whole line, in an order's line items and in a
    catalog document; 100 levels (under the limit) under an unknown key lands in ``_extra``."""
    deep = nested(DEPTH)
    rest = json.loads(web_event(2))
    del rest["event_id"]
    web = [web_event(1), '{"event_id": ' + deep + ", " + json.dumps(rest)[1:], deep,
           web_event(4)[:-1] + f', "trace": {nested(100)}}}', web_event(5)]
    orders = [order(1), order(2, line_items="X").replace('"X"', deep)]
    catalog = '{"exported_at": "x", "products": [' + deep + "]}"
    return {"web/events_20260301_000.jsonl": ("\n".join(web) + "\n").encode(),
            "orders/orders_20260301_000.jsonl": ("\n".join(orders) + "\n").encode(),
            "catalog/products_20260301_000.json": catalog.encode()}


def huge_field(size: int = HUGE) -> dict[str, bytes]:
    """A ``size``-byte string in a string field (lands) and in an integer field (quarantined,
    raw kept whole), between ordinary lines, in a JSON-lines file and CSV files (one quoted:
    the csv module's default limit is 128 KiB a field)."""
    big = "x" * size
    web = [web_event(1), web_event(2, user_agent=big), web_event(3, quantity=big), web_event(4)]
    header = "supplier_id,name,country,lead_time_days\n"
    csv = f"{header}S1,Acme,DE,3\nS2,{big},FR,4\nS3,Cog,IT,{big}\n"
    quoted = f'{header}S4,"{big},\n{big}",FR,4\nS5,Eel,PT,"{big}"\n'
    return {"web/events_20260301_000.jsonl": ("\n".join(web) + "\n").encode(),
            "suppliers/suppliers_20260301_000.csv": csv.encode(),
            "suppliers/suppliers_20260302_000.csv": quoted.encode()}


GENERATED = {"deep_nesting": deep_nesting, "huge_field": huge_field}
