"""Position values, portfolio exposures and tag exposures against hand calculations."""

from __future__ import annotations

import datetime as dt
import uuid

import numpy as np
import pandas as pd
import pytest

from sigmasight_pipeline import calendar
from sigmasight_pipeline.engines.exposures import (
    PORTFOLIO_EXPOSURE_COLUMNS,
    TAG_EXPOSURE_COLUMNS,
    portfolio_exposures,
    tag_exposures,
)
from sigmasight_pipeline.engines.prices import resolve_closes
from sigmasight_pipeline.engines.valuation import VALUE_COLUMNS, value_positions

D = dt.date
AS_OF = D(2025, 6, 30)  # Monday
P1, P2 = "portfolio-1", "portfolio-2"

COLUMNS = [
    "position_id", "portfolio_id", "symbol", "position_type", "quantity", "multiplier",
    "entry_price", "entry_date", "exit_date", "exit_price", "underlying_symbol", "strike",
    "expiration", "option_type",
]


def _stock(pid, portfolio, symbol, qty, entry_price):
    ptype = "LONG" if qty > 0 else "SHORT"
    return (pid, portfolio, symbol, ptype, qty, 1, entry_price, D(2025, 1, 2), None, None,
            None, None, None, None)


def _option(pid, portfolio, symbol, ptype, qty, entry_price, underlying, strike, cp):
    return (pid, portfolio, symbol, ptype, qty, 100, entry_price, D(2025, 1, 2), None, None,
            underlying, strike, D(2025, 8, 15), cp)


POSITIONS = pd.DataFrame(
    [
        _stock("aapl", P1, "AAPL", 100.0, 150.0),
        _stock("tsla", P1, "TSLA", -50.0, 300.0),  # short stock
        _option("aapl_put", P1, "AAPL250815P00190000", "LP", 2.0, 5.0, "AAPL", 190.0, "P"),
        _option("aapl_call", P1, "AAPL250815C00210000", "SC", -3.0, 6.0, "AAPL", 210.0, "C"),
        _stock("msft", P1, "MSFT", 10.0, 380.0),  # close 5 sessions old: stale, kept
        _stock("nvda", P1, "NVDA", 20.0, 100.0),  # close 6 sessions old: missing
        _option("spy_call", P1, "SPY250815C00600000", "LC", 1.0, 10.0, "SPY", 600.0, "C"),
        _stock("ko", P2, "KO", 30.0, 60.0),  # no close at all
    ],
    columns=COLUMNS,
)

HISTORY = pd.DataFrame(
    [
        ("AAPL", D(2025, 6, 27), 198.0, 198.0),
        ("AAPL", AS_OF, 200.0, 200.0),
        ("TSLA", AS_OF, 250.0, 250.0),
        ("MSFT", D(2025, 6, 23), 400.0, 399.0),
        ("NVDA", D(2025, 6, 20), 140.0, 140.0),
        ("SPY", AS_OF, 600.0, 600.0),
    ],
    columns=["symbol", "date", "close", "adj_close"],
)

GREEKS = pd.DataFrame(
    {
        "position_id": ["aapl_put", "aapl_call"],
        "portfolio_id": [P1, P1],
        "symbol": ["AAPL250815P00190000", "AAPL250815C00210000"],
        "underlying_price": [200.0, 200.0],
        "option_price": [4.0, 7.5],
        "price_source": ["mid", "model"],
        "delta": [-0.40, 0.55],
        "flags": [[], ["model_price"]],
    }
)

# Hand calculations (q × m × ...):
#   AAPL  100 × 1 × 200           MV  20 000, exposure  20 000, notional 20 000, cost 15 000
#   TSLA  −50 × 1 × 250           MV −12 500, exposure −12 500, notional 12 500, cost −15 000
#   put     2 × 100 × 4.00        MV     800, exposure 2·100·(−0.40)·200 = −16 000,
#                                 notional 2·100·200 = 40 000, cost 2·100·5 = 1 000
#   call   −3 × 100 × 7.50        MV  −2 250, exposure −3·100·0.55·200 = −33 000,
#                                 notional 3·100·200 = 60 000, cost −3·100·6 = −1 800
#   MSFT   10 × 1 × 400 (stale)   MV   4 000, exposure 4 000, notional 4 000, cost 3 800
EXPECTED = {
    # position: price, source, price_date, underlying, MV, exposure, notional, cost, flags
    "aapl": (200.0, "close", AS_OF, 200.0, 20_000.0, 20_000.0, 20_000.0, 15_000.0, []),
    "tsla": (250.0, "close", AS_OF, 250.0, -12_500.0, -12_500.0, 12_500.0, -15_000.0, []),
    "aapl_put": (4.0, "mid", AS_OF, 200.0, 800.0, -16_000.0, 40_000.0, 1_000.0, []),
    "aapl_call": (7.5, "model", AS_OF, 200.0, -2_250.0, -33_000.0, 60_000.0, -1_800.0,
                  ["model_price"]),
    "msft": (400.0, "close", D(2025, 6, 23), 400.0, 4_000.0, 4_000.0, 4_000.0, 3_800.0,
             ["stale_price"]),
}


@pytest.fixture(scope="module")
def valued():
    closes = resolve_closes(HISTORY, sorted(set(POSITIONS["symbol"]) | {"AAPL", "SPY"}), AS_OF,
                            calendar.all_sessions())
    return value_positions(POSITIONS, closes, GREEKS, AS_OF)


def test_values_match_hand_calculation(valued):
    values, _ = valued
    assert list(values.columns) == VALUE_COLUMNS
    assert values["position_id"].tolist() == ["aapl", "tsla", "aapl_put", "aapl_call", "msft"]
    for pid, (price, source, pdate, under, mv, exp, notional, cost, flags) in EXPECTED.items():
        row = values.set_index("position_id").loc[pid]
        assert row["price"] == pytest.approx(price)
        assert row["price_source"] == source
        assert row["price_date"] == pdate
        assert row["underlying_price"] == pytest.approx(under)
        assert row["market_value"] == pytest.approx(mv)
        assert row["exposure"] == pytest.approx(exp)
        assert row["notional"] == pytest.approx(notional)
        assert row["cost_basis"] == pytest.approx(cost)
        assert row["unrealized_pnl"] == pytest.approx(mv - cost)
        assert list(row["flags"]) == flags
        assert row["portfolio_id"] == P1


def test_short_stock_long_put_and_short_call_signs(valued):
    values = valued[0].set_index("position_id")
    assert values.loc["tsla", "market_value"] < 0 and values.loc["tsla", "exposure"] < 0
    assert values.loc["aapl_put", "market_value"] > 0 and values.loc["aapl_put", "exposure"] < 0
    assert values.loc["aapl_call", "market_value"] < 0
    assert values.loc["aapl_call", "exposure"] < 0
    assert (values["notional"] > 0).all()


def test_missing_prices_are_left_out_with_an_error_issue(valued):
    values, issues = valued
    assert not {"nvda", "spy_call", "ko"} & set(values["position_id"])
    errors = issues[issues["code"] == "missing_price"].set_index("position_id")
    assert sorted(errors.index) == ["ko", "nvda", "spy_call"]
    assert (errors["severity"] == "error").all()
    nvda = errors.loc["nvda"]
    assert nvda["symbol"] == "NVDA" and nvda["portfolio_id"] == P1
    for word in ("NVDA", "2025-06-30", P1, "left out of every aggregate"):
        assert word in nvda["message"]
    assert "SPY250815C00600000" in errors.loc["spy_call", "message"]
    assert "KO" in errors.loc["ko", "message"] and P2 in errors.loc["ko", "message"]
    stale = issues[issues["code"] == "stale_price"]
    assert stale["position_id"].tolist() == ["msft"]
    assert stale["severity"].tolist() == ["warning"]
    assert "2025-06-23" in stale["message"].iloc[0]


def test_option_on_stale_underlying_takes_its_date_and_flag():
    closes = resolve_closes(
        pd.DataFrame([("AAPL", D(2025, 6, 27), 200.0, 200.0)],
                     columns=["symbol", "date", "close", "adj_close"]),
        ["AAPL"], AS_OF, calendar.all_sessions(),
    )
    values, issues = value_positions(POSITIONS.iloc[[2]], closes, GREEKS, AS_OF)
    row = values.iloc[0]
    assert row["price_date"] == D(2025, 6, 27)
    assert row["flags"] == ["stale_price"]
    assert issues.empty


def test_portfolio_exposures_match_hand_calculation(valued):
    values, _ = valued
    out = portfolio_exposures(values, POSITIONS, portfolio_ids=[P1, P2])
    assert list(out.columns) == PORTFOLIO_EXPOSURE_COLUMNS
    p1 = out.set_index("portfolio_id").loc[P1]
    # exposures: 20 000, −12 500, −16 000, −33 000, 4 000 (NVDA and the SPY call excluded)
    assert p1["long_exposure"] == pytest.approx(24_000.0)
    assert p1["short_exposure"] == pytest.approx(-61_500.0)
    assert p1["gross_exposure"] == pytest.approx(85_500.0)
    assert p1["gross_exposure"] == pytest.approx(p1["long_exposure"] - p1["short_exposure"])
    assert p1["net_exposure"] == pytest.approx(-37_500.0)
    # market values: 20 000, −12 500, 800, −2 250, 4 000
    assert p1["long_market_value"] == pytest.approx(24_800.0)
    assert p1["short_market_value"] == pytest.approx(-14_750.0)
    assert p1["net_market_value"] == pytest.approx(10_050.0)
    # long: AAPL, MSFT; short: TSLA, the long put, the short call
    assert (p1["long_count"], p1["short_count"], p1["option_count"]) == (2, 3, 2)
    # P2's only position has no price: a zero row because it was asked for
    p2 = out.set_index("portfolio_id").loc[P2]
    assert p2[["long_exposure", "short_exposure", "gross_exposure", "net_exposure"]].tolist() == [
        0.0, 0.0, 0.0, 0.0
    ]
    assert (p2["long_count"], p2["short_count"], p2["option_count"]) == (0, 0, 0)
    # without portfolio_ids only portfolios with valued positions appear
    assert portfolio_exposures(values, POSITIONS)["portfolio_id"].tolist() == [P1]


def test_tag_exposures_multi_tag_and_untagged(valued):
    values, _ = valued
    tags = pd.DataFrame(
        [
            ("aapl", "Core"),
            ("aapl", "Tech"),
            ("aapl", "Tech"),  # duplicate: counted once
            ("aapl_put", "Hedge"),
            ("aapl_call", "Hedge"),
            ("aapl_call", "Tech"),
            ("nvda", "Tech"),  # not valued: not counted
        ],
        columns=["position_id", "tag"],
    )
    out = tag_exposures(values, tags)
    assert list(out.columns) == TAG_EXPOSURE_COLUMNS
    got = {
        row.tag: (row.gross_exposure, row.net_exposure, row.position_count)
        for row in out.itertuples()
    }
    assert set(out["portfolio_id"]) == {P1}
    assert got.keys() == {"Core", "Hedge", "Tech", "(untagged)"}
    assert got["Core"] == pytest.approx((20_000.0, 20_000.0, 1))
    assert got["Hedge"] == pytest.approx((49_000.0, -49_000.0, 2))  # −16 000, −33 000
    assert got["Tech"] == pytest.approx((53_000.0, -13_000.0, 2))  # 20 000, −33 000
    assert got["(untagged)"] == pytest.approx((16_500.0, -8_500.0, 2))  # TSLA, MSFT


def test_tag_exposures_without_tags():
    values = pd.DataFrame(
        {"position_id": ["a", "b"], "portfolio_id": ["p", "p"], "exposure": [100.0, -40.0]}
    )
    out = tag_exposures(values, None)
    assert out.to_dict("records") == [
        {"portfolio_id": "p", "tag": "(untagged)", "gross_exposure": 140.0,
         "net_exposure": 60.0, "position_count": 2}
    ]


def test_uuid_ids_join_with_string_greeks_ids():
    pid, pf = uuid.uuid4(), uuid.uuid4()
    positions = pd.DataFrame(
        [(pid, pf, "AAPL250815P00190000", "LP", 1.0, 100, 5.0, D(2025, 1, 2), None, None,
          "AAPL", 190.0, D(2025, 8, 15), "P")],
        columns=COLUMNS,
    )
    greeks = GREEKS.iloc[[0]].assign(position_id=str(pid), portfolio_id=str(pf))
    closes = resolve_closes(HISTORY, ["AAPL"], AS_OF, calendar.all_sessions())
    values, issues = value_positions(positions, closes, greeks, AS_OF)
    assert issues.empty
    assert values["position_id"].iloc[0] == pid  # the caller's object comes back
    assert values["exposure"].iloc[0] == pytest.approx(1 * 100 * -0.40 * 200.0)
    out = portfolio_exposures(values, positions, portfolio_ids=[str(pf)])
    assert len(out) == 1 and out["option_count"].iloc[0] == 1


def test_empty_inputs():
    values, issues = value_positions(POSITIONS.iloc[0:0], None, None, AS_OF)
    assert values.empty and list(values.columns) == VALUE_COLUMNS and issues.empty
    out = portfolio_exposures(values, POSITIONS.iloc[0:0], portfolio_ids=[P1])
    assert out["gross_exposure"].tolist() == [0.0]
    assert tag_exposures(values, None).empty
    assert np.isclose(out["net_market_value"].iloc[0], 0.0)
