"""Tiny landing zones written by hand (the simulator is not a dependency of these tests), and
one small simulated retailer for the tests that need a real home."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from deltalake import DeltaTable

from lakehouse.home import Home
from lakehouse.storage import quarantine_uri, read_table


def web_event(n: int, **kw) -> dict:
    row = {"event_id": f"e{n}", "event_type": "add_to_cart", "ts": "2026-03-01T10:15:30.123+01:00",
           "cookie_id": f"c{n % 3}", "session_id": "s1", "page_url": "/p", "user_agent": "ua",
           "quantity": 1 + n % 2}
    row.update(kw)
    return row


LOCATIONS = {"locations": [{"location_code": "S1", "type": "store", "name": "Mitte",
                            "region": "east", "zone": "Z1", "timezone": "Europe/Berlin",
                            "ship_capacity_per_day": 0, "opened_on": "2020-01-01"}],
             "rates": [{"rate_id": "r1", "from_zone": "Z1", "to_zone": "Z2",
                        "service": "standard", "cost": 4.5, "days": 2}]}
POS = ("transaction_id,line_no,store_code,register_id,txn_time,pos_sku,qty,unit_price,discount,"
       "promo_id,loyalty_card,card_token,payment_type\n"
       "T1,1,S1,R1,2026-03-01 10:00:00,K1,2,9.99,,,,,cash\n"
       "T1,2,S1,R1,2026-03-01 10:00:00,K2,1,5.00,0.5,P1,L1,,card\n"
       "T2,1,S9,R1,2026-03-01 11:00:00,K1,1,9.99,,,,,cash\n")


# delivery time of hand-written landing files (their mtime: the records' knowledge time), fixed
# so that homes built from the same files hold the same tables
DELIVERED = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)


def write_landing(home: Home, files: dict[str, str | bytes],
                  delivered: datetime = DELIVERED) -> None:
    for rel, content in files.items():
        path = home.landing / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        ns = int(delivered.timestamp() * 1_000_000) * 1000
        os.utime(path, ns=(ns, ns))


def jsonl(rows: list) -> str:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n"


def standard_landing() -> dict[str, str | bytes]:
    return {
        "web/events_20260301_000.jsonl": jsonl(
            [web_event(i) for i in range(1, 6)]
            + [web_event(6, quantity="7"), "{broken", web_event(8, quantity=-1)]),
        "web/events_20260301_001.jsonl": jsonl([web_event(i) for i in range(10, 14)]),
        "pos/transactions_20260301_000.csv": POS,
        "locations/locations_20260301_000.json": json.dumps(LOCATIONS),
        "catalog/products_20260301_000.json": '{"exported_at": "x", "products": [',
    }


def ingest_outcome(home: Home) -> tuple[dict[str, list[int]], pl.DataFrame]:
    """What ingestion made of a landing zone: the bronze ``_line`` values per source file
    (every bronze table) and the quarantine table (empty when none was written)."""
    landed: dict[str, list[int]] = {}
    for path in home.bronze.iterdir() if home.bronze.exists() else []:
        for source, line in read_table(str(path)).select("_source_file", "_line").iter_rows():
            landed.setdefault(source, []).append(line)
    uri = quarantine_uri(home)
    quarantined = read_table(uri) if DeltaTable.is_deltatable(uri) else pl.DataFrame(
        schema={"_source_file": pl.String, "_line": pl.Int64})
    return landed, quarantined


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home.resolve(tmp_path / "home").ensure()


@pytest.fixture(scope="session")
def small_retailer(tmp_path_factory) -> Path:
    """A small simulated retailer (150 persons, 40 products, Jan 1 - Jan 12) built through
    every gated step, once: tests that write take a copy (``tests.gated.private_copy``)."""
    from lakehouse.simulate import SimConfig
    from tests.gated import simulated_lake

    root = tmp_path_factory.mktemp("small_retailer")
    simulated_lake(root, SimConfig(persons=150, products=40, days=12, seed=5))
    return root
