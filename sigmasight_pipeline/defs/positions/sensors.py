"""The positions inbox sensor: new CSV files in ``SIGMASIGHT_POSITIONS_INBOX`` are imported
through the validated importer (``positions_inbox.py``) and the latest closed session is
run again with the new book (one ``daily_risk`` run per imported file)."""

import datetime as dt
from zoneinfo import ZoneInfo

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from ...calendar import is_trading_day, previous_trading_day
from ...partitions import TIMEZONE
from ...positions_inbox import process_inbox
from ...resources import WarehouseResource
from ...settings import get_settings
from ..daily.schedules import SCHEDULE_TIME, daily_risk_job


def closed_session(now: dt.datetime) -> dt.date:
    """The newest session whose daily run is due at ``now``: today after the 18:00
    schedule on a trading day, else the session before."""
    local = now.astimezone(ZoneInfo(TIMEZONE))
    today = local.date()
    if is_trading_day(today) and local.time() >= SCHEDULE_TIME:
        return today
    return previous_trading_day(today)


@sensor(name="positions_inbox", job=daily_risk_job, minimum_interval_seconds=30,
        default_status=DefaultSensorStatus.RUNNING,
        description="Imports each new positions CSV dropped into SIGMASIGHT_POSITIONS_INBOX "
                    "(validated as `sigmasight positions import`), moves it to done/ or to "
                    "rejected/ with <file>.errors.txt, then requests the day's daily_risk run.")
def positions_inbox(context: SensorEvaluationContext, warehouse: WarehouseResource):
    inbox = get_settings().positions_inbox
    if inbox is None:
        return SkipReason("SIGMASIGHT_POSITIONS_INBOX is not set")
    results = process_inbox(inbox.resolve(), warehouse.engine().begin)
    if not results:
        return SkipReason(f"no new CSV in {inbox}")
    day = closed_session(dt.datetime.now(dt.UTC)).isoformat()
    requests = []
    for r in results:
        if r.imported:
            context.log.info(f"imported {r.name}: {r.message}")
            requests.append(RunRequest(run_key=f"positions_inbox:{r.moved_to.name}:{day}",
                                       partition_key=day,
                                       tags={"sigmasight/command": "positions inbox",
                                             "sigmasight/file": r.name}))
        else:
            context.log.warning(f"rejected {r.name} (see {r.moved_to.name}.errors.txt):\n"
                                f"{r.message}")
    if not requests:
        return SkipReason(f"rejected {', '.join(r.name for r in results)}: nothing imported")
    return SensorResult(run_requests=requests)
