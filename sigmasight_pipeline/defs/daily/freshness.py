"""Freshness: is the latest trading day's market data and snapshot in the warehouse?

A session's data is due at the 18:00 New York schedule plus a margin (``DUE_AFTER_CLOSE``,
default 18:00 + 90 min = 19:30). Each check compares the newest day the asset's table holds
with the newest session that is due by now, and fails (severity WARN: nothing downstream is
blocked, the UI shows it red/yellow on the asset) when it is behind. The checks run on their
own job, ``freshness_checks``, ticked at the deadline on weekdays (and from the UI's
*Execute* button on the check); they are left out of ``daily_risk``, which runs old days as
well as new ones.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    asset_check,
    define_asset_job,
    schedule,
)
from sqlalchemy import func, select

from ...calendar import is_trading_day, previous_trading_day
from ...partitions import TIMEZONE
from ...resources import WarehouseResource
from ...warehouse.tables import market_prices, portfolio_snapshots
from ..market_data.assets import market_prices_asset
from ..risk.assets import portfolio_snapshots_asset

#: the daily schedule's time (its cron in schedules.py says the same) and the margin a run
#: may take
SCHEDULE_TIME = dt.time(18, 0)
MARGIN = dt.timedelta(minutes=90)


def deadline(day: dt.date) -> dt.datetime:
    """When ``day``'s data is due: the schedule's tick plus the margin, New York time."""
    return dt.datetime.combine(day, SCHEDULE_TIME, ZoneInfo(TIMEZONE)) + MARGIN


def due_day(now: dt.datetime) -> dt.date:
    """The newest session whose data must be in the warehouse at ``now`` (aware)."""
    local = now.astimezone(ZoneInfo(TIMEZONE))
    today = local.date()
    if is_trading_day(today) and local >= deadline(today):
        return today
    return previous_trading_day(today)


def freshness(latest: dt.date | None, now: dt.datetime) -> tuple[bool, dict]:
    """(fresh?, metadata) for a table whose newest day is ``latest`` at ``now``."""
    due = due_day(now)
    fresh = latest is not None and latest >= due
    return fresh, {"due_day": due.isoformat(), "latest_day": latest.isoformat() if latest
                   else "none", "deadline": deadline(due).isoformat(),
                   "checked_at": now.astimezone(ZoneInfo(TIMEZONE)).isoformat(timespec="seconds")}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _latest(warehouse: WarehouseResource, table) -> dt.date | None:
    with warehouse.engine().connect() as conn:
        return conn.execute(select(func.max(table.c.date))).scalar_one()


def _check(asset, table, what: str):
    @asset_check(asset=asset, name="fresh_by_deadline", blocking=False,
                 description=f"The newest session's {what} is in the warehouse by "
                             f"{SCHEDULE_TIME:%H:%M} New York + {int(MARGIN.total_seconds()) // 60}"
                             " min (the daily schedule plus a margin).")
    def fresh(context: AssetCheckExecutionContext, warehouse: WarehouseResource
              ) -> AssetCheckResult:
        latest = _latest(warehouse, table)
        ok, metadata = freshness(latest, _now())
        return AssetCheckResult(
            passed=ok, severity=AssetCheckSeverity.WARN, metadata=metadata,
            description=None if ok else (f"{what} is late: the newest day is "
                                         f"{metadata['latest_day']}, {metadata['due_day']} was "
                                         f"due by {metadata['deadline']}"))

    fresh.__name__ = f"{asset.key.to_python_identifier()}_fresh_by_deadline"
    return fresh


market_prices_fresh = _check(market_prices_asset, market_prices, "market data")
portfolio_snapshots_fresh = _check(portfolio_snapshots_asset, portfolio_snapshots,
                                   "portfolio snapshot")
FRESHNESS_CHECKS = [market_prices_fresh, portfolio_snapshots_fresh]

freshness_job = define_asset_job(
    "freshness_checks", selection=AssetSelection.checks(*FRESHNESS_CHECKS),
    description="Whether today's market data and snapshots arrived by the deadline "
                "(18:00 New York schedule + 90 min).")


@schedule(job=freshness_job, cron_schedule="30 19 * * 1-5", execution_timezone=TIMEZONE,
          default_status=DefaultScheduleStatus.RUNNING,
          description="At the freshness deadline on weekdays (19:30 New York).")
def freshness_schedule(context):
    return RunRequest(run_key=context.scheduled_execution_time.isoformat())
