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
    dev.add_argument("--host", default="127.0.0.1",
                     help="address the UI listens on (default: loopback only; the UI has no "
                     "login, see the README before exposing it)")

    keys = sub.add_parser("keys", help="the pseudonymisation key")
    key_actions = keys.add_subparsers(dest="action", required=True)
    rotate = key_actions.add_parser(
        "rotate", help="re-key identity under a new HMAC key (persons keep their ids), swap "
        "the key, then rebuild everything derived")
    _home_arg(rotate)
    rotate.add_argument("--new-key-env", metavar="VAR",
                        help="when the key comes from LAKEHOUSE_HMAC_KEY: the variable holding "
                        "the new key")
    rotate.add_argument("--no-rebuild", action="store_true",
                        help="skip the rebuild (run `lakehouse run` before analysts read again)")

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
    erase = sub.add_parser("erase", help="right to be forgotten: remove a person from every "
                           "layer of the home (resolved through identity), with an audit entry")
    _home_arg(erase)
    for flag, what in (("--person-id", "person id"), ("--email", "e-mail address"),
                       ("--phone", "phone number, any format"),
                       ("--loyalty-id", "loyalty card number")):
        erase.add_argument(flag, action="append", default=[], metavar="VALUE",
                           help=f"{what} of the person (repeat for several)")
    erase.add_argument("--dry-run", action="store_true",
                       help="print what would be removed, change nothing")
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
    cmd = [sys.executable, "-m", "orchestration.runtime.run", "--home", str(home.root)]
    return subprocess.call(cmd, env=home.environment())


def _dev(args: argparse.Namespace) -> int:
    home = Home.resolve(args.home).ensure()
    env = home.environment()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    # `dagster dev`, with the daemon's sensor loop at 1 s (orchestration/runtime/daemon.py)
    cmd = [sys.executable, "-m", "orchestration.runtime.dev",
           "-w", os.path.join(root, "workspace.yaml"), "-h", args.host, "-p", str(args.port)]
    print(f"Dagster UI on http://{args.host}:{args.port} (home {home.root})", flush=True)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: the Dagster UI has no login; anyone who can reach {args.host} can "
              "launch runs and read asset metadata (see the README's security section)",
              file=sys.stderr, flush=True)
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


def _keys(args: argparse.Namespace) -> int:
    from lakehouse.identity.pii import KEY_ENV
    from lakehouse.identity.rotate import rotate

    home = Home.resolve(args.home).ensure()
    try:
        report = rotate(home, new_key_env=args.new_key_env)
    except (ValueError, FileNotFoundError) as exc:
        print(f"lakehouse keys rotate: {exc}", file=sys.stderr)
        return 2
    print(f"identity re-keyed: {report.records_rekeyed} record(s) kept their person, "
          f"{report.records_dropped} no longer in silver left the map; suppression list: "
          f"{report.erasures_rekeyed} re-keyed, {report.erasures_stale} of records gone from "
          "silver kept as they were (nothing can match them)")
    env = home.environment()
    if report.key_file:
        print(f"new key in {report.key_file} (owner-only); the old one is gone")
    else:
        env[KEY_ENV] = os.environ[args.new_key_env]
        print(f"now set {KEY_ENV} to the value of {args.new_key_env} in your secret store: "
              "every later run must use the new key")
    if args.no_rebuild:
        print("not rebuilt: marts, ML tables and the warehouse still hold old hashes until "
              "`lakehouse run`")
        return 0
    cmd = [sys.executable, "-m", "orchestration.runtime.run", "--home", str(home.root)]
    return subprocess.call(cmd, env=env)


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
        cmd = [sys.executable, "-m", "orchestration.runtime.replay",
               "--home", str(home.ensure().root)]
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


def _erase(args: argparse.Namespace) -> int:
    from lakehouse.privacy.erase import ErasureRefused, Request, erase
    from lakehouse.privacy.report import describe

    requests = [Request(kind, value) for kind in ("person_id", "email", "phone", "loyalty_id")
                for value in getattr(args, kind)]
    if not requests:
        print("lakehouse erase: name the person (--person-id, --email, --phone or "
              "--loyalty-id)", file=sys.stderr)
        return 2
    home = Home.resolve(args.home)
    try:
        plan, record = erase(home, requests, dry_run=args.dry_run)
    except ErasureRefused as exc:
        print(f"lakehouse erase: {exc}", file=sys.stderr)
        return 2
    print(describe(plan, record))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    handlers = {"simulate": _simulate, "run": _run, "dev": _dev, "serve": _serve,
                "quarantine": _quarantine, "keys": _keys, "erase": _erase}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
