"""`lakehouse` command line: simulate a retailer, materialize every asset, start the UI, serve
the inventory API, list and replay the quarantine.

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


def add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    """The quarantine filters (`lakehouse quarantine list|replay`)."""
    parser.add_argument("--kind", action="append", metavar="KIND",
                        help="error kind, e.g. unknown_product (repeat for several)")
    parser.add_argument("--channel", action="append", metavar="CHANNEL",
                        help="source channel, e.g. pos (repeat for several)")
    parser.add_argument("--file", help="part of the source file path (relative to landing/)")
    parser.add_argument("--status", choices=["pending", "released", "dead", "all"],
                        help="default: pending and dead (every row not released yet)")
    parser.add_argument("--rows", type=int, default=0, metavar="N",
                        help="also print up to N rows (file, line, field, reason; never the "
                        "raw payload, which holds personal data)")


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

    serve = sub.add_parser("serve", help="serve the inventory API (availability, fulfilment) "
                           "over HTTP from validated positions; docs at /docs")
    _home_arg(serve)
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default: loopback only)")
    serve.add_argument("--access-log", action="store_true", help="log every request")

    quarantine = sub.add_parser("quarantine", help="list or replay quarantined rows")
    actions = quarantine.add_subparsers(dest="action", required=True)
    listing = actions.add_parser(
        "list", help="counts of quarantined rows by status, kind, channel, entity and file")
    replay = actions.add_parser(
        "replay", help="release pending rows whose reference has landed; judge dead rows by "
        "the current contract (through Dagster: gated, shown in the UI)")
    for action in (listing, replay):
        _home_arg(action)
        add_selection_arguments(action)
    replay.add_argument("--gate-engine", choices=["gx", "duckdb"],
                        help="engine of the gates (default: the pipeline's, GX)")
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


def _serve(args: argparse.Namespace) -> int:
    from lakehouse.serve import serve

    home = Home.resolve(args.home)
    print(f"inventory API on http://{args.host}:{args.port} (docs /docs, home {home.root})",
          flush=True)
    serve(home.root, host=args.host, port=args.port, access_log=args.access_log)
    return 0


GROUPS_SHOWN = 40  # `quarantine list`: count groups printed (largest first)


def _quarantine(args: argparse.Namespace) -> int:
    from lakehouse.ingest.replay import Selection, read_quarantine, rows, summary, text_table

    home = Home.resolve(args.home)
    try:
        selection = Selection.of(args.kind, args.channel, args.file, args.status)
    except ValueError as exc:
        print(f"lakehouse quarantine {args.action}: {exc}", file=sys.stderr)
        return 2
    if args.action == "replay":
        # gates and the run live in `orchestration`, which the domain package never imports
        cmd = [sys.executable, "-m", "orchestration.replay", "--home", str(home.ensure().root)]
        for flag in ("kind", "channel"):
            for value in getattr(args, flag) or []:
                cmd += [f"--{flag}", value]
        for flag in ("file", "status", "gate_engine"):
            if getattr(args, flag):
                cmd += [f"--{flag.replace('_', '-')}", getattr(args, flag)]
        cmd += ["--rows", str(args.rows)]
        return subprocess.call(cmd, env=home.environment())
    chosen = read_quarantine(home).filter(selection.expr())
    counts = chosen.group_by("status").len().sort("status").iter_rows()
    print(f"quarantine of {home.root} ({selection.describe()}): {chosen.height} row(s)"
          + "".join(f", {n} {status}" for status, n in counts))
    if chosen.height:
        groups = summary(chosen)
        print(text_table(groups.head(GROUPS_SHOWN)))
        if groups.height > GROUPS_SHOWN:
            print(f"... and {groups.height - GROUPS_SHOWN} more group(s): narrow with --kind, "
                  "--channel, --file or --status")
    if args.rows and chosen.height:
        print()
        print(text_table(rows(chosen, args.rows)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    handlers = {"simulate": _simulate, "run": _run, "dev": _dev, "serve": _serve,
                "quarantine": _quarantine}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
