"""What bronze+silver would cost with no checks at all: the floor under ``bench_silver.py``.

Usage: .venv/bin/python bench/bench_floor.py [--persons N] [--days D]

Simulates the same landing zone as ``bench_silver.py`` (~1M events), then only: reads every
entity's files with polars' own readers (JSON lines: the lines that look like objects, made
valid UTF-8 beforehand, untimed, then one ``read_ndjson`` call per entity; CSV: every file read
as text), writes each entity once as a Delta table (bronze), reads it back, drops duplicate rows
and writes it again (silver), with the lake's codec.
No types are checked, nothing is quarantined, no lineage, no crosswalk, no identity inputs. It
prints wall and CPU seconds per phase and the events/s the floor allows on 2 fully used cores:
what is left of the issue's 200,000 events/s budget for the checks the lakehouse makes.
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
from collections import defaultdict
from pathlib import Path

import polars as pl
from bench_silver import Clock  # run as a script: bench/ is on the path
from deltalake import write_deltalake

from lakehouse.home import Home
from lakehouse.simulate import SimConfig, simulate
from lakehouse.storage.delta import to_arrow, writer_properties


def _clean_json_lines(paths: list[Path]) -> bytes:
    """The lines that look like JSON objects, valid UTF-8 (the simulated faults out; untimed:
    the floor is what clean data costs)."""
    lines = pl.read_csv(io.BytesIO(b"".join(p.read_bytes() for p in paths)), has_header=False,
                        separator="\x00", quote_char=None, schema={"l": pl.String},
                        encoding="utf8-lossy")["l"]
    objects = lines.filter(lines.str.starts_with("{") & lines.str.ends_with("}"))
    return "\n".join(objects.to_list()).encode()


def landing(home: Home) -> dict[str, tuple[str, list[Path] | bytes]]:
    """Entity name -> its CSV files, or its JSON lines made clean."""
    groups: dict[tuple[str, str], list[Path]] = defaultdict(list)
    for path in sorted(home.landing.glob("*/*")):
        groups[(path.parent.name, path.name.split("_2")[0] + path.suffix)].append(path)
    out: dict[str, tuple[str, list[Path] | bytes]] = {}
    for (channel, name), paths in groups.items():
        key = f"{channel}__{Path(name).stem}"
        if name.endswith(".jsonl"):
            out[key] = ("jsonl", _clean_json_lines(paths))
        elif name.endswith(".csv"):
            out[key] = ("csv", paths)
        # JSON documents (catalog, locations): a few thousand rows, left out
    return out


def parse(kind: str, source: list[Path] | bytes) -> pl.DataFrame:
    """polars' own reader, flat columns only (nested ones have no Delta type here)."""
    if kind == "jsonl":
        assert isinstance(source, bytes)
        frame = pl.read_ndjson(io.BytesIO(source), ignore_errors=True, infer_schema_length=1000)
    else:
        assert isinstance(source, list)
        frame = pl.concat([pl.read_csv(p, infer_schema=False, truncate_ragged_lines=True,
                                       ignore_errors=True, encoding="utf8-lossy")
                           for p in source], how="diagonal_relaxed")
    return frame.select([c for c, t in frame.schema.items()
                         if not isinstance(t, pl.Struct | pl.List | pl.Null)])


def write(uri: str, frame: pl.DataFrame) -> None:
    write_deltalake(uri, to_arrow(frame), writer_properties=writer_properties(frame))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=24_000)  # as bench_silver: ~1M events
    ap.add_argument("--days", type=int, default=60)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Home.resolve(tmp).ensure()
        simulate(home, SimConfig(persons=args.persons, products=1000, stores=12, warehouses=3,
                                 days=args.days))
        sources = landing(home)
        with Clock() as read:
            frames = {name: parse(*source) for name, source in sources.items()}
        rows = sum(f.height for f in frames.values())
        with Clock() as bronze:
            for name, frame in frames.items():
                write(f"{tmp}/floor/bronze/{name}", frame)
        with Clock() as silver:
            for name in frames:
                write(f"{tmp}/floor/silver/{name}",
                      pl.read_delta(f"{tmp}/floor/bronze/{name}").unique())
    phases = (("parse", read), ("bronze write", bronze), ("silver read+dedupe+write", silver))
    for label, clock in phases:
        print(f"{label:26s} {clock.wall:6.2f} s wall / {clock.cpu:6.2f} s CPU")
    wall, cpu = sum(c.wall for _, c in phases), sum(c.cpu for _, c in phases)
    print(f"{rows:,} rows: {wall:.2f} s wall / {cpu:.2f} s CPU = {rows / wall:,.0f} events/s "
          f"wall; {rows / (cpu / 2):,.0f} events/s if both cores were busy throughout")
    print(f"CPU left per 1M events for every check at 200,000 events/s on 2 cores: "
          f"{10 - cpu * 1e6 / rows:.1f} s; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
