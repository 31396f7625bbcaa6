"""Column descriptions for the lake's tables, from where each is already written once.

Bronze columns are the channel contract's fields (``lakehouse.channels``); silver and gold
columns are documented in the dbt sources that read them
(``dbt_project/models/staging/<layer>/_<layer>__sources.yml``), so the Dagster UI shows the same
text an analyst reads in the warehouse, and the columns dbt does not read beside the code that
writes them (``COLUMNS`` of ``lakehouse.silver.column_docs``, ``lakehouse.identity.column_docs``,
``lakehouse.inventory.column_docs`` and ``lakehouse.ml.column_docs``); the quarantine's in
``lakehouse.ingest.quarantine.COLUMN_DOCS``; lineage columns beside their definition
(``lakehouse.ingest.bronze.LINEAGE_DOCS``).
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml
from deltalake import DeltaTable

from lakehouse.channels import entity
from lakehouse.identity.column_docs import COLUMNS as IDENTITY_COLUMNS
from lakehouse.ingest.bronze import LINEAGE_DOCS
from lakehouse.ingest.quarantine import COLUMN_DOCS as QUARANTINE_DOCS
from lakehouse.inventory.column_docs import COLUMNS as INVENTORY_COLUMNS
from lakehouse.ml.column_docs import COLUMNS as ML_COLUMNS
from lakehouse.ml.column_docs import PREFIXES as ML_PREFIXES
from lakehouse.silver.column_docs import COLUMNS as SILVER_COLUMNS

SOURCES_DIR = Path(__file__).resolve().parents[1] / "dbt_project" / "models" / "staging"
# gold tables of the identity package (the others are named by their package's prefix)
IDENTITY_TABLES = ("identity_map", "customer_profiles", "person_id_history", "identity_erasures")


@functools.cache
def _dbt_sources(layer: str) -> dict[str, dict[str, str]]:
    path = SOURCES_DIR / layer / f"_{layer}__sources.yml"
    if not path.exists():
        return {}
    docs: dict[str, dict[str, str]] = {}
    for source in yaml.safe_load(path.read_text()).get("sources", []):
        if source.get("name") != layer:  # `silver_changes`: the same tables, undocumented
            continue
        for table in source.get("tables", []):
            docs[table["name"]] = {c["name"]: c["description"] for c in table.get("columns", [])
                                   if c.get("description")}
    return docs


def _package(layer: str, table: str) -> tuple[dict[str, dict[str, str]],
                                              dict[str, dict[str, str]]]:
    """``COLUMNS`` and ``PREFIXES`` (columns named by data) of the ``lakehouse`` package that
    documents a silver or gold table's columns dbt does not read: the ledger and the gold
    ``inventory_*`` tables are inventory's, other silver tables silver's, the gold identity
    tables identity's and ``ml_*`` the feature marts'."""
    if table == "inventory_ledger" or (layer == "gold" and table.startswith("inventory_")):
        return INVENTORY_COLUMNS, {}
    if layer == "silver":
        return SILVER_COLUMNS, {}
    if layer == "gold" and table in IDENTITY_TABLES:
        return IDENTITY_COLUMNS, {}
    if layer == "gold" and table.startswith("ml_"):
        return ML_COLUMNS, ML_PREFIXES
    # the merchandising packages import their models' libraries: loaded when a table of theirs
    # is described, not with the code location
    if layer == "gold" and table in ("demand_forecast", "forecast_accuracy"):
        from lakehouse.forecast.column_docs import COLUMNS as FORECAST_COLUMNS

        return FORECAST_COLUMNS, {}
    if layer == "gold" and table.startswith("customer_segment"):
        from lakehouse.segments.segmentation import MEMBER_DOCS, PROFILE_DOCS

        return ({"customer_segments": MEMBER_DOCS, "customer_segment_profiles": PROFILE_DOCS},
                {"customer_segment_profiles": {"share_": PROFILE_DOCS["share_<channel>"]}})
    return {}, {}


def _columns(uri: str) -> list[str]:
    if not DeltaTable.is_deltatable(uri):
        return []
    return [f.name for f in DeltaTable(uri).schema().fields]


def column_docs(uri: str) -> dict[str, str]:
    """``column -> description`` for the Delta table at ``uri`` (``.../lake/<layer>/<table>``):
    lineage, then the dbt sources, then the table's package; a column nobody documents is
    absent."""
    path = Path(uri)
    layer, table = path.parent.name, path.name
    docs = dict(LINEAGE_DOCS)
    if layer == "bronze":
        channel, _, name = table.partition("__")
        try:
            ent = entity(channel, name)
        except KeyError:
            return docs
        docs.update({f.name: f.description for f in ent.all_fields})
        return docs
    if layer == "quarantine":
        docs.update(QUARANTINE_DOCS)
        return docs
    docs.update(_dbt_sources(layer).get(table, {}))
    columns, prefixes_of = _package(layer, table)
    docs.update(columns.get(table, {}))
    prefixes = prefixes_of.get(table)
    if prefixes:  # columns named by data (the affinity of each top category)
        for name in _columns(uri):
            match = next((d for p, d in prefixes.items() if name.startswith(p)), None)
            if name not in docs and match:
                docs[name] = match
    return docs
