"""`materialize`/`demo` summary: one run per range, rows per table, failed checks, exit code."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    DagsterInstance,
    asset,
    asset_check,
    materialize,
)

from sigmasight_pipeline.cli import main
from sigmasight_pipeline.orchestration import RunReport, _collect, run_range, summary_table
from sigmasight_pipeline.warehouse.tables import metadata


def test_a_range_is_one_run_and_the_summary_counts_every_dated_table(demo_book):
    lines: list[str] = []
    with DagsterInstance.ephemeral() as instance:
        report = run_range(dt.date(2025, 6, 26), dt.date(2025, 6, 30), echo=lines.append,
                           instance=instance)
    assert report.success, "\n".join(lines)
    assert report.runs_launched == 1
    assert [d.isoformat() for d in report.days] == ["2025-06-26", "2025-06-27", "2025-06-30"]
    dated = {t.name for t in metadata.sorted_tables if "date" in t.c}
    assert set(report.table_rows) == dated
    assert report.table_rows["portfolio_snapshots"] == 9  # 3 portfolios × 3 days
    assert report.table_rows["market_prices"] > 0
    assert report.failed_checks == [] and report.failed_steps == []
    assert "market_prices" in report.step_seconds


def test_materialize_prints_the_summary_table(demo_book):
    result = CliRunner().invoke(main, ["materialize", "--start", "2025-06-27",
                                       "--end", "2025-06-30"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "run over 2 trading day(s): 2025-06-27 .. 2025-06-30" in out
    assert "materialized portfolio_snapshots" in out  # plain progress lines (no TTY)
    for needle in ("Dagster runs launched", "portfolio_snapshots", "failed asset checks",
                   "2 trading day(s)"):
        assert needle in out
    assert "demo-individual-investor-portfolio.md" in "".join(out.split())  # paths may wrap
    runs_line = next(ln for ln in out.splitlines() if "Dagster runs launched" in ln)
    assert runs_line.split()[-1] == "1"


def test_a_failing_run_exits_non_zero_and_names_the_failed_step(demo_book, monkeypatch,
                                                                tmp_path):
    empty = tmp_path / "no-market-data"
    empty.mkdir()
    monkeypatch.setenv("SIGMASIGHT_MARKET_DATA", "files")
    monkeypatch.setenv("SIGMASIGHT_MARKET_DATA_DIR", str(empty))
    result = CliRunner().invoke(main, ["materialize", "--date", "2025-06-30"])
    assert result.exit_code == 1, result.output
    failed = next(ln for ln in result.output.splitlines() if "failed steps" in ln)
    assert "market_prices" in failed and "FAILED" in result.output


def test_failed_asset_checks_come_from_the_run_events():
    @asset
    def book_value() -> int:
        return 1

    @asset_check(asset=book_value)
    def book_value_is_positive() -> AssetCheckResult:
        return AssetCheckResult(passed=False, description="negative")

    with DagsterInstance.ephemeral() as instance:
        result = materialize([book_value, book_value_is_positive], instance=instance,
                             raise_on_error=False)
        report = RunReport(days=[dt.date(2025, 6, 30)], run_ids=[result.run_id])
        _collect(instance, result.run_id, report)
    assert report.failed_checks == ["book_value:book_value_is_positive"]
    assert set(report.step_seconds) >= {"book_value"}
    table = summary_table(report)
    assert table.row_count > 0


def test_warn_checks_are_warnings_not_failures():
    @asset
    def exposure() -> int:
        return 1

    @asset_check(asset=exposure, blocking=False)
    def within_limit() -> AssetCheckResult:
        return AssetCheckResult(passed=False, severity=AssetCheckSeverity.WARN,
                                description="1 limit breach(es)")

    with DagsterInstance.ephemeral() as instance:
        result = materialize([exposure, within_limit], instance=instance, raise_on_error=False)
        report = RunReport(days=[dt.date(2025, 6, 30)], run_ids=[result.run_id])
        _collect(instance, result.run_id, report)
    assert report.failed_checks == [] and report.warned_checks == ["exposure:within_limit"]


def test_the_summary_names_at_most_ten_report_files_and_their_directory():
    from rich.console import Console

    from sigmasight_pipeline.orchestration import SUMMARY_REPORT_FILES

    paths = [f"/r/2025-06-30/p{i:04d}.{ext}" for i in range(3) for ext in ("csv", "json")]
    report = RunReport(days=[dt.date(2025, 6, 30)], success=True,
                       report_paths=paths[:SUMMARY_REPORT_FILES], report_count=8000,
                       reports_dir="/r/2025-06-30")
    console = Console(width=200, record=True)
    console.print(summary_table(report))
    text = console.export_text()
    assert "8,000 file(s) in /r/2025-06-30" in text
    assert "… and 7,994 more" in text  # 8,000 − the 6 listed
    assert sum(p in text for p in paths) == 6
    assert SUMMARY_REPORT_FILES == 10


def test_a_range_runs_check_is_one_progress_line_with_its_day_counts():
    from sigmasight_pipeline.orchestration import _check_lines

    lines = _check_lines({
        "portfolio_var:es_at_least_var": {"days": 250, "failed": 0, "warn": False,
                                          "description": None},
        "limit_checks:no_limit_breaches": {"days": 250, "failed": 3, "warn": True,
                                           "description": "1 limit breach(es) on 1 day(s)"},
        "position_values:every_position_valued": {"days": 1, "failed": 1, "warn": False,
                                                  "description": "2025-06-30: 2 held"},
    })
    assert lines == [
        "check portfolio_var:es_at_least_var passed (250 days)",
        "check limit_checks:no_limit_breaches FAILED on 3 of 250 days "
        "(warning, not blocking: 1 limit breach(es) on 1 day(s))",
        "check position_values:every_position_valued FAILED (2025-06-30: 2 held)",
    ]
