"""Closing prices of a trading day, with the stale-price rule of SPEC §5.1.

A symbol with no close on ``as_of`` uses its latest earlier close when that close is at
most ``max_stale_sessions`` NYSE sessions old (flagged stale); beyond that, or with no
close at all, the symbol has no price: it is absent from :func:`resolve_closes`'s result
and listed by :func:`missing_symbols`. Callers turn each absence into a ``missing_price``
data-quality row and leave the position out of every aggregate (never value it at 0).

Prices are in US dollars per share; ``adj_close`` is the split- and dividend-adjusted
close of the same row (used for returns and daily P&L, never for market value).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from sigmasight_pipeline.engines.activity import to_dates, to_timestamps

#: columns of :func:`resolve_closes`'s result (indexed by ``symbol``)
CLOSE_COLUMNS = ["price", "adj_close", "price_date", "stale", "sessions_old"]

#: SPEC §5.1: an earlier close is usable up to this many sessions back
MAX_STALE_SESSIONS = 5

#: $ per share above which a close is a vendor glitch (the dearest US share trades < $1m)
MAX_PLAUSIBLE_PRICE = 1e7
#: $ per share below which a close is a glitch, not a price: 1/100 of the smallest sub-penny
#: tick ($0.0001), far below any split-adjusted close; a subnormal spot (5e-324) made the
#: Black-Scholes gamma 0/0
MIN_PLAUSIBLE_PRICE = 1e-6


def plausible_price(values) -> np.ndarray:
    """True where a price ($ per share) is finite and within
    [MIN_PLAUSIBLE_PRICE, MAX_PLAUSIBLE_PRICE)."""
    v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    return np.isfinite(v) & (v >= MIN_PLAUSIBLE_PRICE) & (v < MAX_PLAUSIBLE_PRICE)


def _session_days(sessions: Sequence | pd.DatetimeIndex) -> np.ndarray:
    """Sessions as a sorted, unique ``datetime64[D]`` array."""
    if isinstance(sessions, np.ndarray) and sessions.dtype == np.dtype("datetime64[D]"):
        # calendar.session_days(): already sorted and unique, used as is (a range run
        # resolves closes per day and asset; converting 4,000 sessions cost ~2 ms each time)
        if len(sessions) < 2 or bool((sessions[1:] > sessions[:-1]).all()):
            return sessions
        return np.unique(sessions)
    if isinstance(sessions, pd.DatetimeIndex) and sessions.tz is None:
        # no per-element Timestamp round trip
        return np.unique(sessions.normalize().to_numpy().astype("datetime64[D]"))
    days = pd.DatetimeIndex(pd.to_datetime(list(sessions))).normalize()
    return np.unique(days.to_numpy().astype("datetime64[D]"))


def _empty_closes() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "price": pd.Series(dtype=float),
            "adj_close": pd.Series(dtype=float),
            "price_date": pd.Series(dtype=object),
            "stale": pd.Series(dtype=bool),
            "sessions_old": pd.Series(dtype="int64"),
        },
        index=pd.Index([], dtype=object, name="symbol"),
    )


def resolve_closes(
    history: pd.DataFrame,
    symbols: Iterable[str] | None,
    as_of: dt.date,
    sessions: Sequence | pd.DatetimeIndex | np.ndarray,
    max_stale_sessions: int = MAX_STALE_SESSIONS,
) -> pd.DataFrame:
    """The close each symbol is valued at on ``as_of``.

    Parameters
    ----------
    history:
        Long frame with columns symbol, date, close, adj_close ($ per share). Rows after
        ``as_of`` and rows with a missing, non-finite or non-positive close are ignored;
        for duplicate (symbol, date) rows the last one wins.
    symbols:
        The symbols wanted; ``None`` means every symbol in ``history``.
    as_of:
        The trading day being valued.
    sessions:
        Ordered NYSE sessions (``calendar.all_sessions()`` or a slice covering at least the
        ``max_stale_sessions`` sessions before ``as_of``), used to count how old a close is;
        a ``datetime64[D]`` array (``calendar.session_days()``) is used without conversion.
    max_stale_sessions:
        The oldest usable close, in sessions before ``as_of`` (SPEC: 5).

    Returns
    -------
    DataFrame indexed by ``symbol`` (sorted) with columns
    ``price`` (the close, $/share), ``adj_close`` ($/share, same row), ``price_date``
    (``datetime.date`` of that close), ``stale`` (True when price_date < as_of) and
    ``sessions_old`` (int: the number of sessions s with price_date < s ≤ as_of, so 0 for a
    close on ``as_of`` and 1 for the previous session's close). Symbols whose latest close is
    more than ``max_stale_sessions`` sessions old, or that have none, are not in the result;
    :func:`missing_symbols` lists them.
    """
    day = pd.Timestamp(as_of).normalize()
    wanted = None if symbols is None else pd.unique(pd.Series(list(symbols), dtype=object))
    if history is None or history.empty:
        return _empty_closes()

    frame = history.loc[:, ["symbol", "date", "close", "adj_close"]]
    frame = frame.assign(
        date=to_timestamps(frame["date"]),
        close=pd.to_numeric(frame["close"], errors="coerce"),
        adj_close=pd.to_numeric(frame["adj_close"], errors="coerce"),
    )
    # a close that is not a positive finite number is no price (a vendor glitch), as if absent
    usable = (frame["date"].notna() & (frame["date"] <= day)
              & plausible_price(frame["close"]))
    if wanted is not None:
        usable &= frame["symbol"].isin(wanted)
    frame = frame.loc[usable]
    if frame.empty:
        return _empty_closes()

    latest = (
        frame.sort_values(["symbol", "date"], kind="mergesort")
        .drop_duplicates("symbol", keep="last")
        .set_index("symbol")
    )
    days = _session_days(sessions)
    price_days = latest["date"].to_numpy().astype("datetime64[D]")
    as_of_day = np.datetime64(day.date(), "D")
    # sessions in (price_date, as_of]: count(≤ as_of) − count(≤ price_date)
    sessions_old = np.searchsorted(days, as_of_day, side="right") - np.searchsorted(
        days, price_days, side="right"
    )
    result = pd.DataFrame(
        {
            "price": latest["close"].to_numpy(dtype=float),
            "adj_close": latest["adj_close"].to_numpy(dtype=float),
            "price_date": to_dates(latest["date"]).to_numpy(),
            "stale": (latest["date"] < day).to_numpy(dtype=bool),
            "sessions_old": sessions_old.astype("int64"),
        },
        index=pd.Index(latest.index.astype(object), name="symbol"),
    )
    result = result.loc[result["sessions_old"].to_numpy() <= max_stale_sessions]
    return result.sort_index()


def missing_symbols(symbols: Iterable[str], closes: pd.DataFrame) -> list[str]:
    """The symbols of ``symbols`` without a usable close in ``closes`` (sorted, unique).

    ``closes`` is :func:`resolve_closes`'s result; a symbol is missing when it had no close
    at all up to ``as_of`` or only one older than the stale limit.
    """
    wanted = pd.Series(list(symbols), dtype=object).dropna().unique()
    have = set(closes.index)
    return sorted(str(s) for s in wanted if s not in have)
