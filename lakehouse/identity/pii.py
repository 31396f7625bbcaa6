"""Keyed pseudonyms (HMAC-SHA256) for everything downstream of silver.

Why keyed: a plain hash of an e-mail is reversible by hashing a list of e-mails; an HMAC is
not without the key, and rotating the key unlinks old exports. The key comes from
``LAKEHOUSE_HMAC_KEY``; production without it is an error, a dev home gets a generated key
in ``H/secrets/hmac.key`` (never committed: it lives in the home, not the repo).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import polars as pl


class MissingKeyError(RuntimeError):
    """No HMAC key configured where one is required."""


def load_key(home: str | Path | None = None, env: dict[str, str] | None = None) -> bytes:
    """The pseudonymisation key: ``LAKEHOUSE_HMAC_KEY``, else (outside production) the dev key
    of ``home``, generated once."""
    env = dict(os.environ) if env is None else env
    if env.get("LAKEHOUSE_HMAC_KEY"):
        return env["LAKEHOUSE_HMAC_KEY"].encode()
    if env.get("LAKEHOUSE_ENV", "").lower() == "production":
        raise MissingKeyError("LAKEHOUSE_HMAC_KEY is not set and LAKEHOUSE_ENV=production: set "
                              "it to the pseudonymisation key (from your secret store)")
    if home is None:
        raise MissingKeyError("no LAKEHOUSE_HMAC_KEY and no home to keep a dev key in")
    path = Path(home) / "secrets" / "hmac.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()


def pseudonymise(value: str | None, key: bytes) -> str | None:
    """Hex HMAC-SHA256 of ``value`` (None stays None)."""
    if value is None:
        return None
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def pseudonymise_expr(col: str | pl.Expr, key: bytes) -> pl.Expr:
    """``pseudonymise`` as a polars expression."""
    e = pl.col(col) if isinstance(col, str) else col
    return e.map_elements(lambda v: pseudonymise(v, key), return_dtype=pl.String)
