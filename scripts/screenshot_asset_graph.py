"""Screenshot the Dagster UI's asset graph with headless Chromium.

    python scripts/screenshot_asset_graph.py [--out artifacts/asset_graph.png]
    python scripts/screenshot_asset_graph.py --all [--out-dir artifacts]

``--all`` first runs the demo's last 3 trading days as one range run (`sigmasight demo
--days 3`: seed, one daily_risk run) and the freshness checks, then also captures, beside the
graph: an asset's partitions with that day's own metadata (``asset_partitions.png``), its
check evaluated per partition (``asset_checks.png``), a Markdown report
rendered as HTML by the report server (``report_html.png``) and the freshness check
(``freshness_check.png``).

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


#: the demo days the --all pages show (the demo's last 3 sessions)
DEMO_DAYS = 3


def _demo_run() -> str:
    """Seed the demo book, run its last 3 days as one daily_risk run and the freshness
    checks once; returns the last day."""
    from dagster import DagsterInstance

    from sigmasight_pipeline.calendar import sessions_back
    from sigmasight_pipeline.cli import DEMO_END, seed_demo
    from sigmasight_pipeline.definitions import defs
    from sigmasight_pipeline.orchestration import run_range

    seed_demo.callback()
    days = sessions_back(DEMO_END, DEMO_DAYS)
    instance = DagsterInstance.get()
    report = run_range(days[0], days[-1], echo=print, instance=instance, command="demo")
    if not report.success:
        raise RuntimeError("the demo run failed: see the lines above")
    defs.resolve_job_def("freshness_checks").execute_in_process(
        instance=instance, raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
    return days[-1].isoformat()


def _report_slug(reports_dir: Path, day: str) -> str:
    slugs = sorted(p.stem for p in (reports_dir / day).glob("*.md"))
    if not slugs:
        raise RuntimeError(f"no Markdown report under {reports_dir / day}")
    return slugs[0]


def capture_all(base: str, out_dir: Path, chromium: str, day: str, reports_dir: Path
                ) -> list[Path]:
    """The pages beyond the graph (see the module docstring); returns the files written."""
    from sigmasight_pipeline.reports.server import start_in_background

    graphql(base, "mutation { setNuxSeen }")
    pages = {
        "asset_partitions.png": f"{base}/assets/position_values?view=partitions&partition={day}",
        "asset_checks.png": f"{base}/assets/position_values?view=checks",
        "freshness_check.png": f"{base}/assets/market_prices?view=checks",
    }
    written = []
    for name, url in pages.items():
        screenshot(url, out_dir / name, chromium, budget_ms=20000)
        written.append(out_dir / name)
    server = start_in_background(reports_dir, port=0, dagster_url=base)
    try:
        slug = _report_slug(reports_dir, day)
        screenshot(f"{server.url}{day}/{slug}.html", out_dir / "report_html.png", chromium,
                   budget_ms=3000)
        written.append(out_dir / "report_html.png")
    finally:
        server.shutdown()
        server.server_close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None,
                        help="the graph's PNG (default <out-dir>/asset_graph.png)")
    parser.add_argument("--out-dir", type=Path, default=PROJECT_ROOT / "artifacts")
    parser.add_argument("--path", default=GRAPH_PATH, help="UI page to capture")
    parser.add_argument("--all", action="store_true",
                        help="run 3 demo days first and capture the partition, plot, "
                             "report and freshness pages too")
    args = parser.parse_args(argv)
    args.out = args.out or args.out_dir / "asset_graph.png"
    chromium = find_chromium()
    if chromium is None:
        print("no Chromium found (/usr/bin/chromium): install it, e.g. "
              "`apt-get install -y chromium`, or set CHROMIUM=/path/to/chrome", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    rt = prepare()
    upgrade(rt.database_url)
    day = _demo_run() if args.all else None
    log = rt.dagster_home / "screenshot_webserver.log"
    with dagster_ui(dict(os.environ), log, daemon=False) as (base, assets):
        screenshot(graph_url(base, args.path), args.out, chromium)
        extra = (capture_all(base, args.out_dir, chromium, day, rt.settings.reports_dir)
                 if day else [])
    print(f"{args.out}: {args.out.stat().st_size:,} bytes, asset graph of {len(assets)} assets "
          f"({time.perf_counter() - t0:.1f} s)")
    for path in extra:
        print(f"{path}: {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
