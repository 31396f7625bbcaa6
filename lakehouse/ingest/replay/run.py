"""The quarantine replayed (DESIGN.md rule 7: pending, not dead).

``replay`` works on a selection (``Selection``: kinds, channels, a file, statuses):

- rows *pending* in silver (a product, store, supplier or order not known yet) get a release
  pass: ``build_silver`` for a fresh batch ``replay-<UTC time>-<hash>`` that has no bronze rows
  of its own. Every silver build retries every pending row, so this only makes the next retry
  happen now; the pass releases every pending row whose reference has landed, selected or not.
- *dead* rows, and rows pending before bronze (a till's local time at a store no store list
  named: ``BRONZE_RETRYABLE``; ingestion releases those from their landing file, replay from
  the raw text when the file is gone), are judged again by the channel's current contract and
  reference data, with the code that ingests landing files (``ingest_files``): each original
  delivery is rebuilt in a scratch home as a file holding only the selected rows, each at its
  original line (record), and ingested against the original ingest clock (a timestamp in the
  future then is in the future still). Rows that now pass are appended to bronze as the
  release of batch ``replay-...``, as ingestion releases rows: their original ``_source_file``,
  ``_line``, ``_batch_id`` and ``_delivered_at``, with ``_released_by`` = the replay batch;
  exactly once (a ``Transaction`` per delivery and set of lines, and a look for rows a release
  already appended before it could record them). Silver is built for that batch, and their
  quarantine rows are marked ``released_by`` / ``released_at``. Rows that still fail stay,
  and the report says why, in today's words.

Not replayed: rows of a file no entity matched, a file that could not be read at all, and
bytes that were not UTF-8 (the raw text kept is not the bytes delivered); and a row whose file
was delivered again later (the later delivery is in bronze: replaying the old line would
ingest one record twice). Those need a new delivery.

The gates are the caller's (``lakehouse`` does not import ``data_quality``): ``gate(tables)``
validates every commit since each table's pin, records the outcome all or nothing, and raises
when one fails; it is called before silver reads what replay appended, and after.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from deltalake import DeltaTable

from lakehouse.home import Home
from lakehouse.ingest.quarantine import BRONZE_RETRYABLE, KEY, SCHEMA, merge_release_marks
from lakehouse.ingest.replay.judge import FAILING, judge
from lakehouse.ingest.replay.listing import IDENTITY, Selection, read_quarantine, scan_quarantine
from lakehouse.ingest.replay.report import ReplayReport
from lakehouse.ingest.replay.triage import triage
from lakehouse.storage.delta import append_files_once
from lakehouse.storage.paths import bronze_table_name, bronze_uri, quarantine_uri

BATCH_PREFIX = "replay-"
APP_VERSION = 1
QUARANTINE = "quarantine/rows"

Gate = Callable[[Sequence[str]], None]


def new_batch_id(now: datetime, identities: pl.DataFrame) -> str:
    """``replay-<UTC time>-<hash of the selected rows>``: under 32 characters, so Delta's
    per-file statistics hold it whole."""
    digest = hashlib.sha256(now.isoformat().encode())
    for row in identities.select(list(IDENTITY)).sort(list(IDENTITY)).iter_rows():
        digest.update(repr(row).encode())
    return f"{BATCH_PREFIX}{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{digest.hexdigest()[:6]}"


def mark_replayed(home: Home, identities: pl.DataFrame, at: datetime) -> None:
    """Record in the quarantine which batch released these rows (``released_by`` per row),
    only where no release is recorded yet: marking again changes nothing. Matched on the whole
    identity (key, batch, kind), not the key alone (``quarantine.mark_released``): a replayed
    line that silver holds back is a new pending row of the same key, left waiting."""
    if identities.is_empty():
        return
    marks = identities.select(
        *(pl.col(c).cast(SCHEMA[c]) for c in IDENTITY), pl.col("released_by").cast(pl.String),
        pl.lit(at).cast(pl.Datetime("us", "UTC")).alias("released_at")).unique()
    merge_release_marks(quarantine_uri(home), marks, IDENTITY,
                        ("quarantine.replayed.before", "quarantine.replayed.after"))


def _silver_tables(home: Home) -> list[str]:
    return [f"silver/{p.name}" for p in sorted(home.silver.glob("*"))
            if DeltaTable.is_deltatable(str(p))]


def replay(home: Home | str | Path, selection: Selection, *, gate: Gate,
           batch_id: str | None = None, now: datetime | None = None,
           build: Callable[..., object] | None = None) -> ReplayReport:
    """Replay the selected quarantine rows (see the module doc); safe to run again: what was
    released stays released and nothing reaches bronze twice. ``gate`` validates tables (see
    ``Gate``); ``build`` is ``lakehouse.silver.build_silver`` unless given."""
    home = home if isinstance(home, Home) else Home.resolve(home)
    if build is None:
        from lakehouse.silver import build_silver as build
    now = (now or datetime.now(UTC)).astimezone(UTC)
    chosen = scan_quarantine(home, raw=True).filter(selection.expr()).collect()
    open_rows = chosen.filter(pl.col("status") != "released")
    batch_id = batch_id or new_batch_id(now, open_rows)
    report = ReplayReport(batch_id, selection, selected=open_rows.height,
                          already_released=chosen.height - open_rows.height)
    pending = open_rows.filter(pl.col("status") == "pending")
    dead = open_rows.filter(pl.col("status") == "dead")
    # judged again from their raw text: dead rows, and rows that wait before bronze (a till's
    # local time whose store had no time zone yet: the store lists landed since decide)
    judged = pl.concat([dead, pending.filter(pl.col("error_kind").is_in(
        sorted(BRONZE_RETRYABLE)))])
    todo, recovered, skipped = triage(home, judged)
    passed, failing = judge(home, todo, batch_id, now) if not todo.is_empty() else ({}, None)

    appended = _append(home, passed, report)
    keys, ids = list(KEY), list(IDENTITY)
    passed_keys = pl.concat(
        [f.select(pl.lit(c).alias("_source_channel"), pl.lit(n).alias("_entity"),
                  "_source_file", "_line") for (c, n), parts in passed.items()
         for _, f in parts], how="vertical_relaxed") if passed else None
    replayed = (todo.join(passed_keys, on=keys, how="semi") if passed_keys is not None
                else todo.clear())
    report.recovered_batches = sorted(recovered["_in_batch"].unique().to_list())
    batches = [*report.recovered_batches]
    if not replayed.is_empty() or not pending.is_empty():
        batches.append(batch_id)
    if batches:
        if appended or report.recovered_batches:
            gate(sorted({*appended, QUARANTINE}))  # silver reads bronze at its pins
        for b in batches:
            result = build(home, b, identity=True)
            report.silver[b] = result.metadata() if hasattr(result, "metadata") else {}
        mark_replayed(home, pl.concat([
            replayed.select(*IDENTITY, pl.lit(batch_id).alias("released_by")),
            recovered.select(*IDENTITY, pl.col("_in_batch").alias("released_by"))]), now)
        gate([*_silver_tables(home), QUARANTINE])

    # what became of the selected rows
    after = read_quarantine(home)
    state = after.select(*IDENTITY, pl.col("released_by").alias("_by"))
    now_failing = failing if failing is not None else pl.DataFrame(schema=FAILING)
    pending = pending.join(state, on=ids, how="left")
    report.released = pending.filter(pl.col("_by").is_not_null()).drop("_by")
    # a row judged again that still waits: the reason it fails now
    report.waiting = pending.filter(pl.col("_by").is_null()).drop("_by").join(
        now_failing, on=keys, how="left").with_columns(
        pl.coalesce("field_now", "field").alias("field"),
        pl.coalesce("reason_now", "reason").alias("reason")).drop(
        "kind_now", "field_now", "reason_now")
    through = pl.concat([replayed, recovered.drop("_in_batch")])
    report.replayed = through.join(dead.select(ids), on=ids, how="semi")
    ours = [batch_id, *report.recovered_batches]
    newly = after.filter(pl.col("released_by").is_in(ours))
    report.released_unselected = newly.join(pending.select(ids), on=ids, how="anti").join(
        judged.select(ids), on=ids, how="anti").height
    # rows released into bronze that silver holds back: pending rows of the same lines
    report.now_pending = after.filter(
        (pl.col("status") == "pending") & ~pl.col("error_kind").is_in(sorted(BRONZE_RETRYABLE))
    ).join(through.select(keys), on=keys, how="semi")
    report.failing = todo.join(dead.select(ids), on=ids, how="semi").join(
        now_failing, on=keys, how="inner").with_columns(
        pl.col("kind_now").alias("error_kind"), pl.col("field_now").alias("field"),
        pl.col("reason_now").alias("reason")).drop("kind_now", "field_now", "reason_now")
    report.skipped = skipped.with_columns(pl.col("why").alias("reason")).drop("why")
    return report


def _append(home: Home, passed: dict[tuple[str, str], list[tuple[str, pl.DataFrame]]],
            report: ReplayReport) -> list[str]:
    """The rows that passed appended to bronze, exactly once: an application transaction per
    delivery and set of lines. Returns the bronze tables appended to (rows written or not)."""
    appended: list[str] = []
    for (channel, name), parts in sorted(passed.items()):
        uri = bronze_uri(home, channel, name)
        written = set(append_files_once(uri, [([a], f) for a, f in parts], APP_VERSION))
        rows_written = sum(f.height for a, f in parts if a in written)
        if rows_written:
            report.bronze_appended[bronze_table_name(channel, name)] = rows_written
        appended.append(f"bronze/{bronze_table_name(channel, name)}")
    return appended
