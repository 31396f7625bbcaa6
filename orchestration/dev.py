"""`dagster dev` with `orchestration.daemon` as its daemon (sensor loop at 1 s, not 5 s).

`lakehouse dev` runs this. Everything else is Dagster's own `dev` command: webserver, code
server, instance and shutdown handling.
"""

import sys
from collections.abc import Sequence

DAGSTER_DAEMON = ["-m", "dagster._daemon"]
OUR_DAEMON = ["-m", "orchestration.daemon"]


def with_our_daemon(cmd: Sequence[str]) -> list[str]:
    """The daemon command of `dagster dev` pointed at our entry point; others unchanged."""
    cmd = list(cmd)
    if cmd[1:3] == DAGSTER_DAEMON:
        return [cmd[0], *OUR_DAEMON, *cmd[3:]]
    return cmd


def main(argv: Sequence[str]) -> None:
    import dagster._cli.dev as dagster_dev

    spawn = dagster_dev.open_ipc_subprocess

    def spawn_with_our_daemon(cmd, *args, **kwargs):
        return spawn(with_our_daemon(cmd), *args, **kwargs)

    dagster_dev.open_ipc_subprocess = spawn_with_our_daemon
    dagster_dev.dev_command.main(args=list(argv), prog_name="lakehouse dev")


if __name__ == "__main__":
    main(sys.argv[1:])
