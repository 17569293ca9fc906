"""Operations in the UI: freshness checks on market data and snapshots, the positions inbox
sensor, the run-failure sensor and its table."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
from dagster import (
    AssetCheckKey,
    DagsterInstance,
    SensorResult,
    SkipReason,
    build_sensor_context,
)
from sqlalchemy import text

from sigmasight_pipeline.defs.daily import freshness
from sigmasight_pipeline.defs.daily.sensors import partitions_of
from sigmasight_pipeline.defs.positions.sensors import closed_session, positions_inbox
from sigmasight_pipeline.resources import WarehouseResource
from sigmasight_pipeline.warehouse.run_failures_store import recent_failures, record_failure

NY = ZoneInfo("America/New_York")
HEADER = ("portfolio,owner,symbol,quantity,entry_price,entry_date,underlying,strike,"
          "expiration,option_type,tags\n")


def _ny(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=NY)


def test_due_day_follows_the_schedule_plus_margin_and_the_nyse_calendar():
    # Monday 2025-06-30: before 19:30 Friday's data is what is due, after it Monday's
    assert freshness.due_day(_ny(2025, 6, 30, 19, 29)) == dt.date(2025, 6, 27)
    assert freshness.due_day(_ny(2025, 6, 30, 19, 30)) == dt.date(2025, 6, 30)
    # Saturday, and Independence Day (a Friday holiday in 2025 is 07-04): the session before
    assert freshness.due_day(_ny(2025, 6, 28, 12, 0)) == dt.date(2025, 6, 27)
    assert freshness.due_day(_ny(2025, 7, 4, 21, 0)) == dt.date(2025, 7, 3)
    # an aware UTC time is read in New York: 23:45 UTC = 19:45 EDT
    assert freshness.due_day(dt.datetime(2025, 6, 30, 23, 45, tzinfo=dt.UTC)) == dt.date(
        2025, 6, 30)
    assert closed_session(_ny(2025, 6, 30, 17, 59)) == dt.date(2025, 6, 27)
    assert closed_session(_ny(2025, 6, 30, 18, 0)) == dt.date(2025, 6, 30)




def test_freshness_check_fails_on_a_stale_day_and_passes_when_current(engine, cli_env,
                                                                      monkeypatch):
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sigmasight.market_prices (symbol, date, close, "
                          "adj_close, source) VALUES ('SPY', '2025-06-27', 600, 600, "
                          "'simulated')"))
    # Monday 20:00 New York: Monday's prices were due at 19:30; the table ends on Friday
    monkeypatch.setattr(freshness, "_now", lambda: _ny(2025, 6, 30, 20, 0))
    (stale,) = _run_check(freshness.market_prices_fresh)
    assert not stale.passed and stale.severity.value == "WARN"
    assert stale.metadata["due_day"].value == "2025-06-30"
    assert stale.metadata["latest_day"].value == "2025-06-27"
    assert "market data is late" in stale.description
    # Monday 19:00: Friday is the newest day due, and it is there
    monkeypatch.setattr(freshness, "_now", lambda: _ny(2025, 6, 30, 19, 0))
    (fresh,) = _run_check(freshness.market_prices_fresh)
    assert fresh.passed
    # no snapshot at all: stale whatever the time
    (none,) = _run_check(freshness.portfolio_snapshots_fresh)
    assert not none.passed and none.metadata["latest_day"].value == "none"


def _run_check(check) -> list:
    """Run the check as the UI and its schedule do: the freshness_checks job."""
    from sigmasight_pipeline.definitions import defs

    key = next(iter(check.check_keys))
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("freshness_checks").execute_in_process(
            instance=instance, raise_on_error=False)
        assert result.success  # a stale day warns: the run itself succeeds
        history = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)
        assert isinstance(key, AssetCheckKey) and len(history) == 1
        return [e for e in result.get_asset_check_evaluations() if e.asset_check_key == key]


def _inbox_context(instance, warehouse):
    return build_sensor_context(instance=instance, resources={"warehouse": warehouse})


def test_inbox_imports_a_good_file_rejects_a_bad_one_and_requests_the_days_run(
        engine, cli_env, monkeypatch):
    inbox = cli_env / "inbox"
    inbox.mkdir()
    monkeypatch.setenv("SIGMASIGHT_POSITIONS_INBOX", str(inbox))
    from sigmasight_pipeline.settings import get_settings

    get_settings.cache_clear()
    (inbox / "good.csv").write_text(HEADER + "Inbox Book,i@x.com,AAPL,10,190.5,2024-03-01,,,,,"
                                    "Core\nInbox Book,i@x.com,MSFT,5,400,2024-03-01,,,,,Core\n")
    (inbox / "bad.csv").write_text(HEADER + "Inbox Bad,b@x.com,AAPL,ten,190.5,2024-03-01,,,,,"
                                   "\nInbox Bad,b@x.com,NVDA,5,800,2024-13-01,,,,,\n")
    warehouse = WarehouseResource(database_url=str(engine.url.render_as_string(False)))
    with DagsterInstance.ephemeral() as instance:
        result = positions_inbox(_inbox_context(instance, warehouse))
        assert isinstance(result, SensorResult)
        (request,) = result.run_requests
        again = positions_inbox(_inbox_context(instance, warehouse))
    assert isinstance(again, SkipReason)  # nothing new: the files were moved
    assert request.partition_key == closed_session(dt.datetime.now(dt.UTC)).isoformat()
    assert request.tags["sigmasight/file"] == "good.csv"
    assert (inbox / "done" / "good.csv").is_file() and not (inbox / "good.csv").exists()
    assert (inbox / "rejected" / "bad.csv").is_file() and not (inbox / "bad.csv").exists()
    errors = (inbox / "rejected" / "bad.csv.errors.txt").read_text()
    assert "line 2, column quantity" in errors and "line 3, column entry_date" in errors
    with engine.connect() as conn:
        books = pd.read_sql(text("SELECT p.name, count(*) AS n FROM sigmasight.positions x "
                                 "JOIN sigmasight.portfolios p ON p.id = x.portfolio_id "
                                 "GROUP BY p.name"), conn)
    assert dict(zip(books["name"], books["n"], strict=True)) == {"Inbox Book": 2}
    # the same name dropped again does not overwrite the first
    (inbox / "good.csv").write_text((inbox / "done" / "good.csv").read_text())
    with DagsterInstance.ephemeral() as instance:
        positions_inbox(_inbox_context(instance, warehouse))
    assert (inbox / "done" / "good-2.csv").is_file()


def test_run_failures_table_round_trip_newest_first(engine):
    with engine.begin() as conn:
        record_failure(conn, "run-a", "daily_risk", dt.datetime(2025, 6, 30, 22, 5, tzinfo=dt.UTC),
                       "boom", "2025-06-30", ["position_greeks"])
        record_failure(conn, "run-b", "daily_risk", dt.datetime(2025, 7, 1, 22, 5, tzinfo=dt.UTC),
                       "x" * 5000, partitions_of({"dagster/asset_partition_range_start": "a",
                                                  "dagster/asset_partition_range_end": "b"}))
        record_failure(conn, "run-a", "daily_risk", dt.datetime(2025, 6, 30, 22, 5, tzinfo=dt.UTC),
                       "boom again", "2025-06-30", ["position_greeks"])  # a re-evaluated tick
    with engine.connect() as conn:
        rows = recent_failures(conn)
    assert [r["run_id"] for r in rows] == ["run-b", "run-a"]
    assert rows[0]["partitions"] == "a..b" and len(rows[0]["message"]) == 2000
    assert rows[1]["message"] == "boom again" and rows[1]["steps"] == "position_greeks"


def test_run_failure_sensor_records_a_failed_run(engine, cli_env):
    from dagster import DagsterEventType, build_run_status_sensor_context, job, op

    from sigmasight_pipeline.defs.daily.sensors import record_run_failures

    @op
    def explode():
        raise ValueError("no DGS3MO treasury yield on 2025-06-30")

    @job
    def daily_risk():
        explode()

    warehouse = WarehouseResource(database_url=engine.url.render_as_string(False))
    with DagsterInstance.ephemeral() as instance:
        result = daily_risk.execute_in_process(
            instance=instance, raise_on_error=False,
            tags={"dagster/asset_partition_range_start": "2025-06-26",
                  "dagster/asset_partition_range_end": "2025-06-30"})
        assert not result.success
        failure = next(e for e in result.all_events
                       if e.event_type == DagsterEventType.RUN_FAILURE)
        context = build_run_status_sensor_context(
            sensor_name="record_run_failures", dagster_event=failure,
            dagster_instance=instance, dagster_run=result.dagster_run,
            resources={"warehouse": warehouse}).for_run_failure()
        record_run_failures(context)
    with engine.connect() as conn:
        (row,) = recent_failures(conn)
    assert row["run_id"] == result.run_id and row["job"] == "daily_risk"
    assert row["partitions"] == "2025-06-26..2025-06-30" and row["steps"] == "explode"
    assert row["message"].startswith("steps failed: explode")
