"""Benchmark of the portfolio-risk II engines (SPEC §7.6-7.8; a script, not a test).

    python benchmarks/bench_risk_ii.py [--portfolios 2000] [--days 250] [--positions 50]

On synthetic data shaped like the scale benchmark (2,000 portfolios, a year of 250 daily
returns / P&L / VaR; 50 positions each, 10 % options, for the attribution), times (best of
3) one trading day of each pure engine the new assets call:

- ``var_backtests``: 2,000 portfolios × 2 methods × 3 confidences × 2 P&L types = 24,000
  backtests over 250 observations;
- ``pnl_attribution``: 100,000 positions (10,000 options) with betas, rate betas, Greeks;
- ``portfolio_performance``: 4 periods (21d, 63d, 252d, inception) per portfolio;
- ``portfolio_volatility``: realized, EWMA, HAR (batched QR) and the 1-year percentile;

and their sum against the issue's budget for the new assets on a 2,000 × 50 day (≤ 5 s).
The warehouse reads and writes of the assets are not included (``python -m benchmarks``
measures whole runs).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np
import pandas as pd

from sigmasight_pipeline.calendar import sessions_back
from sigmasight_pipeline.engines.attribution import pnl_attribution
from sigmasight_pipeline.engines.backtest import CONFIDENCES, METHODS, var_backtests
from sigmasight_pipeline.engines.factors import EQUITY_FACTORS
from sigmasight_pipeline.engines.performance import compact_right, portfolio_performance
from sigmasight_pipeline.engines.volatility import portfolio_volatility

DAY = dt.date(2025, 6, 30)
BUDGET_S = 5.0


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def daily_series(n_portfolios: int, n_days: int, rng):
    sessions = sessions_back(DAY, n_days + 1)
    days = sessions[1:]
    ids = [f"P{i:05d}" for i in range(n_portfolios)]
    spy = pd.Series(rng.normal(0.0004, 0.011, n_days), index=days)
    returns = pd.DataFrame(0.8 * spy.to_numpy()[:, None]
                           + rng.normal(0, 0.007, (n_days, n_portfolios)), index=days,
                           columns=ids)
    returns.iloc[:, : n_portfolios // 10] = returns.iloc[:, : n_portfolios // 10].mask(
        rng.random((n_days, n_portfolios // 10)) < 0.05)  # a tenth with NULL days
    rf = pd.Series(np.linspace(5.3, 4.2, n_days), index=days)
    gross = 1e6
    pnl_rows = pd.DataFrame({
        "date": np.repeat(days, n_portfolios * 2),
        "portfolio_id": np.tile(np.repeat(ids, 2), n_days),
        "pnl_type": np.tile(["actual", "hypothetical"], n_days * n_portfolios),
        "pnl": np.repeat(returns.to_numpy().ravel() * gross, 2),
    })
    keys = pd.MultiIndex.from_product([sessions[:-1], ids, METHODS, CONFIDENCES]).to_frame(
        index=False, name=["date", "portfolio_id", "method", "confidence"])
    z = keys["confidence"].map({0.95: 1.645, 0.975: 1.96, 0.99: 2.326}).to_numpy()
    var_rows = keys.assign(var=z * 0.011 * gross * rng.uniform(0.8, 1.2, len(keys)))
    return sessions, ids, returns, rf, spy, pnl_rows, var_rows


def attribution_inputs(n_portfolios: int, n_positions: int, rng, option_share: float = 0.1):
    n = n_portfolios * n_positions
    pid = np.array([f"pos{i:07d}" for i in range(n)], dtype=object)
    portfolio = np.repeat([f"P{i:05d}" for i in range(n_portfolios)], n_positions)
    option = rng.random(n) < option_share
    symbols = np.array([f"S{i:04d}" for i in rng.integers(0, 1000, n)], dtype=object)
    positions = pd.DataFrame({
        "position_id": pid, "portfolio_id": portfolio,
        "position_type": np.where(option, "LC", "LONG"),
        "quantity": rng.integers(1, 500, n).astype(float),
        "multiplier": np.where(option, 100, 1), "beta_symbol": symbols})
    exposure = rng.normal(20_000, 5_000, n)
    prev_values = pd.DataFrame({"position_id": pid, "exposure": exposure})
    moves = pd.Series(rng.normal(0, 0.015, 1000), index=[f"S{i:04d}" for i in range(1000)])
    pnl = pd.DataFrame({"portfolio_id": portfolio, "position_id": pid,
                        "kind": np.where(rng.random(n) < 0.01, "trading", "held"),
                        "pnl": exposure * moves.reindex(symbols).to_numpy(),
                        "measured": True})
    # security betas (SPEC §7.1), one set per symbol, taken through each beta symbol
    universe = np.array([f"S{i:04d}" for i in range(1000)], dtype=object)
    betas = pd.DataFrame({"symbol": np.repeat(universe, 6),
                          "factor": np.tile(EQUITY_FACTORS, len(universe)),
                          "beta": rng.normal(0, 0.5, 6 * len(universe))})
    rate_betas = pd.DataFrame({"symbol": universe,
                               "ir_beta": rng.normal(-0.02, 0.02, len(universe))})
    opts = pid[option]
    prev_greeks = pd.DataFrame({"position_id": opts, "underlying_price": 100.0,
                                "implied_vol": 0.3, "gamma": 0.02, "theta": -0.05,
                                "vega": 0.2})
    greeks = pd.DataFrame({"position_id": opts, "underlying_price": 101.0,
                           "implied_vol": 0.31})
    factors = dict(zip(EQUITY_FACTORS, rng.normal(0, 0.01, 6), strict=True))
    return (sorted(set(portfolio)), pnl, positions, prev_values, betas, rate_betas, factors,
            0.03, moves, prev_greeks, greeks, 3), int(option.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--portfolios", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=250)
    parser.add_argument("--positions", type=int, default=50)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    sessions, ids, returns, rf, spy, pnl_rows, var_rows = daily_series(
        args.portfolios, args.days, rng)
    attribution_args, n_options = attribution_inputs(args.portfolios, args.positions, rng)

    def volatility():
        portfolio_volatility(compact_right(returns.to_numpy(dtype=float).T)[0], ids)

    timings = {
        "var_backtests": best_of(lambda: var_backtests(sessions, ids, pnl_rows, var_rows)),
        "pnl_attribution": best_of(lambda: pnl_attribution(*attribution_args)),
        "portfolio_performance": best_of(lambda: portfolio_performance(returns, rf, spy)),
        "portfolio_volatility": best_of(volatility),
    }
    n_series = args.portfolios * len(METHODS) * len(CONFIDENCES) * 2
    print(f"{args.portfolios:,} portfolios x {args.days} days; {n_series:,} backtest series; "
          f"attribution on {args.portfolios * args.positions:,} positions "
          f"({n_options:,} options)")
    print(f"{'engine (one trading day)':<34}{'seconds':>10}")
    for name, seconds in timings.items():
        print(f"{name:<34}{seconds:>10.3f}")
    total = sum(timings.values())
    print(f"{'total':<34}{total:>10.3f}")
    print(f"target: the new engines add <= {BUDGET_S:.0f} s to a {args.portfolios:,} x "
          f"{args.positions} day: {'OK' if total <= BUDGET_S else 'MISSED'} ({total:.2f} s); "
          f"a {args.days}-day range runs them {args.days} times: ~{total * args.days:.0f} s")


if __name__ == "__main__":
    main()
