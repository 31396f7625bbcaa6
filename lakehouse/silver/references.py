"""What silver rows reference, and holding back the rows whose reference is not known yet.

Feeds do not land in dependency order: a till file can land before the store list names its
store, a shipment before its order. A silver row whose reference is not in silver yet (nor in
the batch being built) is quarantined as *pending* with a retryable kind (DESIGN.md rule 7);
every later build retries it (``lakehouse.silver.pending``). Product codes are references too,
resolved through the catalog crosswalk (``products.map_product``, kind ``unknown_product``).

Not references here, on purpose: a till line's loyalty card (a sale must not wait for a CRM
record: the card is an identifier observation, and identity links it whenever the member
lands) and a WMS movement's free-text ``reference`` (purchase order or transfer numbers: the
warehouse's own stock record must not wait for the buying system).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from lakehouse.ingest.quarantine import SCHEMA as QUARANTINE_SCHEMA
from lakehouse.silver.products import quarantine_rows


@dataclass(frozen=True)
class Reference:
    column: str  # in the conformed silver row
    table: str  # the silver table that must hold the value
    key: str  # its column
    kind: str  # quarantine error kind (retryable)
    field: str  # the source field, for the reason
    when: tuple[str, tuple[str, ...]] | None = None  # only rows whose column is in these values

    def applies(self) -> pl.Expr:
        if self.when is None:
            return pl.lit(True)
        column, values = self.when
        return pl.col(column).is_in(list(values))

    def where_sql(self) -> str | None:
        """The same condition in SQL, for the gate's orphan check."""
        if self.when is None:
            return None
        column, values = self.when
        quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
        return f'"{column}" in ({quoted})'


def _location(field: str) -> Reference:
    return Reference("location_id", "locations", "location_code", "unknown_location", field)


REFERENCES: dict[str, tuple[Reference, ...]] = {
    "pos_transaction_lines": (_location("store_code"),),
    "inventory_movements": (_location("site_code"),),
    "purchase_order_events": (
        Reference("supplier_id", "suppliers", "supplier_id", "unknown_supplier", "supplier_id"),
        _location("site_code"),
    ),
    "shipments": (
        _location("from_site"),
        Reference("order_id", "orders", "order_id", "unknown_order", "order_id"),
    ),
    "returns": (
        _location("site_code"),
        Reference("order_id", "orders", "order_id", "unknown_order", "order_id",
                  when=("channel", ("web", "app"))),
        Reference("order_id", "pos_transaction_lines", "transaction_id", "unknown_transaction",
                  "order_id", when=("channel", ("store",))),
    ),
}


def stages(names: list[str]) -> list[list[str]]:
    """``names`` in build stages: a table comes after every table it references (kept in the
    given order within a stage)."""
    done: set[str] = set()
    out: list[list[str]] = []
    left = list(names)
    while left:
        ready = [n for n in left
                 if all(r.table in done or r.table not in names for r in REFERENCES.get(n, ()))]
        if not ready:
            raise ValueError(f"silver references form a cycle among {left}")
        out.append(ready)
        done.update(ready)
        left = [n for n in left if n not in ready]
    return out


Known = Callable[[Reference, pl.Series], pl.Series]


def hold_back(rows: pl.DataFrame, table: str, known: Known, *, channel: str, entity: str,
              ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows whose references are all known or null, quarantine rows for the others).

    ``known(ref, values)`` returns the subset of ``values`` present in ``ref.table``. A row
    missing several references is quarantined once, naming the first."""
    refs = REFERENCES.get(table, ())
    if rows.is_empty() or not refs:
        return rows, pl.DataFrame(schema=QUARANTINE_SCHEMA)
    bad_parts = []
    for ref in refs:
        if rows.is_empty():
            break
        wanted = rows.filter(ref.applies() & pl.col(ref.column).is_not_null())[ref.column]
        present = known(ref, wanted.unique())
        missing = (ref.applies() & pl.col(ref.column).is_not_null()
                   & ~pl.col(ref.column).is_in(present.implode()))
        bad = rows.filter(missing)
        if bad.height:
            bad_parts.append(quarantine_rows(
                bad, channel=channel, entity=entity, kind=ref.kind, field=ref.field,
                reason=pl.format(f"{ref.field} `{{}}` is not in silver {ref.table} yet "
                                 "(pending: released when it lands)", pl.col(ref.column))))
            rows = rows.filter(~missing)
    if not bad_parts:
        return rows, pl.DataFrame(schema=QUARANTINE_SCHEMA)
    return rows, pl.concat(bad_parts)
