"""NYSE trading days (sessions), the unit of every partition.

Built from pandas_market_calendars once per process and bounded to
[CALENDAR_START, CALENDAR_END] so the partition definition stays small.
"""

from __future__ import annotations

import datetime as dt
import warnings
from functools import lru_cache

import numpy as np
import pandas as pd

CALENDAR_START = dt.date(2015, 1, 1)
CALENDAR_END = dt.date(2030, 12, 31)


@lru_cache(maxsize=1)
def _nyse():
    with warnings.catch_warnings():
        # pandas_market_calendars emits a harmless deprecation warning under pandas 3
        warnings.simplefilter("ignore")
        import pandas_market_calendars as mcal

        return mcal.get_calendar("NYSE")


@lru_cache(maxsize=1)
def all_sessions() -> pd.DatetimeIndex:
    """Every NYSE session in the calendar bounds, as tz-naive midnight timestamps."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        days = _nyse().valid_days(CALENDAR_START.isoformat(), CALENDAR_END.isoformat())
    return pd.DatetimeIndex(days.tz_localize(None).normalize(), name="date")


@lru_cache(maxsize=1)
def session_days() -> np.ndarray:
    """:func:`all_sessions` as a sorted ``datetime64[D]`` array (read-only, shared): for
    searchsorted per day without converting the index each time."""
    days = all_sessions().to_numpy().astype("datetime64[D]")
    days.flags.writeable = False
    return days


@lru_cache(maxsize=1)
def holidays() -> tuple[dt.date, ...]:
    """Weekdays in the calendar bounds that are not sessions (holidays, closures)."""
    weekdays = pd.bdate_range(CALENDAR_START, CALENDAR_END)
    return tuple(d.date() for d in weekdays.difference(all_sessions()))


def trading_days(start: dt.date, end: dt.date) -> list[dt.date]:
    """NYSE sessions in [start, end], inclusive, in order."""
    s = all_sessions()
    mask = (s >= pd.Timestamp(start)) & (s <= pd.Timestamp(end))
    return [d.date() for d in s[mask]]


def is_trading_day(day: dt.date) -> bool:
    return pd.Timestamp(day) in all_sessions()


def previous_trading_day(day: dt.date, n: int = 1) -> dt.date:
    """The session ``n`` sessions before ``day`` (``day`` itself need not be a session)."""
    s = all_sessions()
    i = s.searchsorted(pd.Timestamp(day), side="left")
    if i - n < 0:
        raise ValueError(
            f"no session {n} before {day} inside the calendar (starts {CALENDAR_START})"
        )
    return s[i - n].date()


def sessions_back(day: dt.date, n: int) -> list[dt.date]:
    """The ``n`` sessions ending on ``day`` (inclusive when ``day`` is a session)."""
    s = all_sessions()
    i = s.searchsorted(pd.Timestamp(day), side="right")
    return [d.date() for d in s[max(0, i - n) : i]]
