"""Write-audit-publish of the analysts' warehouse file."""

import duckdb
import pytest

from lakehouse.home import Home
from lakehouse.warehouse.publish import (
    PublishRefused,
    build_path,
    checkpoint,
    publish,
    published_path,
    record_audit,
    relations,
)


def _build(home: Home, value: int) -> None:
    con = duckdb.connect(str(build_path(home)))
    con.execute("create schema if not exists marts")
    con.execute("create or replace table marts.t as select ? as v", [value])
    con.close()
    checkpoint(build_path(home))


def _published_value(home: Home) -> int:
    con = duckdb.connect(str(published_path(home)), read_only=True)
    try:
        return con.execute("select v from marts.t").fetchall()[0][0]
    finally:
        con.close()


def test_publishes_only_what_passed_its_audit(tmp_path):
    home = Home.resolve(tmp_path)
    with pytest.raises(PublishRefused, match="no warehouse build"):
        publish(home)
    _build(home, 1)
    with pytest.raises(PublishRefused, match="never audited"):
        publish(home)
    assert relations(build_path(home)) == ["marts.t"]
    record_audit(home, {"marts.t": False})
    with pytest.raises(PublishRefused, match=r"marts\.t"):
        publish(home)
    record_audit(home, {"marts.t": True})
    published = publish(home)
    assert published.relations == 1 and _published_value(home) == 1


def test_a_build_changed_after_its_audit_is_refused(tmp_path):
    home = Home.resolve(tmp_path)
    _build(home, 1)
    record_audit(home, {"marts.t": True})
    _build(home, 2)  # written after the audit: unvalidated
    with pytest.raises(PublishRefused, match="changed after its audit"):
        publish(home)
    assert not published_path(home).exists()


def test_an_unaudited_relation_blocks_publishing(tmp_path):
    home = Home.resolve(tmp_path)
    _build(home, 1)
    con = duckdb.connect(str(build_path(home)))
    con.execute("create table marts.extra as select 1 as v")
    con.close()
    record_audit(home, {"marts.t": True})
    with pytest.raises(PublishRefused, match=r"marts\.extra"):
        publish(home)


def test_an_analyst_holding_the_file_never_blocks_a_publish(tmp_path):
    home = Home.resolve(tmp_path)
    _build(home, 1)
    record_audit(home, {"marts.t": True})
    publish(home)
    analyst = duckdb.connect(str(published_path(home)))  # read-write: holds the file lock
    _build(home, 2)
    record_audit(home, {"marts.t": True})
    publish(home)
    # the analyst keeps a consistent view of the snapshot they opened...
    assert analyst.execute("select v from marts.t").fetchall() == [(1,)]
    analyst.close()
    # ...and the next session sees the new, audited one
    assert _published_value(home) == 2
