"""Portfolio risk II: P&L attribution, VaR backtests, performance and volatility
(SPEC §7.6-7.8).

Thin assets: read the run's days (and the history their windows need) once, call the pure
engines in ``engines/attribution.py``, ``backtest.py``, ``performance.py`` and
``volatility.py``, replace the days' rows atomically. Lineage: portfolio_snapshots →
pnl_attribution → var_backtests (with portfolio_var); portfolio_snapshots →
portfolio_performance, portfolio_volatility.
"""

import datetime as dt

import numpy as np
import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    MaterializeResult,
    asset,
    asset_check,
    multi_asset,
)

from ...calendar import all_sessions, previous_trading_day, sessions_back
from ...engines.attribution import pnl_attribution as attribution_engine
from ...engines.backtest import WINDOW
from ...engines.backtest import var_backtests as backtest_engine
from ...engines.factors import daily_returns
from ...engines.performance import compact_right
from ...engines.performance import portfolio_performance as performance_engine
from ...engines.snapshots import position_pnl
from ...engines.volatility import portfolio_volatility as volatility_engine
from ...resources import WarehouseResource
from ...warehouse.engine_store import (
    DayChunks,
    last_values_before,
    read_days,
    read_snapshot_history,
    read_var_history,
)
from ...warehouse.market_data_store import read_prices, read_yields
from ...warehouse.positions_store import read_portfolios
from ...warehouse.tables import (
    factor_returns,
    pnl_attribution,
    portfolio_performance,
    portfolio_volatility,
    position_greeks,
    position_values,
    security_factor_exposures,
    security_rate_betas,
    var_backtests,
)
from ...warehouse.writer import replace_partition
from ..common import DAILY, DAILY_CHECK, DayMetadata, partition_days
from ..market_data.assets import market_prices_asset, treasury_yields_asset
from .assets import GROUP, _concat, _preview, portfolio_snapshots_asset
from .checks import _days, _query, _result
from .factor_assets import factor_returns_asset, security_rate_betas_asset
from .inputs import beta_symbols, load_range

#: the backtest reads the VaR written by Portfolio risk I (SPEC §7.5)
PORTFOLIO_VAR = AssetKey("portfolio_var")
#: components must add up to the snapshot's daily_pnl to this many dollars (SPEC §7.7)
ATTRIBUTION_TOL = 1e-6


def _portfolio_ids(conn) -> list[str]:
    return read_portfolios(conn)["portfolio_id"].astype(str).tolist()


# --- P&L attribution ------------------------------------------------------------------------

def _rate_change(dgs10: pd.Series, day: dt.date) -> float:
    """DGS10 change in pp on ``day`` from the last earlier day with a value; 0 without one
    on ``day`` (the next change then runs from the last day with one, SPEC §7.1)."""
    if day not in dgs10.index:
        return 0.0
    earlier = dgs10[dgs10.index < day]
    return float(dgs10[day] - earlier.iloc[-1]) if len(earlier) else 0.0


@asset(name="pnl_attribution", group_name=GROUP, kinds={"postgres", "numpy"},
       deps=[portfolio_snapshots_asset, factor_returns_asset, "security_factor_exposures",
             security_rate_betas_asset, treasury_yields_asset],
       description="Each portfolio's daily P&L split into the six factors, Rate, Specific, the "
                   "options' Gamma, Theta, Vega and residual, and Trading (entry/exit-day P&L), "
                   "with the previous day's exposures, betas and Greeks; the components sum to "
                   "portfolio_snapshots.daily_pnl (sigmasight.pnl_attribution).", **DAILY)
def pnl_attribution_asset(context: AssetExecutionContext, warehouse: WarehouseResource
                          ) -> MaterializeResult:
    days = partition_days(context)
    engine = warehouse.engine()
    with engine.connect() as conn:
        inputs = load_range(conn, days)
        ports = _portfolio_ids(conn)
        dgs = read_yields(conn, "DGS10", days[0] - dt.timedelta(days=15), days[-1])
        first_snaps = read_snapshot_history(conn, days[-1], ["date"]).groupby(
            "portfolio_id")["date"].min()
    dgs10 = pd.Series(dgs["value"].to_numpy(dtype=float), index=list(dgs["date"]))
    adj = inputs.adj_close_wide()
    frames = []
    # a chunk of days per query, only the columns used; t−1 asked first, as it may end the
    # previous chunk. Betas per symbol (SPEC §7.1: 6,000 rows a day where the position view
    # has 600,000), joined through each position's beta symbol by the engine.
    first_prev = previous_trading_day(days[0])
    read_values = DayChunks(position_values, days, before=first_prev)
    read_greeks = DayChunks(position_greeks, days, [
        "date", "position_id", "underlying_price", "implied_vol", "gamma", "theta", "vega"],
        before=first_prev)
    read_betas = DayChunks(security_factor_exposures, days, ["date", "symbol", "factor", "beta"])
    read_rate_betas = DayChunks(security_rate_betas, days, ["date", "symbol", "ir_beta"])
    read_factors = DayChunks(factor_returns, days, ["date", "factor", "daily_return"])

    for day in days:
        prev = previous_trading_day(day)
        with engine.connect() as conn:
            prev_values, prev_greeks = read_values(conn, prev), read_greeks(conn, prev)
            values, greeks = read_values(conn, day), read_greeks(conn, day)
            betas = read_betas(conn, prev)
            rate_betas = read_rate_betas(conn, prev)
            factors = read_factors(conn, day)
            # positions back after days without a value: the move since their last one,
            # exactly as the snapshot books it
            unseen = sorted(set(values["position_id"]) - set(prev_values["position_id"]))
            last_values = last_values_before(conn, unseen, prev)
        # the positions on each day's terms after splits (SPEC §8), as the snapshot and the
        # Greeks of those days value them: P&L on t's terms, Greeks and exposures on t−1's
        on_prev = inputs.positions_on(prev)
        positions = on_prev.merge(beta_symbols(on_prev), on="position_id")
        has_prev = len(inputs.prices) and prev >= inputs.prices["date"].min()
        prev_closes = inputs.closes(prev) if has_prev else None
        pnl = position_pnl(day, prev, inputs.positions_on(day), values, prev_values,
                           prev_closes, inputs.closes(day), last_values)
        # a portfolio's first snapshot books no P&L (SPEC §5.8): nothing to attribute
        started = {p for p, first in first_snaps.items() if first < day}
        pnl = pnl[pnl["portfolio_id"].isin(started)]
        moves = (adj.loc[day] / adj.loc[prev] - 1.0) if day in adj.index and prev in adj.index \
            else pd.Series(dtype=float)
        frames.append(attribution_engine(
            ports, pnl, positions, prev_values, betas, rate_betas,
            dict(zip(factors["factor"], factors["daily_return"], strict=True)),
            _rate_change(dgs10, day), moves, prev_greeks, greeks, (day - prev).days,
        ).assign(date=day))
    rows = _concat(frames)
    with engine.begin() as conn:
        written = replace_partition(conn, pnl_attribution, days, rows)
    last = rows[rows["date"] == days[-1]] if written else rows
    DayMetadata(context).rows(rows).record()
    return MaterializeResult(metadata={
        "rows_written": written,
        "preview": _preview(last.pivot_table(index="component", values="pnl", aggfunc="sum")
                            .reset_index() if written else last,
                            ["component", "pnl"] if written else ["date"], n=13),
    })


@asset_check(asset=pnl_attribution_asset, blocking=True, **DAILY_CHECK,
             description="Per portfolio and day the attribution components sum to "
                         "portfolio_snapshots.daily_pnl within $1e-6.")
def attribution_sums_to_daily_pnl(context: AssetCheckExecutionContext,
                                  warehouse: WarehouseResource):
    days = _days(context)
    rows = _query(warehouse, """
        SELECT s.date, s.portfolio_id::text AS portfolio_id, s.daily_pnl,
               coalesce(a.total, 'NaN'::float8) AS attributed
          FROM sigmasight.portfolio_snapshots s
          LEFT JOIN (SELECT date, portfolio_id, sum(pnl) AS total
                       FROM sigmasight.pnl_attribution WHERE date = ANY(:days)
                      GROUP BY date, portfolio_id) a
                 ON a.date = s.date AND a.portfolio_id = s.portfolio_id
         WHERE s.date = ANY(:days)""", days)
    gap = np.abs(rows["attributed"].to_numpy(dtype=float) - rows["daily_pnl"].to_numpy(
        dtype=float))
    bad = rows.assign(difference=gap).loc[~(gap <= ATTRIBUTION_TOL)]  # NaN: no attribution
    yield from _result(context, bad, rows, f"portfolio-days whose components miss daily_pnl "
                                           f"by more than ${ATTRIBUTION_TOL:g}")


# --- VaR backtests ----------------------------------------------------------------------------

@asset(name="var_backtests", group_name=GROUP, kinds={"postgres", "numpy"},
       deps=[PORTFOLIO_VAR, pnl_attribution_asset, portfolio_snapshots_asset],
       description="Over the last 250 observations, per portfolio, VaR method, confidence and "
                   "P&L type (actual = daily_pnl, hypothetical = without the trading P&L): "
                   "exceptions against the previous session's 1-day VaR, Kupiec POF, "
                   "Christoffersen independence and conditional coverage, and the Basel "
                   "traffic light at 99 % (sigmasight.var_backtests).", **DAILY)
def var_backtests_asset(context: AssetExecutionContext, warehouse: WarehouseResource
                        ) -> MaterializeResult:
    days = partition_days(context)
    engine = warehouse.engine()
    start = sessions_back(days[0], WINDOW + 1)[0]
    with engine.connect() as conn:
        ports = _portfolio_ids(conn)
        snaps = read_snapshot_history(conn, days[-1], ["date", "daily_pnl"])
        trading = read_days(conn, pnl_attribution,
                            [d.date() for d in all_sessions()
                             if start <= d.date() <= days[-1]], component="Trading")
        var = read_var_history(conn, start, days[-1])
    pnl = _backtest_pnl(snaps, trading)
    pnl = pnl[pnl["date"] >= start]
    frames = []
    for day in days:
        sessions = sessions_back(day, WINDOW + 1)
        # rows outside the day's window (later days included) are ignored by the engine
        frames.append(backtest_engine(sessions, ports, pnl, var).assign(date=day))
    rows = _concat(frames)
    with engine.begin() as conn:
        written = replace_partition(conn, var_backtests, days, rows)
    last = rows[(rows["date"] == days[-1]) & (rows["confidence"] == 0.99)] if written else rows
    DayMetadata(context).rows(rows).record()
    return MaterializeResult(metadata={
        "rows_written": written,
        "zones_99": last["zone"].value_counts().to_dict() if written else {},
        "preview": _preview(last, ["portfolio_id", "method", "pnl_type", "observations",
                                   "exceptions", "kupiec_p", "cc_p", "zone"], n=12),
    })


def _backtest_pnl(snaps: pd.DataFrame, trading: pd.DataFrame) -> pd.DataFrame:
    """(date, portfolio_id, pnl_type, pnl): actual = daily_pnl, hypothetical = daily_pnl −
    Trading, on every snapshot but each portfolio's first (which books no P&L)."""
    first = snaps.groupby("portfolio_id")["date"].transform("min")
    actual = snaps.loc[snaps["date"] > first, ["date", "portfolio_id", "daily_pnl"]]
    trade = trading.assign(portfolio_id=trading["portfolio_id"].astype(str))[
        ["date", "portfolio_id", "pnl"]].rename(columns={"pnl": "trading"})
    both = actual.merge(trade, on=["date", "portfolio_id"], how="left")
    # without an attribution row the hypothetical P&L is unknown (NaN: not an observation)
    hypothetical = both["daily_pnl"] - both["trading"]
    return pd.concat([
        both[["date", "portfolio_id"]].assign(pnl_type="actual", pnl=both["daily_pnl"]),
        both[["date", "portfolio_id"]].assign(pnl_type="hypothetical", pnl=hypothetical),
    ], ignore_index=True)


# --- performance and volatility -----------------------------------------------------------------

@multi_asset(
    specs=[
        AssetSpec("portfolio_performance", group_name=GROUP, kinds={"postgres", "numpy"},
                  deps=[portfolio_snapshots_asset, market_prices_asset, treasury_yields_asset],
                  description="Annualized return and volatility, Sharpe, Sortino, maximum "
                              "drawdown (with dates), Calmar, best/worst day, hit ratio and "
                              "beta, correlation, tracking error and information ratio "
                              "against SPY, for the last 21, 63, 252 returns and since "
                              "inception (sigmasight.portfolio_performance)."),
        AssetSpec("portfolio_volatility", group_name=GROUP, kinds={"postgres", "numpy"},
                  deps=[portfolio_snapshots_asset],
                  description="Annualized realized volatility (21 and 63 days), EWMA "
                              "(λ = 0.94), a HAR forecast of tomorrow's and the 1-year "
                              "percentile of the 21-day realized "
                              "(sigmasight.portfolio_volatility)."),
    ],
    **DAILY,
)
def performance_assets(context: AssetExecutionContext, warehouse: WarehouseResource):
    days = partition_days(context)
    engine = warehouse.engine()
    with engine.connect() as conn:
        ports = _portfolio_ids(conn)
        snaps = read_snapshot_history(conn, days[-1], ["date", "daily_return"])
        start = snaps["date"].min() if len(snaps) else days[0]
        lookback = previous_trading_day(start)
        spy = read_prices(conn, ["SPY"], lookback, days[-1])
        rf = read_yields(conn, "DGS3MO", lookback - dt.timedelta(days=15), days[-1])
    returns = snaps.pivot(index="date", columns="portfolio_id", values="daily_return") \
        .reindex(columns=ports).sort_index() if len(snaps) else pd.DataFrame(columns=ports)
    spy_wide = spy.pivot(index="date", columns="symbol", values="adj_close")
    spy_r = daily_returns(spy_wide, all_sessions())["SPY"] if "SPY" in spy_wide else \
        pd.Series(dtype=float)
    rf_s = pd.Series(rf["value"].to_numpy(dtype=float), index=list(rf["date"]))
    perf_frames, vol_frames = [], []
    for day in days:
        window = returns.loc[returns.index <= day]
        if window.empty:
            window = pd.DataFrame(np.nan, index=[day], columns=ports)
        # DGS3MO of each day, carried forward over days without a value
        rf_day = rf_s.reindex(rf_s.index.union(window.index)).sort_index().ffill() \
            .reindex(window.index)
        perf_frames.append(performance_engine(window, rf_day, spy_r).assign(date=day))
        compacted, _ = compact_right(window.to_numpy(dtype=float).T)
        vol_frames.append(volatility_engine(compacted, window.columns).assign(date=day))
    perf, vol = _concat(perf_frames), _concat(vol_frames)
    with engine.begin() as conn:
        n_perf = replace_partition(conn, portfolio_performance, days, perf)
        n_vol = replace_partition(conn, portfolio_volatility, days, vol)
    last_perf = perf[perf["date"] == days[-1]]
    DayMetadata(context, asset_key="portfolio_performance").rows(perf).record()
    DayMetadata(context, asset_key="portfolio_volatility").rows(vol).record()
    yield MaterializeResult(asset_key="portfolio_performance", metadata={
        "rows_written": n_perf,
        "preview": _preview(last_perf, ["portfolio_id", "period", "n_obs", "annualized_return",
                                        "annualized_vol", "sharpe", "max_drawdown"], n=12),
    })
    yield MaterializeResult(asset_key="portfolio_volatility", metadata={
        "rows_written": n_vol,
        "preview": _preview(vol[vol["date"] == days[-1]],
                            ["portfolio_id", "realized_21d", "realized_63d", "ewma_vol",
                             "har_forecast", "realized_21d_percentile", "n_obs"]),
    })
