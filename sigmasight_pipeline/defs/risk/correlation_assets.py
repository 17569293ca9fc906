"""Position correlations per portfolio and their summary: clusters and effective bets
(SPEC §5.8). One multi-asset writes both tables from one computation.
"""

import pandas as pd
from dagster import AssetExecutionContext, AssetSpec, MaterializeResult, multi_asset

from ...calendar import all_sessions
from ...engines.correlations import position_correlations as correlations_engine
from ...resources import WarehouseResource
from ...warehouse.engine_store import read_days
from ...warehouse.positions_store import BETA_SYMBOL_COLUMNS
from ...warehouse.tables import correlation_summaries, position_correlations, position_values
from ...warehouse.writer import replace_partition
from ..common import DAILY, DayMetadata, partition_days, portfolio_names
from .assets import GROUP, _preview, portfolio_exposures_asset, position_values_asset
from .inputs import ADJ_CLOSE_COLUMNS, beta_symbols, load_range

#: 90 trading days of log returns need 91 closes
LOOKBACK_SESSIONS = 91


@multi_asset(
    specs=[
        AssetSpec("position_correlations", group_name=GROUP, kinds={"postgres", "pandas"},
                  deps=[position_values_asset, portfolio_exposures_asset],
                  description="Pairwise correlations of daily log returns (last 90 trading "
                              "days, at least 20 common days) between the underlyings of each "
                              "portfolio with |exposure| ≥ $10,000 and ≥ 1 % of gross "
                              "(sigmasight.position_correlations)."),
        AssetSpec("correlation_summaries", group_name=GROUP, kinds={"postgres", "pandas"},
                  deps=[position_values_asset, portfolio_exposures_asset],
                  description="Per portfolio: underlyings kept, mean |correlation|, effective "
                              "number of bets and clusters of |ρ| ≥ 0.7 "
                              "(sigmasight.correlation_summaries)."),
    ],
    **DAILY,
)
def correlation_assets(context: AssetExecutionContext, warehouse: WarehouseResource):
    days = partition_days(context)
    engine = warehouse.engine()
    with engine.connect() as conn:
        inputs = load_range(conn, days, lookback=LOOKBACK_SESSIONS,
                            price_columns=ADJ_CLOSE_COLUMNS, position_columns=BETA_SYMBOL_COLUMNS)
        values = read_days(conn, position_values, days,
                           ["date", "position_id", "portfolio_id", "exposure"])
        names = portfolio_names(conn)
    pair_meta = DayMetadata(context, asset_key="position_correlations")
    summary_meta = DayMetadata(context, asset_key="correlation_summaries")
    values = values.merge(beta_symbols(inputs.positions), on="position_id", how="left")
    prices = inputs.adj_close_wide()
    sessions = all_sessions()  # returns between sessions, not between stored rows
    # split once (comparing every row's date per day cost O(days²) rows in a range run)
    by_day = dict(tuple(values.groupby("date", sort=False)[["portfolio_id", "beta_symbol",
                                                              "exposure"]]))
    n_pairs = n_summaries = 0
    pairs = summaries = pd.DataFrame()
    # One transaction for the range, written a day at a time: a year of pairs for 200
    # portfolios is tens of millions of rows, a day's is a quarter of a million at most.
    with engine.begin() as conn:
        for day in days:
            held = by_day.get(day)
            if held is None or held.empty:
                day_pairs = day_summaries = pd.DataFrame()
            else:
                day_pairs, day_summaries = correlations_engine(held, prices, day,
                                                               sessions=sessions)
                day_pairs, day_summaries = day_pairs.assign(date=day), day_summaries.assign(
                    date=day)
                pairs, summaries = day_pairs, day_summaries  # the last day's, for the preview
            n = replace_partition(conn, position_correlations, day, day_pairs)
            m = replace_partition(conn, correlation_summaries, day, day_summaries)
            n_pairs, n_summaries = n_pairs + n, n_summaries + m
            pair_meta.add(day, rows_written=n)
            summary_meta.add(day, rows_written=m)
    pair_meta.record()
    summary_meta.record()
    yield MaterializeResult(asset_key="position_correlations", metadata={
        "rows_written": n_pairs,
        "preview": _preview(pairs.reindex(pairs["correlation"].abs().sort_values(
            ascending=False).index) if len(pairs) else pairs,
            ["date", "symbol_a", "symbol_b", "correlation", "n_obs"]),
    })
    yield MaterializeResult(asset_key="correlation_summaries", metadata={
        "rows_written": n_summaries,
        "preview": _preview(summaries.assign(clusters=summaries["clusters"].map(str))
                            if len(summaries) else summaries,
                            ["date", "portfolio_id", "n_positions", "avg_abs_correlation",
                             "effective_bets", "clusters"], names=names),
    })

