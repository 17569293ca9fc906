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

PARTITIONS_START = "2023-01-03"
TIMEZONE = "America/New_York"

trading_day_partitions = DailyPartitionsDefinition(
    start_date=PARTITIONS_START,
    timezone=TIMEZONE,
    end_offset=1,
    exclusions=[
        "0 0 * * 6",
        "0 0 * * 0",
        *(pd.Timestamp(h).to_pydatetime() for h in holidays() if h >= dt.date(2023, 1, 1)),
    ],
)


def partition_date(key: str) -> dt.date:
    return dt.date.fromisoformat(key)
