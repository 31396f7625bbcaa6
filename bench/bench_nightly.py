"""A nightly run after the first build: does its cost follow the day or the history?

Simulates a retailer (or reuses a simulated landing zone), holds back the last days of every
dated landing file until about ``--new-events`` records are held back, runs `lakehouse run`
on the rest (the first build), then delivers the held-back files (fresh mtimes, as a real
delivery) and runs `lakehouse run` again: the nightly. Prints both runs' wall time, CPU time
and peak RSS (per run, from wait4), the nightly's step times, and the load average. Run it at
two history sizes and compare the nightly figures: the scale issue's target is that a nightly
with 100k new events costs at most 1.5x as much on 10M events of history as on 1M.

    .venv/bin/python bench/bench_nightly.py --events 1M [--new-events 100k] [--days 60]
        [--landing DIR] [--keep DIR]

Records are counted as landed lines (JSON-lines lines, CSV rows, JSON documents' top-level
items are not split: the simulated reference files are delivered on the first day, so they are
never held back).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

for _path in (Path(__file__).resolve().parent, Path(__file__).resolve().parents[1]):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from bench_scale import load_line, parse_count, persons_for  # noqa: E402
from code_copy import copy_code  # noqa: E402

from lakehouse.home import Home  # noqa: E402
from lakehouse.simulate import SimConfig, simulate  # noqa: E402

DATED = re.compile(r"_(\d{8})_\d+\.")


@dataclass
class Measured:
    wall: float
    cpu: float
    peak_mb: float
    steps: list[tuple[str, float]]


def records(path: Path) -> int:
    """Landed records in one file: lines, less a CSV header."""
    with path.open("rb") as f:
        lines = sum(1 for line in f if line.strip())
    return lines - 1 if path.suffix == ".csv" and lines else lines


def hold_back(landing: Path, new_events: int) -> tuple[set[str], int, int]:
    """The newest delivery days whose records add up closest to ``new_events`` (at least
    one day)."""
    by_day: dict[str, int] = {}
    total = 0
    for path in landing.rglob("*"):
        if not path.is_file():
            continue
        n = records(path)
        total += n
        if m := DATED.search(path.name):
            by_day[m.group(1)] = by_day.get(m.group(1), 0) + n
    days: set[str] = set()
    held = 0
    for day in sorted(by_day, reverse=True):
        if days and abs(held + by_day[day] - new_events) >= abs(held - new_events):
            break
        days.add(day)
        held += by_day[day]
    return days, held, total


def held_back(path: Path, days: set[str]) -> bool:
    m = DATED.search(path.name)
    return bool(m and m.group(1) in days)


def lakehouse_run(code: Path, home: Path, log: Path) -> Measured:
    """One `lakehouse run` of ``code`` with its own rusage (wait4), so runs of one bench do not
    mix; its output goes to ``log``."""
    env = {**Home(home).environment(), "PYTHONPATH": str(code)}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "lakehouse.cli", "run", "--home", str(home)],
                            cwd=code, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    log.write_text(out)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        print(out[-6000:])
        raise SystemExit(f"lakehouse run failed with exit code {proc.returncode}")
    steps, began = [], {}
    for at, what, step in re.findall(r"\[\s*([\d.]+)s\] (start|done ) (\S+)", out):
        if what == "start":
            began[step] = float(at)
        elif step in began:
            steps.append((step, float(at) - began[step]))
    return Measured(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, steps)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", default="1M", help="history size to simulate (k/M suffix)")
    ap.add_argument("--new-events", default="100k", help="records held back for the nightly")
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--landing", type=Path, help="a simulated home to reuse (its landing/)")
    ap.add_argument("--keep", type=Path, help="build here and keep it (with both runs' logs "
                    "and a copy of the home after the first build)")
    args = ap.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="bench_nightly_"))
    try:
        # both runs execute the code as it was when the bench started (code_copy.py says why)
        code = copy_code(work / "code")
        source = args.landing
        if source is None:
            source = work / "simulated"
            persons = persons_for(parse_count(args.events), args.days)
            started = time.perf_counter()
            report = simulate(Home.resolve(source), SimConfig(persons=persons, days=args.days))
            print(f"simulated {report.events:,} events ({persons} persons x {args.days} days) "
                  f"in {time.perf_counter() - started:.0f}s (not counted)", flush=True)
        days, held, total = hold_back(source / "landing", parse_count(args.new_events))
        print(f"landing: {total:,} records; held back {held:,} records of the last "
              f"{len(days)} delivery days ({min(days)}..{max(days)}) for the nightly")
        home = work / "home"
        shutil.copytree(source, home, ignore=lambda d, names: [
            n for n in names if held_back(Path(d) / n, days)])
        first = lakehouse_run(code, home, work / "first_build.log")
        _print("first build", first)
        if args.keep:  # the home as the nightly found it, to re-run the nightly by hand
            shutil.copytree(home, work / "home_after_first_build", symlinks=True)
        for path in sorted((source / "landing").rglob("*")):
            if path.is_file() and held_back(path, days):
                target = home / path.relative_to(source)
                shutil.copyfile(path, target)  # a delivery now: fresh mtime
        nightly = lakehouse_run(code, home, work / "nightly.log")
        _print(f"nightly with {held:,} new records on {total - held:,} of history", nightly)
        print("\nnightly step                      seconds   first build")
        firsts = dict(first.steps)
        for step, seconds in sorted(nightly.steps, key=lambda s: -s[1]):
            print(f"  {step:32s} {seconds:7.1f}   {firsts.get(step, float('nan')):7.1f}")
        print(f"\nnightly / first build: {nightly.wall / first.wall:.2f} wall, "
              f"{nightly.cpu / first.cpu:.2f} CPU; {load_line()}")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def _print(what: str, m: Measured) -> None:
    print(f"{what}: {m.wall:.1f}s wall, {m.cpu:.1f} CPU s, peak RSS {m.peak_mb:.0f} MB",
          flush=True)


if __name__ == "__main__":
    sys.exit(main())
