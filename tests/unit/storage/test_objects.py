"""Object-store locations (``lakehouse.storage.objects``): pure path arithmetic, and that an
unset ``LAKEHOUSE_LAKE_URI`` leaves every local path exactly as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakehouse.home import Home
from lakehouse.storage.objects import (
    LAKE_URI_ENV,
    ObjectPath,
    is_remote,
    join,
    lake_root,
    location,
    storage_options,
)
from lakehouse.storage.paths import bronze_uri, table_uri
from lakehouse.storage.validations import registry_uri, table_name


def test_object_path_arithmetic():
    lake = ObjectPath("s3://bucket/some/prefix/")
    table = lake / "silver" / "orders"
    assert str(table) == "s3://bucket/some/prefix/silver/orders"
    assert table.name == "orders" and table.parent.name == "silver"
    assert table.parents[1] == lake
    assert table.resolve() == table and hash(table) == hash(ObjectPath(str(table)))
    assert lake.bucket == "bucket"
    assert sorted([lake / "b", lake / "a"]) == [lake / "a", lake / "b"]
    with pytest.raises(TypeError):
        Path(table)  # type: ignore[arg-type]  # never silently a local path
    with pytest.raises(ValueError):
        ObjectPath("/local/path")


def test_remote_or_local():
    assert is_remote("s3://b/k") and is_remote(ObjectPath("s3://b/k"))
    assert not is_remote("/tmp/x") and not is_remote("file:///tmp/x")
    assert not is_remote(Path("/tmp/x"))
    assert location("/tmp/x/y") == Path("/tmp/x/y")
    assert location("s3://b/x/y") == ObjectPath("s3://b/x/y")
    assert join("/tmp/t", "day=1/part-0.parquet") == str(Path("/tmp/t") / "day=1/part-0.parquet")
    assert join("s3://b/t", "part-0.parquet") == "s3://b/t/part-0.parquet"


def test_unset_lake_uri_keeps_local_paths(tmp_path, monkeypatch):
    monkeypatch.delenv(LAKE_URI_ENV, raising=False)
    home = Home.resolve(tmp_path)
    assert home.lake == tmp_path.resolve() / "lake" and isinstance(home.lake, Path)
    assert table_uri(home, "silver", "orders") == str(tmp_path.resolve() / "lake/silver/orders")
    lake, name = table_name(bronze_uri(home, "web", "events"))
    assert (lake, name) == (tmp_path.resolve() / "lake", "bronze/web__events")
    assert registry_uri(lake) == str(tmp_path.resolve() / "lake/quality/validations")


def test_lake_uri_moves_only_the_lake(tmp_path, monkeypatch):
    monkeypatch.setenv(LAKE_URI_ENV, "s3://bucket/lake/")
    home = Home.resolve(tmp_path)
    assert home.lake == ObjectPath("s3://bucket/lake")
    assert lake_root(tmp_path / "lake") == home.lake
    assert table_uri(home, "silver", "orders") == "s3://bucket/lake/silver/orders"
    assert bronze_uri(home, "web", "events") == "s3://bucket/lake/bronze/web__events"
    lake, name = table_name("s3://bucket/lake/silver/orders")
    assert (lake, name) == (ObjectPath("s3://bucket/lake"), "silver/orders")
    assert registry_uri(lake) == "s3://bucket/lake/quality/validations"
    # everything else of the home stays local
    assert home.landing == tmp_path.resolve() / "landing"
    assert home.warehouse == tmp_path.resolve() / "warehouse.duckdb"


def test_storage_options_from_the_standard_variables(monkeypatch):
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
                 "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
                 "AWS_DEFAULT_REGION", "AWS_ALLOW_HTTP"):
        monkeypatch.delenv(name, raising=False)
    assert storage_options() is None
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ALLOW_HTTP", "true")
    assert storage_options() == {"aws_endpoint_url": "http://127.0.0.1:9",
                                 "aws_region": "eu-west-1", "aws_allow_http": "true"}
