"""Portfolio snapshots: totals, dollar Greeks, daily/cumulative P&L and history flags."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from sigmasight_pipeline.engines.snapshots import SNAPSHOT_COLUMNS, portfolio_snapshots

D = dt.date
T = D(2025, 6, 30)  # Monday
T1 = D(2025, 6, 27)  # the previous session (Friday)
EARLY = D(2025, 1, 2)

POSITION_COLUMNS = [
    "position_id", "portfolio_id", "symbol", "position_type", "quantity", "multiplier",
    "entry_price", "entry_date", "exit_date", "exit_price", "underlying_symbol", "strike",
    "expiration", "option_type",
]
VALUE_COLUMNS = ["position_id", "portfolio_id", "symbol", "price", "price_source",
                 "market_value", "exposure"]


def _pos(pid, pf, symbol, ptype, qty, entry_price, entry=EARLY, exit_=None, exit_price=None):
    option = ptype in ("LC", "LP", "SC", "SP")
    return (pid, pf, symbol, ptype, qty, 100 if option else 1, entry_price, entry, exit_,
            exit_price, "AAPL" if option else None, 200.0 if option else None,
            D(2025, 8, 15) if option else None, ("C" if ptype in ("LC", "SC") else "P")
            if option else None)


def _val(pid, pf, symbol, qty_m, price, source, exposure=None):
    mv = qty_m * price
    return (pid, pf, symbol, price, source, mv, mv if exposure is None else exposure)


POSITIONS = pd.DataFrame(
    [
        # P1: every P&L case
        _pos("aapl", "P1", "AAPL", "LONG", 100.0, 150.0),
        _pos("ko", "P1", "KO", "LONG", 200.0, 55.0),  # dividend day
        _pos("call", "P1", "AAPL250815C00200000", "LC", 2.0, 4.0),
        _pos("put", "P1", "AAPL250815P00200000", "SP", -1.0, 3.5),
        _pos("msft", "P1", "MSFT", "LONG", 10.0, 400.0, entry=T),  # entered on t
        _pos("tsla", "P1", "TSLA", "SHORT", -30.0, 280.0, exit_=T, exit_price=240.0),  # exited
        _pos("nvda", "P1", "NVDA", "LONG", 100.0, 120.0, entry=T, exit_=T, exit_price=123.0),
        _pos("old", "P1", "PEP", "LONG", 10.0, 150.0, exit_=D(2025, 3, 3), exit_price=160.0),
        # P2: first snapshot
        _pos("p2_ge", "P2", "GE", "LONG", 10.0, 90.0),
        # P3: previous snapshot missing (history gap)
        _pos("p3_ge", "P3", "GE", "LONG", 10.0, 90.0),
        # P4: one position's value was missing yesterday
        _pos("p4_hon", "P4", "HON", "LONG", 10.0, 90.0),
        _pos("p4_f", "P4", "F", "LONG", 100.0, 10.0),
        # P5: held today but without a price today
        _pos("p5_xom", "P5", "XOM", "LONG", 50.0, 100.0),
    ],
    columns=POSITION_COLUMNS,
)

PREV_VALUES = pd.DataFrame(
    [
        _val("aapl", "P1", "AAPL", 100, 200.0, "close"),  # MV 20 000
        _val("ko", "P1", "KO", 200, 60.0, "close"),  # MV 12 000
        _val("call", "P1", "AAPL250815C00200000", 200, 5.00, "mid"),
        _val("put", "P1", "AAPL250815P00200000", -100, 3.00, "mid"),
        _val("tsla", "P1", "TSLA", -30, 250.0, "close"),
        _val("p2_ge", "P2", "GE", 10, 100.0, "close"),
        _val("p3_ge", "P3", "GE", 10, 100.0, "close"),
        _val("p4_hon", "P4", "HON", 10, 100.0, "close"),
        _val("p5_xom", "P5", "XOM", 50, 110.0, "close"),
    ],
    columns=VALUE_COLUMNS,
)

VALUES = pd.DataFrame(
    [
        _val("aapl", "P1", "AAPL", 100, 210.0, "close"),  # MV 21 000
        _val("ko", "P1", "KO", 200, 59.5, "close"),  # MV 11 900 (close fell by the dividend)
        _val("call", "P1", "AAPL250815C00200000", 200, 6.25, "model", exposure=25_200.0),
        _val("put", "P1", "AAPL250815P00200000", -100, 2.40, "mid", exposure=8_400.0),
        _val("msft", "P1", "MSFT", 10, 405.0, "close"),  # MV 4 050
        _val("p2_ge", "P2", "GE", 10, 103.0, "close"),
        _val("p3_ge", "P3", "GE", 10, 103.0, "close"),
        _val("p4_hon", "P4", "HON", 10, 101.0, "close"),
        _val("p4_f", "P4", "F", 100, 12.0, "close"),
    ],
    columns=VALUE_COLUMNS,
)

# adj_close: KO went ex-dividend ($0.50) on t, so yesterday's adjusted close is rescaled to
# 59.50 and equals today's: total return 0 although the close fell from 60.00 to 59.50.
PREV_ADJ = pd.Series(
    {"AAPL": 200.0, "KO": 59.5, "GE": 100.0, "HON": 100.0, "F": 11.0, "XOM": 110.0}
)
TODAY_ADJ = pd.Series(
    {"AAPL": 210.0, "KO": 59.5, "GE": 103.0, "HON": 101.0, "MSFT": 405.0, "F": 12.0}
)

GREEKS = pd.DataFrame(
    {
        "position_id": ["call", "put", "gone"],
        "portfolio_id": ["P1", "P1", "P1"],
        "dollar_gamma_1pct": [12.5, -6.0, 1000.0],
        "position_theta": [-3.0, 1.5, 1000.0],
        "position_vega": [20.0, -10.0, 1000.0],
        "position_rho": [4.0, 2.0, 1000.0],
    }
)

EXPOSURES = pd.DataFrame(
    {
        "portfolio_id": ["P1", "P2", "P3", "P4"],
        "gross_exposure": [70_550.0, 1_030.0, 1_030.0, 2_210.0],
        "net_exposure": [70_550.0, 1_030.0, 1_030.0, 2_210.0],
    }
)

PREV_SNAPSHOTS = pd.DataFrame(
    {
        "portfolio_id": ["P1", "P4", "P5"],
        "gross_exposure": [98_000.0, 1_000.0, 5_500.0],
        "cumulative_pnl": [5_000.0, 0.0, -20.0],
    }
)


def _snapshots(**overrides):
    args = dict(
        as_of=T,
        portfolio_ids=["P1", "P2", "P3", "P4", "P5"],
        positions=POSITIONS,
        values=VALUES,
        greeks=GREEKS,
        exposures=EXPOSURES,
        prev_values=PREV_VALUES,
        prev_adj_close=PREV_ADJ,
        today_adj_close=TODAY_ADJ,
        prev_snapshots=PREV_SNAPSHOTS,
        has_earlier_snapshot={"P1", "P3", "P4", "P5"},
        data_source="simulated",
        prev_date=T1,
    )
    args.update(overrides)
    return portfolio_snapshots(**args).set_index("portfolio_id", drop=False)


def test_columns_and_rows():
    out = _snapshots()
    assert list(out.columns) == SNAPSHOT_COLUMNS
    assert out["portfolio_id"].tolist() == ["P1", "P2", "P3", "P4", "P5"]
    assert (out["data_source"] == "simulated").all()


def test_daily_pnl_of_every_position_case():
    p1 = _snapshots().loc["P1"]
    held_stock = 20_000.0 * (210.0 / 200.0 - 1)  # 1 000
    dividend = 12_000.0 * (59.5 / 59.5 - 1)  # 0, not 200 × (59.50 − 60.00) = −100
    held_call = 2 * 100 * (6.25 - 5.00)  # 250 (mid → model: price_source_changed)
    held_short_put = -1 * 100 * (2.40 - 3.00)  # 60
    entered = 10 * 1 * (405.0 - 400.0)  # 50
    exited_short = -30 * 1 * (240.0 - 250.0)  # 300
    round_trip = 100 * 1 * (123.0 - 120.0)  # 300
    expected = (held_stock + dividend + held_call + held_short_put + entered + exited_short
                + round_trip)
    assert expected == pytest.approx(1_960.0)
    assert p1["daily_pnl"] == pytest.approx(expected)
    assert p1["daily_return"] == pytest.approx(1_960.0 / 98_000.0)
    assert p1["cumulative_pnl"] == pytest.approx(5_000.0 + 1_960.0)
    assert p1["flags"] == ["price_source_changed"]


def test_totals_and_dollar_greeks():
    p1 = _snapshots().loc["P1"]
    # MV: 21 000, 11 900, 1 250, −240, 4 050
    assert p1["total_value"] == pytest.approx(37_960.0)
    assert p1["long_value"] == pytest.approx(38_200.0)
    assert p1["short_value"] == pytest.approx(-240.0)
    assert p1["gross_exposure"] == 70_550.0 and p1["net_exposure"] == 70_550.0
    assert p1["dollar_delta"] == p1["net_exposure"]
    # Greeks of the two valued options only ("gone" is not in values)
    assert p1["dollar_gamma_1pct"] == pytest.approx(12.5 - 6.0)
    assert p1["dollar_theta"] == pytest.approx(-3.0 + 1.5)
    assert p1["dollar_vega"] == pytest.approx(20.0 - 10.0)
    assert p1["dollar_rho"] == pytest.approx(4.0 + 2.0)
    assert p1["position_count"] == 5


def test_first_snapshot():
    p2 = _snapshots().loc["P2"]
    assert p2["daily_pnl"] == 0.0  # although GE rose 100 → 103 since the previous session
    assert math.isnan(p2["daily_return"])
    assert p2["cumulative_pnl"] == 0.0
    assert p2["flags"] == []
    assert p2["total_value"] == pytest.approx(1_030.0) and p2["position_count"] == 1


def test_history_gap():
    p3 = _snapshots().loc["P3"]
    assert p3["daily_pnl"] == pytest.approx(1_000.0 * (103.0 / 100.0 - 1))  # 30
    assert math.isnan(p3["cumulative_pnl"])
    assert math.isnan(p3["daily_return"])
    assert p3["flags"] == ["history_gap"]


def test_value_missing_yesterday_contributes_nothing_and_flags():
    p4 = _snapshots().loc["P4"]
    assert p4["daily_pnl"] == pytest.approx(10.0)  # HON 1 000 × (101/100 − 1); F: nothing
    assert p4["daily_return"] == pytest.approx(10.0 / 1_000.0)
    assert p4["cumulative_pnl"] == pytest.approx(10.0)
    assert p4["flags"] == ["missing_price"]


def test_position_unvalued_today_is_out_of_totals_and_flags():
    p5 = _snapshots().loc["P5"]
    assert p5["position_count"] == 0 and p5["total_value"] == 0.0
    assert p5["gross_exposure"] == 0.0  # no exposures row: sums over (no) values
    assert p5["daily_pnl"] == 0.0
    assert p5["daily_return"] == pytest.approx(0.0)
    assert p5["cumulative_pnl"] == pytest.approx(-20.0)
    assert p5["flags"] == ["missing_price"]


def test_previous_gross_of_zero_gives_no_return():
    prev = PREV_SNAPSHOTS.assign(gross_exposure=[0.0, 1_000.0, 5_500.0])
    p1 = _snapshots(prev_snapshots=prev).loc["P1"]
    assert math.isnan(p1["daily_return"])
    assert p1["cumulative_pnl"] == pytest.approx(6_960.0)


def test_weekend_dated_entry_counts_on_the_next_session():
    positions = pd.DataFrame(
        [_pos("w", "PW", "AAPL", "LONG", 10.0, 205.0, entry=D(2025, 6, 28))],  # a Saturday
        columns=POSITION_COLUMNS,
    )
    values = pd.DataFrame([_val("w", "PW", "AAPL", 10, 210.0, "close")], columns=VALUE_COLUMNS)
    prev = pd.DataFrame({"portfolio_id": ["PW"], "gross_exposure": [500.0],
                         "cumulative_pnl": [0.0]})
    out = _snapshots(portfolio_ids=["PW"], positions=positions, values=values, exposures=None,
                     prev_values=None, prev_snapshots=prev, has_earlier_snapshot=["PW"])
    pw = out.loc["PW"]
    assert pw["daily_pnl"] == pytest.approx(10 * (210.0 - 205.0))
    assert pw["flags"] == []
    assert pw["gross_exposure"] == pytest.approx(2_100.0)  # from values, no exposures row


def test_adj_close_accepts_resolved_closes_frames():
    prev = PREV_ADJ.rename("adj_close").to_frame().rename_axis("symbol")
    today = TODAY_ADJ.rename("adj_close").to_frame().rename_axis("symbol")
    out = _snapshots(prev_adj_close=prev, today_adj_close=today)
    assert out.loc["P1", "daily_pnl"] == pytest.approx(1_960.0)
