"""Inventory API under load: `lakehouse serve` on the default simulation, driven open-loop over
loopback, and how fast a change reaches it.

1. Home: the default simulation (`lakehouse simulate` defaults) ingested, silver and inventory
   built, every step behind its quality gates (DuckDB engine), so positions have a validated
   pin. Reused when ``--home`` already has one.
2. Load: `lakehouse serve` as a subprocess; an open-loop generator (asyncio + aiohttp, keep-alive
   connections) sends ``--rate`` requests a second for ``--seconds`` (after a 2 s warm-up):
   random single-product ``/availability`` lookups, channel drawn from none / web / app / store /
   one store. Latency counts from each request's *scheduled* send time, so a stalled server or
   client is not hidden (no coordinated omission). Prints the achieved rate, p50 / p95 / p99 /
   p99.9 / max, errors, the CPU the server and the generator used, and the load average.
3. Freshness under load: at a third and two thirds of the run, a new positions version is
   committed and gated (the real gate of the gold layer); prints seconds from the commit, and
   from the gate's record, until the API answers from it.
4. Freshness of a micro-batch: ``--batches`` simulated hours dropped into landing (the
   simulator's live mode), each run through the micro-batch steps in this process (ingest, gates,
   silver, ``apply_micro_batch``, gates), as the Dagster micro-batch run does, but without the
   sensor tick and run launch (bench_freshness.py measures those); prints seconds from the
   drop until the API serves the new positions version, and how many positions changed.

    .venv/bin/python bench/bench_serve.py [--home DIR] [--rate 500] [--seconds 30]
        [--batches 3] [--port 8731]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import polars as pl

from data_quality.lake import gate_layers
from lakehouse.home import Home
from lakehouse.ingest import batch_id_for, discover, ingest_files
from lakehouse.inventory.live import apply_micro_batch
from lakehouse.inventory.store import build_inventory
from lakehouse.silver import build_silver
from lakehouse.simulate import SimConfig, live, simulate
from lakehouse.storage.tables import replace_table
from lakehouse.storage.validations import validated_version
from tests.servers import free_port, stop

BIN = Path(sys.executable).parent
POSITIONS = ("gold", "inventory_positions")
WARMUP_SECONDS = 2.0


def positions_uri(home: Home) -> Path:
    return home.lake / POSITIONS[0] / POSITIONS[1]


def ensure_home(root: Path) -> Home:
    """The default simulation with validated inventory positions (built once)."""
    home = Home.resolve(root).ensure()
    uri = positions_uri(home)
    if uri.exists() and validated_version(uri) is not None:
        print(f"home {home.root}: reused (positions pin {validated_version(uri)})")
        return home
    started = time.perf_counter()
    simulate(home, SimConfig())
    files = discover(home.root)
    batch = batch_id_for(files)
    ingest_files(home.root, files, batch)
    gate_layers(home.lake, "bronze", "quarantine")
    build_silver(home.root, batch)
    gate_layers(home.lake, "silver", "quarantine")
    build_inventory(home)
    gate_layers(home.lake, "silver", "gold")
    print(f"home {home.root}: default simulation built and gated in "
          f"{time.perf_counter() - started:.0f} s")
    return home


@contextmanager
def server(home: Home, port: int, log: Path) -> Iterator[tuple[str, int]]:
    """`lakehouse serve` until the block ends: (base URL, pid)."""
    with open(log, "w") as out:
        proc = subprocess.Popen([str(BIN / "lakehouse"), "serve", "--home", str(home.root),
                                 "--port", str(port)], stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"lakehouse serve did not start:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        yield base, proc.pid
    finally:
        stop(proc, 10)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def served_version(base: str) -> int | None:
    with urllib.request.urlopen(f"{base}/health", timeout=5) as r:
        return (json.loads(r.read())["served"] or {}).get("/".join(POSITIONS))


# ---------------------------------------------------------------- load


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)  # seconds, from the scheduled send
    statuses: Counter = field(default_factory=Counter)
    sent: int = 0
    seconds: float = 0.0
    freshness: list[tuple[float, float]] = field(default_factory=list)  # (from commit, gate)
    side_cpu: float = 0.0  # CPU seconds of the commits and gates run in this process


def commit_and_gate(home: Home) -> tuple[int, float, float, float]:
    """A new positions version (the same rows, rewritten as a rebuild would), gated:
    (version, monotonic time of the commit, of the gate's record, CPU seconds spent)."""
    cpu = time.thread_time()
    uri = positions_uri(home)
    frame = pl.read_delta(str(uri), version=validated_version(uri))
    version = replace_table(str(uri), frame)
    committed = time.monotonic()
    gate_layers(home.lake, "gold")
    return version, committed, time.monotonic(), time.thread_time() - cpu


async def _watch(session: aiohttp.ClientSession, base: str, version: int,
                 timeout: float = 60.0) -> float:
    """Monotonic time at which /health first reports ``version`` served."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with session.get(f"{base}/health") as r:
            body = await r.json()
        if (body["served"] or {}).get("/".join(POSITIONS)) == version:
            return time.monotonic()
        await asyncio.sleep(0.05)
    raise TimeoutError(f"positions version {version} not served within {timeout} s")


async def drive(base: str, home: Home, products: list[str], channels: list[str | None],
                rate: float, seconds: float, seed: int = 7) -> Load:
    """Open-loop load: request i is due at start + i / rate, sent then whatever came before."""
    rng = random.Random(seed)
    out = Load()
    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=512, keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(total=30)

    async def one(session: aiohttp.ClientSession, due: float, measured: bool) -> None:
        params = {"product_id": rng.choice(products)}
        channel = rng.choice(channels)
        if channel is not None:
            params["channel"] = channel
        try:
            async with session.get(f"{base}/availability", params=params) as r:
                await r.read()
                status = r.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            status = type(exc).__name__
        if measured:
            out.latencies.append(time.perf_counter() - due)
            out.statuses[status] += 1

    async def fresh(session: aiohttp.ClientSession, at: float) -> None:
        await asyncio.sleep(at)
        version, committed, gated, cpu = await loop.run_in_executor(None, commit_and_gate,
                                                                     home)
        out.side_cpu += cpu
        served = await _watch(session, base, version)
        out.freshness.append((served - committed, served - gated))

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        tasks: set[asyncio.Task] = set()
        interval = 1.0 / rate
        # perf_counter, not loop.time(): uvloop's clock ticks in whole milliseconds
        start = time.perf_counter()
        measure_from = start + WARMUP_SECONDS
        end = measure_from + seconds
        side = [asyncio.create_task(fresh(session, WARMUP_SECONDS + seconds * f))
                for f in (1 / 3, 2 / 3)]
        i = 0
        while True:
            due = start + i * interval
            if due >= end:
                break
            now = time.perf_counter()
            if due > now:
                await asyncio.sleep(due - now)
            task = asyncio.create_task(one(session, due, due >= measure_from))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            out.sent += int(due >= measure_from)
            i += 1
        await asyncio.gather(*tasks)
        out.seconds = time.perf_counter() - measure_from
        await asyncio.gather(*side)
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report_load(load: Load, rate: float, server_cpu: float, client_cpu: float,
                before: tuple[float, ...], after: tuple[float, ...]) -> None:
    ms = [x * 1000 for x in load.latencies]
    ok = load.statuses.get(200, 0)
    errors = sum(n for s, n in load.statuses.items() if s != 200)
    print(f"\n/availability, open loop at {rate:.0f} req/s for {load.seconds:.1f} s "
          f"(+{WARMUP_SECONDS:.0f} s warm-up), {os.cpu_count()} cores")
    print(f"  sent {load.sent}, answered {len(ms)}, 200 OK {ok}, errors {errors} "
          f"{dict(load.statuses) if errors else ''}")
    print(f"  achieved {len(ms) / load.seconds:.1f} req/s")
    print(f"  latency ms: p50 {_pct(ms, 0.50):.2f}  p95 {_pct(ms, 0.95):.2f}  "
          f"p99 {_pct(ms, 0.99):.2f}  p99.9 {_pct(ms, 0.999):.2f}  max {max(ms):.2f}  "
          f"mean {statistics.fmean(ms):.2f}")
    print(f"  CPU: server {server_cpu / load.seconds:.2f} cores, load generator "
          f"{client_cpu / load.seconds:.2f} cores, commits + gates {load.side_cpu:.1f} s")
    print(f"  load average (1/5/15 min) before {before[0]:.2f}/{before[1]:.2f}/{before[2]:.2f}, "
          f"after {after[0]:.2f}/{after[1]:.2f}/{after[2]:.2f}")
    for n, (commit, gate) in enumerate(load.freshness, 1):
        print(f"  freshness under load #{n}: served {commit:.2f} s after the positions commit, "
              f"{gate:.2f} s after its gate passed")


# ---------------------------------------------------------------- micro-batches


def micro_batch(home: Home, config: SimConfig) -> tuple[float, int, int]:
    """Drop one simulated hour into landing and run the micro-batch steps: (monotonic time of
    the drop, new positions pin, positions changed)."""
    before = {f.path for f in discover(home.root)}
    uri = positions_uri(home)
    old = pl.read_delta(str(uri), version=validated_version(uri))
    live(home, config, 0, max_batches=1)
    dropped = time.monotonic()
    files = [f for f in discover(home.root) if f.path not in before]
    batch = batch_id_for(files)
    ingest_files(home.root, files, batch)
    gate_layers(home.lake, "bronze", "quarantine")
    build_silver(home.root, batch)
    gate_layers(home.lake, "silver", "quarantine")
    apply_micro_batch(home, batch)
    gate_layers(home.lake, "silver", "gold")
    pin = validated_version(uri)
    assert pin is not None
    new = pl.read_delta(str(uri), version=pin)
    cols = ["product_id", "location_id", "on_hand", "reserved", "available_to_promise"]
    changed = new.select(cols).join(old.select(cols), on=cols, how="anti").height
    return dropped, pin, changed


def batch_freshness(home: Home, base: str, batches: int) -> None:
    print(f"\nmicro-batch freshness ({batches} simulated hours, steps in-process, no Dagster "
          "launch)")
    for n in range(1, batches + 1):
        dropped, pin, changed = micro_batch(home, SimConfig())
        validated = time.monotonic()
        while served_version(base) != pin:
            if time.monotonic() - validated > 60:
                raise TimeoutError(f"positions version {pin} not served in 60 s")
            time.sleep(0.05)
        served = time.monotonic()
        print(f"  batch {n}: {changed} positions changed; drop -> validated "
              f"{validated - dropped:.2f} s, validated -> served {served - validated:.2f} s, "
              f"drop -> served {served - dropped:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path,
                        default=Path(tempfile.gettempdir()) / "lakehouse_bench_serve")
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--port", type=int, default=0, help="default: a free one")
    args = parser.parse_args()
    home = ensure_home(args.home)
    positions = pl.read_delta(str(positions_uri(home)))
    locations = pl.read_delta(str(home.lake / "silver" / "locations"))
    stores = locations.filter(pl.col("type") == "store")["location_code"].to_list()
    products = sorted(positions["product_id"].unique().to_list())
    channels: list[str | None] = [None, "web", "app", "store", *stores]
    print(f"{len(products)} products, {positions.height} positions, channels {channels}")
    log = Path(tempfile.mkdtemp(prefix="bench_serve_")) / "serve.log"
    with server(home, args.port or free_port(), log) as (base, pid):
        try:
            from uvloop import run  # the generator's own overhead is smaller on uvloop
        except ImportError:
            run = asyncio.run
        before = os.getloadavg()
        cpu0, rus0 = cpu_seconds(pid), resource.getrusage(resource.RUSAGE_SELF)
        load = run(drive(base, home, products, channels, args.rate, args.seconds))
        rus1 = resource.getrusage(resource.RUSAGE_SELF)
        server_cpu = cpu_seconds(pid) - cpu0
        client_cpu = (rus1.ru_utime + rus1.ru_stime) - (rus0.ru_utime + rus0.ru_stime) \
            - load.side_cpu
        report_load(load, args.rate, server_cpu, client_cpu, before, os.getloadavg())
        if args.batches:
            batch_freshness(home, base, args.batches)
    print(f"\nserver log: {log}")


if __name__ == "__main__":
    main()
