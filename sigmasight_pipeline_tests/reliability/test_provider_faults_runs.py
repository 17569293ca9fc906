"""Provider faults through real runs: files written by the test, the real warehouse.

A symbol that disappears mid-window must end stale-flagged (≤ 5 sessions) or missing
with a data-quality row (beyond), never valued at 0 nor carried forward silently; a
malformed file fails the run at once naming file, line and column, writing nothing.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from sqlalchemy import text

from sigmasight_pipeline.calendar import sessions_back
from sigmasight_pipeline.positions_file import read_positions_csv
from sigmasight_pipeline.providers.simulated import SimulatedProvider
from sigmasight_pipeline.settings import get_settings
from sigmasight_pipeline.universe import HISTORY_SESSIONS, price_symbols
from sigmasight_pipeline.warehouse.positions_store import load_positions, read_positions

from .conftest import diff_states, warehouse_state

D = dt.date(2025, 6, 30)
BOOK = """portfolio,owner,symbol,quantity,entry_price,entry_date,underlying,strike,expiration,\
option_type,tags
Faults,f@x.com,AAPL,100,150,2024-01-02,,,,,Core
Faults,f@x.com,MSFT,-50,300,2024-01-02,,,,,Core
Faults,f@x.com,NVDA,10,100,2024-01-02,,,,,Growth
Faults,f@x.com,AMD,20,120,2024-01-02,,,,,Growth
"""
WINDOW = sessions_back(D, HISTORY_SESSIONS + 3)


@pytest.fixture
def files_market(engine, cli_env, monkeypatch):
    """The book loaded and a files-provider directory of simulated data for its window."""
    book_csv = cli_env / "book.csv"
    book_csv.write_text(BOOK)
    with engine.begin() as conn:
        load_positions(conn, read_positions_csv(book_csv))
        book = read_positions(conn)
    sim = SimulatedProvider(seed=11)
    prices = sim.prices(price_symbols(book), WINDOW[0], WINDOW[-1]).drop(columns="source")
    yields = sim.treasury_yields(["DGS3MO", "DGS2", "DGS10", "DGS30"], WINDOW[0], WINDOW[-1])
    directory = cli_env / "market"
    directory.mkdir()
    yields.drop(columns="source").to_csv(directory / "treasury_yields.csv", index=False)
    monkeypatch.setenv("SIGMASIGHT_MARKET_DATA", "files")
    monkeypatch.setenv("SIGMASIGHT_MARKET_DATA_DIR", str(directory))
    get_settings.cache_clear()

    def write(frame: pd.DataFrame) -> None:
        frame.to_csv(directory / "prices.csv", index=False)

    write(prices)
    return prices, write


def _values(engine, day) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text(
            "SELECT pos.symbol, v.price, v.market_value, v.exposure, v.flags "
            "FROM sigmasight.position_values v JOIN sigmasight.positions pos "
            "ON pos.id = v.position_id WHERE v.date = :d ORDER BY pos.symbol"),
            conn, params={"d": day}).set_index("symbol")


def _issues(engine, day) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text("SELECT asset, symbol, code, severity, message FROM "
                                "sigmasight.data_quality_issues WHERE date = :d"),
                           conn, params={"d": day})


def test_a_symbol_that_disappears_mid_window_is_flagged_stale_then_missing(
        engine, files_market, run_days):
    prices, write = files_market
    stops = {"NVDA": WINDOW[-3], "AMD": WINDOW[-8]}  # last bars: 2 and 7 sessions before D
    keep = pd.Series(True, index=prices.index)
    for sym, last in stops.items():
        keep &= ~((prices["symbol"] == sym) & (pd.to_datetime(prices["date"]).dt.date > last))
    write(prices[keep])
    run_days(D)
    values, issues = _values(engine, D), _issues(engine, D)

    last_nvda = prices[(prices["symbol"] == "NVDA")
                       & (pd.to_datetime(prices["date"]).dt.date == stops["NVDA"])]
    assert values.loc["NVDA", "price"] == pytest.approx(float(last_nvda["close"].iloc[0]))
    assert "stale_price" in values.loc["NVDA", "flags"]
    assert {"AAPL", "MSFT"} <= set(values.index)
    for sym in ("AAPL", "MSFT"):
        assert values.loc[sym, "flags"] == []
    # beyond 5 sessions: no value at all (not 0), a missing_price row naming it
    assert "AMD" not in values.index
    amd = issues[(issues["symbol"] == "AMD") & (issues["asset"] == "position_values")]
    assert list(amd["code"]) == ["missing_price"], issues.to_string()
    assert "AMD" in amd["message"].iloc[0]
    assert ((issues["symbol"] == "NVDA") & (issues["code"] == "stale_price")).any()
    # the market_prices asset also said, for both, that the provider had no bar that day
    market = issues[issues["asset"] == "market_prices"]
    assert set(market["symbol"]) == {"NVDA", "AMD"}, market.to_string()
    assert (values["price"] > 0).all() and values["price"].map(math.isfinite).all()
    with engine.connect() as conn:
        gross = conn.execute(text("SELECT gross_exposure FROM sigmasight.portfolio_exposures "
                                  "WHERE date = :d"), {"d": D}).scalar_one()
    assert gross == pytest.approx(values["exposure"].abs().sum())  # AMD left out, not 0


@pytest.mark.parametrize("bad", ["0", "-12.5"])
def test_a_non_positive_or_missing_close_in_the_files_fails_the_run_writing_nothing(
        engine, files_market, run_days, bad):
    prices, write = files_market
    write(prices)
    run_days(D)
    good = warehouse_state(engine)
    broken = prices.astype({"close": object})
    row = broken.index[(broken["symbol"] == "MSFT")
                       & (pd.to_datetime(broken["date"]).dt.date == D)][0]
    broken.loc[row, "close"] = bad
    write(broken)
    log = "\n".join(run_days(D, expect_success=False))
    assert "FAILED market_prices" in log
    assert "prices.csv" in log and f"line {list(broken.index).index(row) + 2}" in log, log
    assert "close" in log
    assert "retrying" not in log  # a data error is not retried
    assert diff_states(good, warehouse_state(engine)) == []


def test_an_empty_prices_file_leaves_every_position_unpriced_and_says_so(
        engine, files_market, run_days):
    prices, write = files_market
    write(prices.iloc[0:0])
    run_days(D)  # the run completes: nothing to value is not an outage
    assert _values(engine, D).empty
    issues = _issues(engine, D)
    unpriced = issues[issues["asset"] == "position_values"]
    assert set(unpriced["symbol"]) == {"AAPL", "MSFT", "NVDA", "AMD"}
    assert set(unpriced["code"]) == {"missing_price"}
    market = issues[issues["asset"] == "market_prices"]
    assert set(market["code"]) == {"unknown_symbol"} and "AAPL" in set(market["symbol"])
    with engine.connect() as conn:
        snaps = conn.execute(text("SELECT total_value, position_count FROM "
                                  "sigmasight.portfolio_snapshots WHERE date = :d"),
                             {"d": D}).all()
    assert all(total in (0, None) for total, _ in snaps)


def test_a_vendor_close_of_zero_negative_or_inf_is_never_used_as_a_price(
        engine, files_market, run_days, monkeypatch):
    """Polygon passes a bar's close through as sent; the pipeline must not value at it."""
    from sigmasight_pipeline.providers.files import FilesProvider

    prices, write = files_market
    write(prices)
    original = FilesProvider.prices
    bad = {"MSFT": 0.0, "NVDA": -3.0, "AMD": math.inf}

    def vendor_glitch(self, symbols, start, end):
        frame = original(self, symbols, start, end)
        on_d = pd.to_datetime(frame["date"]).dt.date == D
        for sym, value in bad.items():
            frame.loc[on_d & (frame["symbol"] == sym), ["close", "adj_close"]] = value
        return frame

    monkeypatch.setattr(FilesProvider, "prices", vendor_glitch)
    run_days(D)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM sigmasight.market_prices WHERE NOT "
                                   "(close > 0 AND close < 'Infinity')")).scalar_one()
    assert stored == 0
    values, issues = _values(engine, D), _issues(engine, D)
    assert (values["price"] > 0).all() and values["price"].map(math.isfinite).all()
    for sym in bad:  # valued at the previous session's close, flagged
        previous = prices[(prices["symbol"] == sym)
                          & (pd.to_datetime(prices["date"]).dt.date == WINDOW[-2])]
        assert values.loc[sym, "price"] == pytest.approx(float(previous["close"].iloc[0]))
        assert "stale_price" in values.loc[sym, "flags"]
        said = issues[(issues["asset"] == "market_prices") & (issues["symbol"] == sym)]
        assert len(said) == 1 and "unusable close" in said["message"].iloc[0], issues
