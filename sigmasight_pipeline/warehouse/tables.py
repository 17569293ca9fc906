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
metadata = MetaData(schema=SCHEMA)


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
    PrimaryKeyConstraint("date", "position_id"),
    Index("ix_position_values_portfolio", "portfolio_id", "date"),
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

position_factor_exposures = Table(
    "position_factor_exposures",
    metadata,
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

position_interest_rate_betas = Table(
    "position_interest_rate_betas",
    metadata,
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
