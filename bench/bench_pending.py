"""What late reference data costs: bronze + silver of one simulated retailer delivered at once,
against the same files with the catalog and the store list held back to a second batch (every
row naming a product or a store waits in the quarantine, then the second batch releases them),
and what rows still waiting cost a small micro-batch (each build retries them).

Prints seconds per step and rows released. Silver reads validated bronze only, so each step's
tables are gated with the duckdb engine between steps (not counted in the figures; bench_full
measures the gates).

    .venv/bin/python bench/bench_pending.py [--persons 6000] [--days 14]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import polars as pl
from deltalake import DeltaTable

from data_quality.lake import gate_layers
from lakehouse.home import Home
from lakehouse.ingest import batch_id_for, discover, ingest_files
from lakehouse.silver import build_silver
from lakehouse.simulate import SimConfig, simulate
from lakehouse.storage.paths import quarantine_uri

REFERENCE = ("catalog/", "locations/")


def _copy(src: Home, dst: Home, rels: list[str]) -> None:
    for rel in rels:
        (dst.landing / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src.landing / rel, dst.landing / rel)


def _batch(src: Home, home: Home, rels: list[str]) -> tuple[float, float, object]:
    _copy(src, home, rels)
    files = [f for f in discover(home) if f.relpath in set(rels)]
    bid = batch_id_for(files)
    t0 = time.perf_counter()
    ingest_files(home, files, bid)
    bronze = time.perf_counter() - t0
    gate_layers(home.lake, "bronze", "quarantine")
    t1 = time.perf_counter()
    result = build_silver(home, bid)
    silver = time.perf_counter() - t1
    gate_layers(home.lake, "silver", "quarantine")
    return bronze, silver, result


def _waiting(home: Home) -> int:
    q = pl.from_arrow(DeltaTable(quarantine_uri(home)).to_pyarrow_table())
    return q.filter(pl.col("released_by").is_null()
                    & pl.col("error_kind").str.starts_with("unknown_")).height


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=6000)
    ap.add_argument("--days", type=int, default=14)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench_pending_"))
    try:
        src = Home.resolve(root / "src").ensure()
        simulate(src, SimConfig(persons=args.persons, days=args.days))
        rels = sorted(f.relpath for f in discover(src))
        late = [r for r in rels if r.startswith(REFERENCE)]
        # the last day's web events: the small micro-batch
        tail = [r for r in rels if r.startswith("web/")][-1:]
        first = [r for r in rels if r not in late and r not in tail]

        one = Home.resolve(root / "one").ensure()
        b, s, res = _batch(src, one, [r for r in rels if r not in tail])
        print(f"one delivery ({len(rels) - 1} files, {res.rows_in:,} silver rows in): "
              f"bronze {b:.1f} s, silver {s:.1f} s")
        b, s, _ = _batch(src, one, tail)
        print(f"  then a micro-batch of {tail[0]}, nothing waiting: bronze {b:.2f} s, "
              f"silver {s:.2f} s")

        two = Home.resolve(root / "two").ensure()
        b, s, res = _batch(src, two, first)
        print(f"without catalog and store list ({len(first)} files): bronze {b:.1f} s, "
              f"silver {s:.1f} s, {_waiting(two):,} rows waiting")
        b2, s2, _ = _batch(src, two, tail)
        print(f"  then the micro-batch of {tail[0]} with them waiting: bronze {b2:.2f} s, "
              f"silver {s2:.2f} s")
        b, s, res = _batch(src, two, late)
        print(f"  then the catalog and store list ({len(late)} files): bronze {b:.1f} s, "
              f"silver {s:.1f} s, {res.released:,} rows released, {_waiting(two):,} "
              "still waiting")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
