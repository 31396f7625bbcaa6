"""Expectation suites as code.

A suite holds row-level GX expectations (validated chunk by chunk, so memory stays bounded
whatever the table size) and table-level metrics that cannot be split into chunks (row count,
key uniqueness, newest timestamp), which the gate computes in DuckDB over the Delta table.
Bronze suites derive from the channel contract, so a new field gets its checks for free.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lakehouse.channels import CHANNELS, NESTED, Entity, entity
from lakehouse.ingest.quarantine import ERROR_KINDS
from lakehouse.silver.references import REFERENCES

_TIME_TYPES = {"ts_iso", "ts_local", "epoch_ms", "epoch_s"}
LINEAGE_REQUIRED = ("_source_file", "_line", "_batch_id", "_ingested_at")


@dataclass(frozen=True)
class Expect:
    """One GX expectation by its class name, built only when a gate runs."""

    type: str  # GX class name, e.g. "ExpectColumnValuesToNotBeNull"
    column: str
    kwargs: tuple[tuple[str, object], ...] = ()

    @property
    def name(self) -> str:
        return f"{self.type}({self.column})"


@dataclass(frozen=True)
class Suite:
    name: str
    expectations: tuple[Expect, ...]
    pii_columns: frozenset[str] = frozenset()
    min_rows: int = 0
    # min_rows applies only once this table (a reference like those below) holds rows: a
    # mart of products is rightly empty while no catalog has landed
    rows_expected_from: str | None = None
    unique_key: tuple[str, ...] = ()  # checked across the whole table (or increment) in DuckDB
    newest_column: str | None = None  # no value later than now + max_future_skew
    # (column, table in the same layer, its column[, SQL condition on the rows it applies to]):
    # every non-null value must exist there
    references: tuple[tuple[str, ...], ...] = ()
    # columns that may not exist yet (optional contract fields, fields added mid-stream): an
    # expectation on one that is absent passes, visibly; on any other absent column it fails
    optional_columns: frozenset[str] = frozenset()
    tags: dict[str, str] = field(default_factory=dict)


def _field_expectations(ent: Entity) -> list[Expect]:
    out: list[Expect] = []
    for f in ent.all_fields:
        if f.required:
            out.append(Expect("ExpectColumnValuesToNotBeNull", f.name))
        if f.allowed:
            out.append(Expect("ExpectColumnValuesToBeInSet", f.name,
                              (("value_set", f.allowed),)))
        if f.minimum is not None or f.maximum is not None:
            bounds = (("min_value", f.minimum), ("max_value", f.maximum))
            out.append(Expect("ExpectColumnValuesToBeBetween", f.name,
                              tuple((k, v) for k, v in bounds if v is not None)))
    return out


def bronze_suite(ent: Entity) -> Suite:
    """Bronze: what validation promised (types, required fields, ranges) still holds on disk."""
    expectations = [Expect("ExpectColumnValuesToNotBeNull", c) for c in LINEAGE_REQUIRED]
    expectations.append(Expect("ExpectColumnValuesToBeBetween", "_line", (("min_value", 1),)))
    expectations += _field_expectations(ent)
    newest = ent.event_time if ent.event_time and any(
        f.name == ent.event_time and f.type in _TIME_TYPES for f in ent.fields) else None
    return Suite(
        name=f"bronze.{ent.channel}__{ent.name}",
        expectations=tuple(expectations),
        pii_columns=frozenset(f.name for f in ent.all_fields if f.pii),
        # Bronze keeps every delivery, a changed file re-delivered under its old name included:
        # a line is unique within the batch that brought it.
        unique_key=("_batch_id", "_source_file", "_line"),
        newest_column=newest,
        optional_columns=frozenset(f.name for f in ent.all_fields if not f.required),
        tags={"layer": "bronze", "channel": ent.channel},
    )


def bronze_entities() -> list[Entity]:
    """Every entity that lands as a bronze table (locations files feed two)."""
    out = [e for ch in CHANNELS for e in ch.entities if (ch.name, e.name) not in NESTED]
    out.append(entity("locations", "shipping_rates"))
    return out


def bronze_suites() -> dict[str, Suite]:
    return {f"{e.channel}__{e.name}": bronze_suite(e) for e in bronze_entities()}


# Silver: keys, lineage, vocabularies, references (product ids, and what
# lakehouse/silver/references.py holds rows back for: locations, suppliers, orders).
_SILVER_PRODUCT_REQUIRED = {"pos_transaction_lines", "inventory_movements", "order_lines",
                            "returns", "reviews"}
_SILVER_PRODUCT_TABLES = _SILVER_PRODUCT_REQUIRED | {"clickstream_events", "purchase_orders",
                                                     "purchase_order_events",
                                                     "product_crosswalk"}
_SILVER_SETS = {
    "clickstream_events": {
        "channel": ("web", "app"),
        "event_type": ("page_view", "product_view", "search", "add_to_cart",
                       "remove_from_cart", "checkout", "purchase", "login"),
        "event_time_source": ("client", "device", "received"),
    },
    "purchase_orders": {"status": ("open", "delivered")},
    "customer_records": {"source": ("shop_customer", "shop_guest", "loyalty", "web", "app",
                                    "pos", "email", "reviews")},
    "product_crosswalk": {"system": ("web", "pos", "wms")},
}
# the timestamp that must not lie in the future; None for reference data, which has none (a
# promotion's start date may legitimately lie ahead)
_SILVER_NEWEST = {"orders": "created_at", "shipments": "shipped_at", "purchase_orders":
                  "ordered_at", "customer_records": "last_seen",
                  "identifier_observations": "last_observed_at", "order_lines": "updated_at",
                  "ad_spend": "date", "products": None, "product_crosswalk": None,
                  "suppliers": None, "promotions": None, "locations": None,
                  "shipping_rates": None}
_NO_LINEAGE = {"customer_records"}


def silver_suite(name: str, key: tuple[str, ...]) -> Suite:
    expectations = [Expect("ExpectColumnValuesToNotBeNull", c) for c in key]
    if name not in _NO_LINEAGE:
        expectations += [Expect("ExpectColumnValuesToNotBeNull", c) for c in LINEAGE_REQUIRED]
    if name in _SILVER_PRODUCT_REQUIRED:
        expectations.append(Expect("ExpectColumnValuesToNotBeNull", "product_id"))
    for column, values in _SILVER_SETS.get(name, {}).items():
        expectations.append(Expect("ExpectColumnValuesToBeInSet", column,
                                   (("value_set", values),)))
    return Suite(
        name=f"silver.{name}",
        expectations=tuple(expectations),
        unique_key=key,
        newest_column=_SILVER_NEWEST.get(name, "event_time"),
        references=((("product_id", "products", "product_id"),)
                    if name in _SILVER_PRODUCT_TABLES else ())
        + tuple((r.column, r.table, r.key, *((w,) if (w := r.where_sql()) else ()))
                for r in REFERENCES.get(name, ())),
        tags={"layer": "silver"},
    )


def quarantine_suite() -> Suite:
    """Every quarantined row can be acted on: where it came from, what kind, and why."""
    required = ("_source_channel", "_source_file", "_batch_id", "_ingested_at", "raw",
                "error_kind", "reason")
    return Suite(
        name="quarantine.rows",
        expectations=(
            *(Expect("ExpectColumnValuesToNotBeNull", c) for c in required),
            Expect("ExpectColumnValuesToBeInSet", "error_kind", (("value_set", ERROR_KINDS),)),
        ),
        pii_columns=frozenset({"raw", "reason"}),  # raw payloads carry e-mails and phones
        tags={"layer": "quarantine"},
    )


# inventory outputs name canonical products and locations: both must exist in silver
_STOCK_REFERENCES = (("product_id", "silver/products", "product_id"),
                     ("location_id", "silver/locations", "location_code"))


def _gold(name: str, not_null: tuple[str, ...], key: tuple[str, ...] = (),
          sets: dict[str, tuple[str, ...]] | None = None,
          regex: dict[str, str] | None = None,
          references: tuple[tuple[str, str, str], ...] = (),
          newest: str | None = None) -> Suite:
    expectations = [Expect("ExpectColumnValuesToNotBeNull", c) for c in not_null]
    expectations += [Expect("ExpectColumnValuesToBeInSet", c, (("value_set", v),))
                     for c, v in (sets or {}).items()]
    expectations += [Expect("ExpectColumnValuesToMatchRegex", c, (("regex", r),))
                     for c, r in (regex or {}).items()]
    return Suite(name=f"gold.{name}", expectations=tuple(expectations), unique_key=key,
                 references=references, newest_column=newest, tags={"layer": "gold"})


_HASH = r"^[0-9a-f]{64}$"  # an HMAC-SHA256: no raw e-mail, phone or card can pass
_HOUSEHOLD = r"^H[0-9a-f]{16}$"  # the resolver's household ids


def gold_suites() -> dict[str, Suite]:
    """Identity and inventory outputs: keys, vocabularies, and pseudonymised identifiers."""
    return {
        # every record belongs to exactly one household (a person alone: a household of one)
        "identity_map": _gold(
            "identity_map", ("source", "person_id", "household_id", "identifier_type",
                             "identifier_hash"),
            sets={"identifier_type": ("record", "email", "phone", "login_id", "loyalty_id",
                                      "payment_fingerprint", "device_id")},
            regex={"identifier_hash": _HASH, "household_id": _HOUSEHOLD}),
        "customer_profiles": _gold("customer_profiles", ("person_id", "household_id"),
                                   key=("person_id",),
                                   regex={"name_hash": _HASH, "address_hash": _HASH,
                                          "household_id": _HOUSEHOLD},
                                   references=(("household_id", "identity_map",
                                                "household_id"),)),
        "person_id_history": _gold("person_id_history", ("person_id", "event", "at"),
                                   sets={"event": ("new", "merge", "split")}, newest="at"),
        # one row per physical event: micro-batches MERGE on event_key, so a duplicate key
        # would be a double-counted movement
        "inventory_ledger": _gold("inventory_ledger", ("product_id", "location_id",
                                                       "event_time", "kind", "event_key"),
                                  key=("event_key",)),
        "inventory_positions": _gold("inventory_positions", ("product_id", "location_id",
                                                             "on_hand", "reserved",
                                                             "available_to_promise",
                                                             "shrinkage_rate"),
                                     key=("product_id", "location_id"),
                                     references=_STOCK_REFERENCES, newest="last_event_time"),
        "inventory_daily": _gold("inventory_daily", ("product_id", "location_id", "date"),
                                 key=("product_id", "location_id", "date"),
                                 references=_STOCK_REFERENCES, newest="date"),
        "inventory_days_of_cover": _gold("inventory_days_of_cover",
                                         ("product_id", "location_id"),
                                         key=("product_id", "location_id"),
                                         references=_STOCK_REFERENCES),
        "inventory_alerts": _gold("inventory_alerts", ("product_id", "location_id", "since"),
                                  references=_STOCK_REFERENCES, newest="since"),
        # an unmapped product code has no canonical product or location: only cause is certain
        "inventory_discrepancies": _gold(
            "inventory_discrepancies", ("systems", "cause"),
            sets={"cause": ("lagging sync", "missing event", "shrinkage",
                            "unmapped product code")}),
        "inventory_channel_availability": _gold(
            "inventory_channel_availability", ("product_id", "channel", "location_id",
                                               "sellable"),
            key=("product_id", "channel", "location_id"), references=_STOCK_REFERENCES),
        "inventory_fulfilment_options": _gold(
            "inventory_fulfilment_options", ("product_id", "zone", "location_id", "service",
                                             "shipping_cost", "delivery_days", "rank"),
            key=("product_id", "zone", "service", "location_id"),
            sets={"service": ("standard", "express")}, references=_STOCK_REFERENCES),
    }


# Warehouse marts (dbt models). Every string column of every mart is scanned for raw PII: an
# e-mail address or a phone number (E.164 as silver writes them, or a national format) in gold
# means pseudonymisation was bypassed somewhere upstream.
PII_PATTERNS = {
    "email": r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}",
    "phone": r"^\+[1-9][0-9]{7,14}$|^\(?[0-9]{3}\)?[ .-][0-9]{3}[ .-][0-9]{4}$",
}
# one scan per column for both: a match of either is a leak
PII_PATTERN = "|".join(f"(?:{p})" for p in PII_PATTERNS.values())


def pii_candidate_sql(column: str) -> str:
    """DuckDB condition that holds for every value ``PII_PATTERN`` can match: an e-mail
    contains ``@``; both phone forms are anchored at both ends and ASCII, so the whole value
    is 9-16 bytes long. The engines run the pattern only where this holds: the scan is then
    one ``memchr`` and a length per value instead of a regex search (the warehouse gate at 10M
    events spends most of its time there), and a leak is found exactly as before.
    ``column``: a quoted column name or any string expression."""
    return f"(contains({column}, '@') or strlen({column}) between 9 and 16)"


_STRING_TYPES = ("VARCHAR", "TEXT", "STRING")
# the first timestamp of a relation must not lie in the future (dates are left alone: a
# calendar dimension legitimately runs ahead)
_TIME_COLUMN_TYPES = ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE")


@dataclass(frozen=True)
class MartRules:
    """What a mart promises beyond its dbt tests: its key, required columns, value ranges,
    references to dims, and which timestamp must never lie in the future."""

    key: tuple[str, ...] = ()
    not_null: tuple[str, ...] = ()
    between: tuple[tuple[str, float | None, float | None], ...] = ()
    sets: tuple[tuple[str, tuple[str, ...]], ...] = ()
    references: tuple[tuple[str, str, str], ...] = ()
    newest: str | None = None
    min_rows: int = 0
    rows_expected_from: str | None = None  # min_rows only once this relation has rows


def mart_suite(name: str, columns: dict[str, str], rules: MartRules | None = None) -> Suite:
    """The suite of one warehouse relation, from its columns (``name -> DuckDB type``) and
    its rules: key, nulls, ranges, vocabularies, references, no future timestamps, no PII."""
    rules = rules or MartRules()
    expectations = [Expect("ExpectColumnValuesToNotBeNull", c)
                    for c in dict.fromkeys((*rules.key, *rules.not_null))]
    expectations += [Expect("ExpectColumnValuesToBeBetween", c, tuple(
        (k, v) for k, v in (("min_value", lo), ("max_value", hi)) if v is not None))
        for c, lo, hi in rules.between]
    expectations += [Expect("ExpectColumnValuesToBeInSet", c, (("value_set", v),))
                     for c, v in rules.sets]
    for column, kind in columns.items():
        if kind.upper() in _STRING_TYPES:
            expectations.append(Expect("ExpectColumnValuesToNotMatchRegex", column,
                                       (("regex", PII_PATTERN),)))
    newest = rules.newest or next(
        (c for c, kind in columns.items() if kind.upper() in _TIME_COLUMN_TYPES), None)
    return Suite(
        name=f"warehouse.{name}",
        expectations=tuple(expectations),
        # a match is a leaked e-mail or phone: never echo it into reports
        pii_columns=frozenset(c for c, kind in columns.items()
                              if kind.upper() in _STRING_TYPES),
        min_rows=rules.min_rows,
        rows_expected_from=rules.rows_expected_from,
        unique_key=rules.key,
        newest_column=newest,
        references=rules.references,
        tags={"layer": "warehouse"},
    )
