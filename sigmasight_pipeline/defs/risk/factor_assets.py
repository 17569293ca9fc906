"""Risk engines II, factor side: factor returns, position factor betas, interest-rate betas,
portfolio factor exposures and the factor covariance (SPEC §5.3-5.5).

Every asset reads its whole range's price history in one query, computes returns once, then
calls the batched engine per day (all positions of all portfolios at once) and replaces the
range's rows in one transaction. Lineage: portfolio_exposures → factor_returns →
position_factor_exposures, position_interest_rate_betas, factor_correlations →
portfolio_factor_exposures.
"""

import datetime as dt
from collections import Counter

import pandas as pd
from dagster import AssetExecutionContext, MaterializeResult, asset

from ...calendar import all_sessions
from ...engines.factors import (
    EQUITY_FACTORS,
    EWMA_WINDOW,
    FACTOR_PROXIES,
    MIN_OBS,
    WINDOW,
    InsufficientHistoryError,
    daily_returns,
    ewma_covariance,
    factor_correlation_rows,
    factor_exposures,
    interest_rate_betas,
)
from ...engines.factors import factor_returns as factor_returns_engine
from ...engines.factors import portfolio_factor_exposures as portfolio_factor_engine
from ...resources import WarehouseResource
from ...warehouse.engine_store import read_days
from ...warehouse.market_data_store import read_yields
from ...warehouse.tables import (
    factor_correlations,
    factor_returns,
    portfolio_factor_exposures,
    position_factor_exposures,
    position_interest_rate_betas,
    position_values,
)
from ...warehouse.writer import replace_partition
from ..common import (
    DAILY,
    DayMetadata,
    issue_counts,
    partition_days,
    portfolio_names,
    write_issues,
)
from ..market_data.assets import market_prices_asset
from .assets import GROUP, _concat, _preview, portfolio_exposures_asset, position_values_asset
from .inputs import beta_symbols, load_range

#: sessions of prices loaded before the first day: 252 EWMA returns need 253 closes
HISTORY_LOOKBACK = EWMA_WINDOW + 1


def _history(conn, days: list[dt.date]):
    """Positions, price history and simple daily returns (dates × symbols) for the range."""
    inputs = load_range(conn, days, lookback=HISTORY_LOOKBACK)
    returns = daily_returns(inputs.adj_close_wide(), all_sessions())
    return inputs, returns


def _valued_positions(conn, days: list[dt.date], positions: pd.DataFrame) -> pd.DataFrame:
    """position_values rows of ``days`` with each position's beta symbol."""
    values = read_days(conn, position_values, days)
    return values.merge(beta_symbols(positions), on="position_id", how="left")


def _insufficient_issues(rows: pd.DataFrame, asset: str, what: str) -> pd.DataFrame:
    """One data-quality row per position whose regression had too little history."""
    short = rows[rows["quality"] == "insufficient_history"].drop_duplicates(
        ["date", "position_id"])
    if short.empty:
        return pd.DataFrame()
    return pd.DataFrame({
        "date": short["date"], "portfolio_id": short["portfolio_id"],
        "position_id": short["position_id"], "symbol": short["beta_symbol"],
        "code": "insufficient_history", "severity": "warning",
        "message": [f"{s}: {n} usable daily returns in the last {WINDOW} sessions (need "
                    f"{MIN_OBS}); {what} left NULL, scenarios use Market beta 1 (beta_defaulted)"
                    for s, n in zip(short["beta_symbol"], short["n_obs"], strict=True)],
    })


def _per_position(valued: pd.DataFrame, per_symbol):
    """A day → rows function: that day's valued positions, each joined to the result of
    ``per_symbol(symbols, day)`` (one row per beta symbol, or per symbol and factor)."""
    by_day = {pd.Timestamp(d).date(): held for d, held in valued.groupby("date")}

    def rows_for_day(day: dt.date) -> pd.DataFrame:
        held = by_day.get(day)
        if held is None or held.empty:
            return pd.DataFrame()
        result = per_symbol(sorted(held["beta_symbol"].unique()), day)
        return held[["date", "position_id", "portfolio_id", "beta_symbol"]].merge(
            result, left_on="beta_symbol", right_on="symbol")

    return rows_for_day


def _write_day_by_day(engine, table, days: list[dt.date], rows_for_day, asset: str, what: str,
                      meta: DayMetadata | None = None):
    """Compute and write ``table`` one day at a time inside ONE transaction.

    The range stays atomic (all days commit together or none), but memory holds a day of
    rows, not a range: a year of factor betas for 10,000 positions is 15 million rows.
    Returns (rows written, data-quality issues, the last day's rows, positions by quality);
    each day's rows and data-quality counts go to ``meta`` (recorded here).
    """
    written, issue_frames, last, quality = 0, [], pd.DataFrame(), Counter()
    with engine.begin() as conn:
        for day in days:
            rows = rows_for_day(day)
            n = replace_partition(conn, table, day, rows)
            written += n
            if meta is not None:
                meta.add(day, rows_written=n)
            if len(rows):
                issue_frames.append(_insufficient_issues(rows, asset, what))
                quality.update(rows.drop_duplicates("position_id")["quality"])
                last = rows
        issues = _concat(issue_frames) if issue_frames else pd.DataFrame()
        write_issues(conn, asset, days, issues)
    if meta is not None:
        meta.issues(issues).record()
    return written, issues, last, dict(quality)


# factor_returns reads only the proxy ETFs' prices: it depends on market_prices, not on any
# portfolio asset (it used to hang off portfolio_exposures, which told a user nothing).
@asset(name="factor_returns", group_name=GROUP, kinds={"postgres", "pandas"},
       deps=[market_prices_asset],
       description="Daily returns of the six equity factors from ETF proxies: Market = SPY, "
                   "Value = VTV − VUG, Size = IWM − SPY, Momentum = MTUM − SPY, Quality = "
                   "QUAL − SPY, Low Volatility = USMV − SPY; simple returns of adj_close "
                   "(sigmasight.factor_returns).", **DAILY)
def factor_returns_asset(context: AssetExecutionContext, warehouse: WarehouseResource
                         ) -> MaterializeResult:
    days = partition_days(context)
    engine = warehouse.engine()
    with engine.connect() as conn:
        inputs = load_range(conn, days, lookback=2)
    factors = factor_returns_engine(inputs.adj_close_wide(), all_sessions())
    on_days = factors.reindex(days)
    rows = (on_days.rename_axis("date").reset_index()
            .melt(id_vars="date", var_name="factor", value_name="daily_return"))
    missing = rows[rows["daily_return"].isna()]
    issues = pd.DataFrame({
        "date": missing["date"], "symbol": [_proxy_text(f) for f in missing["factor"]],
        "code": "missing_price", "severity": "error",
        "message": [f"no {f} factor return on {d}: a proxy ETF ({_proxy_text(f)}) lacks the "
                    "close of that day or of the session before; the factor is left out"
                    for f, d in zip(missing["factor"], missing["date"], strict=True)],
    })
    rows = rows.dropna(subset=["daily_return"])
    with engine.begin() as conn:
        written = replace_partition(conn, factor_returns, days, rows)
        write_issues(conn, "factor_returns", days, issues)
    DayMetadata(context).rows(rows).issues(issues).record()
    return MaterializeResult(metadata={
        "rows_written": written, "data_quality": issue_counts(issues),
        "preview": _preview(rows.pivot(index="date", columns="factor", values="daily_return")
                            .reset_index() if written else rows, ["date", *EQUITY_FACTORS]
                            if written else ["date"]),
    })


def _proxy_text(factor: str) -> str:
    long, short = FACTOR_PROXIES[factor]
    return long if short is None else f"{long}/{short}"


@asset(name="position_factor_exposures", group_name=GROUP, kinds={"postgres", "numpy"},
       deps=[factor_returns_asset, position_values_asset],
       description="Betas of every valued position to the six equity factors: joint OLS with an "
                   "intercept over the last 150 daily returns (at least 60), solved for all "
                   "positions at once; options take their underlying's betas; |beta| capped at 3 "
                   "(sigmasight.position_factor_exposures).", **DAILY)
def position_factor_exposures_asset(context: AssetExecutionContext, warehouse: WarehouseResource
                                    ) -> MaterializeResult:
    days = partition_days(context)
    engine = warehouse.engine()
    with engine.connect() as conn:
        inputs, returns = _history(conn, days)
        valued = _valued_positions(conn, days, inputs.positions)
    factors = factor_returns_engine(inputs.adj_close_wide(), all_sessions())
    rows_for_day = _per_position(valued, lambda symbols, day: factor_exposures(
        returns.reindex(columns=symbols), factors, day))
    written, issues, last, quality = _write_day_by_day(
        engine, position_factor_exposures, days, rows_for_day, "position_factor_exposures",
        "factor betas", DayMetadata(context))
    return MaterializeResult(metadata={
        "rows_written": written, "position_days_by_quality": quality,
        "data_quality": issue_counts(issues),
        "preview": _preview(last, ["date", "beta_symbol", "factor", "beta", "std_err", "t_stat",
                                   "r_squared", "n_obs", "quality"]),
    })


@asset(name="position_interest_rate_betas", group_name=GROUP, kinds={"postgres", "numpy"},
       deps=[factor_returns_asset, position_values_asset],
       description="Each valued position's (underlying's) daily return regressed on the daily "
                   "change of DGS10 in percentage points: return per +1 pp "
                   "(sigmasight.position_interest_rate_betas).", **DAILY)
def position_interest_rate_betas_asset(context: AssetExecutionContext,
                                       warehouse: WarehouseResource) -> MaterializeResult:
    days = partition_days(context)
    engine = warehouse.engine()
    with engine.connect() as conn:
        inputs = load_range(conn, days, lookback=HISTORY_LOOKBACK)
        valued = _valued_positions(conn, days, inputs.positions)
        start = inputs.prices["date"].min() if len(inputs.prices) else days[0]
        yields = read_yields(conn, "DGS10", start, days[-1])
    dgs10 = pd.Series(yields["value"].to_numpy(dtype=float), index=list(yields["date"]))
    prices = inputs.adj_close_wide()
    rows_for_day = _per_position(valued, lambda symbols, day: interest_rate_betas(
        prices.reindex(columns=symbols), dgs10, all_sessions(), day))
    written, issues, last, _ = _write_day_by_day(
        engine, position_interest_rate_betas, days, rows_for_day,
        "position_interest_rate_betas", "the rate beta", DayMetadata(context))
    return MaterializeResult(metadata={
        "rows_written": written, "data_quality": issue_counts(issues),
        "preview": _preview(last, ["date", "beta_symbol", "ir_beta", "std_err", "r_squared",
                                   "n_obs", "quality"]),
    })


@asset(name="portfolio_factor_exposures", group_name=GROUP, kinds={"postgres", "pandas"},
       deps=[position_factor_exposures_asset, position_interest_rate_betas_asset,
             portfolio_exposures_asset],
       description="Per portfolio: dollar exposure to each equity factor (Σ exposure × beta), "
                   "beta per dollar of gross exposure, coverage; plus Rate in $ per +1 pp of "
                   "DGS10 (sigmasight.portfolio_factor_exposures).", **DAILY)
def portfolio_factor_exposures_asset(context: AssetExecutionContext,
                                     warehouse: WarehouseResource) -> MaterializeResult:
    days = partition_days(context)
    engine = warehouse.engine()
    frames = []
    with engine.connect() as conn:
        names = portfolio_names(conn)
        for day in days:  # per day: a year of position betas can be tens of millions of rows
            held = read_days(conn, position_values, day)
            if held.empty:
                continue
            # Betas are stored per position, so the position id is the key joining them.
            book = held[["position_id", "portfolio_id", "exposure"]].assign(
                beta_symbol=held["position_id"])
            day_betas = read_days(conn, position_factor_exposures, day).rename(
                columns={"position_id": "symbol"})
            day_ir = read_days(conn, position_interest_rate_betas, day).rename(
                columns={"position_id": "symbol"})
            frames.append(portfolio_factor_engine(book, day_betas, day_ir).assign(date=day))
    rows = _concat(frames)
    with engine.begin() as conn:
        written = replace_partition(conn, portfolio_factor_exposures, days, rows)
    columns = ["date", "portfolio_id", "factor", "beta", "dollar_exposure", "coverage"]
    DayMetadata(context).rows(rows, columns, names, n=14).record()
    return MaterializeResult(metadata={
        "rows_written": written, "preview": _preview(rows, columns, n=14, names=names)})


@asset(name="factor_correlations", group_name=GROUP, kinds={"postgres", "numpy"},
       deps=[factor_returns_asset],
       description="Zero-mean exponentially weighted covariance (λ = 0.94, last 252 returns, "
                   "daily scale) and correlation of the six equity factors, every ordered pair "
                   "(sigmasight.factor_correlations).", **DAILY)
def factor_correlations_asset(context: AssetExecutionContext, warehouse: WarehouseResource
                              ) -> MaterializeResult:
    days = partition_days(context)
    engine = warehouse.engine()
    with engine.connect() as conn:
        inputs = load_range(conn, days, lookback=HISTORY_LOOKBACK)
    factors = factor_returns_engine(inputs.adj_close_wide(), all_sessions())
    frames, problems = [], []
    for day in days:
        try:
            cov, n_obs = ewma_covariance(factors, day)
        except InsufficientHistoryError as exc:
            problems.append({"date": day, "code": "insufficient_history", "severity": "warning",
                             "message": f"{exc}; no factor covariance, stress tests use direct "
                                        "shocks only"})
            continue
        frames.append(factor_correlation_rows(cov, n_obs).assign(date=day))
    rows, issues = _concat(frames), pd.DataFrame(problems)
    with engine.begin() as conn:
        written = replace_partition(conn, factor_correlations, days, rows)
        write_issues(conn, "factor_correlations", days, issues)
    DayMetadata(context).rows(rows).issues(issues).record()
    last = rows[rows["date"] == rows["date"].max()] if written else rows
    return MaterializeResult(metadata={
        "rows_written": written, "data_quality": issue_counts(issues),
        "correlation_matrix": _preview(
            last.pivot(index="factor_a", columns="factor_b", values="correlation")
            .reindex(index=EQUITY_FACTORS, columns=EQUITY_FACTORS).reset_index()
            if written else last, ["factor_a", *EQUITY_FACTORS] if written else ["date"]),
    })

