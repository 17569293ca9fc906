"""Start the real Dagster UI processes (tests, the screenshot script): `dagster dev`
(webserver + daemon) or `dagster-webserver` alone, on a free loopback port, in their own
process group, and talk to its GraphQL API."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from .warehouse.migrate import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def graphql(base: str, query: str, variables: dict | None = None, timeout: float = 60) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(f"{base}/graphql", data=body,
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        payload = json.load(response)
    if payload.get("errors"):
        raise AssertionError(f"GraphQL errors: {payload['errors']}")
    return payload["data"]


ASSET_NODES = "{ assetNodes { assetKey { path } } }"


def wait_for_assets(base: str, proc: subprocess.Popen, log: Path, timeout: float) -> list[str]:
    """Poll until the webserver answers and the code location has loaded its assets."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Dagster exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            nodes = graphql(base, ASSET_NODES, timeout=10)["assetNodes"]
            if nodes:
                return sorted("/".join(n["assetKey"]["path"]) for n in nodes)
        except (urllib.error.URLError, ConnectionError, TimeoutError, AssertionError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"Dagster UI not ready in {timeout} s:\n{log.read_text()[-3000:]}")


@contextmanager
def dagster_ui(env: dict[str, str], log: Path, daemon: bool = True, timeout: float = 90):
    """`dagster dev` (webserver + daemon, as `sigmasight dev` runs it) or the webserver alone;
    yields (base_url, asset keys). Stops the whole process group on exit."""
    port = free_port()
    workspace = str(PROJECT_ROOT / "workspace.yaml")
    if daemon:
        cmd = [sys.executable, "-m", "dagster", "dev", "-h", "127.0.0.1", "-p", str(port),
               "-w", workspace]
    else:
        cmd = [sys.executable, "-m", "dagster_webserver", "-h", "127.0.0.1", "-p", str(port),
               "-w", workspace]
    env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT),
                                                               env.get("PYTHONPATH")]))}
    # as `sigmasight dev` starts it: from DAGSTER_HOME, without the `dg dev` hint
    env["PYTHONWARNINGS"] = ",".join(filter(None, [env.get("PYTHONWARNINGS"),
                                                   "ignore:Function `dev_command` is superseded"]))
    cwd = env.get("DAGSTER_HOME") or PROJECT_ROOT
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        yield base, wait_for_assets(base, proc, log, timeout)
    finally:
        stop_group(proc)


def stop_group(proc: subprocess.Popen, grace: float = 15) -> None:
    """SIGTERM to the process group we started (webserver, daemon, code servers), then KILL."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=5)
