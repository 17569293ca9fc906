"""A seeded book of N portfolios × M positions for the scale benchmarks.

    python -m benchmarks.generate_book --portfolios 2000 --positions 50 --out book.csv

Writes a positions CSV in the format of ``sigmasight_pipeline/data/demo_positions.csv``
(the product's importer reads it). Deterministic for a given seed and arguments:

- symbols from a universe of real-looking tickers (3-4 letters, seeded) plus the demo's
  real names; the simulated provider prices any valid ticker deterministically;
- ``option_share`` (10 %) of each portfolio's positions are listed options on a subset of
  "optionable" underlyings: OCC symbols, strikes near the simulated spot of the entry date
  (rounded to the usual listing grid), monthly expiries (third Friday) after ``expire_after``,
  calls and puts, long and short;
- stocks are ~70 % long / 30 % short, each sized to $5k-$250k at the entry date's simulated
  close, entry prices = that close ± 1 %; options enter at their Black-Scholes value at 35 %
  vol (± 5 %);
- entry dates are sessions in the year before ``entry_before``; no exits, so every
  position is held through the benchmark window;
- 0-2 strategy tags per position (about 10 % untagged).
"""

from __future__ import annotations

import argparse
import datetime as dt
import string
from pathlib import Path

import numpy as np
import pandas as pd

from sigmasight_pipeline.calendar import trading_days
from sigmasight_pipeline.engines.black_scholes import bs_price
from sigmasight_pipeline.providers.simulated import PROFILES, SimulatedProvider
from sigmasight_pipeline.universe import BENCHMARKS, FACTOR_ETFS

COLUMNS = ["portfolio", "owner", "symbol", "quantity", "entry_price", "entry_date",
           "underlying", "strike", "expiration", "option_type", "tags"]
TAGS = ["Core Holdings", "Tech Growth", "Dividend Income", "Value", "Momentum", "Hedge",
        "Pairs", "Event Driven", "Macro", "Small Cap", "Quality", "Options Overlay"]


def universe(n_symbols: int, seed: int) -> list[str]:
    """``n_symbols`` distinct tickers: the demo's real names, then seeded 3-4 letter ones."""
    rng = np.random.default_rng([seed, 1])
    reserved = set(FACTOR_ETFS) | set(BENCHMARKS)
    names = [s for s in PROFILES if s not in reserved][:n_symbols]
    taken = set(names) | reserved
    letters = np.array(list(string.ascii_uppercase))
    while len(names) < n_symbols:
        length = int(rng.choice([3, 4], p=[0.4, 0.6]))
        ticker = "".join(rng.choice(letters, length))
        if ticker not in taken:
            taken.add(ticker)
            names.append(ticker)
    return names


def third_fridays(after: dt.date, months: int) -> list[dt.date]:
    """Monthly option expiries (third Friday) in the ``months`` months after ``after``."""
    out, year, month = [], after.year, after.month
    while len(out) < months:
        first = dt.date(year, month, 1)
        friday = first + dt.timedelta(days=(4 - first.weekday()) % 7 + 14)
        if friday > after:
            out.append(friday)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _strike_grid(spot: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Round strikes to the usual listing increments ($1 under $50, $2.5 under $200, $5)."""
    step = np.where(spot < 50, 1.0, np.where(spot < 200, 2.5, 5.0))
    return np.maximum(np.round(raw / step) * step, step)


def occ_symbol(root: str, expiry: dt.date, cp: str, strike: float) -> str:
    return f"{root}{expiry:%y%m%d}{cp}{int(round(strike * 1000)):08d}"


def generate_book(n_portfolios: int, n_positions: int, *, seed: int = 42,
                  n_symbols: int = 1000, n_optionable: int = 200, option_share: float = 0.10,
                  entry_before: dt.date = dt.date(2024, 6, 28),
                  expire_after: dt.date = dt.date(2025, 6, 30),
                  market_seed: int = 7) -> pd.DataFrame:
    """The book as a DataFrame with :data:`COLUMNS` (one row per position)."""
    rng = np.random.default_rng(seed)
    symbols = universe(n_symbols, seed)
    entry_days = trading_days(entry_before - dt.timedelta(days=365), entry_before)
    prices = SimulatedProvider(seed=market_seed).prices(symbols, entry_days[0], entry_days[-1])
    close = prices.pivot(index="date", columns="symbol", values="close")
    close = close.reindex(index=entry_days, columns=symbols).to_numpy(dtype=float)
    expiries = third_fridays(expire_after, 18)

    n_options = int(round(n_positions * option_share))
    n_stocks = n_positions - n_options
    total = n_portfolios * n_positions
    port = np.repeat(np.arange(n_portfolios), n_positions)
    is_opt = np.tile(np.r_[np.zeros(n_stocks, bool), np.ones(n_options, bool)], n_portfolios)

    # stocks: distinct symbols within a portfolio
    stock_sym = np.concatenate([rng.choice(len(symbols), n_stocks, replace=False)
                                for _ in range(n_portfolios)])
    # options: distinct underlyings within a portfolio
    opt_und = np.concatenate([rng.choice(n_optionable, n_options, replace=False)
                              for _ in range(n_portfolios)])
    sym_idx = np.empty(total, dtype=np.int64)
    sym_idx[~is_opt] = stock_sym
    sym_idx[is_opt] = opt_und
    day_idx = rng.integers(0, len(entry_days), total)
    spot = close[day_idx, sym_idx]

    # stocks: 70 % long, sized $5k-$250k (log-uniform)
    long_ = rng.random(total) < 0.7
    notional = np.exp(rng.uniform(np.log(5e3), np.log(2.5e5), total))
    shares = np.maximum(np.round(notional / spot), 1.0)
    stock_qty = np.where(long_, shares, -shares)
    stock_px = np.round(spot * rng.uniform(0.99, 1.01, total), 2)

    # options: strike near spot, monthly expiry after the window, C/P, long/short contracts
    is_call = rng.random(total) < 0.5
    strike = _strike_grid(spot, spot * rng.uniform(0.8, 1.2, total))
    exp_idx = rng.integers(0, len(expiries), total)
    expiry = np.array(expiries, dtype=object)[exp_idx]
    entry = np.array(entry_days, dtype=object)[day_idx]
    years = np.array([(e - d).days for e, d in zip(expiry, entry, strict=True)]) / 365.0
    premium = bs_price(spot, strike, years, 0.045, 0.35, is_call)
    opt_px = np.maximum(np.round(premium * rng.uniform(0.95, 1.05, total), 2), 0.05)
    contracts = rng.choice([1, 2, 5, 10, 20, 50], total)
    opt_qty = np.where(rng.random(total) < 0.6, contracts, -contracts).astype(float)

    sym = np.array(symbols, dtype=object)[sym_idx]
    cp = np.where(is_call, "C", "P")
    occ = [occ_symbol(s, e, c, k) for s, e, c, k in
           zip(sym[is_opt], expiry[is_opt], cp[is_opt], strike[is_opt], strict=True)]
    symbol_col = sym.copy()
    symbol_col[is_opt] = occ

    n_tags = rng.choice([0, 1, 2], total, p=[0.1, 0.6, 0.3])
    tag_pick = rng.integers(0, len(TAGS), (total, 2))
    tags = [";".join(dict.fromkeys(TAGS[t] for t in tag_pick[i, :k]))
            for i, k in enumerate(n_tags)]
    names = np.array([f"Bench Portfolio {i:05d}" for i in range(n_portfolios)], dtype=object)

    book = pd.DataFrame({
        "portfolio": names[port],
        "owner": [f"pm{i % 97:02d}@bench.example" for i in port],
        "symbol": symbol_col,
        "quantity": np.where(is_opt, opt_qty, stock_qty),
        "entry_price": np.where(is_opt, opt_px, stock_px),
        "entry_date": entry,
        "underlying": np.where(is_opt, sym, ""),
        "strike": np.where(is_opt, strike, np.nan),
        "expiration": np.where(is_opt, expiry, None),
        "option_type": np.where(is_opt, cp, ""),
        "tags": tags,
    }, columns=COLUMNS)
    return book


def write_book(book: pd.DataFrame, path: Path) -> Path:
    out = book.copy()
    out["quantity"] = out["quantity"].map(lambda q: f"{q:g}")
    out["strike"] = out["strike"].map(lambda k: "" if np.isnan(k) else f"{k:g}")
    out["expiration"] = out["expiration"].map(lambda e: "" if e is None else e.isoformat())
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--portfolios", type=int, default=2000)
    parser.add_argument("--positions", type=int, default=50)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path("bench_book.csv"))
    args = parser.parse_args()
    book = generate_book(args.portfolios, args.positions, seed=args.seed)
    write_book(book, args.out)
    n_opt = int((book["option_type"] != "").sum())
    print(f"{args.out}: {len(book):,} positions in {args.portfolios:,} portfolios, "
          f"{n_opt:,} options, {book['symbol'].where(book['option_type'] == '').nunique():,} "
          f"stock symbols")


if __name__ == "__main__":
    main()
