"""Market-data assets on the demo book, end to end through Dagster into PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import text

from sigmasight_pipeline.universe import BENCHMARKS, FACTOR_ETFS

D = dt.date(2024, 6, 3)


def _table(engine, sql: str) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn)


def test_one_day_fills_every_symbol_option_and_yield_and_is_idempotent(demo_book, run_days):
    engine = demo_book
    run_days(D)
    prices = _table(engine, f"SELECT * FROM sigmasight.market_prices WHERE date = '{D}'")
    book = _table(engine, "SELECT symbol, underlying_symbol, option_type, expiration "
                          "FROM sigmasight.positions")
    stocks = set(book.loc[book.option_type.isna(), "symbol"])
    underlyings = set(book.loc[book.option_type.notna(), "underlying_symbol"])
    assert stocks | underlyings | set(FACTOR_ETFS) | set(BENCHMARKS) <= set(prices.symbol)
    assert (prices.source == "simulated").all() and prices.close.gt(0).all()
    quotes = _table(engine, f"SELECT * FROM sigmasight.option_quotes WHERE date = '{D}'")
    assert len(quotes) == 8 and set(quotes.symbol) == set(book.loc[book.option_type.notna(),
                                                                   "symbol"])
    yields = _table(engine, f"SELECT * FROM sigmasight.treasury_yields WHERE date = '{D}'")
    assert sorted(yields.series_id) == ["DGS10", "DGS2", "DGS30", "DGS3MO"]
    # the engines' history window was filled in the same run
    history = _table(engine, "SELECT symbol, count(*) AS n FROM sigmasight.market_prices "
                             f"WHERE date < '{D}' GROUP BY symbol")
    assert history.n.min() >= 253

    snapshot = {t: _table(engine, f"SELECT * FROM sigmasight.{t} ORDER BY 1, 2")
                for t in ("market_prices", "option_quotes", "treasury_yields")}
    run_days(D)
    for t, before in snapshot.items():
        pd.testing.assert_frame_equal(_table(engine, f"SELECT * FROM sigmasight.{t} ORDER BY 1, 2"),
                                      before)


def test_next_day_alone_gives_the_same_prices_for_the_day_before(demo_book, run_days):
    engine = demo_book
    run_days(D)
    first = _table(engine, f"SELECT * FROM sigmasight.market_prices WHERE date = '{D}' "
                           "ORDER BY symbol")
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE sigmasight.market_prices"))
    run_days(dt.date(2024, 6, 4))  # fills 2024-06-03 as history
    again = _table(engine, f"SELECT * FROM sigmasight.market_prices WHERE date = '{D}' "
                           "ORDER BY symbol")
    pd.testing.assert_frame_equal(first, again)


def _files_dir(engine, root, drop=()) -> object:
    """A `files` provider directory written from the simulated market (without ``drop``)."""
    from sigmasight_pipeline.providers.simulated import SimulatedProvider

    sim = SimulatedProvider(seed=3)
    book = _table(engine, "SELECT symbol, underlying_symbol, option_type FROM "
                          "sigmasight.positions")
    symbols = sorted((set(book.loc[book.option_type.isna(), "symbol"]) | set(FACTOR_ETFS)
                      | set(BENCHMARKS) | set(book.underlying_symbol.dropna())) - set(drop))
    data = root / "market"
    data.mkdir()
    sim.prices(symbols, dt.date(2023, 5, 1), D).drop(columns="source").to_csv(
        data / "prices.csv", index=False)
    sim.treasury_yields(["DGS3MO", "DGS2", "DGS10", "DGS30"], dt.date(2023, 5, 1), D).drop(
        columns="source").to_csv(data / "treasury_yields.csv", index=False)
    return data


def _use_files(monkeypatch, data):
    from sigmasight_pipeline.settings import get_settings

    monkeypatch.setenv("SIGMASIGHT_MARKET_DATA", "files")
    monkeypatch.setenv("SIGMASIGHT_MARKET_DATA_DIR", str(data))
    get_settings.cache_clear()


def test_malformed_files_line_fails_with_file_and_line_and_writes_nothing(
        demo_book, run_days, cli_env, monkeypatch):
    data = _files_dir(demo_book, cli_env)
    lines = (data / "prices.csv").read_text().splitlines()
    bad_line = 7
    cells = lines[bad_line - 1].split(",")
    cells[5] = "n/a"  # the close column
    lines[bad_line - 1] = ",".join(cells)
    (data / "prices.csv").write_text("\n".join(lines) + "\n")
    _use_files(monkeypatch, data)
    out = "\n".join(run_days(D, expect_success=False))
    assert "prices.csv" in out and f"line {bad_line}" in out and "close" in out
    with demo_book.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sigmasight.market_prices")).scalar_one() == 0


def test_unknown_symbol_is_a_data_quality_row_not_a_crash(demo_book, run_days, cli_env,
                                                         monkeypatch):
    data = _files_dir(demo_book, cli_env, drop={"ZOOM"})  # no option quotes file either
    _use_files(monkeypatch, data)
    run_days(D)
    issues = _table(demo_book, "SELECT asset, symbol, code, severity, message "
                               "FROM sigmasight.data_quality_issues")
    zoom = issues[(issues.asset == "market_prices") & (issues.symbol == "ZOOM")]
    assert zoom.code.tolist() == ["unknown_symbol"] and "ZOOM" in zoom.message.iloc[0]
    # the risk engines leave ZOOM out of every aggregate and say so
    valued = _table(demo_book, "SELECT v.symbol, v.market_value FROM sigmasight.position_values v")
    assert "ZOOM" not in set(valued.symbol) and len(valued) == 62
    missing = issues[(issues.asset == "position_values") & (issues.code == "missing_price")]
    assert missing.symbol.tolist() == ["ZOOM"]
    # no quotes: every option is priced by the model on historical vol, and says so
    greeks = _table(demo_book, "SELECT price_source, vol_source, flags FROM "
                               "sigmasight.position_greeks")
    assert len(greeks) == 8 and set(greeks.vol_source) == {"historical_30d"}
    assert set(greeks.price_source) == {"model"}
    assert all({"model_price", "vol_historical"} <= set(f) for f in greeks["flags"])
    assert (_table(demo_book, "SELECT DISTINCT source FROM sigmasight.market_prices").source
            == "files").all()


def test_provider_outage_fails_the_asset_after_its_retries(demo_book, run_days, monkeypatch):
    from sigmasight_pipeline.providers.base import ProviderError
    from sigmasight_pipeline.providers.simulated import SimulatedProvider

    calls = []

    def down(self, symbols, start, end):
        calls.append(start)
        raise ProviderError("simulated outage: provider unreachable")

    monkeypatch.setattr(SimulatedProvider, "prices", down)
    out = "\n".join(run_days(D, expect_success=False))
    assert "retrying market_prices" in out and "unreachable" in out
    assert "FAILED market_prices: Exceeded max_retries of 3" in out
    assert len(calls) == 4  # first attempt + RetryPolicy(max_retries=3)


def test_vendor_rebased_adjusted_closes_are_refetched(demo_book, run_days, monkeypatch):
    """A vendor back-adjusts history after a split: the stored basis must not be mixed in."""
    from sigmasight_pipeline.providers.simulated import SimulatedProvider

    run_days(D)
    before = _table(demo_book, f"SELECT symbol, date, adj_close FROM sigmasight.market_prices "
                               f"WHERE date <= '{D}'")
    original = SimulatedProvider.prices

    def split_adjusted(self, symbols, start, end):
        frame = original(self, symbols, start, end)
        aapl = frame["symbol"] == "AAPL"
        return frame.assign(adj_close=frame["adj_close"].where(~aapl, frame["adj_close"] / 4))

    monkeypatch.setattr(SimulatedProvider, "prices", split_adjusted)
    run_days(dt.date(2024, 6, 4))
    after = _table(demo_book, f"SELECT symbol, date, adj_close FROM sigmasight.market_prices "
                              f"WHERE date <= '{D}'")
    merged = before.merge(after, on=["symbol", "date"], suffixes=("_before", "_after"))
    ratio = merged.adj_close_after / merged.adj_close_before
    aapl = merged.symbol == "AAPL"
    assert (ratio[aapl] - 0.25).abs().max() < 1e-12  # the whole window re-based
    assert aapl.sum() >= 254
    assert (ratio[~aapl] == 1).all()  # others untouched
    issues = _table(demo_book, "SELECT symbol, code FROM sigmasight.data_quality_issues "
                               "WHERE code = 'rebased_history'")
    assert issues.symbol.tolist() == ["AAPL"]
