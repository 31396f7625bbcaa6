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
