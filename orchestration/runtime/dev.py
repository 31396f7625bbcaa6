"""`dagster dev` with our daemon, `orchestration.runtime.daemon` (sensor loop at 1 s, not 5 s).

`lakehouse dev` runs this. Everything else is Dagster's own `dev` command: webserver, code
server, instance and shutdown handling. Beside it, the home's Data Docs are served over HTTP on
the next port (``orchestration.runtime.docs_server``), and every check links there. Stopped, it
leaves nothing of its process group behind (`stop_late_starters`).
"""

import errno
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from orchestration.runtime.docs_server import DOCS_URL_ENV, serve_docs

DAGSTER_DAEMON = ["-m", "dagster._daemon"]
OUR_DAEMON = ["-m", "orchestration.runtime.daemon"]


def with_our_daemon(cmd: Sequence[str]) -> list[str]:
    """The daemon command of `dagster dev` pointed at our entry point; others unchanged."""
    cmd = list(cmd)
    if cmd[1:3] == DAGSTER_DAEMON:
        return [cmd[0], *OUR_DAEMON, *cmd[3:]]
    return cmd


def interruptible() -> None:
    """Make SIGINT (and so SIGTERM, which Dagster maps to it) stop this process and its
    children. A process started in the background by a shell, a supervisor or a test begins
    with SIGINT ignored; Python then installs no handler, Dagster copies that "ignore" to
    SIGTERM, and every child inherits it: nothing would stop `lakehouse dev` short of SIGKILL."""
    signal.signal(signal.SIGINT, signal.default_int_handler)  # children start with the default


def stop_late_starters() -> None:
    """On the way out, SIGTERM this process's group once more, when this process leads it.

    Stopping `lakehouse dev` as a group (a supervisor, `kill -- -PGID`, Ctrl-C in its
    terminal) signals only the processes that exist at that moment. While Dagster's `dev`
    waits for its daemon and webserver to exit, its code-server monitor (every 5 s,
    `DAGSTER_CODE_SERVER_AUTO_RESTART_INTERVAL`) restarts the code server it finds exited;
    that one never got the signal and waits out its 45 s heartbeat timeout. This second
    signal reaches it once nothing can start another. Only as the group's leader (as a
    shell job, under `setsid`, from a supervisor): otherwise the group is someone else's."""
    if os.getpgrp() != os.getpid():
        return
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the signal is for the others
    os.killpg(os.getpgrp(), signal.SIGTERM)


def _option(argv: Sequence[str], names: tuple[str, ...], default: str) -> str:
    for i, arg in enumerate(argv[:-1]):
        if arg in names:
            return argv[i + 1]
    return default


def serve_home_docs(argv: Sequence[str]) -> str | None:
    """Serve ``$LAKEHOUSE_HOME/docs`` on the UI's host, one port above it, or on a free port
    when that one is taken (dev used to die of it, UI and all); its URL (None without a home).
    Workers learn it from the environment they inherit."""
    home = os.environ.get("LAKEHOUSE_HOME")
    if not home:
        return None
    host = _option(argv, ("-h", "--host"), "127.0.0.1")
    port = int(_option(argv, ("-p", "--port"), "3000")) + 1
    from orchestration.assets.dbt import DbtResource

    dbt = DbtResource()
    def serve_on(on: int):
        return serve_docs(Path(home) / "docs", host, on,
                          dbt=(Path(dbt.project_dir), dbt.executable))

    try:
        server = serve_on(port)
    except OSError as err:
        if err.errno != errno.EADDRINUSE:
            raise
        server = serve_on(0)
        print(f"port {port} is taken: the docs are served on port {server.server_address[1]}",
              file=sys.stderr, flush=True)
    url = f"http://{host}:{server.server_address[1]}"
    os.environ[DOCS_URL_ENV] = url
    return url


def main(argv: Sequence[str]) -> None:
    import dagster._cli.dev as dagster_dev

    interruptible()
    url = serve_home_docs(argv)
    if url:
        print(f"Data Docs on {url}/gx/index.html, dbt docs on {url}/dbt/", flush=True)

    spawn = dagster_dev.open_ipc_subprocess

    def spawn_with_our_daemon(cmd, *args, **kwargs):
        return spawn(with_our_daemon(cmd), *args, **kwargs)

    dagster_dev.open_ipc_subprocess = spawn_with_our_daemon
    try:
        dagster_dev.dev_command.main(args=list(argv), prog_name="lakehouse dev")
    finally:
        stop_late_starters()


if __name__ == "__main__":
    main(sys.argv[1:])
