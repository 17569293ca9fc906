"""Benchmark of the portfolio-risk engines (SPEC §7.1-7.5; a script, not a test).

    python benchmarks/bench_var.py [--portfolios 2000] [--positions 50] [--symbols 1000]
                                   [--option-share 0.1] [--scenarios 250]

On a synthetic day shaped like the scale benchmark's (2,000 portfolios × 50 positions =
100,000 positions on 1,000 symbols, 10 % options = 10,000, 250 historical scenarios), times
(best of 3) the pure engines the new assets call:

- historical simulation: ``historical_pnl`` — every option fully revalued with
  Black-Scholes in every scenario (10,000 × 250) plus the linear stock P&L; target ≤ 3 s;
- the new assets' engine time in total: the 7 × 7 covariance, the exposure vectors,
  parametric and historical VaR/ES, component ES and the factor and position Euler
  contributions; target ≤ 8 s;

and prints a targets table. The warehouse reads and writes of the assets are not included
(the scale benchmark, ``python -m benchmarks``, measures whole runs).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np
import pandas as pd

from sigmasight_pipeline.calendar import trading_days
from sigmasight_pipeline.engines.factors import EQUITY_FACTORS
from sigmasight_pipeline.engines.risk_decomposition import (
    component_es,
    factor_contributions,
    position_contributions,
)
from sigmasight_pipeline.engines.risk_factors import risk_factor_covariance
from sigmasight_pipeline.engines.var import (
    exposures,
    historical_pnl,
    historical_var,
    parametric_var,
)

DAY = dt.date(2025, 6, 30)
HIST_TARGET_S = 3.0
TOTAL_TARGET_S = 8.0


def best_of(fn, repeat: int = 3) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def synthetic_day(n_pf: int, per_pf: int, n_sym: int, option_share: float, n_scen: int,
                  seed: int = 0):
    rng = np.random.default_rng(seed)
    n = n_pf * per_pf
    symbols = np.array([f"S{i:04d}" for i in range(n_sym)], dtype=object)
    sym = symbols[rng.integers(0, n_sym, n)]
    option = rng.random(n) < option_share
    spot = 20.0 + 400.0 * rng.random(n_sym)
    s_of = dict(zip(symbols, spot, strict=True))
    s = np.array([s_of[x] for x in sym])
    qty = rng.choice([-1.0, 1.0], n) * rng.integers(1, 500, n)
    kind = np.where(rng.random(n) < 0.5, "C", "P")
    ptype = np.where(option, np.where(qty > 0, np.where(kind == "C", "LC", "LP"),
                                      np.where(kind == "C", "SC", "SP")),
                     np.where(qty > 0, "LONG", "SHORT"))
    book = pd.DataFrame({
        "position_id": [f"P{i:06d}" for i in range(n)],
        "portfolio_id": [f"F{i // per_pf:04d}" for i in range(n)],
        "symbol": sym, "beta_symbol": sym, "position_type": ptype,
        "quantity": np.where(option, np.sign(qty) * rng.integers(1, 20, n), qty),
        "multiplier": np.where(option, 100.0, 1.0),
        "underlying_price": s, "price": s,
        "strike": s * rng.uniform(0.8, 1.2, n), "option_type": kind,
        "implied_vol": rng.uniform(0.15, 0.8, n), "rate": 0.04,
        "years_to_expiry": rng.integers(1, 400, n) / 365.0,
    })
    book["exposure"] = book["quantity"] * book["multiplier"] * s * np.where(option, 0.5, 1.0)
    betas = pd.DataFrame(rng.normal(0, 0.5, (n_sym, 6)), index=symbols, columns=EQUITY_FACTORS)
    betas["Market"] += 1.0
    ir = pd.Series(rng.normal(-0.02, 0.03, n_sym), index=symbols)
    specific = pd.Series(rng.uniform(0.005, 0.03, n_sym), index=symbols)
    days = trading_days(dt.date(2024, 1, 2), DAY)[-max(n_scen, 253):]
    f = pd.DataFrame(rng.normal(0, 0.01, (len(days), 6)), index=days, columns=EQUITY_FACTORS)
    rate = pd.Series(rng.normal(0, 0.06, len(days)), index=days)
    own = pd.DataFrame(rng.normal(0, 0.02, (n_scen, n_sym)), index=days[-n_scen:],
                       columns=symbols)
    own.iloc[:40, :20] = np.nan  # some symbols listed recently: proxied
    return book, betas, ir, specific, f, rate, own


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--portfolios", type=int, default=2000)
    ap.add_argument("--positions", type=int, default=50)
    ap.add_argument("--symbols", type=int, default=1000)
    ap.add_argument("--option-share", type=float, default=0.10)
    ap.add_argument("--scenarios", type=int, default=250)
    args = ap.parse_args()
    book, betas, ir, specific, f, rate, own = synthetic_day(
        args.portfolios, args.positions, args.symbols, args.option_share, args.scenarios)
    n_opt = int(book["position_type"].isin(["LC", "LP", "SC", "SP"]).sum())
    window_f = f.reindex(own.index)

    t_cov, (cov, _) = best_of(lambda: risk_factor_covariance(f, rate, f.index[-1]))
    t_expo, expo = best_of(lambda: exposures(book, betas, ir, specific))
    t_par, _ = best_of(lambda: parametric_var(expo, cov))
    t_hist, hist = best_of(lambda: historical_pnl(book, expo, betas, own, window_f))
    t_hvar, _ = best_of(lambda: historical_var(hist, expo.gross))
    t_ces, ces = best_of(lambda: component_es(hist))
    t_fc, _ = best_of(lambda: factor_contributions(expo, cov))
    t_pc, _ = best_of(lambda: position_contributions(expo, cov, ces))
    total = t_cov + t_expo + t_par + t_hist + t_hvar + t_ces + t_fc + t_pc

    print(f"{len(book):,} positions ({n_opt:,} options) in {args.portfolios:,} portfolios on "
          f"{args.symbols:,} symbols, {args.scenarios} scenarios; best of 3\n")
    print("| step | seconds |\n|---|---:|")
    for name, t in [("risk_factor_covariance (7 × 7 EWMA)", t_cov),
                    ("exposures (§7.2)", t_expo), ("parametric_var", t_par),
                    (f"historical_pnl ({n_opt:,} options × {args.scenarios} full reval)", t_hist),
                    ("historical_var", t_hvar), ("component_es", t_ces),
                    ("factor_contributions", t_fc), ("position_contributions", t_pc)]:
        print(f"| {name} | {t:.3f} |")
    print("\n| target | measured (s) | target (s) | result |\n|---|---:|---:|---|")
    for name, t, target in [("historical simulation", t_hist, HIST_TARGET_S),
                            ("new assets' engines, total", total, TOTAL_TARGET_S)]:
        print(f"| {name} | {t:.2f} | {target:.0f} | {'met' if t <= target else 'MISSED'} |")


if __name__ == "__main__":
    main()
