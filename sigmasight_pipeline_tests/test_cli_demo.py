"""`sigmasight demo` end to end (a short window) and `materialize` argument handling."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import text

from sigmasight_pipeline.cli import main


def test_demo_runs_upgrade_seed_and_a_window_and_labels_simulated_data(engine, cli_env):
    result = CliRunner().invoke(main, ["demo", "--end", "2025-06-30", "--days", "3"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "OFFLINE SIMULATED" in out
    assert "2025-06-26 .. 2025-06-30 (3 trading days)" in out
    assert "Demo Hedge Fund Style Investor Portfolio" in out
    with engine.connect() as conn:
        days = conn.execute(text("SELECT count(DISTINCT date) FROM "
                                 "sigmasight.portfolio_snapshots")).scalar_one()
        sources = conn.execute(text("SELECT DISTINCT data_source FROM "
                                    "sigmasight.portfolio_snapshots")).scalars().all()
    assert days == 3 and sources == ["simulated"]


def test_materialize_rejects_bad_arguments(cli_env):
    runner = CliRunner()
    assert runner.invoke(main, ["materialize"]).exit_code == 2
    assert runner.invoke(main, ["materialize", "--date", "2025-13-01"]).exit_code == 2
    bad = runner.invoke(main, ["materialize", "--start", "2025-06-10", "--end", "2025-06-01"])
    assert bad.exit_code == 2 and "before" in bad.output
    weekend = runner.invoke(main, ["materialize", "--date", "2025-06-01"])
    assert weekend.exit_code == 1 and "no NYSE trading days" in weekend.output


def test_materialize_outside_the_partitions_says_so(cli_env):
    runner = CliRunner()
    for day in ("2015-06-01", "2029-06-04"):
        result = runner.invoke(main, ["materialize", "--date", day])
        assert result.exit_code == 1 and "partitions run from 2016-01-04 to" in result.output
