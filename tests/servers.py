"""The servers a test or a bench starts (`lakehouse dev`, `lakehouse serve`, the docs server):
a free port to start one on, the Dagster UI's GraphQL API, and stopping one for good."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import urllib.request


def free_port() -> int:
    """A loopback port no one listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(port: int, query: str, variables: dict | None = None, timeout: float = 5) -> dict:
    """The answer of the Dagster UI on ``port`` to a GraphQL query (or mutation)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)


def stop(proc: subprocess.Popen, timeout: float, group: bool = False) -> None:
    """SIGTERM, then SIGKILL when it has not exited within ``timeout`` seconds, and reaped.
    ``group``: signal the whole process group ``proc`` leads (started with
    ``start_new_session``), so the workers it forked stop with it."""
    def send(sig: signal.Signals) -> None:
        if group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)

    send(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        proc.wait()
