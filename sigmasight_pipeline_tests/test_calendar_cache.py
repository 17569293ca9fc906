"""The NYSE sessions' cache file: what it returns is exactly what pandas_market_calendars
computes; a damaged or unwritable cache is recomputed or skipped, never believed."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sigmasight_pipeline import calendar


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    calendar.all_sessions.cache_clear()
    yield tmp_path
    calendar.all_sessions.cache_clear()


def _fresh() -> pd.DatetimeIndex:
    calendar.all_sessions.cache_clear()
    return calendar.all_sessions()


def test_the_cached_sessions_are_the_calendars_own(cache_home):
    import pandas_market_calendars as mcal

    path = calendar._cache_file()
    assert path.parent == cache_home / "sigmasight" and not path.exists()
    computed = _fresh()
    assert path.exists()
    cached = _fresh()  # read back from the file
    reference = mcal.get_calendar("NYSE").valid_days(
        calendar.CALENDAR_START.isoformat(), calendar.CALENDAR_END.isoformat())
    reference = pd.DatetimeIndex(reference.tz_localize(None).normalize(), name="date")
    pd.testing.assert_index_equal(computed, reference, exact=True)
    pd.testing.assert_index_equal(cached, reference, exact=True)
    days = {d.date() for d in cached}
    # Carter's national day of mourning, Juneteenth, a Saturday: no sessions
    assert not days & {dt.date(2025, 1, 9), dt.date(2024, 6, 19), dt.date(2025, 6, 28)}
    assert dt.date(2025, 6, 30) in days


@pytest.mark.parametrize("damage", [
    b"not a numpy file",
    "ints",      # an array of the wrong type
    "unsorted",  # sessions out of order
    "empty",
    "outside",   # sessions beyond the calendar's bounds
])
def test_a_damaged_cache_file_is_recomputed_and_rewritten(cache_home, damage):
    reference = calendar.computed_sessions()
    path = calendar._cache_file()
    path.parent.mkdir(parents=True)
    if isinstance(damage, bytes):
        path.write_bytes(damage)
    else:
        days = reference.to_numpy()
        bad = {"ints": np.arange(10), "unsorted": days[::-1], "empty": days[:0],
               "outside": days + np.timedelta64(3650, "D")}[damage]
        with open(path, "wb") as f:
            np.save(f, bad, allow_pickle=False)
    pd.testing.assert_index_equal(_fresh(), reference, exact=True)
    pd.testing.assert_index_equal(calendar._read_cache(path), reference, exact=True)


def test_an_unwritable_cache_only_costs_time(cache_home, monkeypatch):
    blocker = cache_home / "not-a-directory"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    pd.testing.assert_index_equal(_fresh(), calendar.computed_sessions(), exact=True)
