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
