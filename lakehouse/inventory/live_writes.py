"""The micro-batch's writes (``live.py``): each one commit carrying the batch's app transaction
``Transaction("lakehouse.inventory/<batch>", 1)``, so re-applying a batch is seen and changes
nothing, and a crash between two tables' commits is seen by which tables lack the batch.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake

from lakehouse.inventory.ledger_table import PARTITION, LedgerTable
from lakehouse.storage.delta import to_arrow, writer_properties
from lakehouse.storage.faults import fault
from lakehouse.storage.objects import ensure_parent

APP = "lakehouse.inventory"
APP_VERSION = 1


def app_id(batch_id: str) -> str:
    return f"{APP}/{batch_id}"


def batch_commit(aid: str) -> CommitProperties:
    """Commit properties recording the batch (``aid``, see ``app_id``) on the table."""
    return CommitProperties(app_transactions=[Transaction(aid, APP_VERSION)])


def mark_batch(uri: str, aid: str) -> None:
    """Record the batch on a table without changing rows (an empty append)."""
    dt = DeltaTable(uri)
    empty = pa.schema(dt.schema().to_arrow()).empty_table()
    fault("live.mark.before", uri)
    write_deltalake(dt, empty, mode="append", commit_properties=batch_commit(aid))
    fault("live.mark.after", uri)


def merge_counts(changed: pl.DataFrame, stored: pl.DataFrame) -> tuple[int, int]:
    """(inserted, updated) of an upsert of ``changed`` over ``stored`` on ``event_key``."""
    replaced = stored.join(changed.select("event_key"), on="event_key", how="semi").height
    return changed.height - replaced, replaced


def merge_ledger(ledger: LedgerTable, changed: pl.DataFrame, stored: pl.DataFrame,
                 aid: str) -> tuple[int, int]:
    """Upsert the changed rows on ``event_key`` (one commit with the batch's app id), pruned
    to the partitions the new and the replaced rows live in."""
    dt = ledger.dt
    assert dt is not None
    if changed.is_empty():
        mark_batch(ledger.uri, aid)
        return 0, 0
    replaced = stored.join(changed.select("event_key"), on="event_key", how="semi")
    data = to_arrow(changed)
    if replaced.is_empty():
        fault("live.append.before", ledger.uri)
        write_deltalake(dt, data, mode="append", commit_properties=batch_commit(aid),
                        writer_properties=writer_properties(changed))
        fault("live.append.after", ledger.uri)
        return changed.height, 0
    days = sorted(set(changed[PARTITION].drop_nulls().to_list())
                  | set(replaced[PARTITION].drop_nulls().to_list()))
    pred = "t.event_key = s.event_key"
    if days and not (changed[PARTITION].null_count() or replaced[PARTITION].null_count()):
        pred += f" AND t.{PARTITION} IN ({', '.join(repr(d.isoformat()) for d in days)})"
    fault("live.merge.before", ledger.uri)
    (dt.merge(data, predicate=pred, source_alias="s", target_alias="t",
              commit_properties=batch_commit(aid), writer_properties=writer_properties(changed))
     .when_matched_update_all().when_not_matched_insert_all().execute())
    fault("live.merge.after", ledger.uri)
    return changed.height - replaced.height, replaced.height


def replace_table(uri: str, frame: pl.DataFrame, aid: str) -> int:
    """Overwrite a table whole with ``frame``, recording the batch; its new version."""
    ensure_parent(uri)
    fault("live.replace.before", uri)
    write_deltalake(uri, to_arrow(frame), mode="overwrite", schema_mode="overwrite",
                    commit_properties=batch_commit(aid), writer_properties=writer_properties(frame))
    fault("live.replace.after", uri)
    return DeltaTable(uri).version()
