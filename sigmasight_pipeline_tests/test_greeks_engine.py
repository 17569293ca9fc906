"""compute_position_greeks (SPEC §5.1/§5.2 waterfalls, flags, issues) and historical_volatility.

No database: the engine is a pure function of DataFrames.
"""

from __future__ import annotations

import datetime as dt
import warnings

import mibian
import numpy as np
import pandas as pd
import pytest

from sigmasight_pipeline.engines.black_scholes import bs_greeks, bs_price
from sigmasight_pipeline.engines.greeks import (
    GREEKS_COLUMNS,
    ISSUE_COLUMNS,
    GreeksResult,
    compute_position_greeks,
    historical_volatility,
)

AS_OF = dt.date(2025, 6, 30)
RATE = 0.043
SPOT = {"AAPL": 205.0, "SPY": 600.0, "VIX": 18.0, "MSFT": 370.0, "TSLA": 320.0, "NEW": 12.0}
HIST = {"AAPL": 0.25, "SPY": 0.15, "VIX": 0.9, "MSFT": 0.2, "TSLA": 0.6, "NEW": np.nan}


def occ(underlying: str, expiration: dt.date, option_type: str, strike: float) -> str:
    return f"{underlying}{expiration:%y%m%d}{option_type}{round(strike * 1000):08d}"


def make_options(rows: list[tuple]) -> pd.DataFrame:
    """rows: (position_id, underlying, expiration, option_type, strike, quantity)."""
    records = []
    for pid, und, exp, typ, strike, qty in rows:
        records.append(
            {
                "position_id": pid,
                "portfolio_id": "pf-1",
                "symbol": occ(und, exp, typ, strike),
                "underlying_symbol": und,
                "strike": float(strike),
                "expiration": exp,
                "option_type": typ,
                "quantity": float(qty),
                "multiplier": 100,
            }
        )
    return pd.DataFrame(records)


def make_prices(spot=SPOT, stale=()) -> pd.DataFrame:
    return pd.DataFrame(
        {"price": list(spot.values()), "stale": [s in stale for s in spot]},
        index=pd.Index(list(spot), name="symbol"),
    )


def make_quotes(rows: list[tuple]) -> pd.DataFrame:
    """rows: (symbol, bid, ask, last, implied_vol)."""
    return pd.DataFrame(rows, columns=["symbol", "bid", "ask", "last", "implied_vol"])


def run(options, quotes=None, spot=SPOT, stale=(), hist=HIST) -> GreeksResult:
    if quotes is None:
        quotes = make_quotes([])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return compute_position_greeks(
            options, make_prices(spot, stale), quotes, pd.Series(hist, dtype=float), RATE, AS_OF
        )


def row_of(result: GreeksResult, position_id: str) -> pd.Series:
    rows = result.greeks[result.greeks["position_id"] == position_id]
    assert len(rows) == 1, f"expected one greeks row for {position_id}"
    return rows.iloc[0]


AUG = dt.date(2025, 8, 15)
SEP = dt.date(2025, 9, 19)


# --- volatility waterfall ----------------------------------------------------------------


def test_quote_iv_used_first_and_matches_mibian():
    opts = make_options([("p1", "AAPL", AUG, "P", 200.0, -100)])
    sym = opts.symbol[0]
    res = run(opts, make_quotes([(sym, 4.0, 4.4, 4.1, 0.31)]))
    row = row_of(res, "p1")
    assert row.vol_source == "quote_iv" and row.implied_vol == 0.31
    assert row.price_source == "mid" and row.option_price == pytest.approx(4.2)
    assert row["flags"] == []
    assert res.issues.empty
    days = (AUG - AS_OF).days
    assert row.years_to_expiry == days / 365
    m = mibian.BS([205.0, 200.0, RATE * 100, days], volatility=31.0)
    for name, ref in [
        ("delta", m.putDelta),
        ("gamma", m.gamma),
        ("theta", m.putTheta),
        ("vega", m.vega),
        ("rho", m.putRho),
    ]:
        assert row[name] == pytest.approx(ref, rel=1e-6, abs=1e-10), name


def test_implied_from_mid_reprices_the_mid():
    opts = make_options([("p1", "TSLA", AUG, "C", 300.0, -60)])
    sym = opts.symbol[0]
    res = run(opts, make_quotes([(sym, 30.0, 31.0, np.nan, np.nan)]))
    row = row_of(res, "p1")
    assert row.vol_source == "implied_from_mid" and row.price_source == "mid"
    assert row.option_price == 30.5
    model = bs_price(320.0, 300.0, row.years_to_expiry, RATE, row.implied_vol, True)
    assert abs(float(model) - 30.5) <= 1e-8
    assert row["flags"] == [] and res.issues.empty


@pytest.mark.parametrize("bad_iv", [7.0, 0.005, 0.0, -0.2])
def test_absurd_quote_iv_is_not_used_silently(bad_iv):
    opts = make_options([("p1", "TSLA", AUG, "C", 300.0, 10)])
    sym = opts.symbol[0]
    res = run(opts, make_quotes([(sym, 30.0, 31.0, np.nan, bad_iv)]))
    row = row_of(res, "p1")
    assert row.vol_source == "implied_from_mid" and row.implied_vol != bad_iv
    issue = res.issues[res.issues.code == "absurd_vol"]
    assert len(issue) == 1 and issue.severity.iloc[0] == "warning"
    assert sym in issue.message.iloc[0] and f"{bad_iv:.6g}" in issue.message.iloc[0]
    assert issue.position_id.iloc[0] == "p1" and issue.portfolio_id.iloc[0] == "pf-1"


def test_quote_iv_at_the_sane_range_edges():
    opts = make_options([("p1", "AAPL", AUG, "C", 200.0, 1), ("p2", "MSFT", AUG, "C", 380.0, 1)])
    res = run(
        opts,
        make_quotes(
            [
                (opts.symbol[0], np.nan, np.nan, 8.0, 5.0),
                (opts.symbol[1], np.nan, np.nan, 3.0, 0.01),
            ]
        ),
    )
    assert row_of(res, "p1").vol_source == "quote_iv"  # 5.0 is inside (0.01, 5.0]
    assert row_of(res, "p2").vol_source == "historical_30d"  # 0.01 is not
    assert list(res.issues.code) == ["absurd_vol"]


def test_mid_outside_bounds_flags_iv_no_solution_then_historical():
    # QQQ-like deep ITM call quoted below intrinsic: mid 0.55 < S - K·e^(-rT)
    opts = make_options([("p1", "SPY", AUG, "C", 420.0, 150)])
    sym = opts.symbol[0]
    res = run(opts, make_quotes([(sym, 0.5, 0.6, np.nan, np.nan)]))
    row = row_of(res, "p1")
    assert row.vol_source == "historical_30d" and row.implied_vol == 0.15
    assert row["flags"] == ["iv_no_solution", "vol_historical"]
    assert row.price_source == "mid" and row.option_price == pytest.approx(0.55)
    issue = res.issues[res.issues.code == "iv_no_solution"]
    assert len(issue) == 1 and issue.severity.iloc[0] == "warning"
    assert "no-arbitrage" in issue.message.iloc[0] and sym in issue.message.iloc[0]


def test_historical_vol_and_model_price_without_quote():
    opts = make_options([("p1", "MSFT", SEP, "P", 380.0, -80)])
    res = run(opts)
    row = row_of(res, "p1")
    assert row.vol_source == "historical_30d" and row.implied_vol == 0.2
    assert row.price_source == "model"
    assert row["flags"] == ["model_price", "vol_historical"]
    expected = bs_price(370.0, 380.0, (SEP - AS_OF).days / 365, RATE, 0.2, False)
    assert row.option_price == pytest.approx(float(expected), rel=1e-12)
    assert res.issues.empty


def test_last_price_when_no_usable_mid():
    opts = make_options([("p1", "SPY", SEP, "C", 460.0, 200)])
    sym = opts.symbol[0]
    # bid 0 -> no mid; ask < bid would be none either
    res = run(opts, make_quotes([(sym, 0.0, 150.0, 141.0, 0.2)]))
    row = row_of(res, "p1")
    assert row.price_source == "last" and row.option_price == 141.0
    assert row.vol_source == "quote_iv" and row["flags"] == []


def test_crossed_quote_is_not_a_mid():
    opts = make_options([("p1", "AAPL", AUG, "C", 200.0, 1)])
    res = run(opts, make_quotes([(opts.symbol[0], 9.0, 8.0, np.nan, np.nan)]))
    row = row_of(res, "p1")
    assert row.price_source == "model" and row.vol_source == "historical_30d"
    assert "iv_no_solution" not in row["flags"]  # there was no mid to solve from


def test_no_volatility_at_all_gives_error_issue_and_no_row():
    opts = make_options([("p1", "NEW", AUG, "C", 12.0, 5), ("p2", "AAPL", AUG, "C", 200.0, 1)])
    res = run(opts)
    assert list(res.greeks.position_id) == ["p2"]
    issue = res.issues.iloc[0]
    assert (issue.code, issue.severity, issue.position_id) == (
        "insufficient_history",
        "error",
        "p1",
    )
    for part in (opts.symbol[0], "NEW", "2025-06-30", "not computed"):
        assert part in issue.message


def test_missing_underlying_price_gives_missing_price_and_no_row():
    opts = make_options([("p1", "GONE", AUG, "C", 10.0, 1), ("p2", "AAPL", AUG, "C", 200.0, 1)])
    res = run(opts)
    assert list(res.greeks.position_id) == ["p2"]
    assert list(res.issues.code) == ["missing_price"]
    assert res.issues.severity.iloc[0] == "error"
    assert "GONE" in res.issues.message.iloc[0] and opts.symbol[0] in res.issues.message.iloc[0]
    # a NaN price counts as missing too
    res_nan = run(opts, spot={**SPOT, "GONE": np.nan})
    assert list(res_nan.issues.code) == ["missing_price"]


# --- expiry, VIX, stale ------------------------------------------------------------------


def test_expiring_today_intrinsic_and_digital_delta():
    opts = make_options(
        [
            ("c_itm", "AAPL", AS_OF, "C", 200.0, 2),
            ("c_otm", "AAPL", AS_OF, "C", 210.0, 2),
            ("p_itm", "MSFT", AS_OF, "P", 380.0, -3),
            ("p_atm", "MSFT", AS_OF, "P", 370.0, -3),
            ("quoted", "NEW", AS_OF, "C", 10.0, 1),  # no hist vol: vol is not needed at expiry
        ]
    )
    res = run(opts, make_quotes([(opts.symbol[4], 1.9, 2.1, np.nan, np.nan)]))
    g = res.greeks.set_index("position_id")
    assert res.issues.empty
    assert list(g.price_source) == ["intrinsic"] * 4 + ["mid"]
    assert list(g.option_price) == [5.0, 0.0, 10.0, 0.0, 2.0]
    assert list(g.delta) == [1.0, 0.0, -1.0, 0.0, 1.0]
    for name in ("gamma", "theta", "vega", "rho"):
        assert (g[name] == 0.0).all()
    assert all(flags == ["expiring"] for flags in g["flags"])
    assert g.implied_vol.isna().all() and g.vol_source.isna().all()
    assert (g.years_to_expiry == 0.0).all()
    assert g.loc["p_itm", "position_delta"] == 300.0  # -1 × -3 × 100


def test_vix_and_stale_flags():
    opts = make_options(
        [("p1", "VIX", dt.date(2025, 7, 16), "C", 25.0, 300), ("p2", "AAPL", AUG, "C", 200.0, 1)]
    )
    res = run(opts, stale={"AAPL"})
    assert row_of(res, "p1")["flags"] == ["model_price", "vol_historical", "vix_spot_proxy"]
    assert row_of(res, "p2")["flags"] == ["stale_price", "model_price", "vol_historical"]


# --- scaling and shape -------------------------------------------------------------------


def test_position_scaling_and_dollar_greeks():
    opts = make_options(
        [("long", "AAPL", AUG, "C", 200.0, 10), ("short", "AAPL", AUG, "C", 200.0, -10)]
    )
    res = run(opts)
    long_row, short_row = row_of(res, "long"), row_of(res, "short")
    for name in ("delta", "gamma", "theta", "vega", "rho"):
        assert long_row[f"position_{name}"] == pytest.approx(long_row[name] * 10 * 100)
        assert short_row[f"position_{name}"] == pytest.approx(-long_row[f"position_{name}"])
    assert short_row.position_gamma < 0 < long_row.position_gamma
    assert short_row.position_vega < 0 and short_row.position_theta > 0
    s = 205.0
    assert long_row.dollar_delta == pytest.approx(long_row.position_delta * s)
    assert long_row.dollar_gamma_1pct == pytest.approx(
        0.5 * long_row.position_gamma * (0.01 * s) ** 2
    )


def test_output_columns_types_and_random_batch():
    rng = np.random.default_rng(3)
    n = 500
    unds = rng.choice(["AAPL", "SPY", "MSFT", "TSLA"], n)
    rows = [
        (f"p{i}", u, AS_OF + dt.timedelta(days=int(d)), t, round(SPOT[u] * m, 0), q)
        for i, (u, d, t, m, q) in enumerate(
            zip(
                unds,
                rng.integers(0, 800, n),
                rng.choice(["C", "P"], n),
                rng.uniform(0.6, 1.4, n),
                rng.choice([-5, -1, 1, 3], n),
                strict=True,
            )
        )
    ]
    opts = make_options(rows)
    opts.index = rng.permutation(n) + 1000  # the engine must not depend on the index
    quotes = make_quotes(
        [
            (s, np.nan, np.nan, np.nan, iv)
            for s, iv in zip(opts.symbol[::2], rng.uniform(0.1, 0.8, n)[::2], strict=True)
        ]
    )
    res = run(opts, quotes)
    g = res.greeks
    assert list(g.columns) == GREEKS_COLUMNS and list(res.issues.columns) == ISSUE_COLUMNS
    assert len(g) == n and res.issues.empty
    assert list(g.position_id) == list(opts.position_id)
    assert all(isinstance(f, list) for f in g["flags"])
    calls = opts.option_type.to_numpy() == "C"
    assert g.delta[calls].between(0, 1).all() and g.delta[~calls].between(-1, 0).all()
    assert (g.gamma >= 0).all() and (g.vega >= 0).all()
    assert (g.rate == RATE).all()
    # per-share Greeks are exactly the BS engine's for the chosen vol
    live = g.years_to_expiry.to_numpy() > 0
    ref = bs_greeks(
        g.underlying_price[live],
        opts.strike.to_numpy()[live],
        g.years_to_expiry[live],
        RATE,
        g.implied_vol[live],
        calls[live],
    )
    for name in ("delta", "gamma", "theta", "vega", "rho"):
        np.testing.assert_allclose(g[name][live], ref[name], rtol=1e-14)


def test_rows_agree_with_mibian():
    opts = make_options(
        [
            ("a", "AAPL", AUG, "C", 190.0, 1),
            ("b", "SPY", SEP, "P", 580.0, -2),
            ("c", "TSLA", dt.date(2026, 1, 16), "C", 400.0, 3),
            ("d", "MSFT", dt.date(2025, 7, 1), "P", 372.5, 1),
        ]
    )
    ivs = [0.27, 0.18, 0.65, 0.22]
    res = run(
        opts,
        make_quotes(
            [(s, np.nan, np.nan, np.nan, v) for s, v in zip(opts.symbol, ivs, strict=True)]
        ),
    )
    for (_, o), iv in zip(opts.iterrows(), ivs, strict=True):
        row = row_of(res, o.position_id)
        days = (o.expiration - AS_OF).days
        m = mibian.BS([SPOT[o.underlying_symbol], o.strike, RATE * 100, days], volatility=iv * 100)
        call = o.option_type == "C"
        ref = {
            "option_price": m.callPrice if call else m.putPrice,
            "delta": m.callDelta if call else m.putDelta,
            "gamma": m.gamma,
            "theta": m.callTheta if call else m.putTheta,
            "vega": m.vega,
            "rho": m.callRho if call else m.putRho,
        }
        for name, value in ref.items():
            assert row[name] == pytest.approx(value, rel=1e-6, abs=1e-10), (o.position_id, name)


def test_empty_input_gives_empty_frames():
    res = run(
        make_options([]).reindex(
            columns=[
                "position_id",
                "portfolio_id",
                "symbol",
                "underlying_symbol",
                "strike",
                "expiration",
                "option_type",
                "quantity",
                "multiplier",
            ]
        )
    )
    assert res.greeks.empty and list(res.greeks.columns) == GREEKS_COLUMNS
    assert res.issues.empty and list(res.issues.columns) == ISSUE_COLUMNS


def test_contract_violations_raise_with_the_symbol():
    expired = make_options([("p1", "AAPL", dt.date(2025, 6, 27), "C", 200.0, 1)])
    with pytest.raises(ValueError, match=expired.symbol[0]):
        run(expired)
    bad_type = make_options([("p1", "AAPL", AUG, "C", 200.0, 1)]).assign(option_type="X")
    with pytest.raises(ValueError, match="option_type"):
        run(bad_type)


# --- historical volatility ---------------------------------------------------------------


def _price_frame(n_days: int, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range(end="2025-07-03", periods=n_days)
    prices = 100 * np.exp(np.cumsum(rng.normal(0, 0.015, (n_days, 3)), axis=0))
    return pd.DataFrame(prices, index=dates, columns=["AAPL", "SPY", "NEW"])


def test_historical_volatility_matches_numpy_by_hand():
    frame = _price_frame(60)
    hv = historical_volatility(frame, AS_OF)
    upto = frame.loc[:"2025-06-30"]  # rows after as_of are ignored
    for sym in frame.columns:
        last31 = upto[sym].to_numpy()[-31:]
        rets = np.log(last31[1:] / last31[:-1])
        expected = np.sqrt(np.sum((rets - rets.mean()) ** 2) / 29) * np.sqrt(252)
        assert hv[sym] == pytest.approx(expected, rel=1e-12)
    assert list(hv.index) == list(frame.columns)


def test_historical_volatility_needs_31_prices():
    frame = _price_frame(60)
    upto = frame.loc[:"2025-06-30"]
    exactly_31 = upto.iloc[-31:]
    assert historical_volatility(exactly_31, AS_OF).notna().all()
    assert historical_volatility(upto.iloc[-30:], AS_OF).isna().all()
    # a symbol listed recently (only 20 prices) is NaN while the others are computed
    short_history = upto.copy()
    short_history.loc[short_history.index[:-20], "NEW"] = np.nan
    hv = historical_volatility(short_history, AS_OF)
    assert np.isnan(hv["NEW"]) and hv[["AAPL", "SPY"]].notna().all()


def test_historical_volatility_never_bridges_a_missing_close():
    """Issue 18, edge case 2: a missing close drops the two returns around it (the move over
    two sessions is not one daily return); older daily returns fill the 30."""
    frame = _price_frame(60).loc[:"2025-06-30"].copy()
    frame.loc[frame.index[-5], "SPY"] = np.nan  # a missing close for SPY only
    hv = historical_volatility(frame, AS_OF)
    spy = frame["SPY"].to_numpy()
    daily = np.log(spy[1:] / spy[:-1])  # NaN on both sides of the gap
    last30 = daily[np.isfinite(daily)][-30:]
    expected = np.std(last30, ddof=1) * np.sqrt(252)
    assert hv["SPY"] == pytest.approx(expected, rel=1e-12)
    # a session missing for every symbol is a gap too, given the trading calendar
    sessions = pd.DatetimeIndex(frame.index)
    without_row = frame.drop(index=frame.index[-5])
    on_calendar = historical_volatility(without_row, AS_OF, sessions=sessions)
    aapl = frame["AAPL"].to_numpy()
    daily = np.log(aapl[1:] / aapl[:-1])
    daily[[-5, -4]] = np.nan  # the returns into and out of the missing session
    expected = np.std(daily[np.isfinite(daily)][-30:], ddof=1) * np.sqrt(252)
    assert on_calendar["AAPL"] == pytest.approx(expected, rel=1e-12)


def test_historical_volatility_with_date_objects_index():
    frame = _price_frame(40)
    frame.index = [d.date() for d in frame.index]
    hv = historical_volatility(frame, AS_OF)
    ref = historical_volatility(_price_frame(40), AS_OF)
    pd.testing.assert_series_equal(hv, ref)


def test_a_mid_implying_600pct_keeps_its_vol_and_is_flagged_absurd_vol():
    """Issue 18, edge case 1: a 3-day VIX 25 call at spot 18 whose mid implies 600 %."""
    expiry = AS_OF + dt.timedelta(days=3)
    opts = make_options([("p1", "VIX", expiry, "C", 25.0, 10)])
    ref = mibian.BS([18.0, 25.0, RATE * 100, 3], volatility=600.0)
    mid = ref.callPrice
    res = run(opts, make_quotes([(opts.symbol[0], mid - 0.01, mid + 0.01, np.nan, np.nan)]))
    row = row_of(res, "p1")
    assert row.vol_source == "implied_from_mid"
    assert row.implied_vol == pytest.approx(6.0, rel=1e-6)
    assert row.delta == pytest.approx(ref.callDelta, rel=1e-5) and 0.3 < row.delta < 0.45
    assert "absurd_vol" in row["flags"] and "vol_historical" not in row["flags"]
    issue = res.issues[res.issues.code == "absurd_vol"]
    assert len(issue) == 1 and issue.severity.iloc[0] == "warning"
    assert opts.symbol[0] in issue.message.iloc[0]
