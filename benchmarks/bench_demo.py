"""The demo as a user runs it: ``sigmasight demo [--days N]`` from an empty home (a script).

    python -m benchmarks.bench_demo [--days 30 250]

Each size runs the installed ``sigmasight`` command in a child process under
``/usr/bin/time -v`` with a fresh ``SIGMASIGHT_HOME`` under ``$SIGMASIGHT_BENCH_DIR/demo``
(its own embedded PostgreSQL, started by the command itself, stopped afterwards), offline
simulated market data, no API keys: wall time and peak RSS of the whole command, plus the
Dagster run's own seconds and its slowest steps as the command prints them.

Targets (issue 16): the 30-day demo ≤ 15 s, the default window (250 sessions) ≤ 60 s.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import run_scale

#: demo days → wall-time target in seconds
TARGETS_S = {30: 15.0, 250: 60.0}
DEFAULT_DAYS = (30, 250)


def _sigmasight() -> str:
    """The ``sigmasight`` entry point beside this interpreter (the README's install)."""
    found = Path(sys.executable).with_name("sigmasight")
    return str(found) if found.exists() else (shutil.which("sigmasight") or "sigmasight")


def run_one(days: int, workdir: Path, timeout_s: float = 3600.0) -> dict:
    home = workdir / f"home-{days}"
    if home.exists():
        run_scale.stop_warehouse(home / ".sigmasight")
        shutil.rmtree(home)
    home.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("POLYGON_API_KEY", "FRED_API_KEY", "DAGSTER_HOME",
                        "SIGMASIGHT_DATABASE_URL", "SIGMASIGHT_REPORTS_DIR")}
    env.update(SIGMASIGHT_HOME=str(home / ".sigmasight"), SIGMASIGHT_MARKET_DATA="simulated")
    cmd = [_sigmasight(), "demo", "--days", str(days)]
    if Path(run_scale.TIME_BIN).exists():
        cmd = [run_scale.TIME_BIN, "-v", *cmd]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=home, env=env,
                              timeout=timeout_s)
    finally:
        run_scale.stop_warehouse(home / ".sigmasight")
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
        raise RuntimeError(f"sigmasight demo --days {days} failed ({proc.returncode}):\n{tail}")
    usage = run_scale.parse_time_v(proc.stderr)
    usage.setdefault("wall_s", wall)
    run = re.search(r"succeeded in ([\d.]+) s", proc.stdout)
    slowest = re.search(r"slowest steps\s+(.+)", proc.stdout)
    return {"days": days, "usage": usage, "run_s": float(run.group(1)) if run else None,
            "slowest": slowest.group(1).strip() if slowest else "",
            "target_s": TARGETS_S.get(days), "load": os.getloadavg()[0]}


def run(days: list[int], workdir: Path, echo=print) -> list[dict]:
    out = []
    for n in days:
        echo(f"demo --days {n} ...")
        r = run_one(n, workdir)
        echo(f"  {r['usage']['wall_s']:.1f} s wall, run {r['run_s']} s, peak RSS "
             f"{r['usage'].get('peak_rss_mb', 0):,.0f} MB; slowest: {r['slowest']}")
        out.append(r)
    return out


def table(results: list[dict]) -> str:
    lines = ["| demo | wall (s) | Dagster run (s) | peak RSS (MB) | target | |",
             "|---|---:|---:|---:|---|---|"]
    for r in results:
        target = r["target_s"]
        met = target is not None and r["usage"]["wall_s"] <= target
        lines.append(f"| `--days {r['days']}` | {r['usage']['wall_s']:.1f} | {r['run_s']} | "
                     f"{r['usage'].get('peak_rss_mb', 0):,.0f} | "
                     f"{'—' if target is None else f'≤ {target:.0f} s'} | "
                     f"{'—' if target is None else 'met' if met else '**MISSED**'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, nargs="+", default=list(DEFAULT_DAYS))
    args = parser.parse_args(argv)
    results = run(args.days, run_scale.DEFAULT_WORKDIR / "demo")
    print("\n" + table(results))


if __name__ == "__main__":
    main()
