"""Activity (SPEC §5.1 held-at-close rule) and close resolution with the stale-price rule."""

from __future__ import annotations

import datetime as dt
import uuid

import pandas as pd
import pytest

from sigmasight_pipeline import calendar
from sigmasight_pipeline.engines.activity import active_positions, is_option
from sigmasight_pipeline.engines.prices import missing_symbols, resolve_closes

D = dt.date
AS_OF = D(2025, 6, 30)  # a Monday; Friday 2025-06-27 is the previous session


def _position(pid, symbol, position_type, entry, exit_=None, expiration=None, **extra):
    row = {
        "position_id": pid,
        "portfolio_id": "pf",
        "symbol": symbol,
        "position_type": position_type,
        "quantity": 1.0,
        "multiplier": 100 if position_type in ("LC", "LP", "SC", "SP") else 1,
        "entry_price": 1.0,
        "entry_date": entry,
        "exit_date": exit_,
        "exit_price": None if exit_ is None else 1.0,
        "underlying_symbol": None,
        "strike": None,
        "expiration": expiration,
        "option_type": None,
    }
    row.update(extra)
    return row


# --- activity ----------------------------------------------------------------------------


def test_active_positions_follows_the_held_at_close_rule():
    positions = pd.DataFrame(
        [
            _position("open", "AAPL", "LONG", D(2025, 1, 2)),
            _position("entered_today", "MSFT", "LONG", AS_OF),
            _position("enters_tomorrow", "NVDA", "LONG", D(2025, 7, 1)),
            _position("exits_today", "TSLA", "SHORT", D(2025, 1, 2), exit_=AS_OF),
            _position("exits_tomorrow", "KO", "LONG", D(2025, 1, 2), exit_=D(2025, 7, 1)),
            _position("exited_before", "PEP", "LONG", D(2025, 1, 2), exit_=D(2025, 6, 2)),
            _position("nat_exit", "GE", "LONG", D(2025, 1, 2), exit_=pd.NaT),
            _position("expires_today", "AAPL250630C00200000", "LC", D(2025, 6, 1),
                      expiration=AS_OF),
            _position("expired_friday", "AAPL250627P00200000", "LP", D(2025, 6, 1),
                      expiration=D(2025, 6, 27)),
            _position("expires_later", "AAPL250815P00200000", "SP", D(2025, 6, 1),
                      expiration=D(2025, 8, 15)),
        ]
    )
    held = active_positions(positions, AS_OF)
    assert sorted(held["position_id"]) == sorted(
        ["open", "entered_today", "exits_tomorrow", "nat_exit", "expires_today", "expires_later"]
    )
    # every column kept, input untouched
    assert list(held.columns) == list(positions.columns)
    assert len(positions) == 10


def test_active_positions_empty_frame():
    empty = pd.DataFrame(columns=["position_id", "position_type", "entry_date", "exit_date"])
    assert active_positions(empty, AS_OF).empty


def test_is_option():
    assert is_option("LP") and is_option("sc") and not is_option("LONG")
    types = pd.Series(["LONG", "SHORT", "LC", "LP", "SC", "SP", None], index=list("abcdefg"))
    flags = is_option(types)
    assert flags.tolist() == [False, False, True, True, True, True, False]
    assert list(flags.index) == list("abcdefg")


# --- closes ------------------------------------------------------------------------------


def _history(rows):
    return pd.DataFrame(rows, columns=["symbol", "date", "close", "adj_close"])


def test_resolve_closes_fresh_stale_and_too_old():
    history = _history(
        [
            ("AAPL", D(2025, 6, 27), 199.0, 198.0),
            ("AAPL", AS_OF, 201.0, 200.5),  # close on the day
            ("MSFT", D(2025, 6, 27), 480.0, 479.0),  # 1 session old
            ("KO", D(2025, 6, 23), 70.0, 69.0),  # Mon 23 → 24, 25, 26, 27, 30: 5 sessions old
            ("NVDA", D(2025, 6, 20), 140.0, 140.0),  # Fri 20 → 6 sessions old: too old
            ("TSLA", D(2025, 7, 1), 300.0, 300.0),  # after as_of: ignored
        ]
    )
    closes = resolve_closes(
        history, ["AAPL", "MSFT", "KO", "NVDA", "TSLA", "ZZZ"], AS_OF, calendar.all_sessions()
    )
    assert list(closes.columns) == ["price", "adj_close", "price_date", "stale", "sessions_old"]
    assert sorted(closes.index) == ["AAPL", "KO", "MSFT"]

    aapl = closes.loc["AAPL"]
    assert (aapl["price"], aapl["adj_close"], aapl["price_date"]) == (201.0, 200.5, AS_OF)
    assert not aapl["stale"] and aapl["sessions_old"] == 0

    msft = closes.loc["MSFT"]
    assert msft["price"] == 480.0 and msft["price_date"] == D(2025, 6, 27)
    assert msft["stale"] and msft["sessions_old"] == 1

    ko = closes.loc["KO"]
    assert ko["stale"] and ko["sessions_old"] == 5 and ko["price_date"] == D(2025, 6, 23)

    assert missing_symbols(["AAPL", "MSFT", "KO", "NVDA", "TSLA", "ZZZ"], closes) == [
        "NVDA", "TSLA", "ZZZ"
    ]


def test_sessions_old_counts_trading_days_not_calendar_days():
    # 2025-06-19 (Juneteenth) is an NYSE holiday: from Wed 18 to Tue 24 there are
    # 20, 23 and 24 — 3 sessions, though 6 calendar days.
    history = _history([("AAPL", D(2025, 6, 18), 196.0, 196.0)])
    closes = resolve_closes(history, ["AAPL"], D(2025, 6, 24), calendar.all_sessions(),
                            max_stale_sessions=3)
    assert closes.loc["AAPL", "sessions_old"] == 3
    assert closes.loc["AAPL", "stale"]
    # one session fewer allowed: gone
    closes = resolve_closes(history, ["AAPL"], D(2025, 6, 24), calendar.all_sessions(),
                            max_stale_sessions=2)
    assert closes.empty


def test_resolve_closes_skips_missing_close_and_accepts_timestamps_and_uuid_free_input():
    history = _history(
        [
            ("AAPL", pd.Timestamp("2025-06-26"), 190.0, 190.0),
            ("AAPL", pd.Timestamp("2025-06-27"), None, None),  # a row without a close
        ]
    )
    sessions = list(calendar.trading_days(D(2025, 6, 1), D(2025, 7, 31)))
    closes = resolve_closes(history, None, D(2025, 6, 27), sessions)
    assert closes.loc["AAPL", "price"] == 190.0
    assert closes.loc["AAPL", "price_date"] == D(2025, 6, 26)
    assert closes.loc["AAPL", "sessions_old"] == 1


def test_resolve_closes_with_no_history():
    closes = resolve_closes(_history([]), ["AAPL"], AS_OF, calendar.all_sessions())
    assert closes.empty and list(closes.columns) == [
        "price", "adj_close", "price_date", "stale", "sessions_old"
    ]
    assert missing_symbols(["AAPL"], closes) == ["AAPL"]


def test_uuid_ids_survive_activity():
    pid = uuid.uuid4()
    positions = pd.DataFrame([_position(pid, "AAPL", "LONG", D(2025, 1, 2))])
    assert active_positions(positions, AS_OF)["position_id"].iloc[0] == pid


@pytest.mark.parametrize("exit_value", [None, pd.NaT, float("nan")])
def test_missing_exit_values_mean_open(exit_value):
    positions = pd.DataFrame([_position("p", "AAPL", "LONG", D(2025, 1, 2), exit_=exit_value)])
    assert len(active_positions(positions, AS_OF)) == 1


def test_as_float_matrix_numbers_as_floats_and_anything_else_nan():
    import numpy as np

    from sigmasight_pipeline.engines.activity import as_float_matrix

    floats = pd.DataFrame({"A": [1.5, float("nan")], "B": [2.0, -3.25]})
    assert np.array_equal(as_float_matrix(floats), [[1.5, 2.0], [np.nan, -3.25]],
                          equal_nan=True)
    mixed = pd.DataFrame({"f": [0.1, 2.0], "i": [3, 4], "b": [True, False],
                          "o": [None, "7.5"], "s": ["bad", 1],
                          "e": pd.array([1.25, None], dtype="Float64")})
    got = as_float_matrix(mixed)
    want = [[0.1, 3.0, 1.0, np.nan, np.nan, 1.25], [2.0, 4.0, 0.0, 7.5, 1.0, np.nan]]
    assert got.dtype == np.float64 and np.array_equal(got, want, equal_nan=True)
    assert as_float_matrix(pd.DataFrame(index=[1, 2])).shape == (2, 0)
