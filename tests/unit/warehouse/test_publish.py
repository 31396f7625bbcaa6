"""Write-audit-publish of the analysts' warehouse file."""

import json
import os
import signal
import subprocess
import sys

import duckdb
import pytest

from lakehouse.home import Home
from lakehouse.warehouse.publish import (
    PUBLISHED_AUDIT_NAME,
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


def test_published_file_is_the_audited_one_byte_for_byte(tmp_path):
    home = Home.resolve(tmp_path)
    _build(home, 1)
    record_audit(home, {"marts.t": True})
    done = publish(home)
    assert done.byte_identical and len(done.audited_sha256) == 64
    assert published_path(home).read_bytes() == build_path(home).read_bytes()


def test_a_build_changed_behind_its_fingerprint_is_not_published(tmp_path):
    """Same size, same mtime, other bytes: the fingerprint cannot see it, the hash does."""
    import os

    from lakehouse.warehouse.publish import PublishMismatch

    home = Home.resolve(tmp_path)
    _build(home, 1)
    record_audit(home, {"marts.t": True})
    publish(home)
    before = published_path(home).read_bytes()
    _build(home, 2)
    record_audit(home, {"marts.t": True})
    build = build_path(home)
    stat = build.stat()
    _build(home, 3)  # rewritten after the audit, then its mtime put back
    os.utime(build, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert build.stat().st_size == stat.st_size  # so the fingerprint is unchanged
    with pytest.raises(PublishMismatch, match="audit it again") as refused:
        publish(home)
    assert refused.value.audited_sha256 != refused.value.copied_sha256
    assert published_path(home).read_bytes() == before  # analysts keep the audited file
    assert not list(tmp_path.glob(".warehouse.duckdb.publishing"))


def test_an_audit_without_a_hash_must_be_redone(tmp_path):
    import json

    home = Home.resolve(tmp_path)
    _build(home, 1)
    record_audit(home, {"marts.t": True})
    audit = tmp_path / "warehouse.build.audit.json"
    payload = json.loads(audit.read_text())
    del payload["sha256"]
    audit.write_text(json.dumps(payload))
    with pytest.raises(PublishRefused, match="no SHA-256"):
        publish(home)


@pytest.mark.parametrize("point", ["warehouse.copy.after", "warehouse.rename.after",
                                   "warehouse.record.after"])
def test_a_publish_killed_anywhere_is_finished_by_publishing_again(tmp_path, point):
    """SIGKILL between the copy, the rename and the publish record (the crash campaign's draws
    rarely land there): analysts see the old file or the new one whole, never a part, and
    publishing again ends with the audited bytes and their record."""
    home = Home.resolve(tmp_path)
    _build(home, 1)
    record_audit(home, {"marts.t": True})
    publish(home)
    _build(home, 2)
    record_audit(home, {"marts.t": True})
    code = ("import sys; from lakehouse.home import Home; "
            "from lakehouse.warehouse.publish import publish; publish(Home.resolve(sys.argv[1]))")
    killed = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                            text=True, timeout=120, check=False,
                            env={**os.environ, "LAKEHOUSE_FAULT": f"kill:{point}"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert _published_value(home) == (1 if point == "warehouse.copy.after" else 2)
    again = publish(home)
    assert again.byte_identical and _published_value(home) == 2
    assert published_path(home).read_bytes() == build_path(home).read_bytes()
    record = json.loads((home.root / PUBLISHED_AUDIT_NAME).read_text())
    assert record["sha256"] == again.audited_sha256
    assert not list(tmp_path.glob(".*.publishing"))
