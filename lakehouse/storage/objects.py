"""Where the lake lives: a local directory (the default) or an object store (``s3://``).

The lake (``Home.lake``) is an object-store location when ``LAKEHOUSE_LAKE_URI`` is set
(``s3://bucket/prefix``); everything else of a home (landing zone, lock, Dagster instance,
warehouse) stays local. Credentials and endpoint come from the standard AWS variables
(``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``,
``AWS_ALLOW_HTTP``), which delta-rs, polars and pyarrow all read themselves: a ``DeltaTable``,
``write_deltalake``, ``pl.read_delta`` or ``pl.scan_parquet`` given an ``s3://`` URI needs no
argument of ours. What needs this module:

- :class:`ObjectPath`: the few ``pathlib`` operations the lake code uses (``/``, ``name``,
  ``parent``, ``parents``, ``glob("*")``, ``iterdir``, ``exists``, a no-op ``mkdir``) on an
  object-store URI, so ``home.lake / "silver" / "orders"`` means the same thing on both;
- :func:`location`: a table URI as a ``Path`` (local) or an :class:`ObjectPath`;
- :func:`join`: a data file of a table from its log's relative path;
- :func:`attach`: DuckDB reads a snapshot's Parquet files itself, and DuckDB here has no
  ``httpfs`` extension (no extension downloads): an object store is registered on the
  connection as a Python filesystem (pyarrow's S3 client behind fsspec), so the same
  ``read_parquet(['s3://...'])`` SQL reads it.

With ``LAKEHOUSE_LAKE_URI`` unset nothing here changes a local path.
"""

from __future__ import annotations

import fnmatch
import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakehouse.home import LAKE_URI_ENV

if TYPE_CHECKING:
    from collections.abc import Iterator

    import duckdb

_LOCAL = ("", "file")


def lake_uri() -> str | None:
    """The object-store location of the lake (``LAKEHOUSE_LAKE_URI``), or None: local."""
    uri = os.environ.get(LAKE_URI_ENV, "").strip()
    return uri.rstrip("/") or None


def is_remote(uri: str | os.PathLike[str] | ObjectPath) -> bool:
    """Whether ``uri`` names an object in a store (``s3://...``), not a local file."""
    if isinstance(uri, ObjectPath):
        return True
    if isinstance(uri, os.PathLike):
        return False
    scheme, sep, _ = uri.partition("://")
    return bool(sep) and scheme.lower() not in _LOCAL


class ObjectPath:
    """An object-store location with the ``pathlib`` surface the lake code uses.

    Deliberately not ``os.PathLike``: ``Path(ObjectPath)`` fails loudly instead of turning
    ``s3://bucket/x`` into the local path ``s3:/bucket/x``.
    """

    __slots__ = ("key", "scheme")

    def __init__(self, uri: str) -> None:
        scheme, sep, rest = str(uri).partition("://")
        if not sep or scheme.lower() in _LOCAL:
            raise ValueError(f"not an object-store URI: {uri!r}")
        self.scheme = scheme.lower()
        self.key = "/".join(p for p in rest.split("/") if p)

    def __str__(self) -> str:
        return f"{self.scheme}://{self.key}"

    def __repr__(self) -> str:
        return f"ObjectPath({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ObjectPath) and str(self) == str(other)

    def __lt__(self, other: ObjectPath) -> bool:
        return str(self) < str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __truediv__(self, other: str | os.PathLike[str]) -> ObjectPath:
        return ObjectPath(f"{self}/{os.fspath(other)}")

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    @property
    def bucket(self) -> str:
        return self.key.split("/", 1)[0]

    @property
    def parent(self) -> ObjectPath:
        if "/" not in self.key:
            return self
        return ObjectPath(f"{self.scheme}://{self.key.rsplit('/', 1)[0]}")

    @property
    def parents(self) -> list[ObjectPath]:
        out, path = [], self
        while "/" in path.key:
            path = path.parent
            out.append(path)
        return out

    def resolve(self) -> ObjectPath:
        return self

    def mkdir(self, *args: Any, **kwargs: Any) -> None:
        """Nothing to do: an object store has no directories."""

    def _info(self):
        return _filesystem(self.scheme).get_file_info(self.key)

    def exists(self) -> bool:
        from pyarrow.fs import FileType

        return self._info().type != FileType.NotFound

    def is_dir(self) -> bool:
        from pyarrow.fs import FileType

        return self._info().type == FileType.Directory

    def iterdir(self) -> Iterator[ObjectPath]:
        from pyarrow.fs import FileSelector

        found = _filesystem(self.scheme).get_file_info(
            FileSelector(self.key, allow_not_found=True, recursive=False))
        for info in sorted(found, key=lambda i: i.path):
            yield ObjectPath(f"{self.scheme}://{info.path}")

    def glob(self, pattern: str) -> Iterator[ObjectPath]:
        """Level-by-level patterns only (``*``, ``*/*``, ``orders_*``): what the lake uses."""
        level = [self]
        for part in pattern.split("/"):
            level = [c for p in level for c in p.iterdir() if fnmatch.fnmatchcase(c.name, part)]
        yield from level


def location(uri: str | os.PathLike[str] | ObjectPath) -> Path | ObjectPath:
    """A table (or lake) URI as a path: ``Path`` when local, :class:`ObjectPath` otherwise."""
    if isinstance(uri, ObjectPath):
        return uri
    return ObjectPath(str(uri)) if is_remote(uri) else Path(uri)


def lake_root(local: Path) -> Path | ObjectPath:
    """The lake of a home whose local lake directory is ``local``."""
    uri = lake_uri()
    return ObjectPath(uri) if uri else local


def join(table: str | os.PathLike[str] | ObjectPath, relative: str) -> str:
    """The URI of a file of a table from the path its Delta log gives (relative to it)."""
    return str(location(table) / relative)


def ensure_parent(uri: str | os.PathLike[str] | ObjectPath) -> None:
    """Create the local directory a table is about to be created in (none on a store)."""
    if not is_remote(uri):
        Path(uri).parent.mkdir(parents=True, exist_ok=True)


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def storage_options() -> dict[str, str] | None:
    """The object-store settings of the environment as deltalake/polars ``storage_options``
    (what those libraries would read from the same variables themselves); None when no
    object-store variable is set."""
    keys = {
        "aws_endpoint_url": _env("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
        "aws_access_key_id": _env("AWS_ACCESS_KEY_ID"),
        "aws_secret_access_key": _env("AWS_SECRET_ACCESS_KEY"),
        "aws_session_token": _env("AWS_SESSION_TOKEN"),
        "aws_region": _env("AWS_REGION", "AWS_DEFAULT_REGION"),
        "aws_allow_http": _env("AWS_ALLOW_HTTP"),
    }
    options = {k: v for k, v in keys.items() if v}
    return options or None


def _filesystem(scheme: str):
    if scheme not in ("s3", "s3a"):
        raise ValueError(f"object store {scheme}:// is not supported (s3:// is)")
    options = storage_options() or {}
    return _s3(tuple(sorted(options.items())))


@cache
def _s3(options: tuple[tuple[str, str], ...]):
    from pyarrow.fs import S3FileSystem

    o = dict(options)
    endpoint = o.get("aws_endpoint_url")
    scheme = "https"
    if endpoint and "://" in endpoint:
        scheme, endpoint = endpoint.split("://", 1)
    if scheme == "http" and not _truthy(o.get("aws_allow_http")):
        raise ValueError(f"{endpoint}: plain HTTP to an object store needs AWS_ALLOW_HTTP=true")
    return S3FileSystem(access_key=o.get("aws_access_key_id"),
                        secret_key=o.get("aws_secret_access_key"),
                        session_token=o.get("aws_session_token"),
                        region=o.get("aws_region") or "us-east-1",
                        endpoint_override=endpoint, scheme=scheme)


def _fsspec(scheme: str):
    from fsspec.implementations.arrow import ArrowFSWrapper

    class _Store(ArrowFSWrapper):  # DuckDB routes a path to the filesystem of its protocol
        protocol = (scheme,)

    return _Store(_filesystem(scheme))


def attach(con: duckdb.DuckDBPyConnection, files: list[str] | None = None) -> None:
    """Let ``con`` read object-store files (``files``, or the lake's when None): registers the
    store as a filesystem of the connection (once per connection and settings)."""
    schemes = ({f.partition("://")[0].lower() for f in files if is_remote(f)} if files is not None
               else {ObjectPath(uri).scheme} if (uri := lake_uri()) else set())
    if not schemes:
        return
    have = set(con.list_filesystems())
    for scheme in sorted(schemes):
        if scheme in have:  # registered under its protocol; settings may have changed since
            con.unregister_filesystem(scheme)
        con.register_filesystem(_fsspec(scheme))
