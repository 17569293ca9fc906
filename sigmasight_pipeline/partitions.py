"""The trading-day partitions every daily asset shares.

One partition = one NYSE session (``YYYY-MM-DD``, America/New_York). Weekends and NYSE
holidays are excluded (DAGSTER_FACTS.md: datetimes, not dates, in ``exclusions``).
``end_offset=1`` makes the current session a partition from midnight, so the 18:00
schedule can request the day that just closed.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from dagster import DailyPartitionsDefinition

from .calendar import holidays

#: the first partition: a year after the simulated market starts (2015-01-02), so
#: the engines' history windows are full from the first day
PARTITIONS_START = "2016-01-04"
TIMEZONE = "America/New_York"

trading_day_partitions = DailyPartitionsDefinition(
    start_date=PARTITIONS_START,
    timezone=TIMEZONE,
    end_offset=1,
    exclusions=[
        "0 0 * * 6",
        "0 0 * * 0",
        *(pd.Timestamp(h).to_pydatetime() for h in holidays() if h.isoformat() >= PARTITIONS_START),
    ],
)


def partition_date(key: str) -> dt.date:
    return dt.date.fromisoformat(key)


def partition_bounds() -> tuple[dt.date, dt.date]:
    """The first and the last trading-day partition (the last is today's session, if any)."""
    last = trading_day_partitions.get_last_partition_key()
    return partition_date(PARTITIONS_START), partition_date(last)
