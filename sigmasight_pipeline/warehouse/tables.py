"""Warehouse table definitions (PostgreSQL schema ``sigmasight``).

These are the contract users query (SPEC §4). Money is in US dollars; rates, volatilities,
returns and shocks are decimals (0.25 = 25 %) unless the column name says otherwise;
``flags`` is a text array of the codes in SPEC §5.9. Every daily table carries ``date``,
the partition's NYSE trading day, and is rewritten a whole day at a time
(:func:`sigmasight_pipeline.warehouse.writer.replace_partition`).

The schema itself is created by Alembic migrations under ``migrations/``; this module is
the single description they and the code share. Never call ``metadata.create_all`` in a
production path.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

SCHEMA = "sigmasight"
#: the largest tables are range-partitioned by day, a partition a day (day_partitions.py)
BY_DAY = "RANGE (date)"
metadata = MetaData(schema=SCHEMA)
#: read-only views (SPEC §7.1): described for reading with the same tools as the tables, but
#: not tables — never written, truncated or created from here (migration 0003 creates them)
views = MetaData(schema=SCHEMA)


def _flags() -> Column:
    return Column("flags", ARRAY(Text), nullable=False, server_default=text("'{}'::text[]"))


def _uuid_pk() -> Column:
    return Column(
        "id", UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )


# --- positions -------------------------------------------------------------------------

portfolios = Table(
    "portfolios",
    metadata,
    _uuid_pk(),
    Column("name", Text, nullable=False, unique=True),
    Column("owner_email", Text),
    Column("description", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

positions = Table(
    "positions",
    metadata,
    _uuid_pk(),
    Column(
        "portfolio_id",
        UUID(as_uuid=True),
        ForeignKey(f"{SCHEMA}.portfolios.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("symbol", Text, nullable=False),
    Column("position_type", String(5), nullable=False),  # LONG SHORT LC LP SC SP
    Column("quantity", Float, nullable=False),  # signed: negative = short
    Column("multiplier", Integer, nullable=False),  # 100 for options, 1 otherwise
    Column("entry_price", Float, nullable=False),  # per share / per option (not ×multiplier)
    Column("entry_date", Date, nullable=False),
    Column("exit_date", Date),
    Column("exit_price", Float),
    Column("underlying_symbol", Text),
    Column("strike", Float),
    Column("expiration", Date),
    Column("option_type", String(1)),  # C or P
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # A position is identified by what it is, so re-importing a file changes nothing.
    UniqueConstraint(
        "portfolio_id",
        "symbol",
        "entry_date",
        "quantity",
        "entry_price",
        name="uq_positions_identity",
    ),
)

position_tags = Table(
    "position_tags",
    metadata,
    Column(
        "position_id",
        UUID(as_uuid=True),
        ForeignKey(f"{SCHEMA}.positions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("tag", Text, nullable=False),
    PrimaryKeyConstraint("position_id", "tag"),
)

# --- market data -----------------------------------------------------------------------

securities = Table(
    "securities",
    metadata,
    Column("symbol", Text, primary_key=True),
    Column("name", Text),
    Column("asset_class", Text),  # equity, etf, mutual_fund, index, option
    Column("sector", Text),
    Column("industry", Text),
    Column("source", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

market_prices = Table(
    "market_prices",
    metadata,
    Column("symbol", Text, nullable=False),
    Column("date", Date, nullable=False),
    Column("open", Float),
    Column("high", Float),
    Column("low", Float),
    Column("close", Float, nullable=False),
    Column("adj_close", Float, nullable=False),
    Column("volume", BigInteger),
    Column("source", Text, nullable=False),
    PrimaryKeyConstraint("symbol", "date"),
    Index("ix_market_prices_date", "date"),
)

option_quotes = Table(
    "option_quotes",
    metadata,
    Column("symbol", Text, nullable=False),  # OCC code
    Column("date", Date, nullable=False),
    Column("underlying", Text, nullable=False),
    Column("bid", Float),
    Column("ask", Float),
    Column("last", Float),
    Column("implied_vol", Float),  # decimal
    Column("open_interest", BigInteger),
    Column("source", Text, nullable=False),
    PrimaryKeyConstraint("symbol", "date"),
    Index("ix_option_quotes_date", "date"),
)

treasury_yields = Table(
    "treasury_yields",
    metadata,
    Column("series_id", Text, nullable=False),  # DGS3MO DGS2 DGS10 DGS30
    Column("date", Date, nullable=False),
    Column("value", Float, nullable=False),  # percent, as FRED publishes it
    Column("source", Text, nullable=False),
    PrimaryKeyConstraint("series_id", "date"),
    Index("ix_treasury_yields_date", "date"),
)

# --- engines ---------------------------------------------------------------------------

position_values = Table(
    "position_values",
    metadata,
    Column("date", Date, nullable=False),
    Column("position_id", UUID(as_uuid=True), nullable=False),
    Column("portfolio_id", UUID(as_uuid=True), nullable=False),
    Column("symbol", Text, nullable=False),
    Column("price", Float, nullable=False),
    Column("price_source", Text, nullable=False),  # close mid last model intrinsic
    Column("price_date", Date, nullable=False),
    Column("underlying_price", Float),
    Column("market_value", Float, nullable=False),
    Column("exposure", Float, nullable=False),
    Column("notional", Float, nullable=False),
    Column("cost_basis", Float, nullable=False),
    Column("unrealized_pnl", Float, nullable=False),
    _flags(),
    # SPEC §8: quantity × split factor valued on the day, and that factor (1 without splits)
    Column("effective_quantity", Float),
    Column("split_factor", Float),
    PrimaryKeyConstraint("date", "position_id"),
    Index("ix_position_values_portfolio", "portfolio_id", "date"),
    postgresql_partition_by=BY_DAY,
)

portfolio_exposures = Table(
    "portfolio_exposures",
    metadata,
    Column("date", Date, nullable=False),
    Column("portfolio_id", UUID(as_uuid=True), nullable=False),
    Column("long_exposure", Float, nullable=False),
    Column("short_exposure", Float, nullable=False),
    Column("gross_exposure", Float, nullable=False),
    Column("net_exposure", Float, nullable=False),
    Column("long_market_value", Float, nullable=False),
    Column("short_market_value", Float, nullable=False),
    Column("net_market_value", Float, nullable=False),
    Column("long_count", Integer, nullable=False),
    Column("short_count", Integer, nullable=False),
    Column("option_count", Integer, nullable=False),
    PrimaryKeyConstraint("date", "portfolio_id"),
)

tag_exposures = Table(
    "tag_exposures",
    metadata,
    Column("date", Date, nullable=False),
    Column("portfolio_id", UUID(as_uuid=True), nullable=False),
    Column("tag", Text, nullable=False),
    Column("gross_exposure", Float, nullable=False),
    Column("net_exposure", Float, nullable=False),
    Column("position_count", Integer, nullable=False),
    PrimaryKeyConstraint("date", "portfolio_id", "tag"),
)

position_greeks = Table(
    "position_greeks",
    metadata,
    Column("date", Date, nullable=False),
    Column("position_id", UUID(as_uuid=True), nullable=False),
    Column("portfolio_id", UUID(as_uuid=True), nullable=False),
    Column("symbol", Text, nullable=False),
    Column("underlying_price", Float, nullable=False),
    Column("option_price", Float, nullable=False),  # per share
    Column("price_source", Text, nullable=False),  # mid last model intrinsic
    Column("implied_vol", Float),  # decimal; NULL only when expiring (T = 0)
    Column("vol_source", Text),  # quote_iv implied_from_mid historical_30d
    Column("years_to_expiry", Float, nullable=False),
    Column("rate", Float, nullable=False),  # continuous, decimal
    Column("delta", Float, nullable=False),
    Column("gamma", Float, nullable=False),
    Column("theta", Float, nullable=False),
    Column("vega", Float, nullable=False),
    Column("rho", Float, nullable=False),
    Column("position_delta", Float, nullable=False),
    Column("position_gamma", Float, nullable=False),
    Column("position_theta", Float, nullable=False),
    Column("position_vega", Float, nullable=False),
    Column("position_rho", Float, nullable=False),
    Column("dollar_delta", Float, nullable=False),
    Column("dollar_gamma_1pct", Float, nullable=False),
    _flags(),
    PrimaryKeyConstraint("date", "position_id"),
)

position_factor_exposures = Table(  # a VIEW since migration 0003 (see ``views``)
    "position_factor_exposures",
    views,
    Column("date", Date, nullable=False),
    Column("position_id", UUID(as_uuid=True), nullable=False),
    Column("factor", Text, nullable=False),
    Column("beta", Float),  # NULL when history is insufficient, never 0
    Column("std_err", Float),
    Column("t_stat", Float),
    Column("r_squared", Float),
    Column("n_obs", Integer, nullable=False),
    Column("quality", Text, nullable=False),  # ok capped insufficient_history
    PrimaryKeyConstraint("date", "position_id", "factor"),
)

portfolio_factor_exposures = Table(
    "portfolio_factor_exposures",
    metadata,
    Column("date", Date, nullable=False),
    Column("portfolio_id", UUID(as_uuid=True), nullable=False),
    Column("factor", Text, nullable=False),
    Column("beta", Float),
    Column("dollar_exposure", Float),
    Column("coverage", Float),
    PrimaryKeyConstraint("date", "portfolio_id", "factor"),
)

factor_returns = Table(
    "factor_returns",
    metadata,
    Column("date", Date, nullable=False),
    Column("factor", Text, nullable=False),  # Market Value Size Momentum Quality Low Volatility
    Column("daily_return", Float, nullable=False),  # simple return, decimal (SPEC §5.3)
    PrimaryKeyConstraint("date", "factor"),
)

factor_correlations = Table(
    "factor_correlations",
    metadata,
    Column("date", Date, nullable=False),
    Column("factor_a", Text, nullable=False),
    Column("factor_b", Text, nullable=False),
    Column("correlation", Float, nullable=False),
    Column("covariance", Float, nullable=False),  # daily scale
    Column("n_obs", Integer, nullable=False),
    PrimaryKeyConstraint("date", "factor_a", "factor_b"),
)

position_interest_rate_betas = Table(  # a VIEW since migration 0003 (see ``views``)
    "position_interest_rate_betas",
    views,
    Column("date", Date, nullable=False),
    Column("position_id", UUID(as_uuid=True), nullable=False),
    Column("ir_beta", Float),  # return per +1 percentage point of DGS10
    Column("std_err", Float),
    Column("r_squared", Float),
    Column("n_obs", Integer, nullable=False),
    Column("quality", Text, nullable=False),
    PrimaryKeyConstraint("date", "position_id"),
)

market_risk_scenarios = Table(
    "market_risk_scenarios",
    metadata,
    Column("date", Date, nullable=False),
    Column("portfolio_id", UUID(as_uuid=True), nullable=False),
    Column("scenario", Text, nullable=False),
    Column("scenario_type", Text, nullable=False),  # market rate
    Column("shock", Float, nullable=False),
    Column("pnl", Float, nullable=False),
    Column("pnl_pct", Float),
    Column("option_pnl", Float, nullable=False),
    _flags(),
    PrimaryKeyConstraint("date", "portfolio_id", "scenario"),
)

stress_test_results = Table(
    "stress_test_results",
    metadata,
    Column("date", Date, nullable=False),
    Column("portfolio_id", UUID(as_uuid=True), nullable=False),
    Column("scenario", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("direct_pnl", Float, nullable=False),
    Column("correlated_pnl", Float, nullable=False),
    Column("direct_pct", Float),
    Column("correlated_pct", Float),
    Column("factor_impacts", JSONB, nullable=False),
    _flags(),
    PrimaryKeyConstraint("date", "portfolio_id", "scenario"),
)

position_correlations = Table(
    "position_correlations",
    metadata,
    Column("date", Date, nullable=False),
    Column("portfolio_id", UUID(as_uuid=True), nullable=False),
    Column("symbol_a", Text, nullable=False),
    Column("symbol_b", Text, nullable=False),
    Column("correlation", Float, nullable=False),
    Column("n_obs", Integer, nullable=False),
    PrimaryKeyConstraint("date", "portfolio_id", "symbol_a", "symbol_b"),
    postgresql_partition_by=BY_DAY,
)

correlation_summaries = Table(
    "correlation_summaries",
    metadata,
    Column("date", Date, nullable=False),
    Column("portfolio_id", UUID(as_uuid=True), nullable=False),
    Column("n_positions", Integer, nullable=False),
    Column("avg_abs_correlation", Float),
    Column("effective_bets", Float),
    Column("clusters", JSONB, nullable=False),
    PrimaryKeyConstraint("date", "portfolio_id"),
)

portfolio_snapshots = Table(
    "portfolio_snapshots",
    metadata,
    Column("date", Date, nullable=False),
    Column("portfolio_id", UUID(as_uuid=True), nullable=False),
    Column("total_value", Float, nullable=False),
    Column("long_value", Float, nullable=False),
    Column("short_value", Float, nullable=False),
    Column("gross_exposure", Float, nullable=False),
    Column("net_exposure", Float, nullable=False),
    Column("daily_pnl", Float, nullable=False),
    Column("daily_return", Float),  # NULL on a portfolio's first snapshot
    Column("cumulative_pnl", Float),  # NULL with flag history_gap
    Column("dollar_delta", Float, nullable=False),
    Column("dollar_gamma_1pct", Float, nullable=False),
    Column("dollar_theta", Float, nullable=False),
    Column("dollar_vega", Float, nullable=False),
    Column("dollar_rho", Float, nullable=False),
    Column("position_count", Integer, nullable=False),
    Column("data_source", Text, nullable=False),
    _flags(),
    PrimaryKeyConstraint("date", "portfolio_id"),
)

reports = Table(
    "reports",
    metadata,
    Column("date", Date, nullable=False),
    Column("portfolio_id", UUID(as_uuid=True), nullable=False),
    Column("format", Text, nullable=False),  # md json csv
    Column("path", Text, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("date", "portfolio_id", "format"),
)

data_quality_issues = Table(
    "data_quality_issues",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("date", Date, nullable=False),
    Column("asset", Text, nullable=False),
    Column("portfolio_id", UUID(as_uuid=True)),
    Column("position_id", UUID(as_uuid=True)),
    Column("symbol", Text),
    Column("code", Text, nullable=False),
    Column("severity", Text, nullable=False),  # info warning error
    Column("message", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_data_quality_issues_date_asset", "date", "asset"),
)


# --- portfolio risk, second release (SPEC §7.1-7.5) ------------------------------------------
# Betas, rate betas and specific risk are properties of a symbol: stored once per symbol and
# day; position_factor_exposures / position_interest_rate_betas are views joining them to the
# positions valued that day (migration 0003).

security_factor_exposures = Table(
    "security_factor_exposures",
    metadata,
    Column("date", Date, nullable=False),
    Column("symbol", Text, nullable=False),
    Column("factor", Text, nullable=False),
    Column("beta", Float),  # NULL when history is insufficient, never 0
    Column("std_err", Float),
    Column("t_stat", Float),
    Column("r_squared", Float),
    Column("n_obs", Integer, nullable=False),
    Column("quality", Text, nullable=False),  # ok capped insufficient_history
    PrimaryKeyConstraint("date", "symbol", "factor"),
)

security_rate_betas = Table(
    "security_rate_betas",
    metadata,
    Column("date", Date, nullable=False),
    Column("symbol", Text, nullable=False),
    Column("ir_beta", Float),  # return per +1 percentage point of DGS10
    Column("std_err", Float),
    Column("r_squared", Float),
    Column("n_obs", Integer, nullable=False),
    Column("quality", Text, nullable=False),
    PrimaryKeyConstraint("date", "symbol"),
)

security_specific_risk = Table(
    "security_specific_risk",
    metadata,
    Column("date", Date, nullable=False),
    Column("symbol", Text, nullable=False),
    Column("specific_vol", Float),  # daily residual sd √(RSS/(n−7)); NULL when insufficient
    Column("n_obs", Integer, nullable=False),
    Column("quality", Text, nullable=False),  # ok insufficient_history
    PrimaryKeyConstraint("date", "symbol"),
)

risk_factor_covariance = Table(
    "risk_factor_covariance",
    metadata,
    Column("date", Date, nullable=False),
    Column("factor_a", Text, nullable=False),  # six equity factors + Rate (ΔDGS10 in pp)
    Column("factor_b", Text, nullable=False),
    Column("covariance", Float, nullable=False),  # daily scale
    Column("n_obs", Integer, nullable=False),
    PrimaryKeyConstraint("date", "factor_a", "factor_b"),
)

portfolio_var = Table(
    "portfolio_var",
    metadata,
    Column("date", Date, nullable=False),
    Column("portfolio_id", UUID(as_uuid=True), nullable=False),
    Column("method", Text, nullable=False),  # parametric historical
    Column("confidence", Float, nullable=False),  # 0.95 0.975 0.99
    Column("horizon_days", Integer, nullable=False),  # 1 10
    Column("var", Float),  # $, positive = loss; NULL with insufficient_history
    Column("es", Float),
    Column("var_pct_gross", Float),
    Column("es_pct_gross", Float),
    Column("volatility", Float),  # $ over the horizon
    Column("n_scenarios", Integer),  # historical: scenarios used
    _flags(),
    PrimaryKeyConstraint("date", "portfolio_id", "method", "confidence", "horizon_days"),
)

factor_risk_contributions = Table(
    "factor_risk_contributions",
    metadata,
    Column("date", Date, nullable=False),
    Column("portfolio_id", UUID(as_uuid=True), nullable=False),
    Column("factor", Text, nullable=False),  # the seven factors and Specific
    Column("exposure", Float),  # $ per unit factor move (Rate: per +1 pp); NULL for Specific
    Column("contribution", Float, nullable=False),  # $ of daily σ_P
    Column("pct_of_risk", Float),
    PrimaryKeyConstraint("date", "portfolio_id", "factor"),
)

position_risk_contributions = Table(
    "position_risk_contributions",
    metadata,
    Column("date", Date, nullable=False),
    Column("portfolio_id", UUID(as_uuid=True), nullable=False),
    Column("position_id", UUID(as_uuid=True), nullable=False),
    Column("symbol", Text, nullable=False),
    Column("exposure", Float, nullable=False),
    Column("marginal_vol", Float),  # $ of σ_P per $ of exposure
    Column("component_vol", Float),  # $ of daily σ_P
    Column("pct_of_risk", Float),
    Column("component_es_hist", Float),  # $ of historical ES 97.5 % 1-day; NULL if none
    PrimaryKeyConstraint("date", "portfolio_id", "position_id"),
)

# --- portfolio risk II: backtests, P&L attribution, performance, volatility (SPEC §7.6-7.8) --

var_backtests = Table(
    "var_backtests",
    metadata,
    Column("date", Date, nullable=False),
    Column("portfolio_id", UUID(as_uuid=True), nullable=False),
    Column("method", Text, nullable=False),  # parametric historical
    Column("confidence", Float, nullable=False),  # 0.95 0.975 0.99
    Column("pnl_type", Text, nullable=False),  # actual hypothetical
    Column("observations", Integer, nullable=False),
    Column("exceptions", Integer, nullable=False),
    Column("expected_exceptions", Float),  # NULL with flag insufficient_history
    Column("kupiec_lr", Float),
    Column("kupiec_p", Float),
    Column("christoffersen_lr", Float),
    Column("christoffersen_p", Float),
    Column("cc_lr", Float),
    Column("cc_p", Float),
    Column("zone", Text),  # green yellow red at 0.99; NULL otherwise
    Column("skipped", Integer, nullable=False),  # days with a P&L but no previous-session VaR
    Column("note", Text),
    _flags(),
    PrimaryKeyConstraint("date", "portfolio_id", "method", "confidence", "pnl_type"),
)

pnl_attribution = Table(
    "pnl_attribution",
    metadata,
    Column("date", Date, nullable=False),
    Column("portfolio_id", UUID(as_uuid=True), nullable=False),
    Column("component", Text, nullable=False),
    Column("pnl", Float, nullable=False),
    PrimaryKeyConstraint("date", "portfolio_id", "component"),
)

portfolio_performance = Table(
    "portfolio_performance",
    metadata,
    Column("date", Date, nullable=False),
    Column("portfolio_id", UUID(as_uuid=True), nullable=False),
    Column("period", Text, nullable=False),  # 21d 63d 252d inception
    Column("n_obs", Integer, nullable=False),
    Column("annualized_return", Float),
    Column("annualized_vol", Float),
    Column("sharpe", Float),
    Column("sortino", Float),
    Column("max_drawdown", Float),
    Column("drawdown_peak_date", Date),
    Column("drawdown_trough_date", Date),
    Column("calmar", Float),
    Column("best_day", Float),
    Column("worst_day", Float),
    Column("hit_ratio", Float),
    Column("beta_spy", Float),
    Column("correlation_spy", Float),
    Column("tracking_error", Float),
    Column("information_ratio", Float),
    _flags(),
    PrimaryKeyConstraint("date", "portfolio_id", "period"),
)

portfolio_volatility = Table(
    "portfolio_volatility",
    metadata,
    Column("date", Date, nullable=False),
    Column("portfolio_id", UUID(as_uuid=True), nullable=False),
    Column("realized_21d", Float),
    Column("realized_63d", Float),
    Column("ewma_vol", Float),
    Column("har_forecast", Float),  # NULL with flag har_negative or insufficient_history
    Column("realized_21d_percentile", Float),
    Column("n_obs", Integer, nullable=False),
    _flags(),
    PrimaryKeyConstraint("date", "portfolio_id"),
)
# --- exposure views: sectors, concentration, limits (SPEC §7.9) ---------------------------

sector_exposures = Table(
    "sector_exposures",
    metadata,
    Column("date", Date, nullable=False),
    Column("portfolio_id", UUID(as_uuid=True), nullable=False),
    Column("sector", Text, nullable=False),  # GICS sector, ETF, Mutual fund, (unclassified)
    Column("gross_exposure", Float, nullable=False),
    Column("net_exposure", Float, nullable=False),
    Column("long_exposure", Float, nullable=False),
    Column("short_exposure", Float, nullable=False),
    Column("pct_of_gross", Float),  # percent (0-100); NULL when the portfolio's gross is 0
    Column("position_count", Integer, nullable=False),
    PrimaryKeyConstraint("date", "portfolio_id", "sector"),
)

portfolio_concentration = Table(
    "portfolio_concentration",
    metadata,
    Column("date", Date, nullable=False),
    Column("portfolio_id", UUID(as_uuid=True), nullable=False),
    Column("n_underlyings", Integer, nullable=False),
    Column("hhi", Float),  # 0-10,000; NULL when every underlying nets to 0
    Column("effective_n", Float),
    Column("top1_pct", Float),  # percent
    Column("top5_pct", Float),
    Column("top10_pct", Float),
    Column("largest_underlying", Text),
    Column("beta_adjusted_net_exposure", Float, nullable=False),  # US$, Market beta default 1
    PrimaryKeyConstraint("date", "portfolio_id"),
)

limit_checks = Table(
    "limit_checks",
    metadata,
    Column("date", Date, nullable=False),
    Column("portfolio_id", UUID(as_uuid=True), nullable=False),
    Column("limit_name", Text, nullable=False),
    Column("value", Float),  # NULL with status not_available
    Column("threshold", Float, nullable=False),
    Column("status", Text, nullable=False),  # ok breach not_available
    PrimaryKeyConstraint("date", "portfolio_id", "limit_name"),
)

# --- corporate actions (SPEC §8) ------------------------------------------------------------
corporate_actions = Table(
    "corporate_actions",
    metadata,
    Column("symbol", Text, nullable=False),
    Column("ex_date", Date, nullable=False),
    Column("action", Text, nullable=False),  # split, dividend
    Column("ratio", Float),  # splits: new shares per old share (2.0 = 2-for-1)
    Column("cash_amount", Float),  # dividends: $ per share
    Column("source", Text, nullable=False),
    PrimaryKeyConstraint("symbol", "ex_date", "action"),
    Index("ix_corporate_actions_ex_date", "ex_date"),
)

# --- operations ------------------------------------------------------------------------------
#: failed Dagster runs, recorded by the run-failure sensor (defs/daily/sensors.py)
run_failures = Table(
    "run_failures",
    metadata,
    Column("run_id", Text, primary_key=True),
    Column("job_name", Text, nullable=False),
    Column("failed_at", DateTime(timezone=True), nullable=False),
    Column("partitions", Text),  # the day or "first..last" of a range run
    Column("failed_steps", Text),
    Column("message", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_run_failures_failed_at", "failed_at"),
)

# --- change tracking -------------------------------------------------------------------

#: one row per tracked table: a new random ``version`` for every statement that changes it
#: (statement triggers on INSERT, UPDATE, DELETE and TRUNCATE, migration 0008), written in
#: the changing transaction, so a reader holding a copy of the table checks one row instead
#: of reading 100,000 (``positions_store.read_positions``). Random, not a counter: a schema
#: dropped and migrated again never repeats a version a process may still hold.
table_versions = Table(
    "table_versions",
    metadata,
    Column("table_name", Text, primary_key=True),
    Column("version", UUID(as_uuid=False), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

#: the tables :data:`table_versions` tracks
VERSIONED_TABLES = ("portfolios", "positions")
