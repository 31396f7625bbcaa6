"""Every column of every bronze, silver, gold and quarantine Delta table has a description
(what the Dagster UI shows in each asset's column schema): on a small simulated home built
through every gated step, with the feature marts published and one person erased (the
suppression list), and for the columns the code declares that a small home may not hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.identity.stability import HISTORY_SCHEMA
from lakehouse.identity.store import erase
from lakehouse.ingest.bronze import LINEAGE
from lakehouse.ingest.quarantine import SCHEMA as QUARANTINE_SCHEMA
from lakehouse.inventory.ledger_rows import LEDGER_SCHEMA
from lakehouse.ml import publish_feature_marts
from lakehouse.silver import clickstream, commerce, identity_inputs, marketing, operations
from lakehouse.silver import reference as silver_reference
from lakehouse.silver.delta_io import RELEASED
from lakehouse.simulate import SimConfig
from lakehouse.storage.delta import read_table
from orchestration.column_docs import column_docs
from tests.gated import simulated_lake

LAYERS = ("bronze", "silver", "gold", "quarantine")


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("docsim")
    # schema drift on day 2 (web consent, app pushOptIn), and enough malformed copies that
    # the quarantine holds rows
    home = simulated_lake(root, SimConfig(persons=120, products=30, days=5, seed=11,
                                          schema_change_day=2, malformed_rate=0.05))
    publish_feature_marts(home)
    person = read_table(str(home.lake / "gold" / "identity_map"))["person_id"].min()
    erase(home, [person])
    return home.lake


def _tables(lake: Path) -> list[Path]:
    return sorted(p for layer in LAYERS for p in (lake / layer).iterdir()
                  if (p / "_delta_log").is_dir())


def test_every_lake_column_is_described(lake):
    from deltalake import DeltaTable

    tables = _tables(lake)
    names = {f"{p.parent.name}/{p.name}" for p in tables}
    # the home holds every kind of table the check is about
    assert {"quarantine/rows", "gold/ml_customer_features", "gold/ml_product_features",
            "gold/identity_erasures", "gold/person_id_history",
            "silver/inventory_ledger", "silver/customer_records"} <= names
    web = DeltaTable(str(lake / "bronze" / "web__events"))
    assert "consent" in {f.name for f in web.schema().fields}
    missing = {}
    for path in tables:
        docs = column_docs(str(path))
        undocumented = [f.name for f in DeltaTable(str(path)).schema().fields
                        if not (docs.get(f.name) or "").strip()]
        if undocumented:
            missing[f"{path.parent.name}/{path.name}"] = undocumented
    assert not missing, f"columns without a description: {missing}"


# silver table -> the columns its code writes (whether or not a small home holds them)
SILVER_COLUMNS = {
    "clickstream_events": clickstream.COLUMNS,
    "orders": commerce.ORDER_COLUMNS,
    "order_lines": commerce.LINE_COLUMNS,
    "pos_transaction_lines": commerce.POS_COLUMNS,
    "shipments": commerce.SHIPMENT_COLUMNS,
    "returns": commerce.RETURN_COLUMNS,
    "reviews": commerce.REVIEW_COLUMNS,
    "email_events": marketing.EMAIL_COLUMNS,
    "ad_clicks": marketing.CLICK_COLUMNS,
    "ad_spend": marketing.SPEND_COLUMNS,
    "inventory_movements": operations.MOVEMENT_COLUMNS,
    "purchase_order_events": operations.PO_EVENT_COLUMNS,
    "products": silver_reference.PRODUCT_COLUMNS,
    "loyalty_members": silver_reference.LOYALTY_COLUMNS,
}


DECLARED = {
    **{f"silver/{t}": (*cols, RELEASED) for t, cols in SILVER_COLUMNS.items()},
    "silver/customer_records": identity_inputs.RECORD_COLUMNS,
    "silver/identifier_observations": identity_inputs.OBSERVATION_COLUMNS,
    "silver/inventory_ledger": tuple(LEDGER_SCHEMA),
    "gold/person_id_history": tuple(HISTORY_SCHEMA),
    "quarantine/rows": tuple(QUARANTINE_SCHEMA),
    "bronze/pos__transactions": (*LINEAGE, RELEASED),  # released rows (a store's time zone)
}


@pytest.mark.parametrize("table", sorted(DECLARED))
def test_declared_columns_are_described(table):
    docs = column_docs(f"lake/{table}")  # descriptions do not need the table to exist
    assert [c for c in DECLARED[table] if not (docs.get(c) or "").strip()] == []
