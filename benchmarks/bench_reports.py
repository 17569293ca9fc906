"""Reports at scale: one day of N portfolios × (Markdown + JSON + CSV + PNG) through the real
render path (a script, not a test).

    python -m benchmarks.bench_reports [--portfolios 2000 --positions 50] [--workers 2]
                                       [--profile benchmarks/profiles/reports_day.txt]

Uses the warehouse of a kept ``run_scale day`` scenario under ``--workdir`` when it holds a
day of engine rows (``python -m benchmarks.run_scale day --keep``); otherwise builds one
(generated book, market data, every engine asset: a few minutes). Then, timed apart:

- reading the day's report inputs (one query per table, every portfolio);
- ``write_day``: every portfolio's four files written, in ``--workers`` processes;
- a second ``write_day`` into another directory: every file must be byte-identical;
- ``--check`` portfolios rendered alone (``build_document`` on the whole day's inputs, as
  ``sigmasight reports download`` does): byte-identical to the day's files.

The target (issue 16): ≤ 30 s for 2,000 portfolios on 2 cores, read + render + write.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import resource
import shutil
import time
from pathlib import Path

from benchmarks import run_scale

REPORTS_TARGET_S = 30.0


def _has_day(url: str, day: dt.date, portfolios: int) -> bool:
    from sqlalchemy import text

    from sigmasight_pipeline.warehouse.database import get_engine

    try:
        with get_engine(url).connect() as conn:
            n = conn.execute(text("SELECT count(*) FROM sigmasight.portfolio_snapshots "
                                  "WHERE date = :d"), {"d": day}).scalar()
    except Exception:  # noqa: BLE001 - no schema yet: build it
        return False
    return n == portfolios


def _cpu_s() -> float:
    """User + system CPU seconds of this process and its waited-for children (the workers)."""
    own, children = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                      resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def run(portfolios: int, positions: int, day: dt.date, workdir: Path, workers: int,
        check: int = 20, profile: Path | None = None, echo=print) -> dict:
    from sigmasight_pipeline.reports.document import build_document, portfolios_to_report
    from sigmasight_pipeline.reports.render import render_formats, slugs_for, write_day
    from sigmasight_pipeline.warehouse.database import get_engine
    from sigmasight_pipeline.warehouse.report_store import read_report_inputs

    home = workdir / "home"
    url = run_scale.start_warehouse(home, fresh=False) if home.exists() else None
    if url is None or not _has_day(url, day, portfolios):
        if url:
            run_scale.stop_warehouse(home)
        echo("  building the warehouse (book, market data, engine run) ...")
        run_scale.scenario_day(portfolios, positions, day, workdir, keep=True, reports=False,
                               echo=echo)
        url = run_scale.start_warehouse(home, fresh=False)
    load = os.getloadavg()
    t0 = time.perf_counter()
    with get_engine(url).connect() as conn:
        inputs = read_report_inputs(conn, day)
    read_s = time.perf_counter() - t0
    n = len(portfolios_to_report(inputs))
    echo(f"  inputs of {day}: {n:,} portfolios read in {read_s:.1f} s")
    out_a, out_b = workdir / "reports_a", workdir / "reports_b"
    for d in (out_a, out_b):
        shutil.rmtree(d, ignore_errors=True)
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.005)
        profiler.start()
    t0, cpu0 = time.perf_counter(), _cpu_s()
    written = write_day(inputs, out_a, workers=workers)
    render_s, render_cpu_s = time.perf_counter() - t0, _cpu_s() - cpu0
    if profiler:
        profiler.stop()
        profile.parent.mkdir(parents=True, exist_ok=True)
        profile.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
    echo(f"  write_day ({workers} worker(s)): {len(written):,} portfolios × 4 files in "
         f"{render_s:.1f} s ({render_s / max(len(written), 1) * 1e3:.1f} ms a portfolio); CPU "
         f"{render_cpu_s:.1f} s ({render_cpu_s / max(len(written), 1) * 1e3:.1f} ms a portfolio)")
    t0 = time.perf_counter()
    write_day(inputs, out_b, workers=workers)
    rerun_s = time.perf_counter() - t0
    a, b = _digests(out_a), _digests(out_b)
    identical_rerun = a == b and len(a) == 4 * len(written)
    slugs = slugs_for(inputs)
    step = max(1, len(written) // max(check, 1))
    mismatched = []
    for r in written[::step]:
        alone = render_formats(build_document(inputs, r.portfolio_id, slug=slugs[r.portfolio_id]))
        for fmt, data in alone.items():
            if r.files[fmt].path.read_bytes() != data:
                mismatched.append(f"{r.slug}.{fmt}")
    checked = len(written[::step])
    echo(f"  re-run: {'byte-identical' if identical_rerun else 'DIFFERENT'} ({rerun_s:.1f} s); "
         f"{checked} portfolios rendered alone: "
         f"{'byte-identical' if not mismatched else 'DIFFERENT: ' + ', '.join(mismatched[:5])}")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"portfolios": len(written), "files": len(a), "read_s": read_s,
            "render_s": render_s, "render_cpu_s": render_cpu_s, "rerun_s": rerun_s,
            "total_s": read_s + render_s,
            "workers": workers, "identical_rerun": identical_rerun,
            "checked_alone": checked, "mismatched_alone": mismatched,
            "peak_rss_mb": rss_mb, "worker_peak_rss_mb": children_mb,
            "load_before": [round(x, 2) for x in load],
            "load_after": [round(x, 2) for x in os.getloadavg()]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--portfolios", type=int, default=2000)
    parser.add_argument("--positions", type=int, default=50)
    parser.add_argument("--date", type=dt.date.fromisoformat, default=dt.date(2025, 6, 30))
    parser.add_argument("--workdir", type=Path, default=run_scale.DEFAULT_WORKDIR / "day")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--check", type=int, default=20,
                        help="portfolios also rendered alone and compared byte for byte")
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="leave the PostgreSQL running")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        res = run(args.portfolios, args.positions, args.date, args.workdir, args.workers,
                  args.check, args.profile)
    finally:
        if not args.keep:
            run_scale.stop_warehouse(args.workdir / "home")
    met = res["total_s"] <= REPORTS_TARGET_S
    print(f"reports {res['portfolios']:,} portfolios: {res['total_s']:.1f} s (read "
          f"{res['read_s']:.1f} + render/write {res['render_s']:.1f}) vs ≤ "
          f"{REPORTS_TARGET_S:.0f} s: {'met' if met else 'MISSED'}; load {res['load_before']}")
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
