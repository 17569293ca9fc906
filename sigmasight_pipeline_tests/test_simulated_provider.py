"""The simulated market: deterministic, on NYSE sessions, with realistic magnitudes."""

from __future__ import annotations

import datetime as dt
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sigmasight_pipeline import calendar
from sigmasight_pipeline.engines.black_scholes import bs_price, continuous_rate_from_bey
from sigmasight_pipeline.providers.base import (
    OPTION_QUOTE_COLUMNS,
    PRICE_COLUMNS,
    SECURITY_COLUMNS,
    TREASURY_SERIES,
    YIELD_COLUMNS,
    MarketDataProvider,
)
from sigmasight_pipeline.providers.sectors import GICS_SECTORS
from sigmasight_pipeline.providers.simulated import PROFILES, REFERENCE, SimulatedProvider

DEMO_CSV = Path(__file__).resolve().parents[1] / "sigmasight_pipeline" / "data" / (
    "demo_positions.csv"
)
FACTOR_ETFS = ["VTV", "VUG", "MTUM", "QUAL", "IWM", "USMV", "QQQ"]
TWO_YEARS = (dt.date(2023, 7, 1), dt.date(2025, 6, 30))


@pytest.fixture(scope="module")
def demo() -> pd.DataFrame:
    return pd.read_csv(DEMO_CSV, dtype={"strike": float})


@pytest.fixture(scope="module")
def provider() -> SimulatedProvider:
    return SimulatedProvider(seed=7)


@pytest.fixture(scope="module")
def demo_symbols(demo) -> list[str]:
    return sorted(set(demo.loc[demo["underlying"].isna(), "symbol"]) | {"VIX"})


@pytest.fixture(scope="module")
def two_year_returns(provider, demo_symbols) -> pd.DataFrame:
    """Daily log returns of adj_close, dates × symbols, over TWO_YEARS."""
    symbols = sorted(set(demo_symbols) | set(FACTOR_ETFS) | {"SPY"})
    bars = provider.prices(symbols, *TWO_YEARS)
    adj = bars.pivot(index="date", columns="symbol", values="adj_close")
    return np.log(adj).diff().iloc[1:]


# --- shape and types -------------------------------------------------------------------


def test_implements_the_protocol_with_typed_columns(provider):
    assert isinstance(provider, MarketDataProvider)
    assert provider.source == "simulated"
    bars = provider.prices(["AAPL", "SPY"], dt.date(2024, 6, 3), dt.date(2024, 6, 7))
    assert list(bars.columns) == PRICE_COLUMNS
    assert len(bars) == 10
    assert all(type(d) is dt.date for d in bars["date"])
    for c in ["open", "high", "low", "close", "adj_close"]:
        assert bars[c].dtype == np.float64
    assert bars["volume"].dtype == np.int64
    assert set(bars["source"]) == {"simulated"}
    yields = provider.treasury_yields(TREASURY_SERIES, dt.date(2024, 6, 3), dt.date(2024, 6, 3))
    assert list(yields.columns) == YIELD_COLUMNS
    assert yields["value"].dtype == np.float64
    assert set(yields["source"]) == {"simulated"}


def test_ohlcv_is_consistent(provider, demo_symbols):
    bars = provider.prices(demo_symbols, dt.date(2015, 1, 1), dt.date(2026, 12, 31))
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    assert (bars["low"] > 0).all()
    assert (bars["volume"] > 0).all()
    # a mutual fund publishes one NAV a day
    nav = bars[bars["symbol"] == "FXNAX"]
    assert (nav["open"] == nav["close"]).all() and (nav["high"] == nav["low"]).all()


# --- determinism ----------------------------------------------------------------------


def test_same_seed_same_frames_other_seed_other_numbers():
    symbols = ["AAPL", "SPY", "VIX", "NEWCO"]
    span = (dt.date(2024, 1, 2), dt.date(2024, 3, 29))
    a = SimulatedProvider(seed=7).prices(symbols, *span)
    b = SimulatedProvider(seed=7).prices(symbols, *span)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(
        SimulatedProvider(seed=7).treasury_yields(TREASURY_SERIES, *span),
        SimulatedProvider(seed=7).treasury_yields(TREASURY_SERIES, *span),
    )
    c = SimulatedProvider(seed=8).prices(symbols, *span)
    assert not np.allclose(a["close"], c["close"])


def test_a_day_alone_equals_the_same_day_inside_a_long_range():
    day = dt.date(2024, 6, 3)
    symbols = ["AAPL", "JNJ", "BND", "VIX", "XYZ9"]
    alone = SimulatedProvider(seed=7).prices(symbols, day, day)
    long = SimulatedProvider(seed=7).prices(symbols, dt.date(2015, 1, 1), dt.date(2026, 12, 31))
    inside = long[long["date"] == day].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone, inside)
    # the end of the request does not change earlier days (backfills agree with daily runs)
    to_day = SimulatedProvider(seed=7).prices(symbols, day, day)
    to_next = SimulatedProvider(seed=7).prices(symbols, day, dt.date(2024, 6, 4))
    pd.testing.assert_frame_equal(to_day, to_next[to_next["date"] == day].reset_index(drop=True))
    y_alone = SimulatedProvider(seed=7).treasury_yields(["DGS10"], day, day)
    y_long = SimulatedProvider(seed=7).treasury_yields(["DGS10"], dt.date(2020, 1, 1),
                                                       dt.date(2026, 1, 1))
    assert y_alone["value"].item() == y_long.loc[y_long["date"] == day, "value"].item()


def test_only_nyse_sessions(provider):
    start, end = dt.date(2024, 6, 28), dt.date(2024, 7, 9)
    bars = provider.prices(["SPY"], start, end)
    assert list(bars["date"]) == calendar.trading_days(start, end)
    assert dt.date(2024, 7, 4) not in set(bars["date"])
    assert dt.date(2024, 7, 6) not in set(bars["date"])  # a Saturday
    yields = provider.treasury_yields(["DGS3MO"], start, end)
    assert list(yields["date"]) == calendar.trading_days(start, end)
    assert provider.prices(["SPY"], dt.date(2024, 7, 4), dt.date(2024, 7, 4)).empty


# --- levels and magnitudes ----------------------------------------------------------------


def test_close_in_mid_january_2024_is_the_demo_entry_price(provider, demo):
    stocks = demo[demo["underlying"].isna()].drop_duplicates("symbol")
    bars = provider.prices(stocks["symbol"], dt.date(2024, 1, 16), dt.date(2024, 1, 16))
    close = bars.set_index("symbol")["close"]
    for symbol, entry in zip(stocks["symbol"], stocks["entry_price"], strict=True):
        expected = PROFILES[symbol].level  # the table holds the demo's entry prices
        assert close[symbol] == pytest.approx(expected, rel=0.005), symbol
        if symbol != "META":  # the hedge-fund book entered META at a different price
            assert expected == pytest.approx(entry)


def test_stock_daily_vols_are_one_to_three_percent(two_year_returns):
    stocks = [s for s in two_year_returns.columns if REFERENCE.get(s, ("", ""))[1] == "equity"]
    assert len(stocks) >= 24
    vols = two_year_returns[stocks].std()
    assert vols.between(0.01, 0.03).all(), vols.sort_values().to_dict()
    spy_vol = two_year_returns["SPY"].std()
    assert 0.007 < spy_vol < 0.013


def test_factor_etfs_track_the_market(two_year_returns):
    corr = two_year_returns.corr()["SPY"]
    assert corr[FACTOR_ETFS].between(0.8, 0.97).all(), corr[FACTOR_ETFS].to_dict()
    assert corr["VTV"] == pytest.approx(0.95, abs=0.03)
    assert corr["VUG"] == pytest.approx(0.95, abs=0.03)
    # SPY ≈ ½ VTV + ½ VUG: the factor spreads of SPEC §5.3 stay far from collinear
    blend = 0.5 * (two_year_returns["VTV"] + two_year_returns["VUG"])
    assert np.corrcoef(blend, two_year_returns["SPY"])[0, 1] > 0.99
    value = two_year_returns["VTV"] - two_year_returns["VUG"]
    assert abs(np.corrcoef(value, two_year_returns["SPY"])[0, 1]) < 0.3
    # bonds and gold barely move with stocks
    assert abs(corr["BND"]) < 0.4 and abs(corr["GLD"]) < 0.4


def test_treasury_yields_are_plausible(provider):
    yields = provider.treasury_yields(["DGS3MO", "DGS2", "DGS10", "DGS30", "DGS7"], *TWO_YEARS)
    assert set(yields["series_id"]) == set(TREASURY_SERIES)  # DGS7 is not simulated
    wide = yields.pivot(index="date", columns="series_id", values="value")
    assert len(wide) == len(calendar.trading_days(*TWO_YEARS))
    assert wide.min().min() >= 3.0 and wide.max().max() <= 6.0
    assert (wide.round(2) == wide).all().all()  # 2 decimals, like FRED
    changes = wide.diff().iloc[1:]
    assert changes.std().between(0.01, 0.08).all()  # a few basis points a day
    assert changes.corr().loc["DGS2", "DGS10"] > 0.7
    assert changes.corr().loc["DGS10", "DGS30"] > 0.7


def test_vix_in_the_teens_and_up_when_the_market_falls(provider, two_year_returns):
    vix = provider.prices(["VIX"], *TWO_YEARS).set_index("date")["close"]
    assert vix.between(10.0, 30.0).mean() > 0.9
    assert 12.0 < vix.median() < 22.0
    assert two_year_returns["VIX"].corr(two_year_returns["SPY"]) < -0.5


def test_bond_fund_falls_when_yields_rise(provider):
    yields = provider.treasury_yields(["DGS10"], *TWO_YEARS).set_index("date")["value"]
    bnd = provider.prices(["BND"], *TWO_YEARS).set_index("date")["adj_close"]
    ret, dy = bnd.pct_change().iloc[1:], yields.diff().iloc[1:]
    beta = np.polyfit(dy.to_numpy(), ret.to_numpy(), 1)[0]
    assert -0.09 < beta < -0.03  # about −6 % per +1 pp of DGS10 (duration ~6)


def test_unknown_ticker_gets_a_deterministic_plausible_path():
    one = SimulatedProvider().prices(["ACME"], dt.date(2024, 1, 16), dt.date(2024, 1, 16))
    two = SimulatedProvider().prices(["ACME"], dt.date(2024, 1, 16), dt.date(2024, 1, 16))
    pd.testing.assert_frame_equal(one, two)
    assert 20.0 <= one["close"].item() <= 500.0


def test_generation_is_fast():
    calendar.all_sessions()  # the calendar is loaded once per process, not per provider
    symbols = list(PROFILES) + ["VIX"] + [f"SYM{i}" for i in range(70 - len(PROFILES) - 1)]
    assert len(symbols) == 70
    started = time.perf_counter()
    bars = SimulatedProvider(seed=11).prices(symbols, dt.date(2015, 1, 1), dt.date(2026, 12, 31))
    elapsed = time.perf_counter() - started
    assert len(bars) == 70 * len(calendar.trading_days(dt.date(2015, 1, 1),
                                                       dt.date(2026, 12, 31)))
    assert elapsed < 1.0


# --- dividends ----------------------------------------------------------------------------


def test_ex_dividend_drops_close_but_not_adj_close(provider):
    span = (dt.date(2023, 1, 1), dt.date(2024, 12, 31))
    payers = ["JNJ", "JPM", "PG", "XOM", "SPY", "BND"]
    divs = provider.dividends(payers, *span)
    assert set(divs["symbol"]) == set(payers)
    assert (divs.groupby("symbol").size()[["JNJ", "JPM", "PG", "XOM", "SPY"]] == 8).all()
    assert (divs["amount"] > 0).all()
    bars = provider.prices(payers, *span)
    for symbol, rows in bars.groupby("symbol"):
        rows = rows.set_index("date")
        close_ret = rows["close"].pct_change()
        adj_ret = rows["adj_close"].pct_change()
        prev_close = rows["close"].shift()
        ex = divs[divs["symbol"] == symbol].set_index("date")["amount"]
        dividend = pd.Series(0.0, index=rows.index)
        dividend[ex.index] = ex
        # adj_close return = close return + dividend / previous close, on every day
        expected = close_ret + dividend / prev_close
        np.testing.assert_allclose(adj_ret.iloc[1:], expected.iloc[1:], rtol=0, atol=1e-12)
        # yields in a plausible range (annual dividends / price)
        assert 0.001 < ex.sum() / 2 / rows["close"].mean() < 0.06, symbol
    # the drop is visible: on ex-dates close return falls short of the total return
    jnj = bars[bars["symbol"] == "JNJ"].set_index("date")
    gap = (jnj["adj_close"].pct_change() - jnj["close"].pct_change())[divs.loc[
        divs["symbol"] == "JNJ", "date"]]
    assert (gap > 0.004).all()


def test_adj_close_is_anchored_forward_and_stable(provider):
    base = calendar.all_sessions()[0].date()
    first = provider.prices(["JNJ", "BND"], base, base)
    assert (first["adj_close"] == first["close"]).all()
    day = dt.date(2020, 3, 16)
    short = SimulatedProvider(seed=7).prices(["JNJ"], day, day)["adj_close"].item()
    long = SimulatedProvider(seed=7).prices(["JNJ"], dt.date(2019, 1, 1), dt.date(2026, 12, 31))
    assert long.loc[long["date"] == day, "adj_close"].item() == short


# --- options ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_contracts(demo) -> pd.DataFrame:
    opts = demo[demo["underlying"].notna()]
    return opts[["symbol", "underlying", "strike", "expiration", "option_type"]].reset_index(
        drop=True
    )


def _reprice(provider, quotes, contracts, day):
    merged = quotes.merge(contracts, on=["symbol", "underlying"])
    spot = provider.prices(merged["underlying"].unique(), day, day).set_index("symbol")["close"]
    rate = continuous_rate_from_bey(
        provider.treasury_yields(["DGS3MO"], day, day)["value"].item()
    )
    years = np.array([(pd.Timestamp(e).date() - day).days / 365.0 for e in merged["expiration"]])
    model = bs_price(spot[merged["underlying"]].to_numpy(), merged["strike"].to_numpy(float),
                     years, rate, merged["implied_vol"].to_numpy(),
                     (merged["option_type"] == "C").to_numpy())
    return merged, model


def test_option_quotes_are_sane_and_reprice(provider, demo_contracts):
    day = dt.date(2025, 6, 30)
    quotes = provider.option_quotes(demo_contracts, day)
    assert list(quotes.columns) == OPTION_QUOTE_COLUMNS
    assert len(quotes) == len(demo_contracts)
    assert all(type(d) is dt.date and d == day for d in quotes["date"])
    assert quotes["open_interest"].dtype == np.int64 and (quotes["open_interest"] >= 0).all()
    assert (quotes["bid"] > 0).all() and (quotes["ask"] >= quotes["bid"]).all()
    assert quotes["last"].between(quotes["bid"], quotes["ask"]).all()
    assert quotes["implied_vol"].between(0.05, 3.0).all()
    assert set(quotes["source"]) == {"simulated"}
    merged, model = _reprice(provider, quotes, demo_contracts, day)
    mid = 0.5 * (merged["bid"] + merged["ask"])
    np.testing.assert_allclose(mid, model, rtol=1e-6, atol=1e-9)
    spread = merged["ask"] - merged["bid"]
    pricey = mid > 1.0
    assert (spread[pricey] >= 0.01).all()
    assert (spread[pricey] / mid[pricey]).between(0.005, 0.06).all()
    # VIX options are priced on the simulated spot VIX
    vix_iv = quotes.set_index("symbol").loc["VIX250716C00025000", "implied_vol"]
    assert 0.3 < vix_iv < 3.0
    # deterministic per (seed, contract, day)
    pd.testing.assert_frame_equal(quotes, SimulatedProvider(seed=7).option_quotes(
        demo_contracts, day))


def test_option_smile(provider):
    day = dt.date(2025, 6, 30)
    spot = provider.prices(["SPY"], day, day)["close"].item()
    strikes = np.round(spot * np.array([0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3]))
    contracts = pd.DataFrame({
        "symbol": [f"SPY251219P{int(k * 1000):08d}" for k in strikes],
        "underlying": "SPY",
        "strike": strikes,
        "expiration": dt.date(2025, 12, 19),
        "option_type": "P",
    })
    iv = provider.option_quotes(contracts, day).set_index("symbol").loc[
        contracts["symbol"], "implied_vol"].to_numpy()
    atm = iv[3]
    assert 0.08 < atm < 0.4
    assert iv[0] > iv[1] > iv[2] > atm  # downside skew
    assert (iv[1] + iv[5]) / 2 > atm  # curvature
    merged, model = _reprice(provider, provider.option_quotes(contracts, day), contracts, day)
    np.testing.assert_allclose(0.5 * (merged["bid"] + merged["ask"]), model, rtol=1e-6)


def test_expired_unknown_and_holiday_contracts_are_absent(demo_contracts):
    provider = SimulatedProvider(seed=7, unknown_symbols={"TSLA", "QQQ250815C00420000"})
    day = dt.date(2025, 8, 20)  # after the August expiries
    quotes = provider.option_quotes(demo_contracts, day)
    alive = demo_contracts[pd.to_datetime(demo_contracts["expiration"]).dt.date >= day]
    expected = set(alive["symbol"]) - {"QQQ250815C00420000"}
    expected -= set(alive.loc[alive["underlying"] == "TSLA", "symbol"])
    assert set(quotes["symbol"]) == expected
    assert provider.option_quotes(demo_contracts, dt.date(2025, 7, 4)).empty


# --- unknown symbols and reference data -------------------------------------------------------


def test_unknown_symbols_are_absent():
    provider = SimulatedProvider(unknown_symbols=["ZOOM", "DELISTED"])
    bars = provider.prices(["AAPL", "ZOOM", "DELISTED", "not a ticker", "WAYTOOLONGNAME"],
                           dt.date(2024, 6, 3), dt.date(2024, 6, 4))
    assert set(bars["symbol"]) == {"AAPL"}
    refs = provider.securities(["AAPL", "ZOOM", "DELISTED"])
    assert set(refs["symbol"]) == {"AAPL"}
    assert provider.prices(["ZOOM"], dt.date(2024, 6, 3), dt.date(2024, 6, 4)).empty


def test_securities_reference_table(provider):
    refs = provider.securities(
        ["AAPL", "SPY", "FXNAX", "VIX", "NEWCO", "AAPL250815P00200000"]
    ).set_index("symbol")
    assert list(refs.reset_index().columns) == SECURITY_COLUMNS
    assert refs.loc["AAPL", "asset_class"] == "equity"
    assert refs.loc["AAPL", "sector"] == "Information Technology"  # GICS
    assert refs.loc["SPY", "asset_class"] == "etf"
    assert refs.loc["FXNAX", "asset_class"] == "mutual_fund"
    assert refs.loc["VIX", "asset_class"] == "index"
    assert refs.loc["AAPL250815P00200000", "asset_class"] == "option"
    assert refs.loc["NEWCO", "name"] == "NEWCO"
    assert refs.loc["NEWCO", "asset_class"] == "equity"
    # an invented ticker gets a hashed GICS sector: CRC-32("NEWCO") mod 11, stable
    assert refs.loc["NEWCO", "sector"] == GICS_SECTORS[zlib.crc32(b"NEWCO") % 11]
    assert provider.securities(["NEWCO"])["sector"].iloc[0] == refs.loc["NEWCO", "sector"]
    assert refs.loc["SPY", "sector"] is None and refs.loc["FXNAX", "sector"] is None
    assert set(refs["source"]) == {"simulated"}
    for symbol in ["SPY", "VTV", "VUG", "MTUM", "QUAL", "IWM", "USMV", "QQQ", "VIX"]:
        assert symbol in REFERENCE
