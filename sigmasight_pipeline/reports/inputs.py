"""What a day's reports are built from: plain DataFrames, one per warehouse table.

Filled by :func:`sigmasight_pipeline.warehouse.report_store.read_report_inputs` (one query
per table, every portfolio at once); the renderers only see this container, never a
database connection. Ids are strings; every frame keeps its columns when it has no rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

#: tables whose assets may not have run yet: the report says so instead of failing
OPTIONAL_TABLES = (
    "position_factor_exposures",
    "portfolio_factor_exposures",
    "factor_correlations",
    "position_interest_rate_betas",
    "market_risk_scenarios",
    "stress_test_results",
    "position_correlations",
    "correlation_summaries",
    # portfolio risk I (SPEC §7.3-7.5)
    "portfolio_var",
    "factor_risk_contributions",
    "position_risk_contributions",
    # exposure views (SPEC §7.9)
    "sector_exposures",
    "portfolio_concentration",
    "limit_checks",
)


@dataclass
class ReportInputs:
    day: dt.date
    portfolios: pd.DataFrame  # portfolio_id, name, owner_email, description
    positions: pd.DataFrame  # every position of the book (open and closed)
    tags: pd.DataFrame  # position_id, tag
    securities: pd.DataFrame  # symbol, name, asset_class, sector, industry
    #: rows of ``day`` by table name (position_values, position_greeks, ...)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: portfolio_snapshots of the last ``history_days`` trading days up to ``day``
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: portfolio_exposures of the same window (long / short exposure for the chart)
    exposure_history: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: Portfolio risk II rows (reports/risk_ii_section.py): the day's var_backtests,
    #: portfolio_performance, portfolio_volatility; pnl_attribution of the last 30 days;
    #: ``history`` / ``var_history`` (1-day VaR 99 %) of the chart window
    risk_ii: dict[str, pd.DataFrame] = field(default_factory=dict)

    def table(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def for_portfolio(self, name: str, portfolio_id: str) -> pd.DataFrame:
        frame = self.tables[name]
        if "portfolio_id" in frame.columns:
            return frame[frame["portfolio_id"] == portfolio_id]
        return frame
