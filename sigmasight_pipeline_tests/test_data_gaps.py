"""Missing sessions and missing prices (issue 18, edge cases 3 and 4), checked by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sigmasight_pipeline.calendar import sessions_back
from sigmasight_pipeline.engines.correlations import position_correlations

SESSIONS = [pd.Timestamp(d) for d in sessions_back(dt.date(2025, 6, 30), 41)]


def test_correlations_take_returns_between_sessions_not_between_rows():
    """A session missing for every symbol: no return may span the two days around it."""
    rng = np.random.default_rng(5)
    rets = rng.normal(0.0, 0.01, (40, 2))
    rets[:, 1] = 0.6 * rets[:, 0] + 0.8 * rets[:, 1]
    prices = pd.DataFrame(100.0 * np.exp(np.vstack([np.zeros(2), np.cumsum(rets, axis=0)])),
                          index=SESSIONS, columns=["A", "B"])
    gap = SESSIONS[20]
    stored = prices.drop(index=gap)  # no row at all for that session
    exposures = pd.DataFrame({"portfolio_id": ["p", "p"], "beta_symbol": ["A", "B"],
                              "exposure": [50_000.0, 50_000.0]})
    pairs, _ = position_correlations(exposures, stored, SESSIONS[-1].date(),
                                     sessions=pd.DatetimeIndex(SESSIONS))
    # by hand: the daily returns of every session but the one missing and the one after it
    keep = np.ones(40, dtype=bool)
    keep[[19, 20]] = False  # returns dated SESSIONS[20] and SESSIONS[21]
    expected = np.corrcoef(rets[keep, 0], rets[keep, 1])[0, 1]
    assert pairs["n_obs"].tolist() == [38]
    assert pairs["correlation"].iloc[0] == pytest.approx(expected, rel=1e-12)


def test_a_value_back_after_a_gap_books_the_move_since_its_last_value():
    from sigmasight_pipeline.engines.snapshots import portfolio_snapshots

    day, prev = dt.date(2025, 6, 30), dt.date(2025, 6, 27)
    positions = pd.DataFrame({
        "position_id": ["g"], "portfolio_id": ["pf"], "symbol": ["GAP"],
        "position_type": ["LONG"], "quantity": [10.0], "multiplier": [1],
        "entry_price": [90.0], "entry_date": [dt.date(2025, 1, 2)], "exit_date": [None],
        "exit_price": [None], "expiration": [None], "split_factor": [1.0]})
    values = pd.DataFrame({"position_id": ["g"], "portfolio_id": ["pf"], "price": [108.0],
                           "price_source": ["close"], "market_value": [1080.0],
                           "exposure": [1080.0]})
    prev_values = values.iloc[:0]  # no value yesterday (nor for days before)
    last = pd.DataFrame({"position_id": ["g"], "price": [100.0], "market_value": [1000.0],
                         "split_factor": [1.0], "adj_close": [50.0]})  # adj on its own basis
    prev_snap = pd.DataFrame({"portfolio_id": ["pf"], "gross_exposure": [0.0],
                              "cumulative_pnl": [-100.0]})
    snap = portfolio_snapshots(day, ["pf"], positions, values, None, None, prev_values,
                               None, {"GAP": 54.0}, prev_snap, ["pf"], "test", prev_date=prev,
                               last_values=last)
    # by hand: 1 000 × (54 / 50 − 1) = 80, the move from the last value to today's
    assert snap["daily_pnl"].iloc[0] == pytest.approx(80.0, rel=1e-12)
    assert snap["cumulative_pnl"].iloc[0] == pytest.approx(-20.0, rel=1e-12)
    assert snap["flags"].iloc[0] == ["price_gap"]


GAP_DAYS = sessions_back(dt.date(2024, 3, 15), 10)  # 2024-03-04 .. 2024-03-15
GAP_CLOSES = [100.0, 101.0, None, None, None, None, None, None, 104.0, 103.0]


def test_backfill_with_a_seven_session_price_gap_keeps_cumulative_pnl_equal_to_the_change(
        engine, cli_env, run_days, monkeypatch):
    """10 shares bought at $90 before the range; no close for 6 sessions (beyond the 5-session
    stale limit): cumulative P&L at the end = change in value = 10 × (103 − 100)."""
    from click.testing import CliRunner
    from sqlalchemy import text

    from sigmasight_pipeline.calendar import all_sessions
    from sigmasight_pipeline.cli import main
    from sigmasight_pipeline.providers.simulated import SimulatedProvider
    from sigmasight_pipeline.settings import get_settings
    from sigmasight_pipeline.universe import BENCHMARKS, FACTOR_ETFS

    sessions = [d.date() for d in all_sessions()
                if dt.date(2023, 1, 3) <= d.date() <= GAP_DAYS[-1]]
    closes = {**{d: 100.0 for d in sessions if d < GAP_DAYS[0]},
              **dict(zip(GAP_DAYS, GAP_CLOSES, strict=True))}
    ours = pd.DataFrame([(d, "GAP", c, c) for d, c in closes.items() if c is not None],
                        columns=["date", "symbol", "close", "adj_close"])
    sim = SimulatedProvider(seed=3)
    etfs = sim.prices(sorted(set(FACTOR_ETFS) | set(BENCHMARKS)), sessions[0], GAP_DAYS[-1])
    data = cli_env / "market"
    data.mkdir()
    pd.concat([ours, etfs[["date", "symbol", "close", "adj_close"]]]).to_csv(
        data / "prices.csv", index=False)
    sim.treasury_yields(["DGS3MO", "DGS2", "DGS10", "DGS30"], sessions[0], GAP_DAYS[-1]).drop(
        columns="source").to_csv(data / "treasury_yields.csv", index=False)
    book = cli_env / "book.csv"
    book.write_text("portfolio,owner,symbol,quantity,entry_price,entry_date,underlying,strike,"
                    "expiration,option_type,tags\nGap,g@example.com,GAP,10,90.00,2024-01-02,,,,,\n")
    result = CliRunner().invoke(main, ["positions", "import", str(book)])
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("SIGMASIGHT_MARKET_DATA", "files")
    monkeypatch.setenv("SIGMASIGHT_MARKET_DATA_DIR", str(data))
    get_settings.cache_clear()
    run_days(GAP_DAYS[0], GAP_DAYS[-1])

    with engine.connect() as conn:
        snaps = pd.read_sql(text("SELECT date, daily_pnl, cumulative_pnl, flags FROM "
                                 "sigmasight.portfolio_snapshots ORDER BY date"), conn)
    assert snaps["date"].tolist() == GAP_DAYS
    # stale for 5 sessions (P&L 0), unvalued for 1, back on 2024-03-14 at 104
    back = GAP_DAYS.index(dt.date(2024, 3, 14))
    assert snaps["daily_pnl"].iloc[back] == pytest.approx(10 * (104.0 - 101.0), rel=1e-12)
    assert "price_gap" in snaps["flags"].iloc[back]
    assert snaps["cumulative_pnl"].iloc[-1] == pytest.approx(10 * (103.0 - 100.0), rel=1e-12)


def test_last_values_of_a_whole_large_book_in_one_query(engine):
    """A first day values every position of a large book with no earlier row: the lookup
    of their last values is one query with one array parameter (PostgreSQL refuses more
    than 65,535 parameters; the 2,000 × 50 benchmark day failed on it)."""
    import datetime as dt
    import uuid

    from sigmasight_pipeline.warehouse.engine_store import last_values_before

    ids = [str(uuid.uuid4()) for _ in range(70_000)]
    with engine.connect() as conn:
        frame = last_values_before(conn, ids, dt.date(2025, 6, 30))
    assert frame.empty and list(frame.columns) == [
        "position_id", "date", "price", "price_date", "market_value", "split_factor",
        "adj_close"]
