"""Data Docs over HTTP: a check links to a page the browser showing the UI can open."""

from __future__ import annotations

import urllib.request

import dagster as dg

from orchestration.runtime.docs_server import DOCS_URL_ENV, docs_link, serve_docs
from tests.servers import free_port


def test_docs_are_served_over_http_and_checks_link_there(tmp_path, monkeypatch):
    root = tmp_path / "docs"
    page = root / "gx" / "index.html"
    page.parent.mkdir(parents=True)
    page.write_text("<html>gates</html>")
    port = free_port()
    server = serve_docs(root, "127.0.0.1", port)
    try:
        monkeypatch.setenv(DOCS_URL_ENV, f"http://127.0.0.1:{port}")
        link = docs_link(page, root)
        assert isinstance(link, dg.UrlMetadataValue)
        assert link.url == f"http://127.0.0.1:{port}/gx/index.html"
        with urllib.request.urlopen(link.url, timeout=5) as response:
            assert response.status == 200 and response.read() == b"<html>gates</html>"
    finally:
        server.shutdown()
        server.server_close()
    monkeypatch.delenv(DOCS_URL_ENV)
    assert docs_link(page, root) == dg.MetadataValue.path(str(page))  # no server: the file


def test_dbt_docs_before_any_publish_say_so(tmp_path):
    """Without a published warehouse the dbt docs page is a 503 that says what to run."""
    import urllib.error
    from pathlib import Path

    root = tmp_path / "docs"
    port = free_port()
    server = serve_docs(root, "127.0.0.1", port, dbt=(Path("dbt_project"), "dbt"))
    try:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/dbt/", timeout=5)
            raise AssertionError("served a page with no warehouse")
        except urllib.error.HTTPError as e:
            assert e.code == 503
            assert "no published warehouse" in e.read().decode()
    finally:
        server.shutdown()
        server.server_close()
