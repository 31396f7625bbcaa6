"""`lakehouse` command line: simulate a retailer, materialize every asset, start the UI.

Heavy imports (dagster, dbt) happen inside the sub-commands that need them, so `simulate`
stays fast.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
from collections.abc import Sequence

from lakehouse.home import Home


def _home_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--home",
        help="lakehouse home directory (default: $LAKEHOUSE_HOME, else ./.lakehouse)",
    )


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lakehouse", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    sim = sub.add_parser("simulate", help="write a deterministic simulated retailer into landing/")
    _home_arg(sim)
    sim.add_argument("--persons", type=int)
    sim.add_argument("--products", type=int)
    sim.add_argument("--stores", type=int)
    sim.add_argument("--warehouses", type=int)
    sim.add_argument("--days", type=int)
    sim.add_argument("--start", type=dt.date.fromisoformat, help="first day, YYYY-MM-DD")
    sim.add_argument("--seed", type=int)
    sim.add_argument(
        "--live",
        type=float,
        metavar="SECONDS",
        help="after the initial days, keep dropping a micro-batch every SECONDS (Ctrl-C stops)",
    )
    sim.add_argument("--max-batches", type=int, help="with --live: stop after this many batches")

    run = sub.add_parser("run", help="materialize every asset in-process through Dagster")
    _home_arg(run)

    dev = sub.add_parser("dev", help="start the Dagster UI and daemon on the home")
    _home_arg(dev)
    dev.add_argument("--port", type=int, default=3000)
    return parser.parse_args(argv)


def _simulate(args: argparse.Namespace) -> int:
    from lakehouse.simulate import SimConfig, live, simulate

    overrides = {
        name: getattr(args, name)
        for name in ("persons", "products", "stores", "warehouses", "days", "start", "seed")
        if getattr(args, name) is not None
    }
    config = SimConfig(**overrides)
    home = Home.resolve(args.home).ensure()
    report = lambda msg: print(msg, flush=True)  # noqa: E731
    already = any(home.landing.glob("*/*"))
    if args.live and already:
        report(f"landing zone of {home.root} already simulated: going live")
    else:
        report(simulate(home, config, progress=report).describe())
    if args.live:
        try:
            live(home, config, args.live, max_batches=args.max_batches, progress=report)
        except KeyboardInterrupt:
            report("live simulation stopped")
    return 0


def _run(args: argparse.Namespace) -> int:
    # The Dagster side lives in `orchestration`, which the domain package never imports.
    home = Home.resolve(args.home).ensure()
    cmd = [sys.executable, "-m", "orchestration.run", "--home", str(home.root)]
    return subprocess.call(cmd, env=home.environment())


def _dev(args: argparse.Namespace) -> int:
    home = Home.resolve(args.home).ensure()
    env = home.environment()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # `dagster dev`, with the daemon's sensor loop at 1 s (orchestration/daemon.py)
    cmd = [sys.executable, "-m", "orchestration.dev", "-w", os.path.join(root, "workspace.yaml"),
           "-p", str(args.port)]
    print(f"Dagster UI on http://127.0.0.1:{args.port} (home {home.root})", flush=True)
    os.chdir(root)
    os.execve(sys.executable, cmd, env)
    return 0  # not reached


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    handlers = {"simulate": _simulate, "run": _run, "dev": _dev}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
