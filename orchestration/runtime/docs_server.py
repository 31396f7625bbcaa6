"""Data Docs and dbt docs over HTTP, so a link opens in the browser that shows the Dagster UI.

Browsers refuse ``file://`` links from an ``http://`` page, so `lakehouse dev` serves the home's
``docs/`` directory (GX Data Docs under ``gx/``) on a second port, next to the UI, and tells the
run workers where (``LAKEHOUSE_DOCS_URL``): checks then link to ``http://.../gx/index.html``.
Without it (`lakehouse run`, tests) a check links to the file itself. ``/dbt/`` is dbt's docs
site for the published warehouse, built on the first request after each publish
(:mod:`lakehouse.warehouse.docs`).
"""

from __future__ import annotations

import functools
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg

from lakehouse.home import Home
from lakehouse.warehouse.docs import PAGE, DocsUnavailable, build_dbt_docs

DOCS_URL_ENV = "LAKEHOUSE_DOCS_URL"


def docs_link(page: Path, docs_root: Path) -> dg.MetadataValue:
    """The page as a link people can open: over HTTP when a docs server runs, else a path."""
    base = os.environ.get(DOCS_URL_ENV)
    if base:
        return dg.MetadataValue.url(f"{base.rstrip('/')}/{page.relative_to(docs_root).as_posix()}")
    return dg.MetadataValue.path(str(page))


class _Handler(SimpleHTTPRequestHandler):
    dbt: tuple[Path, str] | None = None  # (project dir, dbt executable): serve /dbt/

    def log_message(self, format: str, *args) -> None:
        pass  # the dev console is for Dagster's lines

    def do_GET(self) -> None:
        if self.dbt and self.path.split("?")[0] in ("/dbt", "/dbt/", f"/{PAGE.as_posix()}"):
            home = Home.resolve(Path(self.directory).parent)
            try:
                build_dbt_docs(home, *self.dbt)
            except DocsUnavailable as e:
                body = str(e).encode()
                self.send_response(503)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.path = f"/{PAGE.as_posix()}"
        super().do_GET()


def serve_docs(root: Path, host: str, port: int,
               dbt: tuple[Path, str] | None = None) -> ThreadingHTTPServer:
    """Serve ``root`` (read-only, static files) on ``host:port`` from a daemon thread; with
    ``dbt`` (project dir, executable), also dbt's docs for the home's warehouse at ``/dbt/``."""
    root.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(type("Handler", (_Handler,), {"dbt": dbt}), directory=str(root))
    server = ThreadingHTTPServer((host, port), handler)
    threading.Thread(target=server.serve_forever, name="docs-server", daemon=True).start()
    return server
