"""Risk engines II, factor side: factor returns, position factor betas, interest-rate betas,
portfolio factor exposures and the factor covariance (SPEC §5.3-5.5).

Every asset reads its whole range's price history in one query, computes returns once, then
calls the batched engine per day (every symbol the day's positions need at once) and replaces
the range's rows in one transaction. Betas, rate betas and specific risk are stored once per
symbol and day (SPEC §7.1); the per-position tables of §4 are views over them. Lineage:
portfolio_exposures → factor_returns → security_factor_exposures (+ security_specific_risk),
security_rate_betas, factor_correlations → portfolio_factor_exposures.
"""

import datetime as dt
from collections import Counter

import pandas as pd
from dagster import AssetExecutionContext, AssetSpec, MaterializeResult, asset, multi_asset

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
    factor_model,
    interest_rate_betas,
)
from ...engines.factors import factor_returns as factor_returns_engine
from ...engines.factors import portfolio_factor_exposures as portfolio_factor_engine
from ...resources import WarehouseResource
from ...warehouse.engine_store import read_days
from ...warehouse.market_data_store import read_yields
from ...warehouse.positions_store import BETA_SYMBOL_COLUMNS, read_positions
from ...warehouse.tables import (
    factor_correlations,
    factor_returns,
    portfolio_factor_exposures,
    position_values,
    security_factor_exposures,
    security_rate_betas,
    security_specific_risk,
)
from ...warehouse.writer import replace_partition
from ..common import (
    DAILY,
    DayMetadata,
    DayWrites,
    issue_counts,
    partition_days,
    portfolio_names,
    write_issues,
)
from ..market_data.assets import market_prices_asset
from .assets import GROUP, _concat, _preview, portfolio_exposures_asset, position_values_asset
from .inputs import ADJ_CLOSE_COLUMNS, beta_symbols, load_range

#: sessions of prices loaded before the first day: 252 EWMA returns need 253 closes
HISTORY_LOOKBACK = EWMA_WINDOW + 1
#: the ETFs the factor returns are built from (SPEC §5.3): all the factor assets read
PROXY_SYMBOLS = sorted({s for pair in FACTOR_PROXIES.values() for s in pair if s})


def _history(conn, days: list[dt.date]):
    """Positions, price history and simple daily returns (dates × symbols) for the range."""
    inputs = load_range(conn, days, lookback=HISTORY_LOOKBACK, price_columns=ADJ_CLOSE_COLUMNS,
                        position_columns=BETA_SYMBOL_COLUMNS)
    returns = daily_returns(inputs.adj_close_wide(), all_sessions())
    return inputs, returns


def _valued_positions(conn, days: list[dt.date], positions: pd.DataFrame) -> pd.DataFrame:
    """(date, position_id, portfolio_id) of the position_values rows of ``days``, with each
    position's beta symbol."""
    values = read_days(conn, position_values, days, ["date", "position_id", "portfolio_id"])
    return values.merge(beta_symbols(positions), on="position_id", how="left")


def _insufficient_issues(held: pd.DataFrame, symbol_rows: pd.DataFrame, what: str,
                        instead: str) -> pd.DataFrame:
    """One data-quality row per held position whose symbol's regression had too little
    history (the position, portfolio and symbol named; the estimate is stored per symbol)."""
    short = symbol_rows.loc[symbol_rows["quality"] == "insufficient_history",
                            ["symbol", "n_obs"]].drop_duplicates("symbol")
    short = held.merge(short, left_on="beta_symbol", right_on="symbol")
    if short.empty:
        return pd.DataFrame()
    return pd.DataFrame({
        "date": short["date"], "portfolio_id": short["portfolio_id"],
        "position_id": short["position_id"], "symbol": short["beta_symbol"],
        "code": "insufficient_history", "severity": "warning",
        "message": [f"{s}: {n} usable daily returns in the last {WINDOW} sessions (need "
                    f"{MIN_OBS}); {what} left NULL, {instead}"
                    for s, n in zip(short["beta_symbol"], short["n_obs"], strict=True)],
    })


#: what the pipeline does instead of a missing estimate (said in the data-quality row)
_BETA_INSTEAD = "scenarios and VaR use Market beta 1, others 0 (beta_defaulted)"
_RATE_INSTEAD = ("a missing rate beta contributes $0 to rate scenarios and to the Rate "
                 "exposure (ir_beta_missing)")


def _held_by_day(valued: pd.DataFrame) -> dict[dt.date, pd.DataFrame]:
    """date → that day's valued positions (date, position_id, portfolio_id, beta_symbol)."""
    cols = ["date", "position_id", "portfolio_id", "beta_symbol"]
    return {pd.Timestamp(d).date(): held[cols] for d, held in valued.groupby("date")}


def _write_security_days(engine, days: list[dt.date], valued: pd.DataFrame, per_symbol,
                         asset: str, context=None) -> tuple[dict, pd.DataFrame, dict]:
    """Per day: ``per_symbol(symbols, day)`` → {table: rows} for the symbols the day's held
    positions need (an option's underlying, a stock itself), plus that day's issues; every
    table written a day at a time inside ONE transaction (the range is atomic, memory holds
    a day). Returns (rows written per table name, issues, the last day's rows per table);
    with ``context``, each day's own rows written (and the first table's data-quality counts)
    go on that day's partition of each table's asset (DayMetadata)."""
    held_by_day = _held_by_day(valued)
    writes, issue_frames = DayWrites(per_symbol.tables), []
    with engine.begin() as conn:
        for day in days:
            held = held_by_day.get(day)
            symbols = [] if held is None else sorted(held["beta_symbol"].dropna().unique())
            tables, issues = per_symbol(symbols, day, held) if symbols else ({}, None)
            for table in per_symbol.tables:  # nothing held: the day's old rows go too
                writes.replace(conn, table, day, tables.get(table, pd.DataFrame()))
            if issues is not None and len(issues):
                issue_frames.append(issues)
        issues = _concat(issue_frames) if issue_frames else pd.DataFrame()
        write_issues(conn, asset, days, issues)
    if context is not None:
        writes.record(context, issues)
    return dict(writes.written), issues, writes.last


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
        inputs = load_range(conn, days, lookback=2, symbols=PROXY_SYMBOLS,
                            price_columns=ADJ_CLOSE_COLUMNS)
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


class _PerSymbol:
    """A day's per-symbol computation for :func:`_write_security_days` and its tables."""

    def __init__(self, tables, compute):
        self.tables, self._compute = tables, compute

    def __call__(self, symbols, day, held):
        return self._compute(symbols, day, held)


@multi_asset(
    name="security_factor_model", group_name=GROUP,
    specs=[
        AssetSpec("security_factor_exposures", group_name=GROUP,
                  kinds={"postgres", "numpy"}, deps=["factor_returns", "position_values"],
                  description="Betas of every symbol a valued position needs (its own symbol, "
                              "an option's underlying) to the six equity factors, once per "
                              "symbol and day: joint OLS with an intercept over the last 150 "
                              "daily returns (at least 60); |beta| capped at 3 "
                              "(sigmasight.security_factor_exposures; per position: the view "
                              "sigmasight.position_factor_exposures)."),
        AssetSpec("security_specific_risk", group_name=GROUP,
                  kinds={"postgres", "numpy"}, deps=["factor_returns", "position_values"],
                  description="Daily specific (residual) volatility of each symbol's factor "
                              "regression, √(RSS / (n − 7)) (sigmasight.security_specific_risk)."),
    ], **DAILY)
def security_factor_model_asset(context: AssetExecutionContext, warehouse: WarehouseResource):
    days = partition_days(context)
    engine = warehouse.engine()
    with engine.connect() as conn:
        inputs, returns = _history(conn, days)
        valued = _valued_positions(conn, days, inputs.positions)
    factors = factor_returns_engine(inputs.adj_close_wide(), all_sessions())

    def compute(symbols, day, held):
        betas, specific = factor_model(returns.reindex(columns=symbols), factors, day)
        return ({security_factor_exposures: betas, security_specific_risk: specific},
                _insufficient_issues(held, specific, "factor betas and specific risk",
                                     _BETA_INSTEAD))

    written, issues, last = _write_security_days(
        engine, days, valued,
        _PerSymbol((security_factor_exposures, security_specific_risk), compute),
        "security_factor_exposures", context)
    betas = last.get("security_factor_exposures", pd.DataFrame())
    quality = (dict(Counter(betas.drop_duplicates("symbol")["quality"])) if len(betas) else {})
    yield MaterializeResult(asset_key="security_factor_exposures", metadata={
        "rows_written": written.get("security_factor_exposures", 0),
        "symbols_by_quality_last_day": quality, "data_quality": issue_counts(issues),
        "preview": _preview(betas, ["date", "symbol", "factor", "beta", "std_err", "t_stat",
                                    "r_squared", "n_obs", "quality"]),
    })
    yield MaterializeResult(asset_key="security_specific_risk", metadata={
        "rows_written": written.get("security_specific_risk", 0),
        "preview": _preview(last.get("security_specific_risk", pd.DataFrame()),
                            ["date", "symbol", "specific_vol", "n_obs", "quality"]),
    })


@asset(name="security_rate_betas", group_name=GROUP, kinds={"postgres", "numpy"},
       deps=[factor_returns_asset, position_values_asset],
       description="Each symbol a valued position needs: daily return regressed on the daily "
                   "change of DGS10 in percentage points, return per +1 pp, once per symbol "
                   "and day (sigmasight.security_rate_betas; per position: the view "
                   "sigmasight.position_interest_rate_betas).", **DAILY)
def security_rate_betas_asset(context: AssetExecutionContext,
                              warehouse: WarehouseResource) -> MaterializeResult:
    days = partition_days(context)
    engine = warehouse.engine()
    with engine.connect() as conn:
        inputs = load_range(conn, days, lookback=HISTORY_LOOKBACK,
                            price_columns=ADJ_CLOSE_COLUMNS, position_columns=BETA_SYMBOL_COLUMNS)
        valued = _valued_positions(conn, days, inputs.positions)
        start = inputs.prices["date"].min() if len(inputs.prices) else days[0]
        yields = read_yields(conn, "DGS10", start, days[-1])
    dgs10 = pd.Series(yields["value"].to_numpy(dtype=float), index=list(yields["date"]))
    prices = inputs.adj_close_wide()

    def compute(symbols, day, held):
        rows = interest_rate_betas(prices.reindex(columns=symbols), dgs10, all_sessions(), day)
        return ({security_rate_betas: rows},
                _insufficient_issues(held, rows, "the rate beta", _RATE_INSTEAD))

    written, issues, last = _write_security_days(
        engine, days, valued, _PerSymbol((security_rate_betas,), compute),
        "security_rate_betas", context)
    return MaterializeResult(metadata={
        "rows_written": written.get("security_rate_betas", 0),
        "data_quality": issue_counts(issues),
        "preview": _preview(last.get("security_rate_betas", pd.DataFrame()),
                            ["date", "symbol", "ir_beta", "std_err", "r_squared", "n_obs",
                             "quality"]),
    })


@asset(name="portfolio_factor_exposures", group_name=GROUP, kinds={"postgres", "pandas"},
       deps=["security_factor_exposures", security_rate_betas_asset,
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
        symbols = beta_symbols(read_positions(conn, columns=BETA_SYMBOL_COLUMNS))
        names = portfolio_names(conn)
        for day in days:  # per day: the security rows of a day, joined in memory
            held = read_days(conn, position_values, day,
                             ["position_id", "portfolio_id", "exposure"])
            if held.empty:
                continue
            book = held[["position_id", "portfolio_id", "exposure"]].merge(
                symbols, on="position_id", how="left")
            day_betas = read_days(conn, security_factor_exposures, day)
            day_ir = read_days(conn, security_rate_betas, day)
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
        inputs = load_range(conn, days, lookback=HISTORY_LOOKBACK, symbols=PROXY_SYMBOLS,
                            price_columns=ADJ_CLOSE_COLUMNS)
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

