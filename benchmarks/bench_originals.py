"""The straightforward approach of the system this replaces, side by side with the engines.

    python -m benchmarks.bench_originals [--quick]

On the same sample, in the same run (best of ``--repeat``):

- **Greeks**: ``mibian.BS`` one option at a time in a Python loop (price + 5 Greeks from a
  given vol) over 2,000 options, against ``bs_greeks`` on the same options; and the whole
  waterfall as the original would run it per option (quote IV, else mibian's implied vol
  from the mid, else historical vol; then mibian's Greeks) on a sample of 200, against the
  asset's engine ``compute_position_greeks`` (vectorized waterfall, flags, position
  Greeks) on a day's 10,000 options; speed-up per option. Target ≥ 1,000×.
- **Factor regressions**: statsmodels OLS, seven univariate regressions per position (the
  six equity factors and the DGS10 change, one ``sm.OLS(...).fit()`` each) over 500
  positions, against the batched engines ``factor_exposures`` (joint six-factor OLS) +
  ``interest_rate_betas`` on the same positions; speed-up per position. Target ≥ 50×.
- **Warehouse writes**: 20,000 position_values rows inserted one INSERT statement per row
  (one transaction), against ``replace_partition`` of the same rows (advisory lock, COPY
  into a new table of the day, its keys, the day's partition swapped: position_values is
  partitioned by day since migration 0009); speed-up. Target ≥ 20×. Then
  ``replace_partition`` throughput on a day at scale (100,000 position_values rows and
  10,000 position_greeks rows): target ≥ 500,000 rows/s.

The write benchmark starts its own embedded PostgreSQL under ``--workdir``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
import uuid
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore", message="Parameter `backfill_policy`")

AS_OF = dt.date(2025, 6, 30)
DEFAULT_WORKDIR = Path("/tmp/sigmasight-bench/originals")


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


# --- Greeks -------------------------------------------------------------------------------


def bench_greeks(n_sample: int, n_day: int, repeat: int) -> list[dict]:
    import mibian

    from benchmarks.bench_greeks import random_options, waterfall_inputs
    from sigmasight_pipeline.engines.black_scholes import bs_greeks
    from sigmasight_pipeline.engines.greeks import compute_position_greeks

    S, K, days, r, vol, is_call = random_options(n_sample)
    T = days / 365.0

    def original():
        out = []
        for i in range(n_sample):
            bs = mibian.BS([S[i], K[i], r[i] * 100, days[i]], volatility=vol[i] * 100)
            if is_call[i]:
                out.append((bs.callPrice, bs.callDelta, bs.gamma, bs.callTheta, bs.vega,
                            bs.callRho))
            else:
                out.append((bs.putPrice, bs.putDelta, bs.gamma, bs.putTheta, bs.vega,
                            bs.putRho))
        return out

    t_orig = best_of(original, repeat)
    t_kernel = best_of(lambda: bs_greeks(S, K, T, r, vol, is_call), max(repeat, 5))
    inputs = waterfall_inputs(n_day)
    t_engine = best_of(lambda: compute_position_greeks(*inputs, AS_OF), repeat)
    n_wf = max(n_sample // 10, 30)
    t_orig_wf = best_of(lambda: original_waterfall(*inputs, n_wf), 1)
    us_orig = t_orig / n_sample * 1e6
    us_engine = t_engine / n_day * 1e6
    us_orig_wf = t_orig_wf / n_wf * 1e6
    return [
        {"what": "Greeks: mibian.BS per option, given vol (original)", "n": n_sample,
         "seconds": t_orig, "per_item_us": us_orig, "unit": "option"},
        {"what": "Greeks: bs_greeks on the same options (same work)", "n": n_sample,
         "seconds": t_kernel, "per_item_us": t_kernel / n_sample * 1e6, "unit": "option",
         "speedup": t_orig / t_kernel, "target": 1000.0},
        {"what": "Greeks waterfall: mibian per option, IV from mid by mibian (original)",
         "n": n_wf, "seconds": t_orig_wf, "per_item_us": us_orig_wf, "unit": "option"},
        {"what": "Greeks waterfall: compute_position_greeks, a day's options (same work)",
         "n": n_day, "seconds": t_engine, "per_item_us": us_engine, "unit": "option",
         "speedup": us_orig_wf / us_engine, "target": 1000.0},
    ]


def original_waterfall(options, prices, quotes, hist_vol, rate, n: int) -> list:
    """The original's per-option loop: quote IV, else mibian's implied vol from the mid,
    else historical vol; then mibian price and Greeks (first ``n`` options)."""
    import mibian

    quote_by_symbol = quotes.set_index("symbol")
    out = []
    for rec in options.head(n).itertuples(index=False):
        spot = float(prices.loc[rec.underlying_symbol, "price"])
        days = (rec.expiration - AS_OF).days
        args = [spot, rec.strike, rate * 100, days]
        call = rec.option_type == "C"
        vol = None
        if rec.symbol in quote_by_symbol.index:
            q = quote_by_symbol.loc[rec.symbol]
            if q["implied_vol"] == q["implied_vol"]:
                vol = float(q["implied_vol"])
            elif q["bid"] > 0 and q["ask"] >= q["bid"]:
                mid = (q["bid"] + q["ask"]) / 2
                solved = mibian.BS(args, callPrice=mid) if call else mibian.BS(args, putPrice=mid)
                vol = solved.impliedVolatility / 100
        if vol is None:
            vol = float(hist_vol[rec.underlying_symbol])
        bs = mibian.BS(args, volatility=vol * 100)
        out.append((bs.callPrice, bs.callDelta, bs.gamma, bs.callTheta, bs.vega, bs.callRho)
                   if call else
                   (bs.putPrice, bs.putDelta, bs.gamma, bs.putTheta, bs.vega, bs.putRho))
    return out


# --- factor regressions ---------------------------------------------------------------------


def _factor_inputs(n_positions: int):
    """Simulated adj_close for ``n_positions`` symbols + factor ETFs and DGS10, 260 sessions."""
    from benchmarks.generate_book import universe
    from sigmasight_pipeline.calendar import all_sessions, sessions_back
    from sigmasight_pipeline.providers.simulated import SimulatedProvider
    from sigmasight_pipeline.universe import FACTOR_ETFS

    window = sessions_back(AS_OF, 260)
    symbols = universe(n_positions, seed=42)
    provider = SimulatedProvider()
    prices = provider.prices([*symbols, *FACTOR_ETFS], window[0], window[-1])
    adj = prices.pivot(index="date", columns="symbol", values="adj_close").sort_index()
    yields = provider.treasury_yields(["DGS10"], window[0], window[-1])
    dgs10 = yields.set_index("date")["value"].astype(float).sort_index()
    return symbols, adj, dgs10, all_sessions()


def bench_factors(n_positions: int, repeat: int) -> list[dict]:
    import statsmodels.api as sm

    symbols, adj, dgs10, sessions = _factor_inputs(n_positions)
    try:
        from sigmasight_pipeline.engines import factors
    except ImportError:
        factors = None

    # the inputs both approaches regress on (not timed): simple returns, factor spreads
    returns = adj.pct_change(fill_method=None).iloc[1:]
    spreads = {"Market": returns["SPY"], "Value": returns["VTV"] - returns["VUG"],
               "Size": returns["IWM"] - returns["SPY"],
               "Momentum": returns["MTUM"] - returns["SPY"],
               "Quality": returns["QUAL"] - returns["SPY"],
               "Low Volatility": returns["USMV"] - returns["SPY"]}
    regressors = pd.DataFrame(spreads)
    regressors["Rate"] = dgs10.reindex(adj.index).diff().iloc[1:]
    regressors = regressors.iloc[-150:]
    asset = returns[symbols].iloc[-150:]

    def original():
        out = {}
        for sym in symbols:
            y = asset[sym]
            for name in regressors.columns:
                both = pd.concat([y, regressors[name]], axis=1).dropna()
                fit = sm.OLS(both.iloc[:, 0], sm.add_constant(both.iloc[:, 1])).fit()
                out[(sym, name)] = (fit.params.iloc[1], fit.bse.iloc[1], fit.rsquared)
        return out

    t_orig = best_of(original, max(1, repeat - 1))
    rows = [{"what": "Factors: statsmodels, 7 univariate OLS per position (original)",
             "n": n_positions, "seconds": t_orig, "per_item_us": t_orig / n_positions * 1e6,
             "unit": "position"}]
    if factors is None:
        rows.append({"what": "Factors: engines/factors.py not present yet (merge main)",
                     "n": n_positions, "seconds": float("nan"), "per_item_us": float("nan"),
                     "unit": "position", "target": 50.0, "speedup": float("nan")})
        return rows

    factor_ret = factors.factor_returns(adj, sessions)
    asset_ret = factors.daily_returns(adj[symbols], sessions)

    def engine():
        factors.factor_exposures(asset_ret, factor_ret, AS_OF)
        factors.interest_rate_betas(adj[symbols], dgs10, sessions, AS_OF)

    t_engine = best_of(engine, repeat)
    rows.append({"what": "Factors: factor_exposures + interest_rate_betas, batched",
                 "n": n_positions, "seconds": t_engine,
                 "per_item_us": t_engine / n_positions * 1e6, "unit": "position",
                 "speedup": t_orig / t_engine, "target": 50.0})
    return rows


# --- warehouse writes -----------------------------------------------------------------------


def position_values_frame(n: int, day: dt.date = AS_OF, seed: int = 3) -> pd.DataFrame:
    """``n`` realistic position_values rows (10 % options, a few flagged)."""
    rng = np.random.default_rng(seed)
    is_opt = rng.random(n) < 0.1
    price = np.round(rng.uniform(5, 600, n), 2)
    qty = rng.choice([-300.0, -50.0, 10.0, 100.0, 450.0], n)
    mult = np.where(is_opt, 100, 1)
    mv = qty * mult * price
    flags = [["stale_price"] if f else [] for f in rng.random(n) < 0.02]
    portfolios = [str(uuid.UUID(int=int(i))) for i in rng.integers(1, 2000, n)]
    return pd.DataFrame({
        "date": day,
        "position_id": [str(uuid.uuid4()) for _ in range(n)],
        "portfolio_id": portfolios,
        "symbol": np.where(is_opt, "ABC250919C00100000", "ABC"),
        "price": price,
        "price_source": np.where(is_opt, "mid", "close"),
        "price_date": day,
        "underlying_price": np.where(is_opt, price * 10, np.nan),
        "market_value": mv,
        "exposure": mv * np.where(is_opt, 0.5, 1.0),
        "notional": np.abs(mv),
        "cost_basis": mv * 0.9,
        "unrealized_pnl": mv * 0.1,
        "flags": flags,
    })


def position_greeks_frame(n: int, day: dt.date = AS_OF) -> pd.DataFrame:
    from benchmarks.bench_greeks import waterfall_inputs
    from sigmasight_pipeline.engines.greeks import compute_position_greeks

    greeks = compute_position_greeks(*waterfall_inputs(n), day).greeks
    greeks = greeks.assign(date=day, position_id=[str(uuid.uuid4()) for _ in range(n)],
                           portfolio_id=[str(uuid.uuid4()) for _ in range(n)])
    return greeks


def bench_writes(workdir: Path, n_rows: int, n_scale: int, repeat: int) -> list[dict]:
    from sqlalchemy import text

    from benchmarks.run_scale import start_warehouse, stop_warehouse
    from sigmasight_pipeline.warehouse.database import get_engine
    from sigmasight_pipeline.warehouse.tables import SCHEMA, position_greeks, position_values
    from sigmasight_pipeline.warehouse.writer import _rows, replace_partition

    home = workdir / "home"
    url = start_warehouse(home)
    engine = get_engine(url)
    try:
        sample = position_values_frame(n_rows)
        columns = [c for c in sample.columns if c in position_values.c]

        def row_by_row():
            with engine.begin() as conn:
                conn.execute(text(f"DELETE FROM {SCHEMA}.position_values WHERE date = :d"),
                             {"d": AS_OF})
                stmt = position_values.insert()
                for row in _rows(position_values, sample, columns):
                    conn.execute(stmt, dict(zip(columns, row, strict=True)))

        def copy_sample():
            with engine.begin() as conn:
                replace_partition(conn, position_values, AS_OF, sample)

        t_orig = best_of(row_by_row, 1)
        t_copy = best_of(copy_sample, repeat)
        rows = [
            {"what": "Writes: one INSERT per row (original)", "n": n_rows, "seconds": t_orig,
             "per_item_us": t_orig / n_rows * 1e6, "unit": "row"},
            {"what": "Writes: replace_partition (lock, COPY, the day's partition swapped)",
             "n": n_rows,
             "seconds": t_copy, "per_item_us": t_copy / n_rows * 1e6, "unit": "row",
             "speedup": t_orig / t_copy, "target": 20.0},
        ]
        for table, frame in ((position_values, position_values_frame(n_scale)),
                             (position_greeks, position_greeks_frame(max(n_scale // 10, 1)))):
            def write(table=table, frame=frame):
                with engine.begin() as conn:
                    replace_partition(conn, table, AS_OF, frame)

            t = best_of(write, repeat)
            rows.append({"what": f"Writes: replace_partition {table.name}, a day at scale",
                         "n": len(frame), "seconds": t, "per_item_us": t / len(frame) * 1e6,
                         "unit": "row", "rows_per_s": len(frame) / t,
                         "rows_per_s_target": 500_000.0})
        return rows
    finally:
        engine.dispose()
        stop_warehouse(home)


# --- output -------------------------------------------------------------------------------


def table(rows: list[dict]) -> str:
    lines = ["| what | n | seconds | µs per item | speed-up | target |",
             "|---|---:|---:|---:|---:|---|"]
    for r in rows:
        speed = f"{r['speedup']:,.0f}×" if r.get("speedup") == r.get("speedup") and \
            r.get("speedup") is not None else ""
        target = ""
        if r.get("target"):
            met = r.get("speedup") is not None and r["speedup"] >= r["target"]
            target = f"≥ {r['target']:,.0f}×: {'met' if met else 'MISSED'}"
        if r.get("rows_per_s_target"):
            met = r["rows_per_s"] >= r["rows_per_s_target"]
            speed = f"{r['rows_per_s']:,.0f} rows/s"
            target = f"≥ {r['rows_per_s_target']:,.0f} rows/s: {'met' if met else 'MISSED'}"
        lines.append(f"| {r['what']} | {r['n']:,} | {r['seconds']:.4f} | "
                     f"{r['per_item_us']:,.2f} /{r['unit']} | {speed} | {target} |")
    return "\n".join(lines)


def run(quick: bool = False, workdir: Path = DEFAULT_WORKDIR, repeat: int = 3,
        echo=print) -> list[dict]:
    rows = []
    echo("side by side: Greeks ...")
    rows += bench_greeks(500 if quick else 2000, 2000 if quick else 10_000, repeat)
    echo("side by side: factor regressions ...")
    rows += bench_factors(100 if quick else 500, repeat)
    echo("side by side: warehouse writes ...")
    rows += bench_writes(workdir, 2000 if quick else 20_000, 10_000 if quick else 100_000,
                         repeat)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small samples (a smoke test)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    args = parser.parse_args()
    print(table(run(args.quick, args.workdir, args.repeat)))


if __name__ == "__main__":
    main()
