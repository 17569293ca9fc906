"""The daily run: every asset for the trading day that just closed, at 18:00 New York.

A plain cron on weekdays that skips non-sessions (DAGSTER_FACTS.md: the partitioned
schedule helpers re-request the previous partition on holidays with asset-selection
jobs). The run key is the day, so a tick never launches the same day twice.

Default status: RUNNING when ``SIGMASIGHT_DAILY_SCHEDULE`` is ``on`` — the ``sigmasight``
command sets it (runtime.prepare) for the embedded setup and docker-compose sets it for
its daemon, so the daemon of ``sigmasight dev`` starts ticking without a click in the UI.
Code locations loaded without the variable (tests, other deployments) start STOPPED. A
toggle in the UI overrides the default either way.
"""

import datetime as dt
import os

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    schedule,
)

from ...calendar import is_trading_day
from ...partitions import TIMEZONE
from .freshness import FRESHNESS_CHECKS, SCHEDULE_TIME  # noqa: F401 (re-exported)

daily_risk_job = define_asset_job(
    "daily_risk",
    # the freshness checks judge "now", not the run's days: they have their own job
    selection=AssetSelection.all() - AssetSelection.checks(*FRESHNESS_CHECKS),
    description="Every asset and check for a trading day (or a range of days in one run): "
                "positions, market data, the risk engines and the Markdown/JSON/CSV reports. "
                "The 18:00 schedule launches it for the day that closed; `sigmasight "
                "materialize` and `sigmasight demo` launch it for their days (tag "
                "sigmasight/command).",
)


#: the variable that turns the schedule on by default (values: on / off)
SCHEDULE_ENV = "SIGMASIGHT_DAILY_SCHEDULE"


def default_schedule_status() -> DefaultScheduleStatus:
    on = os.environ.get(SCHEDULE_ENV, "off").strip().lower() in ("on", "1", "true", "running")
    return DefaultScheduleStatus.RUNNING if on else DefaultScheduleStatus.STOPPED


@schedule(job=daily_risk_job, cron_schedule="0 18 * * 1-5", execution_timezone=TIMEZONE,
          default_status=default_schedule_status(),
          description="After the NYSE close on each trading day (the latest trading-day "
                      "partition of every asset); skips weekends and NYSE holidays.")
def daily_risk_schedule(context: ScheduleEvaluationContext):
    day: dt.date = context.scheduled_execution_time.date()
    if not is_trading_day(day):
        return SkipReason(f"{day} is not an NYSE trading day")
    key = day.isoformat()
    return RunRequest(run_key=key, partition_key=key)
