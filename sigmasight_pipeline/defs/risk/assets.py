"""Risk engines I: position Greeks, position values, exposures and portfolio snapshots.

Each asset loads its inputs for the run's trading days, calls a pure engine per day and
replaces those days' rows atomically; metadata carries row and data-quality counts.
Lineage: market data → position_greeks → position_values → portfolio_exposures,
tag_exposures → portfolio_snapshots.
"""

import datetime as dt

import numpy as np
import pandas as pd
from dagster import AssetExecutionContext, Failure, MaterializeResult, MetadataValue, asset

from ...calendar import all_sessions, previous_trading_day
from ...engines.activity import is_option
from ...engines.black_scholes import continuous_rate_from_bey
from ...engines.corporate_actions import large_split_issues
from ...engines.exposures import portfolio_exposures as exposures_engine
from ...engines.exposures import tag_exposures as tag_exposures_engine
from ...engines.greeks import compute_position_greeks, historical_volatility
from ...engines.snapshots import portfolio_snapshots as snapshots_engine
from ...engines.valuation import value_positions
from ...resources import WarehouseResource
from ...warehouse.engine_store import (
    DayChunks,
    last_values_before,
    read_days,
    snapshot_dates_before,
)
from ...warehouse.market_data_store import read_option_quotes, yield_on
from ...warehouse.positions_store import read_portfolios, read_positions, read_tags
from ...warehouse.tables import (
    portfolio_exposures,
    portfolio_snapshots,
    position_greeks,
    position_values,
    tag_exposures,
)
from ...warehouse.writer import replace_partition
from ..common import (
    DAILY,
    DayMetadata,
    issue_counts,
    partition_days,
    preview,
    write_issues,
)
from ..market_data.assets import (
    corporate_actions_asset,
    market_prices_asset,
    option_quotes_asset,
    treasury_yields_asset,
)
from ..positions.assets import positions as positions_asset
from .inputs import load_range

GROUP = "risk"


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Stack the per-day frames; an all-empty result keeps the engine's columns."""
    non_empty = [f for f in frames if len(f)]
    if non_empty:
        return pd.concat(non_empty, ignore_index=True)
    return frames[0] if frames else pd.DataFrame()


class DayRows:
    """Each day's rows of a range's frame, as ``frame[frame["date"] == day]`` gives them
    (same rows, order, index and columns) from one grouping, not a mask per day."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self._rows = frame.groupby("date", sort=False).indices if len(frame) else {}

    def __call__(self, day: dt.date) -> pd.DataFrame:
        return self.frame.iloc[self._rows.get(day, np.empty(0, dtype=np.intp))]


def _by_day(frame: pd.DataFrame, days: list[dt.date], engine) -> pd.DataFrame:
    """``engine`` applied to each day's rows of ``frame``, the day stamped on its result."""
    rows = DayRows(frame)
    return _concat([engine(rows(day)).assign(date=day) for day in days])


def _preview(frame: pd.DataFrame, columns: list[str], n: int = 10,
             names: dict[str, str] | None = None) -> MetadataValue:
    """The range's preview (each day's own one comes from DayMetadata): one number format,
    portfolio names instead of ids when ``names`` is given."""
    return preview(frame, columns, names, n)


def _rate(conn, day: dt.date) -> float:
    """Continuous rate from DGS3MO of ``day`` or the latest earlier value (SPEC §5.2)."""
    found = yield_on(conn, "DGS3MO", day)
    if found is None:
        raise Failure(description=f"no DGS3MO treasury yield on or within 10 days before {day}: "
                                  "materialize treasury_yields for that day first",
                      allow_retries=False)
    return float(continuous_rate_from_bey(found[0]))


_GREEKS_PREVIEW = ["date", "symbol", "underlying_price", "option_price", "implied_vol", "delta",
                   "gamma", "position_delta"]


@asset(name="position_greeks", group_name=GROUP, kinds={"postgres", "numpy"},
       deps=[positions_asset, market_prices_asset, option_quotes_asset, treasury_yields_asset,
             corporate_actions_asset],
       description="Black-Scholes-Merton Greeks of every active option (per share and per "
                   "position; volatility waterfall quote IV → IV from mid → 30-day historical) "
                   "(sigmasight.position_greeks).", **DAILY)
def position_greeks_asset(context: AssetExecutionContext, warehouse: WarehouseResource
                          ) -> MaterializeResult:
    days = partition_days(context)
    engine = warehouse.engine()
    frames, issue_frames = [], []
    with engine.connect() as conn:
        inputs = load_range(conn, days)
        for day in days:
            held = inputs.held(day)  # effective positions: strikes and quantities after splits
            options = held[is_option(held["position_type"])]
            if options.empty:
                continue
            underlyings = sorted(options["underlying_symbol"].unique())
            closes = inputs.closes(day, underlyings)
            hist_vol = historical_volatility(inputs.adj_close_wide(day), day,
                                             sessions=all_sessions())
            result = compute_position_greeks(
                options, closes[["price", "stale"]], read_option_quotes(conn, day), hist_vol,
                _rate(conn, day), day)
            frames.append(result.greeks.assign(date=day))
            issue_frames.append(result.issues.assign(date=day))
    greeks, issues = _concat(frames), _concat(issue_frames)
    with engine.begin() as conn:
        written = replace_partition(conn, position_greeks, days, greeks)
        write_issues(conn, "position_greeks", days, issues)
    DayMetadata(context).rows(greeks, _GREEKS_PREVIEW).issues(issues).record()
    return MaterializeResult(metadata={
        "rows_written": written, "data_quality": issue_counts(issues),
        "vol_sources": greeks["vol_source"].value_counts().to_dict() if written else {},
        "preview": _preview(greeks, _GREEKS_PREVIEW),
    })


@asset(name="position_values", group_name=GROUP, kinds={"postgres", "pandas"},
       deps=[position_greeks_asset, market_prices_asset, corporate_actions_asset],
       description="Price, market value, delta-adjusted exposure, notional, cost basis and "
                   "unrealized P&L of every position held (sigmasight.position_values).",
       **DAILY)
def position_values_asset(context: AssetExecutionContext, warehouse: WarehouseResource
                          ) -> MaterializeResult:
    days = partition_days(context)
    engine = warehouse.engine()
    frames, issue_frames = [], []
    with engine.connect() as conn:
        inputs = load_range(conn, days)
        greeks = DayRows(read_days(conn, position_greeks, days))
        for day in days:
            held = inputs.held(day)  # effective positions (SPEC §8)
            values, issues = value_positions(
                held, inputs.closes(day), greeks(day), day)
            frames.append(values.assign(date=day))
            issue_frames.append(pd.concat([issues, large_split_issues(held, day)],
                                          ignore_index=True).assign(date=day))
    values, issues = _concat(frames), _concat(issue_frames)
    with engine.begin() as conn:
        written = replace_partition(conn, position_values, days, values)
        write_issues(conn, "position_values", days, issues)
    columns = ["date", "symbol", "price", "price_source", "market_value", "exposure"]
    DayMetadata(context).rows(values, columns).issues(issues).record()
    return MaterializeResult(metadata={
        "rows_written": written, "data_quality": issue_counts(issues),
        "preview": _preview(values, columns),
    })


@asset(name="portfolio_exposures", group_name=GROUP, kinds={"postgres", "pandas"},
       deps=[position_values_asset],
       description="Long, short, gross and net exposure and market value per portfolio "
                   "(sigmasight.portfolio_exposures).", **DAILY)
def portfolio_exposures_asset(context: AssetExecutionContext, warehouse: WarehouseResource
                              ) -> MaterializeResult:
    days = partition_days(context)
    engine = warehouse.engine()
    with engine.connect() as conn:
        values = read_days(conn, position_values, days,
                           ["date", "position_id", "portfolio_id", "exposure", "market_value"])
        ports = read_portfolios(conn)
        book = read_positions(conn, columns=("position_id", "position_type"))
    portfolio_ids = ports["portfolio_id"].astype(str)
    exposures = _by_day(values, days, lambda v: exposures_engine(v, book, portfolio_ids))
    with engine.begin() as conn:
        written = replace_partition(conn, portfolio_exposures, days, exposures)
    names = dict(zip(portfolio_ids, ports["name"], strict=True))
    columns = ["date", "portfolio_id", "gross_exposure", "net_exposure", "long_exposure",
               "short_exposure"]
    DayMetadata(context).rows(exposures, columns, names).record()
    return MaterializeResult(metadata={
        "rows_written": written, "preview": _preview(exposures, columns, names=names)})


@asset(name="tag_exposures", group_name=GROUP, kinds={"postgres", "pandas"},
       deps=[position_values_asset],
       description="Gross and net exposure per portfolio and tag; a position counts fully "
                   "under each of its tags (sigmasight.tag_exposures).", **DAILY)
def tag_exposures_asset(context: AssetExecutionContext, warehouse: WarehouseResource
                        ) -> MaterializeResult:
    days = partition_days(context)
    engine = warehouse.engine()
    with engine.connect() as conn:
        values = read_days(conn, position_values, days,
                           ["date", "position_id", "portfolio_id", "exposure"])
        tags = read_tags(conn)
    result = _by_day(values, days, lambda v: tag_exposures_engine(v, tags))
    with engine.begin() as conn:
        written = replace_partition(conn, tag_exposures, days, result)
    DayMetadata(context).rows(result).record()
    return MaterializeResult(metadata={"rows_written": written})


@asset(name="portfolio_snapshots", group_name=GROUP, kinds={"postgres", "pandas"},
       deps=[portfolio_exposures_asset, position_values_asset, position_greeks_asset],
       description="Daily value, exposures, position-by-position P&L (daily and cumulative), "
                   "daily return and dollar Greeks per portfolio "
                   "(sigmasight.portfolio_snapshots).", **DAILY)
def portfolio_snapshots_asset(context: AssetExecutionContext, warehouse: WarehouseResource
                              ) -> MaterializeResult:
    # Days run in order, each committed before the next reads it: a range run and the
    # same days run one by one give identical rows.
    days = partition_days(context)
    engine = warehouse.engine()
    written = 0
    with engine.connect() as conn:
        inputs = load_range(conn, days)
        book = read_portfolios(conn)
    ports = book["portfolio_id"].astype(str).tolist()
    names = dict(zip(ports, book["name"], strict=True))  # id (text) → name, previews
    snaps = []
    # upstream rows (not written here) a chunk of days per query; t−1's values are t−1's,
    # the first day's read with it
    read_values = DayChunks(position_values, days, before=previous_trading_day(days[0]))
    read_greeks, read_exposures = (DayChunks(table, days)
                                   for table in (position_greeks, portfolio_exposures))
    for day in days:
        prev_day = previous_trading_day(day)
        with engine.connect() as conn:
            prev_values = read_values(conn, prev_day)  # before t: it may end t−1's chunk
            values = read_values(conn, day)
            greeks = read_greeks(conn, day)
            exposures = read_exposures(conn, day)
            prev_snaps = read_days(conn, portfolio_snapshots, prev_day)
            earlier = snapshot_dates_before(conn, portfolio_snapshots, day)
            # positions back after days without a value: the move since their last one
            unseen = sorted(set(values["position_id"]) - set(prev_values["position_id"]))
            last_values = last_values_before(conn, unseen, prev_day)
        has_prev = len(inputs.prices) and prev_day >= inputs.prices["date"].min()
        prev_closes = inputs.closes(prev_day) if has_prev else None
        snap = snapshots_engine(
            day, ports, inputs.positions_on(day), values, greeks, exposures, prev_values,
            prev_closes, inputs.closes(day), prev_snaps, earlier, inputs.data_source(day),
            prev_date=prev_day, last_values=last_values,
        ).assign(date=day)
        with engine.begin() as conn:
            written += replace_partition(conn, portfolio_snapshots, day, snap)
        snaps.append(snap)
    snaps = _concat(snaps)
    columns = ["date", "portfolio_id", "total_value", "daily_pnl", "cumulative_pnl",
               "gross_exposure", "data_source"]
    DayMetadata(context).rows(snaps, columns, names).record()
    return MaterializeResult(metadata={
        "rows_written": written, "preview": _preview(snaps, columns, names=names)})
