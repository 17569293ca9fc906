"""The daily schedule fires on trading days only, for the day that just closed."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from dagster import build_schedule_context

from sigmasight_pipeline.definitions import defs


@pytest.mark.parametrize(("day", "expected"), [
    ("2024-07-03", "2024-07-03"), ("2024-07-04", None), ("2024-07-05", "2024-07-05"),
    ("2024-12-25", None), ("2025-06-02", "2025-06-02"), ("2024-11-29", "2024-11-29"),
])
def test_schedule_requests_the_session_that_closed(day, expected):
    repo = defs.get_repository_def()
    schedule = repo.get_schedule_def("daily_risk_schedule")
    assert schedule.cron_schedule == "0 18 * * 1-5"
    when = dt.datetime.fromisoformat(f"{day}T18:00").replace(tzinfo=ZoneInfo("America/New_York"))
    result = schedule.evaluate_tick(build_schedule_context(scheduled_execution_time=when,
                                                           repository_def=repo))
    if expected is None:
        assert not result.run_requests and "not an NYSE trading day" in result.skip_message
    else:
        (request,) = result.run_requests
        assert request.partition_key == expected and request.run_key == expected


def _ticks(schedule, first: dt.datetime, last: dt.datetime) -> list[dt.datetime]:
    """The schedule's own tick times in [first, last], as the daemon computes them."""
    from dagster._utils.schedules import cron_string_iterator

    ticks = []
    for tick in cron_string_iterator(first.timestamp(), schedule.cron_schedule,
                                     schedule.execution_timezone):
        if tick > last:
            return ticks
        ticks.append(tick)
    return ticks


@pytest.mark.parametrize(("first", "last", "sessions"), [
    # Christmas and New Year's Day on weekdays
    ("2024-12-20", "2025-01-03",
     ["2024-12-20", "2024-12-23", "2024-12-24", "2024-12-26", "2024-12-27", "2024-12-30",
      "2024-12-31", "2025-01-02", "2025-01-03"]),
    # Thanksgiving week (Thursday closed, Friday a half-day session)
    ("2024-11-25", "2024-12-02",
     ["2024-11-25", "2024-11-26", "2024-11-27", "2024-11-29", "2024-12-02"]),
    # Good Friday 2025 and the day of mourning for President Carter (2025-01-09)
    ("2025-01-06", "2025-01-10", ["2025-01-06", "2025-01-07", "2025-01-08", "2025-01-10"]),
    ("2025-04-14", "2025-04-21",
     ["2025-04-14", "2025-04-15", "2025-04-16", "2025-04-17", "2025-04-21"]),
])
def test_schedule_tick_by_tick_over_holiday_weeks(first, last, sessions):
    """Every tick the daemon would evaluate: weekdays at 18:00 New York; holidays skip, each
    session requests itself, which is the latest trading-day partition at that moment."""
    from dagster import partition_loading_context

    from sigmasight_pipeline.partitions import trading_day_partitions

    repo = defs.get_repository_def()
    schedule = repo.get_schedule_def("daily_risk_schedule")
    ny = ZoneInfo("America/New_York")
    ticks = _ticks(schedule, dt.datetime.fromisoformat(f"{first}T00:00").replace(tzinfo=ny),
                   dt.datetime.fromisoformat(f"{last}T23:59").replace(tzinfo=ny))
    assert ticks and all(t.astimezone(ny).hour == 18 and t.weekday() < 5 for t in ticks)
    requested = []
    for tick in ticks:
        result = schedule.evaluate_tick(build_schedule_context(scheduled_execution_time=tick,
                                                               repository_def=repo))
        if not result.run_requests:
            assert "not an NYSE trading day" in result.skip_message
            continue
        (request,) = result.run_requests
        with partition_loading_context(effective_dt=tick):
            latest = trading_day_partitions.get_last_partition_key()
        assert request.partition_key == latest == tick.date().isoformat()
        assert request.run_key == request.partition_key
        requested.append(request.partition_key)
    assert requested == sessions


def test_schedule_runs_the_whole_graph_and_is_on_by_default_when_the_cli_says_so(monkeypatch):
    from dagster import DefaultScheduleStatus

    from sigmasight_pipeline.defs.daily.schedules import SCHEDULE_ENV, default_schedule_status

    repo = defs.get_repository_def()
    job = repo.get_job("daily_risk")
    assert set(job.asset_layer.executable_asset_keys) == {
        key for key in defs.resolve_asset_graph().get_all_asset_keys()
    }
    monkeypatch.delenv(SCHEDULE_ENV, raising=False)
    assert default_schedule_status() == DefaultScheduleStatus.STOPPED
    monkeypatch.setenv(SCHEDULE_ENV, "on")
    assert default_schedule_status() == DefaultScheduleStatus.RUNNING
    monkeypatch.setenv(SCHEDULE_ENV, "off")
    assert default_schedule_status() == DefaultScheduleStatus.STOPPED


def test_the_embedded_setup_turns_the_schedule_on(cli_env, monkeypatch):
    import os

    from sigmasight_pipeline.runtime import prepare

    monkeypatch.delenv("SIGMASIGHT_DAILY_SCHEDULE", raising=False)
    prepare()
    assert os.environ["SIGMASIGHT_DAILY_SCHEDULE"] == "on"
