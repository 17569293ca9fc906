"""The daily run: every asset for the trading day that just closed, at 18:00 New York.

A plain cron on weekdays that skips non-sessions (DAGSTER_FACTS.md: the partitioned
schedule helpers re-request the previous partition on holidays with asset-selection
jobs). The run key is the day, so a tick never launches the same day twice.
"""

import datetime as dt

from dagster import (
    AssetSelection,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    schedule,
)

from ...calendar import is_trading_day
from ...partitions import TIMEZONE

daily_risk_job = define_asset_job(
    "daily_risk",
    selection=AssetSelection.all(),
    description="Market data, positions and every risk engine for one trading day.",
)


@schedule(job=daily_risk_job, cron_schedule="0 18 * * 1-5", execution_timezone=TIMEZONE,
          description="After the NYSE close on each trading day; skips holidays.")
def daily_risk_schedule(context: ScheduleEvaluationContext):
    day: dt.date = context.scheduled_execution_time.date()
    if not is_trading_day(day):
        return SkipReason(f"{day} is not an NYSE trading day")
    key = day.isoformat()
    return RunRequest(run_key=key, partition_key=key)
