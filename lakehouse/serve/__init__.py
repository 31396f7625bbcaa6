"""The inventory API over HTTP (``lakehouse serve``): availability and fulfilment for every
channel from validated inventory positions held in memory (snapshot.py), reloaded when a pin
moves (reload.py), served by FastAPI (app.py) under uvicorn.

Usage: ``create_app(home)`` (an ASGI app) or ``serve(home, port=8000)``.
"""

from __future__ import annotations

from pathlib import Path

from lakehouse.serve.app import create_app

__all__ = ["create_app", "serve"]


def serve(home: str | Path, host: str = "127.0.0.1", port: int = 8000,
          access_log: bool = False) -> None:
    """Run the API until interrupted (uvicorn; no access log by default: at hundreds of
    requests a second it costs more than the lookups)."""
    import logging

    import uvicorn

    # reloads ("serving {...}") and load failures, in uvicorn's format
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")
    uvicorn.run(create_app(home), host=host, port=port, access_log=access_log,
                log_level="info")
