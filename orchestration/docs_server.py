"""Data Docs over HTTP, so a check's link opens in the browser that shows the Dagster UI.

Browsers refuse ``file://`` links from an ``http://`` page, so `lakehouse dev` serves the home's
``docs/`` directory (GX Data Docs under ``gx/``) on a second port, next to the UI, and tells the
run workers where (``LAKEHOUSE_DOCS_URL``): checks then link to ``http://.../gx/index.html``.
Without it (`lakehouse run`, tests) a check links to the file itself.
"""

from __future__ import annotations

import functools
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg

DOCS_URL_ENV = "LAKEHOUSE_DOCS_URL"


def docs_link(page: Path, docs_root: Path) -> dg.MetadataValue:
    """The page as a link people can open: over HTTP when a docs server runs, else a path."""
    base = os.environ.get(DOCS_URL_ENV)
    if base:
        return dg.MetadataValue.url(f"{base.rstrip('/')}/{page.relative_to(docs_root).as_posix()}")
    return dg.MetadataValue.path(str(page))


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:
        pass  # the dev console is for Dagster's lines


def serve_docs(root: Path, host: str, port: int) -> ThreadingHTTPServer:
    """Serve ``root`` (read-only, static files) on ``host:port`` from a daemon thread."""
    root.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(_Quiet, directory=str(root))
    server = ThreadingHTTPServer((host, port), handler)
    threading.Thread(target=server.serve_forever, name="docs-server", daemon=True).start()
    return server
