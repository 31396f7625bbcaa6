"""Identity resolution over the lakehouse home: silver customer records in, gold tables out.

Tables (``H/lake/gold/``): ``identity_map`` (every source record and identifier, as keyed
hashes, to its person and household ids), ``customer_profiles`` (one pseudonymised row per
person, with its household) and ``person_id_history`` (appended: what changed, when, why).
Ids stay stable across runs: the previous map is read back and matched to this run's records
through the same keyed hashes.

Right to be forgotten (``erase``): a person's rows leave the three identity tables, and the
keyed hashes of their source records go on a suppression list (``identity_erasures``) that
every later run honours, so the person does not come back from silver. What it does not do:
bronze and silver keep the raw records (their erasure belongs to ingestion), and Delta keeps
the old table versions readable by time travel until ``vacuum`` removes their files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake

from lakehouse.home import Home
from lakehouse.identity.evaluate import evaluate, evaluate_households, linkable_truth
from lakehouse.identity.pii import load_key, pseudonymise_expr
from lakehouse.identity.profiles import customer_profiles, identity_map
from lakehouse.identity.resolve import DEFAULT_ENGINE, Resolution, resolve_full
from lakehouse.storage.delta import committed, read_table, to_arrow, writer_properties
from lakehouse.storage.faults import fault
from lakehouse.storage.paths import table_uri
from lakehouse.storage.tables import replace_table
from lakehouse.storage.validations import read_validated

TABLES = ("identity_map", "customer_profiles", "person_id_history")
# table -> what it holds, for the asset graph (columns: ``column_docs.py``, the dbt sources)
DESCRIPTIONS: dict[str, str] = {
    "identity_map": "Every source record and each strong identifier it carries (as HMAC "
    "hashes) to its person and household ids, with the rule or comparison that linked it.",
    "customer_profiles": "One row per person: household, best name, e-mails, phones and "
    "address as keyed hashes, city/postcode/state, first and last seen, sources, devices.",
    "person_id_history": "Appended per run: new, merged and split person ids, when and why.",
}
ERASURES = "identity_erasures"  # source, identifier_hash (HMAC of record_id), erased_at


@dataclass
class IdentityRun:
    records: int
    persons: int
    history_events: int
    report: dict = field(default_factory=dict)
    scores: dict | None = None  # against the simulator's truth, when the home has it
    linkable_scores: dict | None = None  # ... against what evidence in the data connects
    households: int = 0
    household_scores: dict | None = None  # when that truth names households too
    versions: dict[str, int] = field(default_factory=dict)


def record_hashes(records: pl.DataFrame, key: bytes) -> pl.DataFrame:
    """``source, record_id, identifier_hash``: each record's keyed hash, as the map stores it
    (made once per run: the previous assignments and the new map both need it)."""
    return records.select("source", "record_id",
                          pseudonymise_expr("record_id", key).alias("identifier_hash"))


def previous_assignments(home: Home, hashed: pl.DataFrame) -> pl.DataFrame | None:
    """``source, record_id, person_id`` (and ``household_id`` when the map has it) of the last
    run, recovered from the hashed map (``hashed``: :func:`record_hashes` of the records)."""
    uri = table_uri(home, "gold", "identity_map")
    if not DeltaTable.is_deltatable(uri):
        return None
    # only the record rows, and only the columns the join needs: the whole map (every
    # identifier of every record) held 1 GB at 10M events for the few columns kept
    scan = pl.scan_delta(uri)
    ids = [c for c in ("person_id", "household_id") if c in scan.collect_schema().names()]
    old = (scan.filter(pl.col("identifier_type") == "record")
           .select("source", "identifier_hash", *ids).collect())
    return hashed.join(old, on=["source", "identifier_hash"]).select("source", "record_id",
                                                                     *ids)


HISTORY_APP = "lakehouse.identity/history"


def _append_history(uri: str, history: pl.DataFrame, basis: int) -> None:
    """Append the events computed against version ``basis`` of the identity map, once: the
    commit carries ``Transaction(HISTORY_APP, basis + 1)``, so a re-run after a crash that
    left the map at ``basis`` (the same events again) appends nothing."""
    # the app id is read on the object the write goes through (DESIGN, sharp edges)
    dt = DeltaTable(uri) if DeltaTable.is_deltatable(uri) else None
    if dt is not None and (not history.height or committed(dt, HISTORY_APP, basis + 1)):
        return
    fault("identity.history.before", uri)
    write_deltalake(dt if dt is not None else uri, to_arrow(history), mode="append",
                    commit_properties=CommitProperties(
                        app_transactions=[Transaction(HISTORY_APP, basis + 1)]),
                    writer_properties=writer_properties(history))
    fault("identity.history.after", uri)


def resolve_home(home: Home, key: bytes | None = None, at: datetime | None = None,
                 engine: str = DEFAULT_ENGINE) -> IdentityRun:
    """Resolve silver's customer records into the gold identity tables; ``engine`` is the
    probabilistic pass (``resolve.ENGINES``)."""
    # the validated pins of the inputs, never rows that have not passed their gate
    records = read_validated(table_uri(home, "silver", "customer_records"))
    if records is None:
        raise FileNotFoundError(f"{table_uri(home, 'silver', 'customer_records')} does not "
                                "exist: build silver first")
    observations = read_validated(table_uri(home, "silver", "identifier_observations"),
                                  columns=["source", "record_id", "identifier_type", "value"])
    key = key or load_key(home.root)
    records, observations = without_erased(home, records, observations, key)
    map_uri = table_uri(home, "gold", "identity_map")
    basis = DeltaTable(map_uri).version() if DeltaTable.is_deltatable(map_uri) else -1
    hashed = record_hashes(records, key)
    result = resolve_full(records, previous_assignments(home, hashed),
                          at=at or datetime.now(UTC), observations=observations,
                          engine=engine)
    # the history first: its events are the difference from the map as it stands, so a crash
    # after the map was replaced would leave a re-run nothing to record (events lost)
    history_uri = table_uri(home, "gold", "person_id_history")
    _append_history(history_uri, result.history, basis)
    versions = {
        "identity_map": replace_table(table_uri(home, "gold", "identity_map"),
                                      identity_map(result.records, records, key, hashed)),
        "customer_profiles": replace_table(table_uri(home, "gold", "customer_profiles"),
                                           customer_profiles(records, result.records, key,
                                                             observations)),
    }
    versions["person_id_history"] = DeltaTable(history_uri).version()
    scores = linkable_scores = household_scores = None
    truth = _truth(home)
    if truth is not None:
        scores = evaluate(result.records, truth)
        linkable_scores = evaluate(result.records,
                                   linkable_truth(records, observations, truth))
        if "household_id" in truth.columns:
            household_scores = evaluate_households(result.records, truth)
    return IdentityRun(
        records=records.height,
        persons=result.records["person_id"].n_unique(),
        history_events=result.history.height,
        report=report_with_parameters(result),
        scores=scores,
        linkable_scores=linkable_scores,
        households=result.records["household_id"].n_unique(),
        household_scores=household_scores,
        versions=versions,
    )


def _truth(home: Home) -> pl.DataFrame | None:
    """The simulator's identity truth when the home has it, with each person's household
    (from ``persons.parquet``) when that is there too."""
    path = home.truth / "identity.parquet"
    if not path.exists():
        return None
    truth = pl.read_parquet(path)
    persons = home.truth / "persons.parquet"
    if "household_id" not in truth.columns and persons.exists():
        households = pl.read_parquet(persons, columns=["person_id", "household_id"])
        truth = truth.join(households, on="person_id", how="left")
    return truth


def report_with_parameters(result: Resolution) -> dict:
    """The run's report, with ``parameters`` (``comparison, level, label, m, u, weight`` per
    comparison level) for our Fellegi-Sunter engine too, as Splink's report has them."""
    report, model = result.report, result.model
    engine = report.get("engine")
    if model is None or not isinstance(report.get(engine), dict) \
            or report[engine].get("parameters"):
        return report
    rows = []
    for c, m in model.m.items():
        u, top = model.u[c], len(m) - 1
        for k in range(len(m)):  # level 0: disagree; the top level: exact agreement
            label = "disagree" if k == 0 else "exact" if k == top else f"partial ({k})"
            mk, uk = float(m[k]), float(u[k])
            rows.append({"comparison": c, "level": k, "label": label, "m": round(mk, 6),
                         "u": round(uk, 8),
                         "weight": round(math.log2(mk / uk), 2) if mk > 0 and uk > 0 else None})
    return {**report, engine: {**report[engine], "parameters": rows}}


def without_erased(home: Home, records: pl.DataFrame, observations: pl.DataFrame | None,
                    key: bytes) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    uri = table_uri(home, "gold", ERASURES)
    if not DeltaTable.is_deltatable(uri):
        return records, observations
    erased = read_table(uri).select("source", "identifier_hash")
    ids = records.select("source", "record_id")
    # entries are suppression hashes; entries written before them: the record id's pseudonym
    gone = pl.concat([
        ids.with_columns(suppression_hash_expr(key).alias("identifier_hash")),
        ids.with_columns(pseudonymise_expr("record_id", key).alias("identifier_hash")),
    ]).join(erased, on=["source", "identifier_hash"]).unique(["source", "record_id"])
    keys = ["source", "record_id"]
    records = records.join(gone.select(keys), on=keys, how="anti")
    if observations is not None:
        observations = observations.join(gone.select(keys), on=keys, how="anti")
    return records, observations


def suppression_hash_expr(key: bytes) -> pl.Expr:
    """The suppression-list hash of a record (``source``, ``record_id`` columns): keyed, and
    domain-separated from the pseudonyms in gold (an e-mail record's id is the address, whose
    pseudonym is in the marts), so the list links to nothing the marts hold."""
    return pseudonymise_expr(pl.concat_str(pl.lit("erasure-record:"), pl.col("source"),
                                           pl.lit(":"), pl.col("record_id")), key)


def _suppression_entries(home: Home, hashed: pl.DataFrame, key: bytes) -> pl.DataFrame:
    """``source, identifier_hash`` suppression entries of map records (``source,
    identifier_hash`` pseudonyms): raw record ids are recovered from silver through the same
    HMAC; a record silver no longer holds keeps its pseudonym (nothing else to key it by)."""
    uri = table_uri(home, "silver", "customer_records")
    if not hashed.height or not DeltaTable.is_deltatable(uri):
        return hashed
    raw = (read_table(uri).select("source", "record_id").unique()
           .with_columns(pseudonymise_expr("record_id", key).alias("identifier_hash"))
           .join(hashed, on=["source", "identifier_hash"]))
    found = raw.select("source", suppression_hash_expr(key).alias("identifier_hash"))
    rest = hashed.join(raw.select("source", "identifier_hash"),
                       on=["source", "identifier_hash"], how="anti")
    return pl.concat([found, rest])


def erase(home: Home, person_ids: list[str], at: datetime | None = None,
          key: bytes | None = None, unlinkable: bool = False) -> dict[str, int]:
    """Forget persons in the identity outputs: delete their rows from ``identity_map``,
    ``customer_profiles`` and ``person_id_history`` (also as a merged or split-off id), and
    suppress their source records in every later run (``identity_erasures``). Returns rows
    removed per table.

    Entries are the records' pseudonyms (what ``identity.rotate`` re-keys); ``unlinkable``
    (the full erasure, ``lakehouse.privacy``) writes suppression hashes instead
    (:func:`suppression_hash_expr`), which match no pseudonym in gold or the warehouse."""
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    at = at or datetime.now(UTC)
    map_uri = table_uri(home, "gold", "identity_map")
    if not DeltaTable.is_deltatable(map_uri):
        return {}
    hashed = read_table(map_uri).filter(
        pl.col("person_id").is_in(ids) & (pl.col("identifier_type") == "record")).select(
        "source", "identifier_hash")
    if unlinkable:
        hashed = _suppression_entries(home, hashed, key or load_key(home.root))
    records = hashed.with_columns(pl.lit(at).cast(pl.Datetime("us", "UTC")).alias("erased_at"))
    if records.height:
        write_deltalake(table_uri(home, "gold", ERASURES), to_arrow(records), mode="append",
                        writer_properties=writer_properties(records))
    removed = {}
    listed = ", ".join("'" + i.replace("'", "''") + "'" for i in ids)
    for name in TABLES:
        uri = table_uri(home, "gold", name)
        if not DeltaTable.is_deltatable(uri):
            continue
        metrics = DeltaTable(uri).delete(f"person_id IN ({listed})")
        removed[name] = int(metrics.get("num_deleted_rows", 0))
    history_uri = table_uri(home, "gold", "person_id_history")
    if DeltaTable.is_deltatable(history_uri):  # the erased ids inside other persons' events
        hist = read_table(history_uri)
        mentions = hist["other_ids"].list.eval(pl.element().is_in(ids)).list.any()
        if mentions.any():
            hist = hist.with_columns(pl.col("other_ids").list.filter(~pl.element().is_in(ids)))
            replace_table(history_uri, hist)
            removed["person_id_history_mentions"] = int(mentions.sum())
    return removed
