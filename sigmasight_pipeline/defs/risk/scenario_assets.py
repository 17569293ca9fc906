"""Risk engines II, scenario side: market-risk scenarios and the stress-test library
(SPEC §5.6-5.7), both revalued by the one scenario engine (stocks linear through their
factor betas, options fully revalued with Black-Scholes, plus the rate term).
"""

import datetime as dt

import pandas as pd
from dagster import AssetExecutionContext, Failure, MaterializeResult, MetadataValue, asset

from ...engines.factors import EQUITY_FACTORS
from ...engines.market_risk import market_risk
from ...engines.stress import ScenarioLibraryError, load_scenarios, stress_tests
from ...resources import WarehouseResource
from ...settings import get_settings
from ...warehouse.engine_store import DayChunks
from ...warehouse.positions_store import read_positions
from ...warehouse.tables import (
    factor_correlations,
    market_risk_scenarios,
    position_greeks,
    position_values,
    security_factor_exposures,
    security_rate_betas,
    stress_test_results,
)
from ...warehouse.writer import replace_partition
from ..common import DAILY, DayMetadata, partition_days, portfolio_names
from .assets import GROUP, _concat, _preview
from .factor_assets import (
    factor_correlations_asset,
    portfolio_factor_exposures_asset,
    security_rate_betas_asset,
)
from .inputs import beta_symbols

_POSITION_FIELDS = ["position_id", "position_type", "quantity", "multiplier", "strike",
                    "option_type", "underlying_symbol"]
_GREEK_FIELDS = ["position_id", "implied_vol", "rate", "years_to_expiry", "underlying_price"]
_VALUE_FIELDS = ["position_id", "portfolio_id", "symbol", "price", "exposure",
                 "effective_quantity", "split_factor"]
#: the columns the book is built from (a day of 100,000 values is read ~5× faster in these
#: than in all 16 columns)
_DAY_COLUMNS = {position_values: ["date", *_VALUE_FIELDS],
                position_greeks: ["date", *_GREEK_FIELDS]}


class ScenarioInputs:
    """The warehouse rows scenario revaluation needs, one day at a time.

    Read per day, not per range: a year of position betas for 10,000 positions is 15
    million rows, while one day is 60,000.
    """

    def __init__(self, conn, days: list[dt.date] | None = None,
                 positions: pd.DataFrame | None = None):
        """``positions``: the book as :func:`read_positions` returns it, when the caller has
        read it already (it is read otherwise)."""
        if positions is None:  # the contract terms and what tells the beta symbol
            positions = read_positions(conn, columns=[*_POSITION_FIELDS, "symbol"])
        self.positions = positions[_POSITION_FIELDS].merge(beta_symbols(positions),
                                                           on="position_id")
        # the range's days are read a chunk per query (memory bounded by DayChunks)
        self._days = days or []
        self._readers: dict = {}

    def read(self, conn, table, day: dt.date) -> pd.DataFrame:
        """``read_days(conn, table, day)``, served from a chunk of the range's days."""
        if table not in self._readers:
            self._readers[table] = DayChunks(table, self._days, _DAY_COLUMNS.get(table))
        return self._readers[table](conn, day)

    def read_day(self, conn, day: dt.date) -> "ScenarioInputs":
        """Load ``day``'s values, Greeks, betas, rate betas and factor covariance."""
        self.values = self.read(conn, position_values, day)
        self.greeks = self.read(conn, position_greeks, day)
        # per symbol (SPEC §7.1): joined to the book in memory through beta_symbol
        self.betas = self.read(conn, security_factor_exposures, day)
        self.ir_betas = self.read(conn, security_rate_betas, day)
        self.covariance = self.read(conn, factor_correlations, day)
        return self

    def book(self, day: dt.date) -> pd.DataFrame:
        """One row per valued position: exposure, contract terms and the Greeks' S, σ, r, T."""
        values = self.values.loc[self.values["date"] == day, _VALUE_FIELDS]
        greeks = self.greeks.loc[self.greeks["date"] == day, _GREEK_FIELDS]
        book = values.merge(self.positions, on="position_id", how="left").merge(
            greeks, on="position_id", how="left")
        book = effective_book(book)
        # stocks, ETFs and funds: the underlying is the position itself
        book["underlying_price"] = book["underlying_price"].fillna(book["price"])
        return book

    def factor_betas(self, day: dt.date, book: pd.DataFrame) -> pd.DataFrame:
        """Betas, beta_symbol × EQUITY_FACTORS (NaN where the history was insufficient)."""
        rows = self.betas[(self.betas["date"] == day)
                          & self.betas["symbol"].isin(book["beta_symbol"])]
        rows = rows.drop_duplicates(["symbol", "factor"]).rename(columns={"symbol": "beta_symbol"})
        return (rows.pivot(index="beta_symbol", columns="factor", values="beta")
                .reindex(columns=EQUITY_FACTORS).astype(float))

    def rate_betas(self, day: dt.date, book: pd.DataFrame) -> pd.Series:
        """ir_beta per beta_symbol (return per +1 pp of DGS10)."""
        rows = self.ir_betas[(self.ir_betas["date"] == day)
                             & self.ir_betas["symbol"].isin(book["beta_symbol"])]
        rows = rows.drop_duplicates("symbol")
        return pd.Series(rows["ir_beta"].to_numpy(dtype=float),
                         index=pd.Index(rows["symbol"], name="beta_symbol"), name="ir_beta")

    def factor_covariance(self, day: dt.date) -> pd.DataFrame | None:
        """The day's EWMA factor covariance (daily scale), or None when it was not computed."""
        rows = self.covariance[self.covariance["date"] == day]
        if rows.empty:
            return None
        return (rows.pivot(index="factor_a", columns="factor_b", values="covariance")
                .reindex(index=EQUITY_FACTORS, columns=EQUITY_FACTORS).astype(float))


def effective_book(book: pd.DataFrame) -> pd.DataFrame:
    """The book on the day's terms (SPEC §8): quantity = position_values.effective_quantity,
    strike ÷ split_factor (rows written before splits were tracked keep their terms)."""
    factor = pd.to_numeric(book["split_factor"], errors="coerce").fillna(1.0)
    quantity = pd.to_numeric(book["effective_quantity"], errors="coerce")
    return book.assign(
        quantity=quantity.fillna(pd.to_numeric(book["quantity"], errors="coerce")),
        strike=pd.to_numeric(book["strike"], errors="coerce") / factor,
    ).drop(columns=["effective_quantity"])


def _revalue_days(engine, days: list[dt.date], revalue) -> pd.DataFrame:
    """``revalue(inputs, day, book)`` for every day with valued positions, stacked."""
    frames = []
    with engine.connect() as conn:
        inputs = ScenarioInputs(conn, days)
        for day in days:
            book = inputs.read_day(conn, day).book(day)
            if not book.empty:
                frames.append(revalue(inputs, day, book).assign(date=day))
    return _concat(frames)


@asset(name="market_risk_scenarios", group_name=GROUP, kinds={"postgres", "numpy"},
       deps=["security_factor_exposures", security_rate_betas_asset,
             portfolio_factor_exposures_asset],
       description="P&L of each portfolio for Market moves of ±5, ±10, ±20 % and DGS10 moves of "
                   "±25 bp, ±100 bp and +300 bp: stocks through their betas, options fully "
                   "revalued with Black-Scholes (sigmasight.market_risk_scenarios).", **DAILY)
def market_risk_scenarios_asset(context: AssetExecutionContext, warehouse: WarehouseResource
                                ) -> MaterializeResult:
    days = partition_days(context)
    engine = warehouse.engine()
    rows = _revalue_days(engine, days, lambda inputs, day, book: market_risk(
        book, inputs.factor_betas(day, book), inputs.rate_betas(day, book)))
    with engine.begin() as conn:
        written = replace_partition(conn, market_risk_scenarios, days, rows)
        names = portfolio_names(conn)
    columns = ["date", "portfolio_id", "scenario", "shock", "pnl", "pnl_pct", "option_pnl"]
    DayMetadata(context).rows(rows, columns, names, n=11).record()
    return MaterializeResult(metadata={
        "rows_written": written, "preview": _preview(rows, columns, n=11, names=names)})


def scenario_library():
    """The active scenarios of SIGMASIGHT_STRESS_SCENARIOS or the packaged library, read now."""
    try:
        return load_scenarios(get_settings().stress_scenarios)
    except ScenarioLibraryError as exc:  # a user edited the library: say where it is wrong
        raise Failure(description=f"stress scenario library is invalid: {exc}",
                      allow_retries=False) from exc


@asset(name="stress_test_results", group_name=GROUP, kinds={"postgres", "numpy"},
       deps=["security_factor_exposures", security_rate_betas_asset,
             factor_correlations_asset, portfolio_factor_exposures_asset],
       description="Every active scenario of stress_scenarios.yaml per portfolio: direct P&L "
                   "(named shocks only) and correlated P&L (unnamed factors moved by their "
                   "conditional expectation under the EWMA covariance), per-factor impacts and "
                   "flags (sigmasight.stress_test_results).", **DAILY)
def stress_test_results_asset(context: AssetExecutionContext, warehouse: WarehouseResource
                              ) -> MaterializeResult:
    days = partition_days(context)
    scenarios = scenario_library()  # read on every run: a scenario added to the file shows up here
    engine = warehouse.engine()
    rows = _revalue_days(engine, days, lambda inputs, day, book: stress_tests(
        book, inputs.factor_betas(day, book), inputs.rate_betas(day, book),
        inputs.factor_covariance(day), scenarios))
    with engine.begin() as conn:
        written = replace_partition(conn, stress_test_results, days, rows)
        names = portfolio_names(conn)
    worst = rows.sort_values("correlated_pct").head(10) if written else rows
    columns = ["date", "portfolio_id", "scenario", "direct_pnl", "correlated_pnl",
               "correlated_pct"]
    DayMetadata(context).rows(rows, columns, names, sort_by="correlated_pct",
                              preview_key="worst").record()
    return MaterializeResult(metadata={
        "rows_written": written, "scenarios": len(scenarios),
        "scenario_ids": MetadataValue.text(", ".join(s.id for s in scenarios)),
        "worst": _preview(worst, columns, names=names),
    })
