"""Crash campaign: SIGKILL the nightly run and micro-batches at random points, re-run, compare.

Usage: .venv/bin/python bench/chaos.py [--kills 50] [--seed 1] [--nightly-share 0.3]
       [--random-time-share 0.1] [--root DIR] [--keep]

Runs every step from a copy of the code taken at start (``work/code``), so the working tree
may change while a campaign runs. Builds a small home (a few simulated days, one nightly run,
then live micro-batch files), records an uninterrupted reference of two steps from copies of
their pre-states (a micro-batch over new live files; the nightly run over the result plus more
live files), then, per kill:
copies a step's pre-state, runs the step with ``LAKEHOUSE_FAULT=kill-at:<k>`` (k drawn among
the fault-point crossings the reference run logged, stratified by point so every writer gets
its turn) or SIGKILLs its process group at a random time, runs the step again plainly, and
compares the content fingerprint of every table, validated pin and the published warehouse
with the reference (``lakehouse.storage.fingerprint``). It also checks that no run is left
holding the lake-writer slot: no lake-writing Dagster run still active with a live worker, and
any lock file in the home free. Exits non-zero on any mismatch.

``worker`` is the micro-batch a sensor requests, run in this process as its own run worker
(the harness starts it as a child; it is not for people).

Why one file of ~430 lines: the harness starts itself as the micro-batch worker
(``chaos.py worker``) from the frozen copy of the code, and the test suite loads it by path
(``tests/integration/test_crash_campaign.py``); a script split into modules would need both to
find its siblings.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT, ROOT / "bench"):  # the project, and code_copy when loaded by path
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
# the code the runs execute: a copy frozen at the campaign's start (see ``freeze``)
CODE = ROOT

from code_copy import PARTS, copy_code  # noqa: E402

from lakehouse.home import Home  # noqa: E402
from lakehouse.storage.faults import ENV  # noqa: E402
from lakehouse.storage.fingerprint import differences, home_fingerprint  # noqa: E402

FROZEN = (*PARTS, "bench")

# the smallest home that still reaches every writer (identity merges, inventory, quarantine)
SIM = ["--persons", "150", "--products", "12", "--stores", "1", "--warehouses", "1",
       "--days", "2"]
LIVE_TICKS = 8  # simulated hours of live files per step
LAKE_WRITER = {"lakehouse/writes": "lake"}
STEP_TIMEOUT = 900


@dataclass
class Step:
    """One kind of run the campaign kills: its pre-state, reference fingerprint and the fault
    crossings (``(k, point, table)``) an uninterrupted run passes."""

    name: str
    pre: Path
    files: Path | None = None  # the micro-batch's landing files (a JSON list)
    reference: dict[str, str] = field(default_factory=dict)
    crossings: list[tuple[int, str, str]] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Kill:
    step: str
    how: str  # "kill-at:<k>" or "time:<s>"
    point: str  # the last crossing before death, or "-" when none was reached
    layer: str
    killed: bool  # the process died by SIGKILL (a random time after its end does not)
    rerun_ok: bool
    mismatches: list[str]
    stuck: list[str]
    seconds: float


# ------------------------------------------------------------------ processes


def command(step: Step, home: Path) -> list[str]:
    """The plain command of a step: the nightly (`lakehouse run`) or a micro-batch."""
    if step.name == "nightly":
        return [sys.executable, "-m", "orchestration.runtime.run", "--home", str(home)]
    assert step.files is not None
    return [sys.executable, str(CODE / "bench" / "chaos.py"), "worker", "--home", str(home),
            "--files", str(step.files)]


def run(cmd: list[str], home: Path, fault: str | None = None, kill_after: float | None = None,
        log: Path | None = None) -> tuple[int, float]:
    """Run ``cmd`` in its own process group on ``home``; SIGKILL the whole group after
    ``kill_after`` seconds if given, and always reap what a killed worker left (a dbt child
    would otherwise go on writing the build file). Returns (return code, seconds)."""
    env = {k: v for k, v in Home(home).environment().items() if k != ENV}
    env["PYTHONPATH"] = str(CODE)
    if fault:
        env[ENV] = fault
    started = time.monotonic()
    with open(log or os.devnull, "ab") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=CODE, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            proc.wait(timeout=kill_after if kill_after is not None else STEP_TIMEOUT)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            proc.wait()
        finally:  # also on Ctrl-C: the child is in its own session and would not hear it
            _kill_group(proc.pid)
    return proc.returncode, time.monotonic() - started


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def crossings(log: Path) -> list[tuple[int, str, str]]:
    """``(k, point, table)`` per line of a fault log (the run's main process only)."""
    if not log.exists():
        return []
    rows = [line.rstrip("\n").split("\t") for line in log.read_text().splitlines() if line]
    return [(int(n), point, table) for _pid, n, point, table in rows]


def layer(point: str, table: str) -> str:
    """The writer family a crossing belongs to, for the campaign's coverage figures."""
    head = point.split(".")[0]
    by_point = {"maintenance": "maintenance", "pins": "pins", "warehouse": "warehouse",
                "dbt": "warehouse", "live": "inventory", "ledger": "inventory",
                "identity": "identity", "quarantine": "quarantine", "silver": "silver"}
    if head in by_point:
        return by_point[head]
    name = table.rstrip("/").split("/")[-1]
    if "/bronze/" in table:
        return "bronze"
    if "/quarantine/" in table:
        return "quarantine"
    if name in ("identity_map", "customer_profiles", "person_id_history"):
        return "identity"
    if name.startswith("inventory_"):
        return "inventory"
    if name.startswith("ml_"):
        return "ml"
    return table.split("/lake/")[-1].split("/")[0] if "/lake/" in table else "other"


# ------------------------------------------------------------------ checks


def stuck_writers(home: Path) -> list[str]:
    """Runs holding the lake-writer slot after a re-run has finished: active lake-writing runs
    whose worker is alive, and lock files under the home that cannot be taken. A run a kill
    left STARTED with a dead worker holds nothing (``wait_for_lake_writers`` skips it and run
    monitoring fails it), so it is not counted."""
    import dagster as dg
    from dagster._core.storage.dagster_run import ACTIVE_RUN_STATUSES

    from orchestration.runtime.launcher import worker_alive

    stuck = []
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        for r in instance.get_runs(filters=dg.RunsFilter(statuses=list(ACTIVE_RUN_STATUSES),
                                                         tags=LAKE_WRITER)):
            if worker_alive(r):
                stuck.append(f"run {r.run_id} ({r.job_name}) {r.status.value}, worker alive")
            elif "lakehouse/run_worker_pid" not in r.tags:
                stuck.append(f"run {r.run_id} ({r.job_name}) {r.status.value}, no worker pid: "
                             "run monitoring cannot free it")
    for lock in home.rglob("*.lock"):
        with open(lock, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(handle, fcntl.LOCK_UN)
            except BlockingIOError:
                stuck.append(f"lock {lock.relative_to(home)} is held")
    return stuck


# ------------------------------------------------------------------ the home


def freeze(work: Path) -> Path:
    """Copy the project's code into the campaign's work directory and run every step from
    the copy: a campaign lasts an hour or more, and an edit to the working tree meanwhile
    would otherwise change the code between the reference run and the kills (and void the
    comparison). The harness itself keeps what it imported at start."""
    code = work / "code"
    return code if code.exists() else copy_code(code, FROZEN)


def simulate(home: Path, *extra: str) -> None:
    subprocess.run([sys.executable, "-m", "lakehouse.cli", "simulate", "--home", str(home),
                    *SIM, *extra], cwd=CODE, check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "PYTHONPATH": str(CODE)})


def landed(home: Path) -> set[str]:
    """``channel/name`` of every landed file (hidden and in-flight names are not landed)."""
    return {f"{p.parent.name}/{p.name}" for p in (home / "landing").glob("*/*")
            if p.is_file() and not p.name.startswith(".")
            and not p.name.endswith((".tmp", ".part", ".partial"))}


def new_files(home: Path, seen: set[str]) -> list[str]:
    """The files landed since ``seen``: what the landing sensor would put in one run."""
    return sorted(landed(home) - seen)


def copy(src: Path, dst: Path) -> Path:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=True)
    return dst


def reference(step: Step, work: Path, say) -> None:
    """Run the step uninterrupted from its pre-state, logging its fault crossings."""
    home = copy(step.pre, work / f"ref-{step.name}")
    log = work / f"ref-{step.name}.faults"
    log.unlink(missing_ok=True)
    rc, step.seconds = run(command(step, home), home, f"log:{log}",
                           log=work / f"ref-{step.name}.out")
    if rc != 0:
        raise SystemExit(f"reference {step.name} failed (rc {rc}): see "
                         f"{work / f'ref-{step.name}.out'}")
    step.crossings = crossings(log)
    step.reference = home_fingerprint(home)
    say(f"reference {step.name}: {step.seconds:.1f}s, {len(step.crossings)} fault crossings, "
        f"{len(step.reference)} fingerprinted tables/pins/relations")


def build(work: Path, say, live_ticks: int = LIVE_TICKS,
          nightly: bool = True) -> dict[str, Step]:
    """The pre-states: ``micro`` (a home after one nightly run, with new live files) and,
    when ``nightly``, ``nightly`` (the micro-batch's result with more live files landed)."""
    base = work / "base"
    if base.exists():
        shutil.rmtree(base)
    simulate(base)
    if nightly:
        rc, seconds = run(command(Step("nightly", base), base), base, log=work / "base.out")
        if rc != 0:
            raise SystemExit(f"the first nightly run failed (rc {rc}): see {work / 'base.out'}")
        say(f"base home: simulated and one nightly run in {seconds:.1f}s")
    seen = landed(base) if nightly else set()
    simulate(base, "--live", "0.001", "--max-batches", str(live_ticks))
    files = work / "micro-files.json"
    files.write_text(json.dumps(new_files(base, seen)))
    steps = {"micro": Step("micro", copy(base, work / "pre-micro"), files)}
    reference(steps["micro"], work, say)
    if nightly:
        pre = copy(work / "ref-micro", work / "pre-nightly")
        simulate(pre, "--live", "0.001", "--max-batches", str(2 * live_ticks))
        steps["nightly"] = Step("nightly", pre)
        reference(steps["nightly"], work, say)
    return steps


def save(steps: dict[str, Step], work: Path) -> None:
    """Keep the steps next to their pre-states, so ``--reuse`` skips the build."""
    (work / "steps.json").write_text(json.dumps({
        name: {"pre": str(s.pre), "files": str(s.files) if s.files else None,
               "reference": s.reference, "crossings": s.crossings, "seconds": s.seconds}
        for name, s in steps.items()}))


def load(work: Path) -> dict[str, Step]:
    raw = json.loads((work / "steps.json").read_text())
    return {name: Step(name, Path(s["pre"]), Path(s["files"]) if s["files"] else None,
                       s["reference"], [tuple(c) for c in s["crossings"]], s["seconds"])
            for name, s in raw.items()}


# ------------------------------------------------------------------ kills


def plan_kill(step: Step, rng: random.Random, random_time_share: float) -> str:
    """A fault spec: a random-time kill, or ``kill-at:<k>`` with k drawn among the crossings
    of a point chosen uniformly among the (point, layer) pairs the reference passed."""
    if rng.random() < random_time_share or not step.crossings:
        return f"time:{rng.uniform(0.5, step.seconds):.2f}"
    groups: dict[tuple[str, str], list[int]] = {}
    for k, point, table in step.crossings:
        groups.setdefault((point, layer(point, table)), []).append(k)
    choice = sorted(groups)[rng.randrange(len(groups))]
    return f"kill-at:{rng.choice(groups[choice])}"


def kill_once(step: Step, how: str, work: Path, n: int) -> Kill:
    """Copy the pre-state, kill the step as ``how`` says, re-run it plainly, compare."""
    started = time.monotonic()
    home = copy(step.pre, work / "kill")
    log = work / "kill.faults"
    log.unlink(missing_ok=True)
    out = work / f"kill-{n:03d}.out"
    out.unlink(missing_ok=True)
    if how.startswith("time:"):
        rc, _ = run(command(step, home), home, f"log:{log}",
                    kill_after=float(how.split(":")[1]), log=out)
    else:
        rc, _ = run(command(step, home), home, f"{how},log:{log}", log=out)
    passed = crossings(log)
    point, where = (passed[-1][1], layer(passed[-1][1], passed[-1][2])) if passed else ("-", "-")
    rerun, _ = run(command(step, home), home, log=out)
    mismatches = differences(step.reference, home_fingerprint(home)) if rerun == 0 else []
    return Kill(step.name, how, point, where, rc == -signal.SIGKILL, rerun == 0, mismatches,
                stuck_writers(home), time.monotonic() - started)


def campaign(steps: dict[str, Step], kills: int, seed: int, nightly_share: float,
             random_time_share: float, work: Path, say) -> list[Kill]:
    rng = random.Random(seed)
    done = []
    for n in range(1, kills + 1):
        name = "nightly" if "nightly" in steps and rng.random() < nightly_share else "micro"
        step = steps[name]
        how = plan_kill(step, rng, random_time_share)
        try:
            result = kill_once(step, how, work, n)
        except KeyboardInterrupt:  # stopped early: the summary covers the kills done
            say(f"interrupted during kill {n}")
            break
        done.append(result)
        verdict = "ok" if result.rerun_ok and not result.mismatches and not result.stuck \
            else "MISMATCH" if result.mismatches else "RERUN FAILED" if not result.rerun_ok \
            else "STUCK"
        say(f"kill {n:3d} {name:7s} {how:14s} at {result.point:28s} [{result.layer:11s}] "
            f"{'killed' if result.killed else 'ended '} {verdict} ({result.seconds:.0f}s)")
        for line in result.mismatches[:10] + result.stuck:
            say(f"      {line}")
    return done


def summary(done: list[Kill], steps: dict[str, Step], seconds: float) -> tuple[str, bool]:
    killed = [k for k in done if k.killed]
    bad = [k for k in done if k.mismatches or not k.rerun_ok]
    stuck = [k for k in done if k.stuck]
    reached: dict[str, set[str]] = {}
    for k in killed:
        reached.setdefault(k.layer, set()).add(k.point)
    lines = [f"\nkills: {len(done)} ({len(killed)} died by SIGKILL; "
             f"{sum(k.how.startswith('time:') for k in done)} at a random time), "
             f"steps: {dict(Counter(k.step for k in done))}",
             "points reached by layer:"]
    lines += [f"  {name:12s} {len(points):2d}: {', '.join(sorted(points))}"
              for name, points in sorted(reached.items())]
    lines.append(f"mismatches: {len(bad)}   stuck writer slot: {len(stuck)}")
    per = {s.name: s.seconds for s in steps.values()}
    lines.append(f"reference seconds: {per}; per kill (copy, killed run, re-run, compare): "
                 f"mean {sum(k.seconds for k in done) / max(len(done), 1):.1f}s")
    lines.append(f"wall time: {seconds:.0f}s, load average {os.getloadavg()[0]:.1f}")
    return "\n".join(lines), not bad and not stuck


# ------------------------------------------------------------------ the micro-batch worker


def worker(home: Path, files: list[str]) -> int:
    """The micro-batch the landing sensor requests for ``files``, executed in this process
    with this process as the run's worker (tags as the prefork launcher sets them)."""
    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.runtime.launcher import HOST_TAG, PID_TAG
    from orchestration.sensors import assets_fed_by

    with dg.DagsterInstance.get() as instance:
        result = defs.resolve_job_def("micro_batch").execute_in_process(
            instance=instance, raise_on_error=False, asset_selection=assets_fed_by(files),
            run_config={"ops": {"ingest_bronze": {"config": {"files": files}}}},
            tags={PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname(), **LAKE_WRITER})
    # warnings (the age of pending rows) are not failures, as in `lakehouse run`
    failed = [e for e in result.get_asset_check_evaluations()
              if not e.passed and e.severity.value == "ERROR"]
    print(f"micro-batch {result.run_id} on {home}: success={result.success} "
          f"failed blocking checks={len(failed)}", flush=True)
    return 0 if result.success and not failed else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    w = sub.add_parser("worker")
    w.add_argument("--home", required=True)
    w.add_argument("--files", required=True)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--nightly-share", type=float, default=0.3)
    parser.add_argument("--random-time-share", type=float, default=0.1)
    parser.add_argument("--root", help="work directory (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the pre-states and references built before in --root")
    args = parser.parse_args(argv)
    if args.command == "worker":
        return worker(Path(args.home), json.loads(Path(args.files).read_text()))
    started = time.monotonic()
    work = Path(args.root or tempfile.mkdtemp(prefix="chaos-")).resolve()
    work.mkdir(parents=True, exist_ok=True)

    def say(msg: str) -> None:
        print(f"[{time.monotonic() - started:7.1f}s] {msg}", flush=True)

    global CODE
    CODE = freeze(work)
    say(f"running the code frozen at {CODE}")
    try:
        steps = load(work) if args.reuse else build(work, say, nightly=args.nightly_share > 0)
        save(steps, work)
        done = campaign(steps, args.kills, args.seed, args.nightly_share,
                        args.random_time_share, work, say)
        text, ok = summary(done, steps, time.monotonic() - started)
        print(text, flush=True)
        return 0 if ok else 1
    finally:
        if not args.keep and not args.root:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
