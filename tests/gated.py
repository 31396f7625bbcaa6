"""The lakehouse steps as the pipeline runs them: each behind its quality gates.

Readers of validated data (silver reading bronze, identity, inventory, ML) read validated pins
only, so a test that calls the ``lakehouse`` functions directly must gate what it builds, as
the Dagster steps do: the input layers before a step reads them, the step's outputs after.
These wrappers keep the functions' names and signatures; a failed gate fails the test with
the gate's own description (``data_quality.lake.GateFailed``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from data_quality.lake import gate_layers
from lakehouse.home import Home
from lakehouse.identity.store import resolve_home as _resolve_home
from lakehouse.inventory.live import apply_micro_batch as _apply_micro_batch
from lakehouse.inventory.store import build_inventory as _build_inventory
from lakehouse.silver import build_silver as _build_silver


def gate(home: str | Path | Home, *layers: str) -> None:
    """Gate every table of ``layers`` (every commit since its pin); raise if one fails."""
    gate_layers((home if isinstance(home, Home) else Home.resolve(home)).lake, *layers)


def build_silver(home, batch_id=None, **kwargs):
    gate(home, "bronze", "quarantine")
    result = _build_silver(home, batch_id, **kwargs)
    gate(home, "silver", "quarantine")
    return result


def resolve_home(home, *args, **kwargs):
    gate(home, "silver")
    result = _resolve_home(home, *args, **kwargs)
    gate(home, "gold")
    return result


def build_inventory(home, *args, **kwargs):
    gate(home, "silver", "quarantine")
    result = _build_inventory(home, *args, **kwargs)
    gate(home, "silver", "gold")
    return result


def apply_micro_batch(home, *args, **kwargs):
    gate(home, "silver")
    result = _apply_micro_batch(home, *args, **kwargs)
    gate(home, "silver", "gold")
    return result


def ingest_batch(home, files=None) -> str:
    """Ingest ``files`` (``LandingFile``s; default: every landed file) as one batch and build
    silver for it, gated: the batch id."""
    from lakehouse.ingest import batch_id_for, discover, ingest_files

    files = discover(home) if files is None else files
    batch = batch_id_for(files)
    ingest_files(home, files, batch)
    build_silver(home, batch)
    return batch


def simulated_lake(root: Path, config) -> Home:
    """A simulated retailer (``config``: a ``SimConfig``) ingested and built through every
    gated step: bronze, silver, identity, inventory, each table at a validated pin."""
    from lakehouse.simulate import simulate

    home = Home.resolve(root)
    simulate(home, config)
    ingest_batch(root)
    resolve_home(home)
    build_inventory(home)
    return home


def private_copy(built: Path, tmp_path: Path) -> Home:
    """A copy of the home built at ``built`` that one test may write to: the built one stays
    as it was for the next test."""
    shutil.copytree(built, tmp_path / "h")
    return Home.resolve(tmp_path / "h")
