"""The validated-version registry: only versions a gate passed are readable as validated."""

from datetime import UTC, datetime

import pyarrow as pa
from deltalake import write_deltalake

from lakehouse.storage.validations import record_validation, validated_version, validated_versions


def test_records_newest_passed_version_per_table(tmp_path):
    lake = tmp_path / "lake"
    orders = lake / "silver" / "orders"
    for n in range(3):
        write_deltalake(str(orders), pa.table({"x": [n]}), mode="append")
    assert validated_version(orders) is None
    record_validation(orders, 0, "silver.orders", 1, "run-a",
                      at=datetime(2026, 1, 1, tzinfo=UTC))
    record_validation(orders, 2, "silver.orders", 1, "run-b",
                      at=datetime(2026, 1, 3, tzinfo=UTC))
    record_validation(lake / "gold" / "identity_map", 5, "gold.identity_map", 9)
    assert validated_version(orders) == 2
    # version 1 was never validated: it is never what a reader gets
    assert validated_version(orders, as_of=datetime(2026, 1, 2, tzinfo=UTC)) == 0
    assert validated_versions(lake) == {"silver/orders": 2, "gold/identity_map": 5}


def test_batched_records_commit_once_when_the_block_ends(tmp_path):
    from deltalake import DeltaTable

    from lakehouse.storage.validations import batched, registry_uri

    lake = tmp_path / "lake"
    with batched():
        record_validation(lake / "silver" / "a", 1, "s.a", 3)
        record_validation(lake / "silver" / "b", 4, "s.b", 5)
        assert validated_versions(lake) == {}  # not yet committed
    assert validated_versions(lake) == {"silver/a": 1, "silver/b": 4}
    assert DeltaTable(registry_uri(lake)).version() == 0  # one commit for both


def test_a_failed_gate_is_recorded_and_never_moves_the_pin(tmp_path):
    orders = tmp_path / "lake" / "silver" / "orders"
    record_validation(orders, 3, "silver.orders", 10)
    record_validation(orders, 4, "silver.orders", 2, passed=False, from_version=3)
    assert validated_version(orders) == 3
    from lakehouse.storage.validations import outcomes

    rows = outcomes(tmp_path / "lake")
    assert rows["passed"].to_list() == [True, False]
    assert rows["from_version"].to_list() == [-1, 3]


def test_a_step_records_its_gates_all_or_nothing(tmp_path):
    import pytest

    from lakehouse.storage.validations import batched

    lake = tmp_path / "lake"
    with batched():
        record_validation(lake / "gold" / "identity_map", 7, "gold.identity_map", 5)
        record_validation(lake / "gold" / "customer_profiles", 7, "gold.customer_profiles", 5,
                          passed=False)
    # identity_map passed, but its sibling failed: neither table gets a new pin
    assert validated_versions(lake) == {}
    with pytest.raises(RuntimeError), batched():
        record_validation(lake / "gold" / "identity_map", 8, "gold.identity_map", 5)
        raise RuntimeError("the step failed after the gate")
    assert validated_versions(lake) == {}
    with batched():
        record_validation(lake / "gold" / "identity_map", 9, "gold.identity_map", 5)
        record_validation(lake / "gold" / "customer_profiles", 9, "gold.customer_profiles", 5)
    assert validated_versions(lake) == {"gold/identity_map": 9, "gold/customer_profiles": 9}


def test_a_registry_written_before_outcomes_were_recorded_reads_as_passed(tmp_path):
    from lakehouse.storage.validations import registry_uri

    lake = tmp_path / "lake"
    old = pa.table({"table": ["silver/orders"], "version": [2], "suite": ["silver.orders"],
                    "rows_validated": [1], "run_id": ["r"],
                    "validated_at": pa.array([datetime(2026, 1, 1, tzinfo=UTC)],
                                             pa.timestamp("us", "UTC"))})
    write_deltalake(registry_uri(lake), old)
    assert validated_versions(lake) == {"silver/orders": 2}
    record_validation(lake / "silver" / "orders", 3, "silver.orders", 1, passed=False)
    assert validated_versions(lake) == {"silver/orders": 2}


def test_validated_readers_read_the_pin_or_refuse(tmp_path):
    import pytest

    from lakehouse.storage.validations import NotValidatedError, read_validated

    orders = tmp_path / "lake" / "silver" / "orders"
    assert read_validated(orders) is None  # no table: nothing unvalidated to read
    write_deltalake(str(orders), pa.table({"x": [1]}))
    with pytest.raises(NotValidatedError, match="silver/orders"):
        read_validated(orders)
    record_validation(orders, 0, "silver.orders", 1)
    write_deltalake(str(orders), pa.table({"x": [2]}), mode="append")  # not checked yet
    assert read_validated(orders)["x"].to_list() == [1]


def test_pins_read_in_batches_equal_the_pins_of_the_whole_audit_trail(tmp_path):
    """Pins and pinned checks read three columns batch by batch; they must equal what the
    whole audit trail (``outcomes``) says, over files of old and new schemas, failures,
    several commits and ``as_of`` cut-offs."""
    import random

    import polars as pl

    from lakehouse.storage.validations import batched, outcomes, passed_among, registry_uri

    rng = random.Random(7)
    lake = tmp_path / "lake"
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # an old registry's file: no `passed` (every row a pass) and no `from_version`
    write_deltalake(registry_uri(lake), pa.table({
        "table": [f"silver/t{i % 3}" for i in range(30)], "version": list(range(30)),
        "suite": ["s"] * 30, "rows_validated": [1] * 30, "run_id": ["r"] * 30,
        "validated_at": pa.array([start.replace(minute=i) for i in range(30)],
                                 pa.timestamp("us", "UTC"))}))
    for commit in range(12):
        with batched():
            for _ in range(rng.randint(1, 30)):
                name = f"t{rng.randint(0, 5)}"
                record_validation(lake / "silver" / name, rng.randint(0, 400), "s", 1,
                                  at=start.replace(hour=1 + commit, minute=rng.randint(0, 59)),
                                  passed=rng.random() > 0.2)
    every = outcomes(lake)
    for as_of in (None, start.replace(minute=10), start.replace(hour=5), start.replace(hour=23)):
        rows = every.filter(pl.col("passed"))
        if as_of is not None:
            rows = rows.filter(pl.col("validated_at") <= as_of)
        expected = dict(rows.group_by("table").agg(pl.col("version").max()).iter_rows())
        assert validated_versions(lake, as_of) == expected
    passes = set(every.filter(pl.col("passed")).select("table", "version").iter_rows())
    asked = {f"silver/t{i}": v for i, v in enumerate(rng.sample(range(400), 6))}
    asked["silver/t1"] = 4  # an old-schema row: a pass
    assert passed_among(lake, asked) == {(t, v) for t, v in asked.items() if (t, v) in passes}
    assert ("silver/t1", 4) in passed_among(lake, asked)


def test_pins_are_read_once_per_registry_version_and_never_stale(tmp_path, monkeypatch):
    import shutil

    import lakehouse.storage.validations as validations

    scans = []
    real = validations._passes
    monkeypatch.setattr(validations, "_passes",
                        lambda *a, **k: (scans.append(1), real(*a, **k))[1])
    lake = tmp_path / "lake"
    record_validation(lake / "silver" / "orders", 3, "silver.orders", 1)
    assert validated_versions(lake) == {"silver/orders": 3}
    assert validated_versions(lake) == {"silver/orders": 3}
    assert len(scans) == 1  # the same registry version: read once
    record_validation(lake / "silver" / "orders", 4, "silver.orders", 1)
    assert validated_versions(lake) == {"silver/orders": 4}  # a new version: read again
    assert len(scans) == 2
    # the registry deleted and made again at the same place, at the same version number
    shutil.rmtree(validations.registry_uri(lake))
    record_validation(lake / "silver" / "returns", 7, "silver.returns", 1)
    record_validation(lake / "silver" / "returns", 8, "silver.returns", 1, passed=False)
    assert validated_versions(lake) == {"silver/returns": 7}
