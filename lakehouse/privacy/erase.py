"""Right to be forgotten: plan and carry out the erasure of persons from a whole home.

Layers, in order: the identity tables (``identity.store.erase``: rows out, source records on a
suppression list so later runs leave them out), every Delta table of bronze, silver, quarantine
and gold (ML marts included) holding a row that is the person's (``footprint``), the landing
lines those rows came from (blanked; the rewritten file is recorded as already handled, so it
is not ingested again), the history of every table that held the person (vacuum, old commit
files and checkpoints deleted: ``delta``), the validated pins of those tables (moved to the
erasure version), both DuckDB warehouse files (rewritten whole), Dagster's run storage and the
GX Data Docs (values scrubbed), and an audit line without the personal data (``audit``).

Stock facts are not personal data and stay: the inventory ledger, WMS movements and the gold
inventory tables may reference an order id, never a person.

Pins: an erasure only removes rows, so each rewritten table's new version is recorded in the
validation registry as passed by the erasure (suite ``erasure``, run id = the erasure id, the
old pin as ``from_version``): readers of validated data keep working, and the pin never moves
over rows that were not checked, because the erasure refuses a table whose latest commit is
not its pin (let the gates catch up first).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from deltalake import DeltaTable

from lakehouse.channels.spec import PII_FIELDS
from lakehouse.home import Home
from lakehouse.identity import store
from lakehouse.identity.pii import load_key
from lakehouse.privacy import audit, delta, landing, scrub, warehouse
from lakehouse.privacy.footprint import (
    Footprint,
    keyed,
    marks,
    others_values,
    own_hashes,
    own_values,
    person_records,
    raw_values,
)
from lakehouse.privacy.resolve import Request, normalised, resolve_persons
from lakehouse.silver import normalize as nz
from lakehouse.storage import lock
from lakehouse.storage.paths import table_uri
from lakehouse.storage.validations import batched, record_validation, validated_versions

LAYERS = ("bronze", "silver", "quarantine", "gold")
# not personal data: stock facts that at most reference an order id
KEPT = ("silver/inventory_ledger", "silver/inventory_movements", "bronze/wms__movements")
KEPT_PREFIXES = ("gold/inventory_",)
IDENTITY = tuple(f"gold/{t}" for t in store.TABLES)
SUPPRESSION = f"gold/{store.ERASURES}"


class ErasureRefused(RuntimeError):
    """The home is not in a state an erasure can be carried out on (see the message)."""


@dataclass
class Plan:
    erasure_id: str
    requests: list[Request]
    footprint: Footprint
    tables: list[delta.TablePlan] = field(default_factory=list)
    landing_lines: dict[str, set[int]] = field(default_factory=dict)  # relpath -> lines
    warehouse: dict[str, int] = field(default_factory=dict)
    run_records: dict[str, int] = field(default_factory=dict)  # dagster / docs occurrences

    @property
    def persons(self) -> list[str]:
        return self.footprint.person_ids

    def rows(self) -> dict[str, int]:
        out = {t.name: t.rows for t in self.tables if t.rows}
        out |= {f"landing/{k}": len(v) for k, v in self.landing_lines.items()}
        return out | self.warehouse | self.run_records


def lake_writer(home: Home) -> AbstractContextManager:
    """The lake-writer exclusion the erasure holds while it plans and writes: no run commits
    while rows are found and removed."""
    return lock.lake_writer(home, holder="lakehouse erase")


def _tables(home: Home) -> list[tuple[str, str]]:
    """(uri, "<layer>/<name>") of every Delta table that may hold personal data."""
    out = []
    for layer in LAYERS:
        root = home.lake / layer
        if not root.exists():
            continue
        for path in sorted(root.iterdir()):
            name = f"{layer}/{path.name}"
            if name in KEPT or name.startswith(KEPT_PREFIXES) or name == SUPPRESSION:
                continue
            if DeltaTable.is_deltatable(str(path)):
                out.append((str(path), name))
    return out


def _run_records(home: Home) -> list[Path]:
    """Directories of run records and reports: Dagster's storage, GX Data Docs, dbt's
    artefacts and logs."""
    return [home.dagster_home, home.root / "docs", home.root / "dbt"]


def _read(home: Home, layer: str, name: str) -> pl.DataFrame | None:
    uri = table_uri(home, layer, name)
    return delta.read(uri) if DeltaTable.is_deltatable(uri) else None


def _normal_forms(values: set[str]) -> set[str]:
    """E-mails and phones also as identity normalises them (what gold's hashes are of)."""
    out = set(values)
    s = pl.Series(sorted(values), dtype=pl.String)
    emails = s.filter(s.str.contains("@"))
    out |= set(nz.email(emails).drop_nulls().to_list())
    digits = s.filter(s.str.count_matches(r"\d") >= 7)
    out |= set(nz.phone(digits).drop_nulls().to_list())
    return out


def footprint(home: Home, person_ids: list[str], key: bytes,
              requests: list[Request] = ()) -> Footprint:
    """The person's records, identifier values (raw and normalised) and their keyed hashes;
    the request's own values count too (so an erasure interrupted after the identity tables
    were erased still finds the rows on its next run)."""
    the_map = _read(home, "gold", "identity_map")
    records_table = _read(home, "silver", "customer_records")
    observations = _read(home, "silver", "identifier_observations")
    records = pl.DataFrame(schema={"source": pl.String, "record_id": pl.String})
    if the_map is not None and records_table is not None:
        records = person_records(the_map, records_table, person_ids, key)
    values = set(records["record_id"].to_list())
    values |= {r.value.strip() for r in requests if r.kind != "person_id" and r.value.strip()}
    shared: set[str] = set()
    if observations is not None:
        values |= own_values(observations, records)
        shared = others_values(observations, records)
    if values:  # the spellings in bronze of the rows these values mark, unless shared
        spelled: set[str] = set()
        for uri, name in _tables(home):
            if not name.startswith("bronze/"):
                continue
            frame = delta.read(uri)
            if frame.height:
                spelled |= raw_values(frame.filter(marks(frame, values)), PII_FIELDS)
        values |= {v for v in spelled if not _normal_forms({v}) & shared}
    values = _normal_forms(values)
    hashes = keyed(values, key)
    if the_map is not None:  # the hashes the map holds for the person alone
        hashes |= own_hashes(the_map, person_ids)
    return Footprint(sorted(person_ids), records, values, hashes)


def _landing_lines(home: Home, plans: list[delta.TablePlan], fp: Footprint
                   ) -> dict[str, set[int]]:
    """Landing lines the person's bronze and quarantine rows came from, and any line still
    holding one of their values (not ingested yet, or quarantined unparsed)."""
    lines: dict[str, set[int]] = defaultdict(set)
    for plan in plans:
        if not plan.rows or not plan.name.startswith(("bronze/", "quarantine/")):
            continue
        frame = delta.read(plan.uri)
        rows = frame.filter(marks(frame, fp.exact, fp.substrings if plan.name.startswith(
            "quarantine/") else []))
        if {"_source_file", "_line"} <= set(rows.columns):
            for source, line in rows.select("_source_file", "_line").iter_rows():
                if source is not None and line is not None:
                    lines[source].add(int(line))
    raw = sorted(v for v in fp.values if len(v) >= 6)
    for path in landing.line_files(home):
        rel = path.relative_to(home.landing).as_posix()
        lines[rel] |= landing.lines_holding(path.read_bytes(), raw)
    for rel in list(lines):  # a CSV header is never a record
        if rel.endswith(".csv"):
            lines[rel].discard(1)
    return {k: v for k, v in sorted(lines.items()) if v}


def plan(home: Home, requests: list[Request], key: bytes | None = None) -> Plan:
    """What an erasure would remove (reads only)."""
    key = key or load_key(home.root)
    persons = resolve_persons(home, requests, key)
    fp = footprint(home, persons, key, requests)
    result = Plan(uuid.uuid4().hex, requests, fp)
    if not persons and not fp.values:
        return result
    for uri, name in _tables(home):
        result.tables.append(delta.plan_table(
            uri, name, fp.exact, fp.substrings, in_rows=name.startswith("quarantine/"),
            by_lineage=not name.startswith("gold/")))
    result.landing_lines = _landing_lines(home, result.tables, fp)
    values = sorted(fp.exact)
    result.warehouse = warehouse.erase_warehouse(home, values, result.erasure_id, apply=False)
    for root in _run_records(home):
        result.run_records |= scrub.scrub_tree(root, fp.substrings, apply=False)
    return result


def _check_pins(home: Home, plans: list[delta.TablePlan]) -> dict[str, int]:
    """The pins of the tables to rewrite; refuses a table with commits past its pin."""
    pins = validated_versions(home.lake)
    behind = [f"{p.name} (pin {pins[p.name]}, latest {p.version})" for p in plans
              if p.name in pins and pins[p.name] != p.version]
    if behind:
        raise ErasureRefused(
            "not erasing: these tables have commits their quality gate has not passed, and "
            "an erasure rewrites a table's history, so it would validate them unchecked: "
            + ", ".join(behind) + ". Run the pipeline (or fix the failing gate) first; "
            "nothing was changed")
    return {p.name: pins[p.name] for p in plans if p.name in pins}


def _refuse_object_store(home: Home) -> None:
    """Scrubbing rewrites ``_delta_log`` files through the local filesystem: on an
    object-store lake, refuse before any table is touched rather than half erase a person."""
    if not isinstance(home.lake, Path):
        raise ErasureRefused(f"erasure on an object-store lake ({home.lake}) is not built yet")


def execute(home: Home, the_plan: Plan, key: bytes | None = None) -> audit.AuditRecord:
    """Carry out a plan (hold the lake-writer exclusion around this: ``lake_writer``)."""
    _refuse_object_store(home)
    key = key or load_key(home.root)
    fp = the_plan.footprint
    dirty = [p for p in the_plan.tables if p.dirty or p.name in IDENTITY]
    pins = _check_pins(home, dirty)
    before = {p.name: p.version for p in dirty}
    rows: dict[str, int] = {}
    if fp.person_ids:  # identity tables, and the suppression list for later runs
        rows |= {f"gold/{k}": v for k, v in store.erase(home, fp.person_ids, key=key,
                                                         unlinkable=True).items() if v}
    # landing lines first: the deletes below commit the rewritten files' app ids
    app_ids: dict[str, list[str]] = defaultdict(list)
    for rel, numbers in the_plan.landing_lines.items():
        old, new = landing.rewrite(home, home.landing / rel, numbers)
        for uri in landing.targets(home, old):
            table = DeltaTable(uri) if DeltaTable.is_deltatable(uri) else None
            if table is not None and (table.transaction_version(old.app_id) or 0) >= 1:
                app_ids[uri].append(new.app_id)
    for p in the_plan.tables:
        if p.name in IDENTITY:
            continue  # done by store.erase (ids inside other persons' history events too)
        n = delta.delete_rows(p, app_ids.pop(p.uri, []))
        if n:
            rows[p.name] = n
    for uri, ids in app_ids.items():  # tables the person had no rows in
        delta.mark_committed(uri, ids)
    versions: dict[str, list[int]] = {}
    for p in dirty:
        versions[p.name] = [before[p.name], delta.purge_history(p.uri)]
    with batched():
        for name, (_, new) in versions.items():
            if name in pins:
                record_validation(Path(home.lake) / name, new, "erasure", 0,
                                  run_id=f"erasure-{the_plan.erasure_id}",
                                  from_version=pins[name])
    rows |= {f"landing/{k}": len(v) for k, v in the_plan.landing_lines.items()}
    rows |= warehouse.erase_warehouse(home, sorted(fp.exact), the_plan.erasure_id)
    for root in _run_records(home):
        rows |= scrub.scrub_tree(root, fp.substrings, apply=True)
    record = audit.AuditRecord(
        erasure_id=the_plan.erasure_id, at=datetime.now(UTC).isoformat(),
        request=[{"kind": r.kind, "hash": audit.request_hash(
            r.kind, normalised(r.kind, r.value) or r.value.strip(), key)}
                 for r in the_plan.requests],
        persons=[audit.person_hash(p, key) for p in fp.person_ids],
        rows=rows, versions=versions, landing_files=len(the_plan.landing_lines))
    audit.append(home.lake, record)
    return record


def erase(home: Home, requests: list[Request], dry_run: bool = False
          ) -> tuple[Plan, audit.AuditRecord | None]:
    """Plan, then (unless ``dry_run``) carry out, holding the lake-writer exclusion."""
    _refuse_object_store(home)
    key = load_key(home.root)
    with lake_writer(home):
        the_plan = plan(home, requests, key)
        if dry_run or not (the_plan.persons or the_plan.footprint.values):
            return the_plan, None
        return the_plan, execute(home, the_plan, key)


__all__ = ["ErasureRefused", "Plan", "Request", "erase", "execute", "plan"]
