"""Delivery order must not matter (DESIGN.md rules 1, 2, 7): one simulated retailer, its landing
files delivered to other homes in any subsets and order, and a fingerprint of a lake to compare
those homes by content.

Why one module of ~600 lines: it is the shared harness of four suites (the two-run and the
`lakehouse dev` delivery-order tests, the hypothesis property test and the erasure canary), and
each of its parts (deliver, run, fingerprint, explain a difference) is used by all of them.

- :func:`simulate_source` simulates a retailer once; :class:`Source` lists its landing files.
- :func:`new_home` and :func:`deliver` make a home and land any subset of the files in it with
  their modification times (``shutil.copy2``): the mtime is the knowledge time
  ``_delivered_at``, so it must travel with the file.
- :func:`fingerprint` reads every Delta table under ``lake/silver`` and ``lake/gold`` (and every
  table and view of ``warehouse.duckdb``'s ``main`` schema when it exists) into a frame without
  the columns that record *when and how* rows arrived rather than *what* they say;
  :func:`differences` compares two fingerprints and names, per table, the rows that differ.
- Person and household ids are labels: two lakes may name the same person differently (rule 1
  asks for the same partition of records into persons). Every ``person_id`` (and
  ``household_id``) is replaced by the smallest keyed hash of the source records the lake
  assigns to that person (household), so relabelled persons compare equal and a different
  partition shows up as different rows, and
  :func:`identity_partition` compares the partitions themselves.
- :func:`quarantine` reads the quarantine with each row's status (dead, pending, released).
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from deltalake import DeltaTable

from lakehouse.home import Home
from lakehouse.ingest.quarantine import BRONZE_RETRYABLE, SILVER_RETRYABLE

# Reference documents (DESIGN.md rule 7 is about rows that arrive before these): the product
# master, the store list with shipping rates, suppliers and the promotion calendar. The
# suppliers channel also carries purchase-order events, which are not reference data.
REFERENCE = ("catalog/", "locations/", "suppliers/suppliers_", "promotions/")

# Every home of one comparison gets the same pseudonymisation key (a home's dev key is random
# otherwise), so keyed hashes of the same record are equal across homes.
HMAC_KEY = "convergence-test-key-0123456789abcdef"

# Columns that record arrival or the run, not content. Besides these, every column starting
# with "_" is lineage or ingestion time (``_source_file``, ``_line``, ``_batch_id``,
# ``_ingested_at``, ``_released_by``, ``_extra``) and is dropped, except ``_delivered_at``:
# knowledge time, the delivery time of the file that brought the row, which any delivery order
# of the same files must reproduce.
KEEP_UNDERSCORE = {"_delivered_at"}
RUN_TIME_COLUMNS: dict[str, set[str]] = {
    # bronze ingestion time of the ledger row (``_ingested_at``; alert watermarks use it)
    "silver/inventory_ledger": {"arrived_at"},
    # k-means clusters: its starts follow the rows' person-id order, and two lakes may label
    # the same persons differently (lakehouse.segments.matrix, a known gap); the RFM scores
    # and segments are compared
    "gold/customer_segments": {"cluster", "cluster_name"},
    "warehouse/dim_customer_segments": {"cluster_id", "cluster_name", "cluster_description",
                                        "cluster_persons", "cluster_share", "segmented_as_of",
                                        "recency_days"},
}
# Tables that are a log of runs rather than state: left out of the fingerprint whole.
RUN_LOG_TABLES = {
    # appended by every identity run (new, merged and split person ids, *when* and why): two
    # deliveries legitimately leave a longer history than one
    "gold/person_id_history",
    # one row per k-means cluster (see RUN_TIME_COLUMNS' customer_segments)
    "gold/customer_segment_profiles",
}
# (the warehouse's load manifest and mart freshness live in ``lakehouse_meta``, not in ``main``:
# only ``main`` is compared)
# The ML marts are "as of" the publish time (wall clock): ``as_of`` is the run's instant and
# these features are durations up to it. They are compared as the instant they measure from
# (``as_of`` minus the duration, to the millisecond), so the event times behind them still
# count and the publish time does not. The windowed counts (``events_7d``, ``orders_90d``...)
# are as_of-relative too; they are kept: with the simulator's default start (2026-01-01) and a
# run more than 90 days later, every window edge falls after the data in both lakes.
AS_OF_DURATIONS: dict[str, tuple[str, ...]] = {
    "gold/ml_customer_features": ("recency_days", "tenure_days", "days_since_last_visit"),
    "gold/ml_product_features": ("days_since_last_sale",),
    "gold/customer_segments": ("recency_days",),
}
# floats are compared to this many significant digits: sums over the same rows in a
# different order differ in the last bits
SIG_FIGS = 10


# --------------------------------------------------------------------------- the source


@dataclass(frozen=True)
class Source:
    """A simulated retailer: its home (landing files and truth) and its landing files."""

    root: Path
    files: tuple[str, ...]  # relative to landing/, "/"-separated, sorted

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def truth(self) -> Path:
        return self.root / "truth"

    @property
    def reference(self) -> tuple[str, ...]:
        return tuple(f for f in self.files if is_reference(f))

    @property
    def events(self) -> tuple[str, ...]:
        return tuple(f for f in self.files if not is_reference(f))

    def of(self, *prefixes: str) -> tuple[str, ...]:
        return tuple(f for f in self.files if f.startswith(prefixes))


def is_reference(relpath: str) -> bool:
    return relpath.startswith(REFERENCE)


def landing_files(root: Path) -> tuple[str, ...]:
    landing = Path(root) / "landing"
    return tuple(sorted(p.relative_to(landing).as_posix() for p in landing.rglob("*")
                        if p.is_file() and not p.name.startswith(".")))


def simulate_source(root: Path, config) -> Source:
    """Simulate a retailer (``config``: a ``SimConfig``) into ``root``; nothing is ingested."""
    from lakehouse.simulate import simulate

    simulate(Home.resolve(root), config)
    return Source(Path(root), landing_files(root))


def new_home(root: Path) -> Path:
    """An empty home with the shared pseudonymisation key."""
    root = Path(root)
    key = root / "secrets" / "hmac.key"
    key.parent.mkdir(parents=True, exist_ok=True)
    key.write_text(HMAC_KEY)
    key.chmod(0o600)
    (root / "landing").mkdir(exist_ok=True)
    return root


def deliver(source: Source, home: Path, files) -> list[str]:
    """Land ``files`` (relative paths of ``source``) in ``home``'s landing zone, content and
    modification time (knowledge time) preserved. Written under a hidden name and renamed, as
    a feed that delivers atomically would, so a watching sensor never sees half a file."""
    done = []
    for rel in files:
        target = Path(home) / "landing" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(f".{target.name}.part")
        shutil.copy2(source.landing / rel, part)
        part.rename(target)
        done.append(rel)
    return done


# --------------------------------------------------------------------------- processing
# The lakehouse functions the pipeline runs, each behind its gates (tests/gated.py).


def batch_run(home: Path) -> None:
    """What ``materialize_all`` (``lakehouse run``) does with what has landed:
    orchestration/assets/bronze.py with no file list (every landed file; those ingested
    before are skipped, exactly once), silver.py on the batch bronze ingested, then
    inventory.py and identity.py. (dbt and the warehouse: only the e2e tests run them.)"""
    from lakehouse.ingest import batch_id_for, discover, ingest_files
    from tests.gated import build_inventory, build_silver, resolve_home

    files = discover(home)
    batch = batch_id_for(files)
    ingest_files(home, files, batch)
    build_silver(home, batch)  # gates bronze and quarantine first, as the bronze step does
    build_inventory(Home.resolve(home))
    resolve_home(Home.resolve(home))


def micro_batch(home: Path, new: list[str]) -> None:
    """What a ``micro_batch`` run does with the landing sensor's new files: bronze, silver
    without the identity inputs (left to the next batch run), ``inventory_live``."""
    from lakehouse.ingest import batch_id_for, discover, ingest_files
    from tests.gated import apply_micro_batch, build_silver

    files = [f for f in discover(home) if f.relpath in set(new)]
    batch = batch_id_for(files)
    ingest_files(home, files, batch)
    build_silver(home, batch, identity=False)
    apply_micro_batch(Home.resolve(home), batch)


def publish_ml(home: Path) -> None:
    """The ``ml_feature_marts`` step: both marts from validated versions, then their gates."""
    from lakehouse.ml import publish_feature_marts
    from tests.gated import gate

    gate(home, "silver", "gold")
    publish_feature_marts(Home.resolve(home))
    gate(home, "gold")


def describe(deliveries: list[tuple[list[str], str]]) -> str:
    """A plan in one line: each delivery's processing, file count and reference files."""
    return " then ".join(
        f"{how}[{len(files)} files" + "".join(f", {f}" for f in files if is_reference(f)) + "]"
        for files, how in deliveries)


def build(source: Source, home: Path, deliveries: list[tuple[list[str], str]],
          ml: bool = True) -> Path:
    """A new home; land each delivery in turn and process it ("run": a batch run, "micro": a
    micro-batch); a batch run after the last one if it was a micro-batch, as the nightly
    schedule follows micro-batches; then (``ml``) the ML marts, once: they are replaced whole
    from validated versions by every run, so only the last publish counts."""
    new_home(home)
    for files, how in deliveries:
        deliver(source, home, files)
        if how == "run":
            batch_run(home)
        else:
            micro_batch(home, files)
    if deliveries and deliveries[-1][1] != "run":
        batch_run(home)
    if ml:
        publish_ml(home)
    return home


# --------------------------------------------------------------------------- the fingerprint


@dataclass
class Fingerprint:
    """Comparable content of a lake: table name ("silver/orders", "warehouse/fct_orders") to a
    sorted frame, the columns dropped from each, and the identity partition."""

    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    dropped: dict[str, list[str]] = field(default_factory=dict)
    persons: frozenset[frozenset[str]] | None = None


def _delta(uri: Path) -> pl.DataFrame:
    return pl.from_arrow(DeltaTable(str(uri)).to_pyarrow_table())  # type: ignore[return-value]


def id_labels(identity_map: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Per id column (``person_id``, ``household_id`` when the map has it): id -> a label that
    does not depend on the lake's naming, the smallest ``source:hash`` of the records assigned
    to it (keyed hashes of record ids)."""
    records = identity_map.filter(pl.col("identifier_type") == "record")
    return {c: records.group_by(c).agg(
        (pl.col("source") + ":" + pl.col("identifier_hash")).min().alias("_label"))
        for c in ("person_id", "household_id") if c in records.columns}


def identity_partition(identity_map: pl.DataFrame) -> frozenset[frozenset[str]]:
    """The persons as sets of source records (``source:keyed hash``), labels ignored."""
    records = identity_map.filter(pl.col("identifier_type") == "record").select(
        "person_id", (pl.col("source") + ":" + pl.col("identifier_hash")).alias("record"))
    groups = records.group_by("person_id").agg(pl.col("record"))
    return frozenset(frozenset(r) for r in groups["record"].to_list())


def _normalise(name: str, frame: pl.DataFrame, labels: dict[str, pl.DataFrame] | None,
               ) -> tuple[pl.DataFrame, list[str]]:
    drop = [c for c in frame.columns
            if (c.startswith("_") and c not in KEEP_UNDERSCORE)
            or c in RUN_TIME_COLUMNS.get(name, set())]
    frame = frame.drop(drop)
    durations = [c for c in AS_OF_DURATIONS.get(name, ()) if c in frame.columns]
    if durations and "as_of" in frame.columns:
        frame = frame.with_columns(
            (pl.col("as_of") - pl.duration(microseconds=(pl.col(c) * 86_400e6).round()
                                           .cast(pl.Int64))).dt.round("1ms").alias(c)
            for c in durations).drop("as_of")
        drop.append("as_of")
    for column, label in (labels or {}).items():
        if column in frame.columns:
            frame = frame.join(label, on=column, how="left", maintain_order="left")
            frame = frame.with_columns(
                pl.coalesce("_label", pl.lit("unlabelled:") + pl.col(column))
                .alias(column)).drop("_label")
    out = []
    for c, dtype in frame.schema.items():
        if isinstance(dtype, pl.List | pl.Array | pl.Struct):
            out.append(pl.struct(pl.col(c)).struct.json_encode().alias(c))
        elif dtype.is_float():
            out.append(pl.col(c).round_sig_figs(SIG_FIGS))
        elif isinstance(dtype, pl.Object | pl.Null):
            out.append(pl.col(c).cast(pl.String))
    if out:
        frame = frame.with_columns(out)
    frame = frame.select(sorted(frame.columns))
    return frame.sort(frame.columns, nulls_last=True, maintain_order=True), drop


def _warehouse(path: Path) -> dict[str, pl.DataFrame]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [n for (n,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'main' "
            "order by table_name").fetchall()]
        return {f"warehouse/{n}": con.sql(f'select * from main."{n}"').pl() for n in names}
    finally:
        con.close()


def fingerprint(home: Path, layers: tuple[str, ...] = ("silver", "gold"), *,
                warehouse: bool = True, only: set[str] | None = None) -> Fingerprint:
    """The comparable content of ``home``'s lake (``only``: these table names, e.g.
    ``{"silver/orders"}``, else every table of ``layers``), see the module docstring."""
    lake = Path(home) / "lake"
    raw: dict[str, pl.DataFrame] = {}
    for layer in layers:
        for path in sorted((lake / layer).glob("*")):
            name = f"{layer}/{path.name}"
            if (only is None or name in only) and DeltaTable.is_deltatable(str(path)):
                raw[name] = _delta(path)
    db = Path(home) / "warehouse.duckdb"
    if warehouse and db.exists():
        raw.update({k: v for k, v in _warehouse(db).items() if only is None or k in only})
    identity = lake / "gold" / "identity_map"
    labels = persons = None
    if DeltaTable.is_deltatable(str(identity)):
        idmap = _delta(identity)
        labels, persons = id_labels(idmap), identity_partition(idmap)
    fp = Fingerprint(persons=persons)
    for name, frame in raw.items():
        if name in RUN_LOG_TABLES:
            continue
        fp.tables[name], fp.dropped[name] = _normalise(name, frame, labels)
    return fp


# columns tried first (in this order) as the key that pairs differing rows for the report
_KEY_FIRST = ("person_id", "order_id", "event_id", "transaction_id", "shipment_id", "return_id",
              "review_id", "movement_id", "po_number", "record_id", "product_id", "location_id",
              "source", "identifier_type", "identifier_hash", "system", "code", "channel",
              "zone", "date", "snapshot_date", "line_id", "line_no", "event_key")


def _key(name: str, a: pl.DataFrame, b: pl.DataFrame) -> list[str] | None:
    """Columns that identify the rows of both frames: the silver table's key, else the fewest
    leading columns of ``_KEY_FIRST`` (then the rest) that are unique in both."""
    from lakehouse.silver import LAYOUTS

    layer, _, table = name.partition("/")
    layout = LAYOUTS.get(table) if layer == "silver" else None
    candidates = []
    if layout is not None and set(layout.key) <= set(a.columns):
        candidates.append(list(layout.key))
    order = [c for c in _KEY_FIRST if c in a.columns]
    order += sorted(c for c in a.columns if c.endswith("_id") and c not in order)
    order += [c for c in a.columns if c not in order]
    candidates += [order[:n] for n in range(1, min(5, len(order)) + 1)]
    for cols in candidates:
        if all(f.select(cols).is_unique().all() for f in (a, b) if f.height):
            return cols
    return None


def _show(row: dict, limit: int = 300) -> str:
    text = json.dumps(row, default=str, sort_keys=False)
    return text if len(text) <= limit else text[:limit] + "..."


def table_differences(name: str, a: pl.DataFrame, b: pl.DataFrame, labels=("A", "B"),
                      examples: int = 3) -> list[str]:
    """How two normalised frames of one table differ: columns, row counts and a few rows
    (paired by key, naming the columns that differ, when a key can be found)."""
    la, lb = labels
    out = []
    if set(a.columns) != set(b.columns):
        out.append(f"{name}: columns only in {la}: {sorted(set(a.columns) - set(b.columns))}, "
                   f"only in {lb}: {sorted(set(b.columns) - set(a.columns))}")
        common = [c for c in a.columns if c in set(b.columns)]
        a, b = a.select(common), b.select(common)
    if a.schema != b.schema:
        b = b.cast(dict(a.schema), strict=False)  # type: ignore[arg-type]
    if a.equals(b, null_equal=True):
        return out
    cols = a.columns
    # multiset difference: number each copy of a row
    na = a.with_columns(pl.int_range(pl.len()).over(cols).alias("__n"))
    nb = b.with_columns(pl.int_range(pl.len()).over(cols).alias("__n"))
    only_a = na.join(nb, on=[*cols, "__n"], how="anti", nulls_equal=True).drop("__n")
    only_b = nb.join(na, on=[*cols, "__n"], how="anti", nulls_equal=True).drop("__n")
    if only_a.is_empty() and only_b.is_empty():
        return out
    out.append(f"{name}: {a.height} rows in {la}, {b.height} in {lb}; {only_a.height} rows "
               f"only in {la}, {only_b.height} only in {lb}")
    key = _key(name, only_a, only_b) if only_a.height and only_b.height else None
    if key:
        pairs = only_a.join(only_b, on=key, how="inner", suffix="__b", nulls_equal=True)
        for row in pairs.head(examples).iter_rows(named=True):
            diff = {c: (row[c], row[f"{c}__b"]) for c in cols
                    if c not in key and row[c] != row[f"{c}__b"]}
            out.append(f"  {dict((k, row[k]) for k in key)} differs ({la}, {lb}): "
                       f"{_show(diff, 600)}")
        only_a = only_a.join(pairs.select(key), on=key, how="anti", nulls_equal=True)
        only_b = only_b.join(pairs.select(key), on=key, how="anti", nulls_equal=True)
    for label, rows in ((la, only_a), (lb, only_b)):
        for row in rows.head(examples).iter_rows(named=True):
            out.append(f"  only in {label}: {_show(row)}")
        if rows.height > examples:
            out.append(f"  ... and {rows.height - examples} more only in {label}")
    return out


def differences(a: Fingerprint, b: Fingerprint, labels=("A", "B"),
                tables: set[str] | None = None, examples: int = 3) -> list[str]:
    """Every way two fingerprints differ, table by table (empty when they are equal)."""
    la, lb = labels
    names_a, names_b = set(a.tables), set(b.tables)
    if tables is not None:
        names_a, names_b = names_a & tables, names_b & tables
    out = []
    if names_a != names_b:
        out.append(f"tables only in {la}: {sorted(names_a - names_b)}, "
                   f"only in {lb}: {sorted(names_b - names_a)}")
    if a.persons is not None and b.persons is not None and a.persons != b.persons and (
            tables is None or "gold/identity_map" in tables):
        pa, pb = a.persons - b.persons, b.persons - a.persons
        out.append(f"identity: {len(a.persons)} persons in {la}, {len(b.persons)} in {lb}; "
                   f"{len(pa)} record sets only in {la}, {len(pb)} only in {lb}")
        for label, persons in ((la, pa), (lb, pb)):
            for p in sorted(sorted(p) for p in persons)[:examples]:
                out.append(f"  person only in {label}: {p}")
    for name in sorted(names_a & names_b):
        out += table_differences(name, a.tables[name], b.tables[name], labels, examples)
    return out


def assert_same(a: Fingerprint, b: Fingerprint, labels=("one delivery", "in batches"),
                tables: set[str] | None = None, context: str = "") -> None:
    raise_failures(context, differences(a, b, labels, tables))


def raise_failures(header: str, failures: list[str]) -> None:
    """Fail with every finding at once, under ``header``; raised, not asserted: pytest's
    rewriting would repeat the whole message."""
    if failures:
        raise AssertionError((header + "\n" if header else "") + "\n".join(failures))


# --------------------------------------------------------------------------- the quarantine


def quarantine(home: Path) -> pl.DataFrame:
    """Every quarantine row with ``file`` (``channel/name``), ``line`` and ``status``: dead
    (wrong for good), pending (a retryable kind, not released) or released."""
    from lakehouse.ingest.quarantine import RETRYABLE_KINDS

    frame = _delta(Path(home) / "lake" / "quarantine" / "rows")
    if "released_by" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.String).alias("released_by"))
    return frame.with_columns(
        pl.col("_source_file").alias("file"), pl.col("_line").alias("line"),
        pl.when(pl.col("released_by").is_not_null()).then(pl.lit("released"))
        .when(pl.col("error_kind").is_in(sorted(RETRYABLE_KINDS))).then(pl.lit("pending"))
        .otherwise(pl.lit("dead")).alias("status"))


def faults(source: Source) -> pl.DataFrame:
    """The simulator's corrupted rows: ``file`` (``channel/name``), ``line``, ``kind``..."""
    return pl.read_parquet(source.truth / "faults.parquet").with_columns(
        (pl.col("channel") + "/" + pl.col("file")).alias("file"))


# What a retryable kind waits for: the landing files that would bring the reference, and the
# truth table (and column) in which the simulator's world holds it.
REFERENCED_BY_KIND = {
    "unknown_product": (("catalog/",), "products.parquet", "product_id"),
    "unknown_location": (("locations/",), None, None),
    "unknown_supplier": (("suppliers/suppliers_",), "products.parquet", "supplier_id"),
    "unknown_order": (("orders/",), "orders.parquet", "order_id"),
    "unknown_transaction": (("pos/",), "orders.parquet", "order_id"),
}


def referenced_value(row: dict) -> str | None:
    """The value a pending row waits for: its raw record's ``field``, else the first
    backquoted value of its reason."""
    try:
        record = json.loads(row["raw"])
        value = record.get(row["field"]) if isinstance(record, dict) else None
        if value is not None:
            return str(value)
    except (TypeError, ValueError):
        pass
    quoted = re.findall(r"`([^`]*)`", row.get("reason") or "")
    quoted = [q for q in quoted if q != row["field"]]
    return quoted[0] if quoted else None


def unexplained_pending(source: Source, delivered, pending: pl.DataFrame) -> list[str]:
    """Pending rows that are neither a simulator ``unknown_product`` fault nor a row whose
    reference truly never arrived: for each, the value it waits for must occur in none of the
    delivered files that would bring it (searched as text) and, where the truth has the
    entity, the simulator's world must hold it (a real record in flight at the end of the
    simulation, not a corruption the truth does not list)."""
    injected = faults(source).filter(pl.col("kind") == "unknown_product").select("file", "line")
    rest = pending.join(injected, on=["file", "line"], how="anti")
    texts: dict[str, str] = {}
    problems = []
    for row in rest.iter_rows(named=True):
        kind = row["error_kind"]
        if kind not in REFERENCED_BY_KIND:
            problems.append(f"{row['file']} line {row['line']}: pending kind {kind} unknown to "
                            f"this test: {row['reason']}")
            continue
        prefixes, truth_table, truth_column = REFERENCED_BY_KIND[kind]
        value = referenced_value(row)
        if not value:
            problems.append(f"{row['file']} line {row['line']}: no referenced value in "
                            f"{row['reason']!r}")
            continue
        files = [f for f in delivered if f.startswith(prefixes)]
        found = [f for f in files if value in texts.setdefault(
            f, (source.landing / f).read_bytes().decode("utf-8", "replace"))]
        if found:
            problems.append(f"{row['file']} line {row['line']} ({kind}) still pending, but "
                            f"{value!r} was delivered in {found[:3]}: {row['reason']}")
            continue
        if truth_table:
            world = pl.read_parquet(source.truth / truth_table)[truth_column]
            if value not in set(world.cast(pl.String).to_list()):
                problems.append(f"{row['file']} line {row['line']} ({kind}): {value!r} is in "
                                f"no delivered file and not in truth/{truth_table} either, "
                                "and truth/faults.parquet does not list the row")
    return problems


def check_truth(source: Source, home: Path) -> None:
    """The quarantine of a lake holding every file, against the simulator's truth: dead rows
    are exactly its corrupted rows but the unknown product codes; pending rows are those
    codes plus the rows whose reference truly never arrived (checked one by one)."""
    q = quarantine(home)
    injected = faults(source)
    dead = q.filter(pl.col("status") == "dead").select("file", "line", kind="error_kind")
    expected = injected.filter(pl.col("kind") != "unknown_product").select("file", "line",
                                                                           "kind")
    surplus = q.join(dead.join(expected, on=["file", "line", "kind"], how="anti"),
                     on=["file", "line"], how="semi")
    missing = expected.join(dead, on=["file", "line", "kind"], how="anti")
    assert surplus.is_empty() and missing.is_empty(), (
        f"dead rows that are no simulator fault: "
        f"{surplus.select('file', 'line', 'error_kind', 'reason').head(5).to_dicts()}; "
        f"simulator faults not dead: {missing.head(5).to_dicts()}")
    pending = q.filter(pl.col("status") == "pending")
    codes = injected.filter(pl.col("kind") == "unknown_product").select("file", "line")
    not_pending = codes.join(pending, on=["file", "line"], how="anti")
    assert not_pending.is_empty(), f"unknown_product faults not pending: {not_pending.to_dicts()}"
    problems = unexplained_pending(source, source.files, pending)
    assert not problems, "\n".join(problems)


def quarantine_failures(home: Path, one: Path) -> list[str]:
    """What ``check_quarantine`` finds, as a failure to report with the lake's differences
    (none when the quarantine is as one delivery's)."""
    try:
        check_quarantine(home, one)
    except AssertionError as e:
        return [f"quarantine: {e}"]
    return []


def check_quarantine(home: Path, one: Path) -> None:
    """The quarantine after the deliveries, against one delivery's: the same dead rows, the
    same rows still pending, every other retryable row released, once, none quarantined
    twice (so, by ``check_truth`` on the one-delivery lake, dead = the simulator's faults).

    One step may hold a line back once: a till line released into bronze when its store's
    time zone lands can be held back by silver in the same build (its product not listed
    yet). The quarantine keeps both steps, as a replay does (``ReplayReport.now_pending``):
    the bronze row released, and a row of silver's kind."""
    q, q1 = quarantine(home), quarantine(one)
    on = ["_source_channel", "_entity", "file", "line"]
    into_bronze = (pl.col("status") == "released") & pl.col("error_kind").is_in(
        sorted(BRONZE_RETRYABLE))
    for step in (q.filter(into_bronze), q.filter(~into_bronze)):
        keys = step.select(on)
        assert keys.is_unique().all(), ("rows quarantined twice",
                                        step.filter(keys.is_duplicated()).head(5).to_dicts())
    again = q.filter(~into_bronze).join(q.filter(into_bronze), on=on, how="semi")
    assert again["error_kind"].is_in(sorted(SILVER_RETRYABLE)).all(), (
        "a line released into bronze and quarantined again, not by silver",
        again.head(5).to_dicts())
    cols = ["file", "line", "error_kind"]
    for status in ("dead", "pending"):
        got = q.filter(pl.col("status") == status)
        want = q1.filter(pl.col("status") == status)
        surplus = got.join(want, on=cols, how="anti").select(*cols, "reason")
        missing = want.join(got, on=cols, how="anti").select(*cols, "reason")
        assert surplus.is_empty() and missing.is_empty(), (
            f"{status} rows not {status} after one delivery ({surplus.height}): "
            f"{surplus.head(5).to_dicts()}; {status} after one delivery but not here "
            f"({missing.height}, their status here: "
            f"{q.join(missing, on=cols, how='semi')['status'].value_counts().rows()}): "
            f"{missing.head(5).to_dicts()}")
    released = q.filter(pl.col("status") == "released")
    assert released["released_at"].is_not_null().all()
