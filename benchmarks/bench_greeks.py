"""Benchmark of the Greeks engines against mibian (a script, not a test).

    /work/venv/bin/python benchmarks/bench_greeks.py [--n-greeks 1000000] [--n-waterfall 100000]

Times (best of 3):
- ``bs_greeks`` on 1,000,000 random options (price + five Greeks), target < 0.5 s;
- ``compute_position_greeks`` on 100,000 option positions, the full waterfall: a third with
  a quote IV, a third whose vol is implied from the bid/ask mid, a third on historical vol
  with a model price; target < 1 s;
- ``mibian.BS`` one option at a time over 2,000 options (µs per option),
and prints them side by side with the speed-up per option.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import mibian
import numpy as np
import pandas as pd

from sigmasight_pipeline.engines.black_scholes import bs_greeks, bs_price
from sigmasight_pipeline.engines.greeks import compute_position_greeks

AS_OF = dt.date(2025, 6, 30)


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def random_options(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    S = rng.uniform(10.0, 600.0, n)
    K = np.round(S * rng.uniform(0.5, 1.5, n), 2)
    days = rng.integers(1, 3 * 365 + 1, n)
    r = rng.uniform(0.0, 0.08, n)
    vol = rng.uniform(0.05, 1.5, n)
    is_call = rng.random(n) < 0.5
    return S, K, days, r, vol, is_call


def waterfall_inputs(n: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    n_und = 500
    und = np.array([f"U{i:03d}" for i in range(n_und)])
    spot = rng.uniform(10.0, 600.0, n_und)
    hist = pd.Series(rng.uniform(0.1, 0.8, n_und), index=und)
    u_idx = rng.integers(0, n_und, n)
    S = spot[u_idx]
    strike = np.round(S * rng.uniform(0.7, 1.3, n), 2)
    days = rng.integers(1, 730, n)
    is_call = rng.random(n) < 0.5
    vol = rng.uniform(0.1, 0.9, n)
    rate = 0.043
    symbols = np.array([f"OPT{i:07d}" for i in range(n)])
    options = pd.DataFrame(
        {
            "position_id": np.arange(n),
            "portfolio_id": rng.integers(0, 1000, n),
            "symbol": symbols,
            "underlying_symbol": und[u_idx],
            "strike": strike,
            "expiration": [AS_OF + dt.timedelta(days=int(d)) for d in days],
            "option_type": np.where(is_call, "C", "P"),
            "quantity": rng.choice([-10.0, -1.0, 1.0, 5.0], n),
            "multiplier": 100,
        }
    )
    fair = bs_price(S, strike, days / 365, rate, vol, is_call)
    kind = np.arange(n) % 3  # 0: quote IV, 1: IV from mid, 2: no quote (historical vol)
    half_spread = np.maximum(0.005, 0.01 * fair)
    quotes = pd.DataFrame(
        {
            "symbol": symbols,
            "bid": np.where(kind == 1, fair - half_spread, np.nan),
            "ask": np.where(kind == 1, fair + half_spread, np.nan),
            "last": np.nan,
            "implied_vol": np.where(kind == 0, vol, np.nan),
        }
    )[kind != 2]
    prices = pd.DataFrame({"price": spot, "stale": False}, index=und)
    return options, prices, quotes, hist, rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-greeks", type=int, default=1_000_000)
    parser.add_argument("--n-waterfall", type=int, default=100_000)
    parser.add_argument("--n-mibian", type=int, default=2_000)
    args = parser.parse_args()

    S, K, days, r, vol, is_call = random_options(args.n_greeks)
    T = days / 365.0
    t_greeks = best_of(lambda: bs_greeks(S, K, T, r, vol, is_call))

    inputs = waterfall_inputs(args.n_waterfall)
    t_waterfall = best_of(lambda: compute_position_greeks(*inputs, AS_OF))
    result = compute_position_greeks(*inputs, AS_OF)
    sources = result.greeks["vol_source"].value_counts().to_dict()

    m = args.n_mibian

    def run_mibian():
        for i in range(m):
            bs = mibian.BS([S[i], K[i], r[i] * 100, days[i]], volatility=vol[i] * 100)
            if is_call[i]:
                _ = (bs.callPrice, bs.callDelta, bs.gamma, bs.callTheta, bs.vega, bs.callRho)
            else:
                _ = (bs.putPrice, bs.putDelta, bs.gamma, bs.putTheta, bs.vega, bs.putRho)

    t_mibian = best_of(run_mibian)

    us_greeks = t_greeks / args.n_greeks * 1e6
    us_waterfall = t_waterfall / args.n_waterfall * 1e6
    us_mibian = t_mibian / m * 1e6
    print(f"{'what':<48}{'options':>10}{'total s':>10}{'µs/option':>12}{'speed-up':>11}")
    rows = [
        ("bs_greeks (price + 5 Greeks)", args.n_greeks, t_greeks, us_greeks),
        ("compute_position_greeks (full waterfall)", args.n_waterfall, t_waterfall, us_waterfall),
        ("mibian.BS, one option at a time", m, t_mibian, us_mibian),
    ]
    for name, n, t, us in rows:
        print(f"{name:<48}{n:>10,}{t:>10.3f}{us:>12.3f}{us_mibian / us:>10.0f}x")
    print(f"vol sources in the waterfall run: {sources}")
    print(
        f"targets: bs_greeks 1M < 0.5 s: {'OK' if t_greeks < 0.5 else 'MISSED'}; "
        f"waterfall 100k < 1 s: {'OK' if t_waterfall < 1.0 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
