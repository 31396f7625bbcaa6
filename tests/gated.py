"""The lakehouse steps as the pipeline runs them: each behind its quality gates.

Readers of validated data (silver reading bronze, identity, inventory, ML) read validated pins
only, so a test that calls the ``lakehouse`` functions directly must gate what it builds, as
the Dagster steps do: the input layers before a step reads them, the step's outputs after.
These wrappers keep the functions' names and signatures; a failed gate fails the test with
the gate's own description (``data_quality.lake.GateFailed``).
"""

from __future__ import annotations

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


def simulated_lake(root: Path, config) -> Home:
    """A simulated retailer (``config``: a ``SimConfig``) ingested and built through every
    gated step: bronze, silver, identity, inventory, each table at a validated pin."""
    from lakehouse.ingest import batch_id_for, discover, ingest_files
    from lakehouse.simulate import simulate

    home = Home.resolve(root)
    simulate(home, config)
    files = discover(root)
    batch = batch_id_for(files)
    ingest_files(root, files, batch)
    build_silver(root, batch)
    resolve_home(home)
    build_inventory(home)
    return home
