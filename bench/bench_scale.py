"""Scale curve of the full rebuild: bench_full.py run once per size, to see how the rebuild grows.

One size says whether that size is fast enough; the curve says whether the next one will be. Each
size is a fresh bench_full.py subprocess (simulate, then `lakehouse run`), so runs share nothing.
Prints events (the simulator's real count, not the requested one), wall and CPU seconds, peak
RSS, each top step's share of the wall, each step's growth exponent between consecutive sizes
(log(t2/t1) / log(n2/n1): 1 is linear), and the targets of the scale issue, met or not:
10M events in at most 300 s within 6 GB, 1M in at most 60 s, no step growing faster than linearly.

CPU seconds are user+sys of the whole bench_full.py process tree (getrusage(RUSAGE_CHILDREN)
deltas), so they include the simulation, which the wall and the step times exclude. The machine
is shared: load average and core count are printed before and after each size.

    .venv/bin/python bench/bench_scale.py [--events 1M,3M,10M] [--days 60] [--out DIR]

Writes DIR/scale.json (every figure) and DIR/scale.svg (wall s and peak GB against events).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import re
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH_FULL = Path(__file__).with_name("bench_full.py")
EVENTS_PER_PERSON_DAY = 1_000_000 / (27_000 * 60)  # bench_full: 27,000 persons x 60 days ~ 1M
TOP_STEPS = ("ingest_bronze", "build_silver", "resolve_identity", "build_inventory",
             "dbt_models", "gx_warehouse_gate")
NOISE_FLOOR_S = 0.5  # steps shorter than this at the smaller size get no exponent (0.1 s clock)
TOLERANCE = 1.1  # an exponent above this counts as faster than linear (run-to-run noise)


@dataclass
class Run:
    requested: int
    persons: int
    days: int
    events: int = 0
    simulate_s: float = float("nan")
    wall_s: float = float("nan")
    cpu_s: float = float("nan")
    peak_mb: float = float("nan")
    validation_s: float = float("nan")
    steps: dict[str, float] = field(default_factory=dict)
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    cores: int = 0
    ok: bool = False


def parse_count(text: str) -> int:
    """'20k' -> 20_000, '3M' -> 3_000_000, '1.5m' -> 1_500_000, '500' -> 500."""
    text = text.strip()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:].lower(), 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def persons_for(events: int, days: int) -> int:
    return max(1, round(events / (EVENTS_PER_PERSON_DAY * days)))


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def parse_output(run: Run, out: str) -> None:
    """Fill run from bench_full.py's stdout (its human report; it has no machine format)."""
    if m := re.search(r"simulated (\d+) events in ([\d.]+)s", out):
        run.events, run.simulate_s = int(m.group(1)), float(m.group(2))
    if m := re.search(r"full rebuild: ([\d.]+)s wall.*peak RSS (\d+) MB", out):
        run.wall_s, run.peak_mb = float(m.group(1)), float(m.group(2))
    if m := re.search(r"validation:\s+([\d.]+)s", out):
        run.validation_s = float(m.group(1))
    table = out.split("step                          seconds", 1)[-1].split("\n\n", 1)[0]
    for name, seconds in re.findall(r"^  (\S+)\s+([\d.]+)$", table, re.MULTILINE):
        run.steps[name] = run.steps.get(name, 0.0) + float(seconds)


def measure(events: int, days: int) -> Run:
    run = Run(requested=events, persons=persons_for(events, days), days=days)
    run.cores, run.load_before = os.cpu_count() or 0, os.getloadavg()
    print(f"\n== {events:,} events requested: --persons {run.persons} --days {days}; "
          f"before: {load_line()}", flush=True)
    cpu = cpu_children()
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(BENCH_FULL), "--persons", str(run.persons),
                           "--days", str(days)], capture_output=True, text=True, check=False)
    run.cpu_s = cpu_children() - cpu
    run.load_after = os.getloadavg()
    parse_output(run, done.stdout)
    run.ok = done.returncode == 0 and not math.isnan(run.wall_s)
    print(f"   {run.events:,} events simulated; bench_full took "
          f"{time.perf_counter() - started:.1f}s in all; after: {load_line()}", flush=True)
    if not run.ok:
        print(f"   FAILED (exit {done.returncode})\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return run


def shares(run: Run) -> dict[str, float]:
    """Each top step's percentage of the wall, and 'other' (remaining steps, process start-up)."""
    out = {s: 100 * run.steps.get(s, 0.0) / run.wall_s for s in TOP_STEPS}
    out["other"] = 100 - sum(out.values())
    return out


def exponents(runs: list[Run]) -> list[dict[str, float | None]]:
    """Per consecutive pair of sizes, each step's log(t2/t1)/log(n2/n1); None if too short."""
    pairs = []
    for a, b in itertools.pairwise(runs):
        growth: dict[str, float | None] = {"wall": _exponent(a.wall_s, b.wall_s, a, b)}
        for step in sorted(set(a.steps) | set(b.steps)):
            growth[step] = _exponent(a.steps.get(step, 0.0), b.steps.get(step, 0.0), a, b)
        pairs.append(growth)
    return pairs


def _exponent(t1: float, t2: float, a: Run, b: Run) -> float | None:
    if t1 < NOISE_FLOOR_S or t2 <= 0 or b.events == a.events:
        return None
    return math.log(t2 / t1) / math.log(b.events / a.events)


def near(runs: list[Run], events: int) -> Run | None:
    """The run within 25% of `events`, if any: targets name sizes, the simulator approximates."""
    close = [r for r in runs if r.ok and abs(r.events - events) <= 0.25 * events]
    return min(close, key=lambda r: abs(r.events - events), default=None)


def targets(runs: list[Run], growth: list[dict[str, float | None]]) -> list[tuple[str, str]]:
    verdicts = []
    big, small = near(runs, 10_000_000), near(runs, 1_000_000)
    verdicts.append(("10M events rebuild <= 300 s",
                     _verdict(big, lambda r: r.wall_s <= 300, lambda r: f"{r.wall_s:.1f} s")))
    verdicts.append(("10M events peak RSS <= 6 GB",
                     _verdict(big, lambda r: r.peak_mb <= 6 * 1024,
                              lambda r: f"{r.peak_mb / 1024:.2f} GB")))
    verdicts.append(("1M events rebuild <= 60 s",
                     _verdict(small, lambda r: r.wall_s <= 60, lambda r: f"{r.wall_s:.1f} s")))
    measured = [(k, v) for pair in growth for k, v in pair.items() if v is not None]
    if not measured:
        verdicts.append(("no step faster than linear", "NOT MEASURED (need 2 sizes, steps >= "
                         f"{NOISE_FLOOR_S} s)"))
    else:
        worst = max(measured, key=lambda kv: kv[1])
        ok = worst[1] <= TOLERANCE
        verdicts.append((f"no step faster than linear (exponent <= {TOLERANCE})",
                         f"{'met' if ok else 'NOT MET'}: steepest {worst[0]} {worst[1]:.2f}"))
    return verdicts


def _verdict(run: Run | None, passed, figure) -> str:
    if run is None:
        return "NOT MEASURED (no run within 25% of that size)"
    return f"{'met' if passed(run) else 'NOT MET'}: {figure(run)} at {run.events:,} events"


def print_report(runs: list[Run], growth: list[dict[str, float | None]],
                 verdicts: list[tuple[str, str]]) -> None:
    ok = [r for r in runs if r.ok]
    cols = [*TOP_STEPS, "other"]
    print("\n" + f"{'events':>11s} {'wall s':>7s} {'CPU s':>7s} {'peak MB':>8s}  "
          + " ".join(f"{c[:10]:>10s}" for c in cols))
    for r in ok:
        share = shares(r)
        print(f"{r.events:>11,} {r.wall_s:7.1f} {r.cpu_s:7.1f} {r.peak_mb:8.0f}  "
              + " ".join(f"{share[c]:9.1f}%" for c in cols))
    print("(step columns: % of wall; CPU s = user+sys of the bench_full.py process tree "
          "via getrusage(RUSAGE_CHILDREN), simulation included)")
    for a, b, pair in zip(ok, ok[1:], growth, strict=False):
        print(f"\ngrowth exponent {a.events:,} -> {b.events:,} events (1 = linear):")
        width = max(map(len, pair))
        for name, value in pair.items():
            shown = "n/a (too short)" if value is None else f"{value:.2f}"
            print(f"  {name:{width}s} {shown}")
    print("\ntargets (scale issue):")
    for name, verdict in verdicts:
        print(f"  {name:45s} {verdict}")


def svg(runs: list[Run]) -> str:
    """Wall seconds (left axis) and peak GB (right axis) against events, hand-drawn."""
    w, h, left, right, top, bottom = 560, 340, 70, 70, 30, 55
    xs = [r.events for r in runs]
    walls = [r.wall_s for r in runs]
    gbs = [r.peak_mb / 1024 for r in runs]
    xmax, wmax, gmax = max(xs) * 1.05, max(walls) * 1.15, max(gbs) * 1.15

    def px(x: float) -> float:
        return left + (w - left - right) * x / xmax

    def py(y: float, ymax: float) -> float:
        return h - bottom - (h - top - bottom) * y / ymax

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
             'font-family="sans-serif" font-size="11">',
             f'<rect width="{w}" height="{h}" fill="white"/>',
             f'<text x="{w / 2}" y="18" text-anchor="middle" font-size="13">'
             'Full rebuild against events</text>',
             f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" '
             'stroke="black"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="#1f77b4"/>',
             f'<line x1="{w - right}" y1="{top}" x2="{w - right}" y2="{h - bottom}" '
             'stroke="#d62728"/>']
    for i in range(6):
        x, wall, gb = xmax * i / 5, wmax * i / 5, gmax * i / 5
        parts += [f'<text x="{px(x):.1f}" y="{h - bottom + 15}" text-anchor="middle">'
                  f'{_short(x)}</text>',
                  f'<text x="{left - 6}" y="{py(wall, wmax) + 4:.1f}" text-anchor="end" '
                  f'fill="#1f77b4">{wall:.0f}</text>',
                  f'<text x="{w - right + 6}" y="{py(gb, gmax) + 4:.1f}" fill="#d62728">'
                  f'{gb:.2f}</text>']
    parts += [f'<text x="{w / 2}" y="{h - 15}" text-anchor="middle">events (simulated)</text>',
              f'<text transform="translate(18 {h / 2}) rotate(-90)" text-anchor="middle" '
              'fill="#1f77b4">wall seconds</text>',
              f'<text transform="translate({w - 14} {h / 2}) rotate(90)" text-anchor="middle" '
              'fill="#d62728">peak RSS GB</text>']
    lines = ((walls, wmax, "#1f77b4", "", "wall s"), (gbs, gmax, "#d62728", "6 4", "peak GB"))
    for i, (ys, ymax, colour, dash, label) in enumerate(lines):
        points = " ".join(f"{px(x):.1f},{py(y, ymax):.1f}" for x, y in zip(xs, ys, strict=True))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                     f'stroke-width="2" stroke-dasharray="{dash}"/>')
        ly = top + 8 + 16 * i  # legend: the two lines can coincide when both scale alike
        parts += [f'<line x1="{left + 10}" y1="{ly}" x2="{left + 40}" y2="{ly}" '
                  f'stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/>',
                  f'<text x="{left + 46}" y="{ly + 4}" fill="{colour}">{label}</text>']
        parts += [f'<circle cx="{px(x):.1f}" cy="{py(y, ymax):.1f}" r="3" fill="{colour}"/>'
                  for x, y in zip(xs, ys, strict=True)]
    return "\n".join([*parts, "</svg>", ""])


def _short(n: float) -> str:
    if n >= 1e6:
        return f"{n / 1e6:g}M" if n % 1e5 == 0 else f"{n / 1e6:.1f}M"
    return f"{n / 1e3:.0f}k" if n >= 1e3 else f"{n:.0f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", default="1M,3M,10M", help="sizes, comma-separated (k/M suffix)")
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--out", type=Path, help="write scale.json and scale.svg here")
    args = ap.parse_args()
    sizes = sorted(parse_count(s) for s in args.events.split(","))
    runs = [measure(n, args.days) for n in sizes]
    ok = sorted((r for r in runs if r.ok), key=lambda r: r.events)
    growth = exponents(ok)
    verdicts = targets(ok, growth)
    print_report(ok, growth, verdicts)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "scale.json").write_text(json.dumps(
            {"runs": [asdict(r) | {"shares_pct": shares(r) if r.ok else {}} for r in runs],
             "growth_exponents": growth, "targets": dict(verdicts)}, indent=2) + "\n")
        if ok:
            (args.out / "scale.svg").write_text(svg(ok))
        print(f"\nwrote {args.out / 'scale.json'}" + (" and scale.svg" if ok else ""))
    return 0 if len(ok) == len(runs) else 1


if __name__ == "__main__":
    sys.exit(main())
