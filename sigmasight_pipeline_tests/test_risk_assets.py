"""Risk engines I end to end: demo book, simulated market, real PostgreSQL, Dagster runs."""

from __future__ import annotations

import datetime as dt
import math

import mibian
import pandas as pd
from sqlalchemy import text

D = dt.date(2025, 6, 2)
HF = "Demo Hedge Fund Style Investor Portfolio"


def _sql(engine, sql: str, **params) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn, params=params)


def test_demo_day_counts_signs_and_mibian_reproduction(demo_book, run_days):
    engine = demo_book
    run_days(D)
    assert _sql(engine, "SELECT count(*) n FROM sigmasight.position_values WHERE date=:d",
                d=D).n[0] == 63
    assert _sql(engine, "SELECT count(*) n FROM sigmasight.portfolio_snapshots WHERE date=:d",
                d=D).n[0] == 3
    greeks = _sql(engine, """
        SELECT g.*, p.quantity * v.split_factor AS quantity, p.multiplier,
               p.strike / v.split_factor AS strike, p.expiration, p.option_type,
               p.underlying_symbol, f.name AS portfolio, v.split_factor
          FROM sigmasight.position_greeks g
          JOIN sigmasight.positions p ON p.id = g.position_id
          JOIN sigmasight.portfolios f ON f.id = p.portfolio_id
          JOIN sigmasight.position_values v ON v.position_id = g.position_id AND v.date = g.date
         WHERE g.date = :d""", d=D)
    # SPEC §8: the engines value the position after splits (NVDA 10-for-1 on 2024-06-10):
    # quantity × split factor, strike ÷ it
    assert sorted(greeks.split_factor.unique()) == [1.0, 10.0]
    assert len(greeks) == 8
    shorts = greeks[greeks.quantity < 0]
    assert len(shorts) == 4 and (shorts.portfolio == HF).all()
    assert (shorts.position_gamma < 0).all() and (shorts.position_vega < 0).all()

    # Reproduce every Greek from the stored inputs with mibian (SPEC §5.2).
    closes = _sql(engine, "SELECT symbol, close FROM sigmasight.market_prices WHERE date=:d",
                  d=D).set_index("symbol").close
    y = _sql(engine, "SELECT value FROM sigmasight.treasury_yields "
                     "WHERE series_id='DGS3MO' AND date=:d", d=D).value[0]
    r = 2 * math.log(1 + y / 200)
    for row in greeks.itertuples():
        S = closes[row.underlying_symbol]
        days = (row.expiration - D).days
        assert row.underlying_price == S and math.isclose(row.rate, r, rel_tol=1e-12)
        assert math.isclose(row.years_to_expiry, days / 365, rel_tol=1e-12)
        bs = mibian.BS([S, row.strike, r * 100, days], volatility=row.implied_vol * 100)
        call = row.option_type == "C"
        expected = {
            "delta": bs.callDelta if call else bs.putDelta, "gamma": bs.gamma,
            "theta": bs.callTheta if call else bs.putTheta, "vega": bs.vega,
            "rho": bs.callRho if call else bs.putRho,
        }
        for greek, ref in expected.items():
            got = getattr(row, greek)
            assert math.isclose(got, ref, rel_tol=1e-6, abs_tol=1e-10), (row.symbol, greek)
            assert math.isclose(getattr(row, f"position_{greek}"),
                                ref * row.quantity * row.multiplier, rel_tol=1e-6, abs_tol=1e-8)
        assert math.isclose(row.dollar_delta, bs.callDelta * row.quantity * 100 * S
                            if call else bs.putDelta * row.quantity * 100 * S, rel_tol=1e-6)
        assert math.isclose(row.dollar_gamma_1pct,
                            0.5 * bs.gamma * row.quantity * 100 * (0.01 * S) ** 2, rel_tol=1e-6)

    # Position values by hand: stocks at the close, options delta-adjusted.
    values = _sql(engine, """
        SELECT v.*, p.quantity, p.multiplier, p.entry_price, p.option_type, p.symbol AS psym
          FROM sigmasight.position_values v JOIN sigmasight.positions p ON p.id = v.position_id
         WHERE v.date = :d""", d=D)
    assert (values.effective_quantity == values.quantity * values.split_factor).all()
    stocks = values[values.option_type.isna()]
    assert (stocks.price == stocks.psym.map(closes)).all()
    assert ((stocks.market_value - stocks.effective_quantity * stocks.price).abs() < 1e-6).all()
    assert ((stocks.exposure - stocks.market_value).abs() < 1e-6).all()
    opts = values[values.option_type.notna()].merge(
        greeks[["position_id", "dollar_delta", "option_price"]], on="position_id")
    assert ((opts.exposure - opts.dollar_delta).abs() < 1e-6).all()
    assert ((opts.market_value - opts.effective_quantity * 100 * opts.option_price).abs()
            < 1e-6).all()
    assert ((values.cost_basis - values.quantity * values.multiplier * values.entry_price).abs()
            < 1e-6).all()

    # Snapshot totals and exposures agree with the positions.
    snap = _sql(engine, "SELECT s.*, f.name FROM sigmasight.portfolio_snapshots s "
                        "JOIN sigmasight.portfolios f ON f.id = s.portfolio_id WHERE date=:d",
                d=D).set_index("name")
    by_port = values.merge(_sql(engine, "SELECT id AS portfolio_id, name FROM "
                                        "sigmasight.portfolios"), on="portfolio_id")
    for name, grp in by_port.groupby("name"):
        assert math.isclose(snap.loc[name, "total_value"], grp.market_value.sum(), rel_tol=1e-12)
        assert math.isclose(snap.loc[name, "gross_exposure"], grp.exposure.abs().sum(),
                            rel_tol=1e-12)
        assert snap.loc[name, "daily_pnl"] == 0 and pd.isna(snap.loc[name, "daily_return"])
    hf_opts = greeks[greeks.portfolio == HF]
    assert math.isclose(snap.loc[HF, "dollar_theta"], hf_opts.position_theta.sum(), rel_tol=1e-12)


ENGINE_TABLES = ("market_prices", "option_quotes", "treasury_yields", "position_greeks",
                 "position_values", "portfolio_exposures", "tag_exposures",
                 "portfolio_snapshots", "data_quality_issues")


def _dump(engine) -> dict[str, pd.DataFrame]:
    out = {}
    for t in ENGINE_TABLES:
        frame = _sql(engine, f"SELECT * FROM sigmasight.{t}")
        frame = frame.drop(columns=[c for c in ("id", "created_at") if c in frame])
        keys = [c for c in ("date", "symbol", "series_id", "portfolio_id", "position_id", "tag",
                            "asset", "code") if c in frame]
        out[t] = frame.sort_values(keys).reset_index(drop=True)
    return out


def test_backfill_range_in_one_run_equals_day_by_day(demo_book, run_days):
    engine = demo_book
    run_days(dt.date(2025, 5, 1), dt.date(2025, 5, 30))
    ranged = _dump(engine)
    assert ranged["portfolio_snapshots"].date.nunique() == 21
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(f"sigmasight.{t}" for t in ENGINE_TABLES)))
    day = dt.date(2025, 5, 1)
    while day <= dt.date(2025, 5, 30):
        if day.weekday() < 5 and day != dt.date(2025, 5, 26):  # Memorial Day
            run_days(day)
        day += dt.timedelta(days=1)
    daily = _dump(engine)
    for t in ENGINE_TABLES:
        pd.testing.assert_frame_equal(ranged[t], daily[t], check_exact=True, obj=t)
    snaps = daily["portfolio_snapshots"]
    first = snaps[snaps.date == snaps.date.min()]
    assert (first.daily_pnl == 0).all() and first.daily_return.isna().all()
    later = snaps[snaps.date > snaps.date.min()]
    assert later.cumulative_pnl.notna().all() and (later.daily_pnl != 0).all()


def test_a_broken_greeks_result_blocks_the_downstream_assets(demo_book, run_days, monkeypatch):
    from sigmasight_pipeline.defs.risk import assets as risk_assets
    from sigmasight_pipeline.engines.greeks import compute_position_greeks

    def broken(*args, **kwargs):
        result = compute_position_greeks(*args, **kwargs)
        result.greeks["delta"] = -result.greeks["delta"]  # a sign bug
        return result

    monkeypatch.setattr(risk_assets, "compute_position_greeks", broken)
    out = "\n".join(run_days(D, expect_success=False))
    assert "check position_greeks:greeks_complete_and_in_range FAILED" in out
    assert "materialized position_values" not in out
    assert _sql(demo_book, "SELECT count(*) n FROM sigmasight.position_values").n[0] == 0


def test_an_empty_book_and_a_book_without_options_run_cleanly(engine, cli_env, run_days):
    from click.testing import CliRunner

    from sigmasight_pipeline.cli import main

    run_days(D)  # no portfolios at all: market data for the factor ETFs, empty engines
    assert _sql(engine, "SELECT count(*) n FROM sigmasight.position_values").n[0] == 0
    book = cli_env / "solo.csv"
    book.write_text("symbol,quantity,entry_price,entry_date,tags\n"
                    "AAPL,10,190,2025-06-03,Core\nMSFT,-5,400,2025-01-02,\n")
    assert CliRunner().invoke(main, ["positions", "import", str(book), "--portfolio", "Solo"]
                              ).exit_code == 0
    run_days(D, dt.date(2025, 6, 3))
    snaps = _sql(engine, "SELECT date, total_value, daily_pnl, position_count "
                         "FROM sigmasight.portfolio_snapshots ORDER BY date")
    assert snaps.position_count.tolist() == [1, 2]  # AAPL enters on the 3rd
    prices = _sql(engine, "SELECT symbol, date, close, adj_close FROM sigmasight.market_prices "
                          "WHERE symbol IN ('AAPL', 'MSFT') AND date IN ('2025-06-02', "
                          "'2025-06-03')").set_index(["symbol", "date"])
    msft = -5 * prices.loc[("MSFT", D), "close"] * (
        prices.loc[("MSFT", dt.date(2025, 6, 3)), "adj_close"]
        / prices.loc[("MSFT", D), "adj_close"] - 1)
    aapl = 10 * (prices.loc[("AAPL", dt.date(2025, 6, 3)), "close"] - 190)
    assert math.isclose(snaps.daily_pnl[1], msft + aapl, rel_tol=1e-9)
    assert _sql(engine, "SELECT count(*) n FROM sigmasight.position_greeks").n[0] == 0
