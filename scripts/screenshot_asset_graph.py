"""Screenshot the Dagster UI's asset graph with headless Chromium.

    python scripts/screenshot_asset_graph.py [--out artifacts/asset_graph.png]

Starts the embedded PostgreSQL (or uses SIGMASIGHT_DATABASE_URL) like every `sigmasight`
command, the Dagster webserver on a free 127.0.0.1 port, then
`chromium --headless --screenshot` on the global asset lineage page. Needs /usr/bin/chromium
(Debian/Ubuntu: `apt-get install -y chromium`; `.ci/run` installs it when it can).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sigmasight_pipeline.dagster_ui import dagster_ui, graphql
from sigmasight_pipeline.runtime import prepare
from sigmasight_pipeline.warehouse.migrate import PROJECT_ROOT, upgrade

#: Dagster 1.13's global asset lineage view (every asset group on one canvas). Groups start
#: collapsed; `?expanded=` lists the groups to open, by the UI's id `global@global:<group>`.
GRAPH_PATH = "/asset-groups"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser",
                       "/usr/bin/google-chrome")


def find_chromium() -> str | None:
    explicit = os.environ.get("CHROMIUM")
    for candidate in ([explicit] if explicit else []) + list(CHROMIUM_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return candidate
    return shutil.which("chromium")


def screenshot(url: str, out: Path, chromium: str, budget_ms: int = 15000) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
               "--window-size=1600,1000", f"--virtual-time-budget={budget_ms}",
               f"--screenshot={out.resolve()}", url]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if result.returncode != 0 or not out.is_file():
        raise RuntimeError(f"chromium failed ({result.returncode}): {result.stderr[-2000:]}")


def graph_url(base: str, path: str = GRAPH_PATH) -> str:
    """The lineage page with every asset group expanded, and the first-visit community dialog
    (shown on 127.0.0.1) marked as seen so it does not cover the graph."""
    graphql(base, "mutation { setNuxSeen }")
    nodes = graphql(base, "{ assetNodes { groupName } }")["assetNodes"]
    groups = sorted({n["groupName"] for n in nodes if n["groupName"]})
    if path != GRAPH_PATH or not groups:
        return base + path
    return f"{base}{path}?expanded=" + ",".join(f"global@global:{g}" for g in groups)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "artifacts" / "asset_graph.png")
    parser.add_argument("--path", default=GRAPH_PATH, help="UI page to capture")
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        print("no Chromium found (/usr/bin/chromium): install it, e.g. "
              "`apt-get install -y chromium`, or set CHROMIUM=/path/to/chrome", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    rt = prepare()
    upgrade(rt.database_url)
    log = rt.dagster_home / "screenshot_webserver.log"
    with dagster_ui(dict(os.environ), log, daemon=False) as (base, assets):
        screenshot(graph_url(base, args.path), args.out, chromium)
    print(f"{args.out}: {args.out.stat().st_size:,} bytes, asset graph of {len(assets)} assets "
          f"({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
