"""Exposure views (SPEC §7.9): sector exposures, portfolio concentration and limit checks.

Thin assets: read the day's position values (and the book, securities, betas, VaR), call
the pure engines (``engines/sectors.py``, ``engines/concentration.py``,
``engines/limits.py``) and replace the days' rows atomically. Lineage:
position_values + securities → sector_exposures; position_values + Market betas →
portfolio_concentration; both + portfolio_exposures (+ portfolio_var when it exists) →
limit_checks.
"""

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from ...engines.concentration import portfolio_concentration as concentration_engine
from ...engines.limits import (
    STATUS_BREACH,
    STATUS_NOT_AVAILABLE,
    LimitsConfig,
    LimitsFileError,
    check_limits,
    limit_values,
    load_limits,
)
from ...engines.sectors import UNCLASSIFIED
from ...engines.sectors import sector_exposures as sector_engine
from ...resources import WarehouseResource
from ...settings import get_settings
from ...warehouse.engine_store import read_days
from ...warehouse.exposure_views_store import read_market_betas, read_parametric_var
from ...warehouse.market_data_store import read_securities
from ...warehouse.positions_store import BETA_SYMBOL_COLUMNS, read_portfolios, read_positions
from ...warehouse.tables import (
    limit_checks,
    portfolio_concentration,
    portfolio_exposures,
    position_values,
    sector_exposures,
)
from ...warehouse.writer import replace_partition
from ..common import DAILY, DayMetadata, partition_days
from ..market_data.assets import securities_asset
from .assets import GROUP, _concat, _preview, portfolio_exposures_asset, position_values_asset

#: the assets whose tables hold the Market betas read_market_betas reads
MARKET_BETA_DEPS = [AssetKey("security_factor_exposures")]
#: the asset writing sigmasight.portfolio_var (SPEC §7.5), read by the VaR limit
VAR_DEPS = [AssetKey("portfolio_var")]


def _names(conn) -> pd.DataFrame:
    ports = read_portfolios(conn)
    return ports.assign(portfolio_id=ports["portfolio_id"].astype(str))[["portfolio_id", "name"]]


def _with_names(frame: pd.DataFrame, names: pd.DataFrame) -> pd.DataFrame:
    return frame.merge(names, on="portfolio_id", how="left")


@asset(name="sector_exposures", group_name=GROUP, kinds={"postgres", "pandas"},
       deps=[position_values_asset, securities_asset],
       description="Gross, net, long and short exposure and % of gross per portfolio and "
                   "GICS sector of the underlying (ETF / Mutual fund for funds without one, "
                   "(unclassified) when none); sectors sum to the portfolio's gross "
                   "(sigmasight.sector_exposures).", **DAILY)
def sector_exposures_asset(context: AssetExecutionContext, warehouse: WarehouseResource
                           ) -> MaterializeResult:
    days = partition_days(context)
    engine = warehouse.engine()
    # values are read a day at a time: a year of 10,000 positions is 2.5 million rows
    with engine.connect() as conn:
        book = read_positions(conn, columns=BETA_SYMBOL_COLUMNS)
        securities = read_securities(conn)
        names = _names(conn)
        rows = _concat([sector_engine(read_days(conn, position_values, day,
                                                ["position_id", "portfolio_id", "exposure"]),
                                      book, securities).assign(date=day) for day in days])
    with engine.begin() as conn:
        written = replace_partition(conn, sector_exposures, days, rows)
    unclassified = rows[rows["sector"] == UNCLASSIFIED] if written else rows
    DayMetadata(context).rows(rows).record()
    return MaterializeResult(metadata={
        "rows_written": written,
        "unclassified_positions": int(unclassified["position_count"].sum()) if written else 0,
        "preview": _preview(_with_names(rows, names) if written else rows,
                            ["date", "name", "sector", "gross_exposure", "net_exposure",
                             "pct_of_gross", "position_count"], n=15),
    })


@asset(name="portfolio_concentration", group_name=GROUP, kinds={"postgres", "pandas"},
       deps=[position_values_asset, *MARKET_BETA_DEPS],
       description="HHI and effective number of names on per-underlying net exposure, top "
                   "1/5/10 weights (%), the largest underlying and beta-adjusted net exposure "
                   "(Market beta, defaulted 1) per portfolio "
                   "(sigmasight.portfolio_concentration).", **DAILY)
def portfolio_concentration_asset(context: AssetExecutionContext, warehouse: WarehouseResource
                                  ) -> MaterializeResult:
    days = partition_days(context)
    engine = warehouse.engine()
    frames = []
    with engine.connect() as conn:
        book = read_positions(conn, columns=BETA_SYMBOL_COLUMNS)
        names = _names(conn)
        for day in days:
            values = read_days(conn, position_values, day,
                               ["position_id", "portfolio_id", "symbol", "exposure"])
            frames.append(concentration_engine(values, book, read_market_betas(conn, day))
                          .assign(date=day))
    rows = _concat(frames)
    with engine.begin() as conn:
        written = replace_partition(conn, portfolio_concentration, days, rows)
    DayMetadata(context).rows(rows).record()
    return MaterializeResult(metadata={
        "rows_written": written,
        "preview": _preview(_with_names(rows, names) if written else rows,
                            ["date", "name", "n_underlyings", "hhi", "effective_n", "top1_pct",
                             "top5_pct", "largest_underlying", "beta_adjusted_net_exposure"]),
    })


def limits_config(known_names) -> LimitsConfig:
    """SIGMASIGHT_LIMITS (or the packaged limits.yaml), read and validated now.

    Portfolio names must exist only in a file the user points SIGMASIGHT_LIMITS at: the
    packaged file's entries are for the demo portfolios, and a warehouse without them
    applies its defaults.
    """
    path = get_settings().limits
    try:
        config = load_limits(path)
        if path is not None:
            config.check_portfolios(known_names)
    except LimitsFileError as exc:  # a user edited the file: say where it is wrong
        raise Failure(description=f"limits file is invalid: {exc}", allow_retries=False
                      ) from exc
    return config


def breaches_markdown(rows: pd.DataFrame) -> str:
    """Breaches per day as a Markdown table (date, portfolio, limit, value, threshold)."""
    if rows.empty:
        return "none"
    return rows[["date", "name", "limit_name", "value", "threshold"]].sort_values(
        ["date", "name", "limit_name"]).to_markdown(index=False, floatfmt=",.4g")


@asset(name="limit_checks", group_name=GROUP, kinds={"postgres", "pandas"},
       deps=[portfolio_exposures_asset, sector_exposures_asset, portfolio_concentration_asset,
             *VAR_DEPS],
       description="Every applicable limit of the limits file (SIGMASIGHT_LIMITS; defaults "
                   "and per-portfolio overrides) per portfolio and day: value, threshold and "
                   "status ok / breach (not_available when the value cannot be computed, e.g. "
                   "no parametric VaR yet) (sigmasight.limit_checks).", **DAILY)
def limit_checks_asset(context: AssetExecutionContext, warehouse: WarehouseResource
                       ) -> MaterializeResult:
    days = partition_days(context)
    engine = warehouse.engine()
    with engine.connect() as conn:
        names = _names(conn)
        config = limits_config(names["name"])  # before anything is read or written
        thresholds = config.thresholds(names)
        exposures = read_days(conn, portfolio_exposures, days)
        sectors = read_days(conn, sector_exposures, days)
        concentration = read_days(conn, portfolio_concentration, days)
        var = {day: read_parametric_var(conn, day) for day in days}
    frames = []
    for day in days:
        day_values = limit_values(exposures[exposures["date"] == day],
                                  concentration[concentration["date"] == day],
                                  sectors[sectors["date"] == day], var[day])
        frames.append(check_limits(day_values, thresholds).assign(date=day))
    rows = _concat(frames)
    with engine.begin() as conn:
        written = replace_partition(conn, limit_checks, days, rows)
    DayMetadata(context).rows(rows).record()
    named = _with_names(rows, names) if written else rows.assign(name=None)
    breaches = named[named["status"] == STATUS_BREACH] if written else named
    return MaterializeResult(metadata={
        "rows_written": written,
        "limits_file": MetadataValue.path(config.source),
        "breaches": len(breaches),
        "not_available": int((rows["status"] == STATUS_NOT_AVAILABLE).sum()) if written else 0,
        "breach_list": MetadataValue.md(breaches_markdown(breaches)),
    })
