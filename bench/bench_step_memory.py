"""Peak memory per step of a full rebuild: which step of `lakehouse run` needs the memory?

bench_full.py and bench_scale.py report one peak RSS per run (the largest process); this says
which step reached it. It runs one full rebuild (`lakehouse run`, one Dagster run, in-process,
as bench_full.py does) from a frozen copy of the code (code_copy.py says why) on a copy of a
simulated landing zone, and samples every ``--interval`` seconds (0.2 by default) the RSS of
every process in the run's tree, from /proc (VmRSS; descendants found through each process's
ppid; psutil is not installed). The tree: `lakehouse run` (lakehouse.cli) starts
`python -m orchestration.runtime.run`, the run worker, in which every step runs; it starts the
`dbt parse` and `dbt build` subprocesses and Dagster's small helpers. Each sample records the
time, the tree's total RSS, the largest single process's RSS and what it is, every process's
RSS and its high-water mark (VmHWM), and the 1-minute load average.

Samples are attributed to steps by the run's progress lines (``[  12.3s] start <step>`` ...
``done <step>``, printed and flushed by orchestration/runtime/run.py as each Dagster step event
happens), timestamped by this script as they arrive on the pipe, so step times and samples share
one clock. Time outside any step is shown as ``(start-up)`` (imports, loading the definitions,
`dbt parse`), ``(between steps)`` and ``(summary)``. The run is serial (execute_in_process), so
steps do not overlap.

Per step: wall seconds, peak tree RSS, peak single-process RSS and which process, each
process's peak RSS in the step, and the highest VmHWM a process rose to during the step (it sees
peaks between two samples; for the run worker, a figure there means the step set a new high for
the whole run so far). Tree RSS sums the processes' RSS, so pages they share are counted more
than once. The largest process's peak over the whole run is also taken from wait4 (ru_maxrss,
as bench_nightly.py does) to check the sampling.

    .venv/bin/python bench/bench_step_memory.py (--events 1M | --persons N [--days 60])
        [--landing DIR] [--out DIR] [--keep DIR] [--interval 0.2]

``--landing DIR``: a simulated home (its landing/ and truth/) to reuse; they are copied, never
written. When DIR holds no landing files yet, the size given is simulated into DIR and kept
there for the next run. Without it the size is simulated into the work directory. ``--out DIR``
writes step_memory.json (the table, every sample, the step events and the run's load averages).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

for _path in (Path(__file__).resolve().parent, Path(__file__).resolve().parents[1]):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from bench_scale import load_line, parse_count, persons_for  # noqa: E402
from code_copy import PARTS, ROOT, copy_code  # noqa: E402

from lakehouse.home import Home  # noqa: E402
from lakehouse.simulate import SimConfig, simulate  # noqa: E402

PROGRESS = re.compile(r"^\[\s*([\d.]+)s\] (start|done |FAIL |skip ) (\S+)")
GB = 1024 * 1024  # kB per GB (VmRSS is in kB)
STARTUP, BETWEEN, SUMMARY = "(start-up)", "(between steps)", "(summary)"
# what the simulator writes, and all the run is given: the landing zone, and the ground truth a
# few assets score themselves against on a simulated home (as in bench_full.py's home)
SIMULATED = ("landing", "truth")
HWM_FROM_KB = 50 * 1024  # a process starting sets a small HWM: not worth a figure
SHOWN_FROM_S = 0.5  # shorter steps and gaps are left out of the printed table (not the JSON)


# --- the process tree, from /proc ---------------------------------------------------------------

def _ppids() -> dict[int, int]:
    """pid -> ppid of every process on the machine."""
    out = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:  # gone meanwhile
            continue
        # comm (field 2) may hold spaces and parentheses: the fields after its last ')' are fixed
        fields = stat[stat.rfind(b")") + 2:].split()
        out[int(entry.name)] = int(fields[1])
    return out


def tree(root: int) -> list[int]:
    """``root`` and every descendant of it."""
    children: dict[int, list[int]] = {}
    for pid, ppid in _ppids().items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def memory_kb(pid: int) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) of ``pid`` in kB; None once it has exited (or is a zombie)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            text = f.read()
    except OSError:
        return None
    rss = re.search(r"^VmRSS:\s+(\d+)", text, re.MULTILINE)
    hwm = re.search(r"^VmHWM:\s+(\d+)", text, re.MULTILINE)
    if rss is None:
        return None
    return int(rss.group(1)), int(hwm.group(1)) if hwm else 0


def command(pid: int, width: int = 90) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(a.decode(errors="replace") for a in argv if a)
    # the venv's interpreter path says nothing; its last component is enough
    text = re.sub(r"\S*/(python3?[\d.]*|dbt|lakehouse)\b", r"\1", text)
    return text[:width]


def kind(cmd: str) -> str:
    """What a process of the run is, in a few words."""
    if "orchestration.runtime.run" in cmd:
        return "run worker"  # `lakehouse run` execs it: every step runs in this process
    if "lakehouse.cli" in cmd:
        return "lakehouse cli"
    if sub := re.search(r"\bdbt (\S+)", cmd):
        return f"dbt {sub.group(1)}"
    if "resource_tracker" in cmd:
        return "mp resource tracker"
    if "watch_orphans" in cmd:
        return "dagster watch_orphans"
    return cmd.split(" ")[0]


@dataclass
class Sample:
    t: float  # seconds since the run started (this script's clock)
    tree_kb: int
    procs: int
    top_pid: int
    top_kb: int
    top_kind: str
    load1: float
    rss_kb: dict[int, int] = field(default_factory=dict)  # every process of the tree
    hwm_kb: dict[int, int] = field(default_factory=dict)  # their VmHWM (peak RSS so far)


class Sampler(threading.Thread):
    """Samples the tree under ``root`` every ``interval`` seconds until stopped."""

    def __init__(self, root: int, started: float, interval: float) -> None:
        super().__init__(daemon=True)
        self.root, self.started, self.interval = root, started, interval
        self.samples: list[Sample] = []
        self.commands: dict[int, str] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            begun = time.perf_counter()
            sample = self.sample()
            if sample is not None:
                self.samples.append(sample)
            self.stopped.wait(max(0.0, self.interval - (time.perf_counter() - begun)))

    def sample(self) -> Sample | None:
        at = time.perf_counter() - self.started
        rss: dict[int, int] = {}
        hwm: dict[int, int] = {}
        for pid in tree(self.root):
            mem = memory_kb(pid)
            if mem is None:
                continue
            rss[pid], hwm[pid] = mem
            if pid not in self.commands:
                self.commands[pid] = command(pid)
        if not rss:
            return None
        top = max(rss, key=rss.__getitem__)
        return Sample(t=round((at + time.perf_counter() - self.started) / 2, 3),
                      tree_kb=sum(rss.values()), procs=len(rss), top_pid=top,
                      top_kb=rss[top], top_kind=kind(self.commands[top]),
                      load1=os.getloadavg()[0], rss_kb=rss, hwm_kb=hwm)


# --- steps ------------------------------------------------------------------------------------

@dataclass
class Step:
    name: str
    start: float
    end: float
    status: str = "done"
    samples: int = 0
    peak_tree_gb: float = 0.0
    peak_tree_at: float = 0.0
    peak_proc_gb: float = 0.0
    peak_proc: str = ""
    peak_proc_cmd: str = ""
    by_process_gb: dict[str, float] = field(default_factory=dict)  # peak RSS per process kind
    hwm_gb: float | None = None  # the highest VmHWM any process of the tree rose to in the step
    hwm_proc: str = ""
    load1_end: float = 0.0

    @property
    def wall(self) -> float:
        return self.end - self.start


def steps_from(events: list[tuple[float, str, str]], wall: float) -> list[Step]:
    """Step intervals from (time, what, step) progress events, with the gaps between them."""
    steps: list[Step] = []
    open_: dict[str, float] = {}
    for at, what, name in events:
        if what == "start":
            open_[name] = at
        elif name in open_:
            steps.append(Step(name, open_.pop(name), at, what.strip().lower()))
        elif what.startswith("skip"):
            steps.append(Step(name, at, at, "skip"))
    for name, at in open_.items():  # started, never ended (a killed run)
        steps.append(Step(name, at, wall, "unfinished"))
    steps.sort(key=lambda s: s.start)
    gaps: list[Step] = []
    cursor = 0.0
    for i, step in enumerate(steps):
        if step.start > cursor:
            gaps.append(Step(STARTUP if i == 0 else BETWEEN, cursor, step.start, "gap"))
        cursor = max(cursor, step.end)
    if wall > cursor:
        gaps.append(Step(SUMMARY if steps else STARTUP, cursor, wall, "gap"))
    return sorted(steps + gaps, key=lambda s: s.start)


def attribute(steps: list[Step], samples: list[Sample], commands: dict[int, str]) -> None:
    """Each step's peaks over the samples taken while it ran, and the VmHWM rises in it."""
    for step in steps:
        inside = [s for s in samples if step.start <= s.t < step.end]
        step.samples = len(inside)
        if not inside:
            continue
        tree_peak = max(inside, key=lambda s: s.tree_kb)
        proc_peak = max(inside, key=lambda s: s.top_kb)
        step.peak_tree_gb = tree_peak.tree_kb / GB
        step.peak_tree_at = tree_peak.t
        step.peak_proc_gb = proc_peak.top_kb / GB
        step.peak_proc = proc_peak.top_kind
        step.peak_proc_cmd = commands.get(proc_peak.top_pid, "?")
        step.load1_end = inside[-1].load1
        for sample in inside:
            for pid, kb in sample.rss_kb.items():
                name = kind(commands.get(pid, "?"))
                step.by_process_gb[name] = max(step.by_process_gb.get(name, 0.0), kb / GB)
        # VmHWM catches a peak between two samples: a process's HWM before the step (its last
        # sample before; 0 if it did not exist) against after it (its first sample after the
        # step, else its last one in it). A rise means the process set a new peak in the step.
        before = [s for s in samples if s.t < step.start]
        after = [s for s in samples if s.t >= step.end]
        for pid in {pid for s in inside for pid in s.hwm_kb}:
            old = next((s.hwm_kb[pid] for s in reversed(before) if pid in s.hwm_kb), 0)
            new = next((s.hwm_kb[pid] for s in after if pid in s.hwm_kb),
                       next(s.hwm_kb[pid] for s in reversed(inside) if pid in s.hwm_kb))
            if new > old and new >= HWM_FROM_KB and (step.hwm_gb is None
                                                     or new / GB > step.hwm_gb):
                step.hwm_gb, step.hwm_proc = new / GB, kind(commands.get(pid, "?"))


# --- the run ----------------------------------------------------------------------------------

@dataclass
class Result:
    wall: float
    returncode: int
    maxrss_gb: float  # wait4's ru_maxrss: the largest process of the tree, whole run
    cpu_s: float
    events: list[tuple[float, str, str]]
    samples: list[Sample]
    commands: dict[int, str]
    root: int


def lakehouse_run(code: Path, home: Path, log: Path, interval: float) -> Result:
    """`lakehouse run` of ``code`` on ``home``, sampled; its output goes to ``log``."""
    env = {**Home(home).environment(), "PYTHONPATH": str(code)}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "lakehouse.cli", "run", "--home", str(home)],
                            cwd=code, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    sampler = Sampler(proc.pid, started, interval)
    sampler.start()
    events: list[tuple[float, str, str]] = []
    with log.open("w", buffering=1) as out:  # line-buffered: the log can be followed live
        assert proc.stdout is not None
        for line in proc.stdout:
            at = time.perf_counter() - started
            out.write(f"{at:8.2f} | {line}")
            if m := PROGRESS.match(line):
                events.append((round(at, 3), m.group(2).strip() or m.group(2), m.group(3)))
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    sampler.stopped.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Result(wall, proc.returncode, usage.ru_maxrss / GB, usage.ru_utime + usage.ru_stime,
                  events, sampler.samples, sampler.commands, proc.pid)


def code_version() -> tuple[str, list[str]]:
    """The revision the code copy was taken at and the copied files that differed from it (the
    working tree may hold uncommitted edits); read-only git, no optional index lock."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}

    def git(*argv: str) -> str:
        done = subprocess.run(["git", "-C", str(ROOT), *argv], env=env, capture_output=True,
                              text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else "?"

    changed = git("diff", "--name-only", "HEAD", "--", *PARTS)
    return git("rev-parse", "--short", "HEAD"), changed.splitlines()


def landing_home(args: argparse.Namespace, work: Path) -> Path:
    """The simulated home to copy the landing zone from: ``--landing`` if it holds one, else
    simulated (into ``--landing`` when given, so the next run can reuse it)."""
    source = args.landing or work / "simulated"
    if any((source / "landing").glob("*/*")):
        if args.events or args.persons:
            print(f"reusing the landing zone in {source} (--events/--persons ignored)")
        return source
    if not (args.events or args.persons):
        raise SystemExit(f"{source} holds no landing zone: give --events or --persons")
    persons = args.persons or persons_for(parse_count(args.events), args.days)
    started = time.perf_counter()
    report = simulate(Home.resolve(source), SimConfig(persons=persons, days=args.days))
    print(f"simulated {report.events:,} events ({persons} persons x {args.days} days) into "
          f"{source} in {time.perf_counter() - started:.0f}s (not counted)", flush=True)
    return source


def landed_records(landing: Path) -> int:
    """Landed lines (less CSV headers): a size figure for a reused landing zone."""
    total = 0
    for path in landing.rglob("*"):
        if path.is_file():
            with path.open("rb") as f:
                n = sum(1 for line in f if line.strip())
            total += n - 1 if path.suffix == ".csv" and n else n
    return total


def table(steps: list[Step], shortest: float = SHOWN_FROM_S) -> str:
    rows = [f"{'step':30s} {'wall s':>6s} {'tree GB':>7s} {'proc GB':>7s} {'HWM GB':>7s} "
            f"{'load':>5s}  largest process at the peak; peak RSS GB per process in the step"]
    hidden = [s for s in steps if s.wall < shortest]
    for s in steps:
        if s.wall < shortest:
            continue
        hwm = "" if s.hwm_gb is None else f"{s.hwm_gb:.2f}"
        rose = f"; HWM rose in {s.hwm_proc}" if s.hwm_gb and s.hwm_proc != s.peak_proc else ""
        peak = f"{s.peak_tree_gb:7.2f} {s.peak_proc_gb:7.2f}" if s.samples else f"{'-':>7s} " \
            f"{'-':>7s}"
        others = ", ".join(f"{name} {gb:.2f}" for name, gb in sorted(
            s.by_process_gb.items(), key=lambda kv: -kv[1]) if gb >= 0.05)
        rows.append(f"{s.name[:30]:30s} {s.wall:6.1f} {peak} {hwm:>7s} {s.load1_end:5.2f}  "
                    f"{s.peak_proc}; {others}{rose}"
                    + ("" if s.status in ("done", "gap") else f" [{s.status}]"))
    if hidden:
        sampled = [s for s in hidden if s.samples]
        rows.append(f"{len(hidden)} steps and gaps under {shortest} s not shown: "
                    f"{sum(s.wall for s in hidden):.1f} s in all, peak tree "
                    f"{max((s.peak_tree_gb for s in sampled), default=0):.2f} GB (in the JSON)")
    return "\n".join(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", help="size to simulate (k/M suffix): persons from bench_scale")
    ap.add_argument("--persons", type=int, help="persons to simulate (instead of --events)")
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--landing", type=Path, help="a simulated home to reuse (copied, not written)"
                    "; simulated into when it holds no landing zone")
    ap.add_argument("--out", type=Path, help="write step_memory.json here")
    ap.add_argument("--keep", type=Path, help="work here and keep it (code copy, home, run log)")
    ap.add_argument("--interval", type=float, default=0.2, help="seconds between samples")
    args = ap.parse_args()
    work = (args.keep or Path(tempfile.mkdtemp(prefix="bench_step_memory_"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    try:
        head, uncommitted = code_version()
        code = copy_code(work / "code")  # the run executes the code as it was now
        print(f"code copied at {head}, uncommitted changes in: "
              f"{', '.join(uncommitted) or 'none'}", flush=True)
        source = landing_home(args, work).resolve()
        records = landed_records(source / "landing")
        home = work / "home"
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir()
        for part in SIMULATED:  # copy2: mtimes (knowledge times) kept
            if (source / part).is_dir():
                shutil.copytree(source / part, home / part)
        print(f"landing zone: {records:,} landed records from {source}, copied to {home}",
              flush=True)
        load_before = os.getloadavg()
        print(f"before the run: {load_line()}", flush=True)
        result = lakehouse_run(code, home, work / "run.log", args.interval)
        load_after = os.getloadavg()
        steps = steps_from(result.events, result.wall)
        attribute(steps, result.samples, result.commands)
        if result.returncode != 0:
            print((work / "run.log").read_text()[-6000:])
            print(f"RUN FAILED (exit {result.returncode}); the table covers what ran")
        top = max(result.samples, key=lambda s: s.top_kb, default=None)
        top_tree = max(result.samples, key=lambda s: s.tree_kb, default=None)
        print(f"\n{table(steps)}")
        print("(tree GB: peak total RSS of the run's process tree; proc GB: peak RSS of its "
              "largest process; HWM GB: the highest VmHWM a process rose to during the step, "
              "which sees peaks between samples, empty if none rose; load: 1-min load average "
              f"at the step's end; {len(result.samples)} samples, one per {args.interval} s)")
        if top and top_tree:
            print(f"\nrun: {result.wall:.1f}s wall, {result.cpu_s:.1f} CPU s; peak tree RSS "
                  f"{top_tree.tree_kb / GB:.2f} GB at {top_tree.t:.1f}s; peak single process "
                  f"{top.top_kb / GB:.2f} GB at {top.t:.1f}s ({top.top_kind}); wait4 ru_maxrss "
                  f"{result.maxrss_gb:.2f} GB")
        print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}; "
              f"{load_line()}")
        out = args.out or (work if args.keep else None)
        if out:
            out.mkdir(parents=True, exist_ok=True)
            (out / "step_memory.json").write_text(json.dumps({
                "landing": str(source), "landed_records": records, "home": str(home),
                "code": str(code), "code_head": head, "code_uncommitted": uncommitted,
                "interval_s": args.interval, "cores": os.cpu_count(),
                "returncode": result.returncode, "wall_s": result.wall, "cpu_s": result.cpu_s,
                "wait4_maxrss_gb": result.maxrss_gb, "load_before": load_before,
                "load_after": load_after,
                "steps": [asdict(s) | {"wall_s": s.wall} for s in steps],
                "events": result.events,
                "commands": {str(k): v for k, v in result.commands.items()},
                "samples": [asdict(s) for s in result.samples],
            }) + "\n")
            print(f"wrote {out / 'step_memory.json'}")
        return 0 if result.returncode == 0 else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
