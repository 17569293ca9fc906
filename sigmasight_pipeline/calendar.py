"""NYSE trading days (sessions), the unit of every partition.

Built from pandas_market_calendars and bounded to [CALENDAR_START, CALENDAR_END] so the
partition definition stays small. The sessions are kept in a cache file (see
:func:`_cache_file`): every process of a run needs them (the code location, each report
worker), and importing the calendar package and computing them took ~0.5 s a process.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import warnings
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

CALENDAR_START = dt.date(2015, 1, 1)
CALENDAR_END = dt.date(2030, 12, 31)


@lru_cache(maxsize=1)
def _nyse():
    with warnings.catch_warnings():
        # pandas_market_calendars emits a harmless deprecation warning under pandas 3
        warnings.simplefilter("ignore")
        import pandas_market_calendars as mcal

        return mcal.get_calendar("NYSE")


def computed_sessions() -> pd.DatetimeIndex:
    """The sessions as pandas_market_calendars gives them (no cache)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        days = _nyse().valid_days(CALENDAR_START.isoformat(), CALENDAR_END.isoformat())
    return pd.DatetimeIndex(days.tz_localize(None).normalize(), name="date")


def _cache_file() -> Path | None:
    """``$XDG_CACHE_HOME/sigmasight`` (default ``~/.cache/sigmasight``), one file per
    calendar bounds, pandas/numpy version and installed pandas_market_calendars: its name
    holds a digest of the package's version file and NYSE rules (path, size, mtime), so an
    upgrade of the package (new holidays, closures) is a new file. None when the package is
    not installed or there is no home directory."""
    spec = find_spec("pandas_market_calendars")
    if spec is None or not spec.submodule_search_locations:
        return None
    package = Path(next(iter(spec.submodule_search_locations)))
    stamp = [CALENDAR_START.isoformat(), CALENDAR_END.isoformat(), pd.__version__,
             np.__version__]
    for name in ("__init__.py", "calendars/nyse.py", "holidays/nyse.py"):
        try:
            st = (package / name).stat()
        except OSError:
            continue
        stamp.append(f"{package / name}:{st.st_size}:{st.st_mtime_ns}")
    digest = hashlib.sha256("|".join(stamp).encode()).hexdigest()[:16]
    try:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    except RuntimeError:  # no HOME and no passwd entry
        return None
    return base / "sigmasight" / f"nyse_sessions_{digest}.npy"


def _read_cache(path: Path) -> pd.DatetimeIndex | None:
    try:
        days = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if days.dtype.kind != "M" or days.ndim != 1 or len(days) == 0 or (
            np.diff(days).astype(np.int64) <= 0).any() or days[0] < np.datetime64(
            CALENDAR_START) or days[-1] > np.datetime64(CALENDAR_END):
        return None  # not a file this module wrote: recomputed
    return pd.DatetimeIndex(days, name="date")  # the unit it was computed in


def _write_cache(path: Path, sessions: pd.DatetimeIndex) -> None:
    """Atomically (``reports.files.atomic_write``: a temporary file renamed over it); a
    cache that cannot be written is only slower."""
    import io

    from .reports.files import atomic_write

    buf = io.BytesIO()
    np.save(buf, sessions.to_numpy(), allow_pickle=False)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, buf.getvalue())
    except OSError as e:
        log.debug("calendar cache not written (%s): %s", path, e)


@lru_cache(maxsize=1)
def all_sessions() -> pd.DatetimeIndex:
    """Every NYSE session in the calendar bounds, as tz-naive midnight timestamps."""
    path = _cache_file()
    cached = _read_cache(path) if path is not None else None
    if cached is not None:
        return cached
    sessions = computed_sessions()
    if path is not None:
        _write_cache(path, sessions)
    return sessions


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
