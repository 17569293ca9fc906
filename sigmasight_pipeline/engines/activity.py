"""Which positions are held on a trading day (SPEC §5.1), and small shared helpers.

A position is *held at the close of* ``as_of`` when

* ``entry_date <= as_of``,
* it has no ``exit_date`` or ``as_of < exit_date`` (a position exited on ``as_of`` is no
  longer held at that day's close; its exit P&L is booked by the snapshot engine), and
* for options (position types LC, LP, SC, SP), ``expiration >= as_of`` (an option
  expiring on ``as_of`` is still held that day and is worth its intrinsic value).

Pure functions: DataFrames in, DataFrames out. Dates may be ``datetime.date`` objects,
timestamps, ISO strings, ``None`` or ``NaT``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd

#: position_type values of option positions: long call, long put, short call, short put.
OPTION_POSITION_TYPES: tuple[str, ...] = ("LC", "LP", "SC", "SP")
#: position_type values of stock/ETF/fund positions.
STOCK_POSITION_TYPES: tuple[str, ...] = ("LONG", "SHORT")


def is_option(position_type: pd.Series | Iterable[str] | str) -> pd.Series | bool:
    """True where ``position_type`` is an option type (LC, LP, SC, SP; case-insensitive).

    A scalar string gives a bool; a Series gives a boolean Series on the same index;
    any other iterable gives a boolean Series with a default index. Missing values are
    not options.
    """
    if isinstance(position_type, str):
        return position_type.strip().upper() in OPTION_POSITION_TYPES
    types = position_type if isinstance(position_type, pd.Series) else pd.Series(
        list(position_type), dtype=object
    )
    normalized = types.astype("string").str.strip().str.upper()
    return normalized.isin(OPTION_POSITION_TYPES).fillna(False).astype(bool)


def to_timestamps(dates: pd.Series | Iterable) -> pd.Series:
    """Dates (``datetime.date``, timestamps, ISO strings, None/NaT) as datetime64, NaT for missing.

    Keeps the index of a Series input.
    """
    series = dates if isinstance(dates, pd.Series) else pd.Series(list(dates), dtype=object)
    return pd.to_datetime(series, errors="coerce").dt.normalize()


def to_dates(timestamps: pd.Series) -> pd.Series:
    """datetime64 Series as an object Series of ``datetime.date`` (None where NaT)."""
    ts = pd.to_datetime(timestamps)
    out = pd.Series([None] * len(ts), index=ts.index, dtype=object)
    present = ts.notna().to_numpy()
    if present.any():
        out.loc[present] = list(ts[present].dt.date)
    return out


def id_key(ids: pd.Series | Iterable) -> pd.Series:
    """Identifiers (``uuid.UUID`` or str) as canonical lowercase strings, for joins.

    The warehouse returns UUID objects and tests use strings; joining on this key makes
    the engines indifferent to which one a caller passes.
    """
    series = ids if isinstance(ids, pd.Series) else pd.Series(list(ids), dtype=object)
    return series.astype(object).map(lambda x: str(x).strip().lower()).astype(object)


def active_mask(positions: pd.DataFrame, as_of: dt.date) -> pd.Series:
    """Boolean Series (positions' index): held at the close of ``as_of`` (SPEC §5.1)."""
    day = pd.Timestamp(as_of).normalize()
    entry = to_timestamps(positions["entry_date"])
    exit_ = (
        to_timestamps(positions["exit_date"])
        if "exit_date" in positions
        else pd.Series(pd.NaT, index=positions.index, dtype="datetime64[s]")
    )
    held = (entry <= day) & (exit_.isna() | (day < exit_))
    option = is_option(positions["position_type"])
    if "expiration" in positions:
        expiration = to_timestamps(positions["expiration"])
        # an option without an expiration cannot be priced; it is not held (not silently kept)
        option_alive = expiration.notna() & (expiration >= day)
    else:
        option_alive = pd.Series(False, index=positions.index)
    return (held & (~option | option_alive)).astype(bool)


def active_positions(positions: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """The positions held at the close of ``as_of`` (SPEC §5.1), every column kept.

    ``positions`` needs position_type, entry_date and, when present, exit_date and
    expiration. The result keeps the input's index and column order.
    """
    if positions.empty:
        return positions.copy()
    return positions.loc[active_mask(positions, as_of).to_numpy()].copy()


def between_sessions(
    dates: pd.Series, as_of: dt.date, prev_session: dt.date | None = None
) -> pd.Series:
    """True where a date falls after the previous session and on or before ``as_of``.

    This is "on trading day ``as_of``" for trades dated on a weekend or holiday: a trade
    dated Saturday belongs to the following Monday. With ``prev_session`` None the window
    is ``as_of`` alone. Missing dates are False.
    """
    day = pd.Timestamp(as_of).normalize()
    if prev_session is None:
        lo = day - pd.Timedelta(days=1)
    else:
        lo = pd.Timestamp(prev_session).normalize()
    ts = to_timestamps(dates)
    return ((ts > lo) & (ts <= day)).fillna(False).astype(bool)


def as_float(series: pd.Series) -> np.ndarray:
    """A numeric column as a float64 array (None → NaN)."""
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def as_float_matrix(frame: pd.DataFrame) -> np.ndarray:
    """A frame's values as a float64 array (rows × columns), non-numbers NaN: each column
    through ``pd.to_numeric`` only when some column is not of a numeric dtype (a wide
    frame of floats, e.g. 1,000 symbols' closes, was 1,000 calls for the same values)."""
    if not all(pd.api.types.is_numeric_dtype(t) for t in frame.dtypes):
        frame = frame.apply(pd.to_numeric, errors="coerce")
    return frame.to_numpy(dtype=float, na_value=np.nan)
