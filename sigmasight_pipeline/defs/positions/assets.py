"""Portfolios and positions: the book, as loaded by `sigmasight positions import`/`seed demo`.

Unpartitioned: the book is one current table (positions carry their own entry and exit
dates, so every daily engine can tell what was held on its day).
"""

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from ...resources import WarehouseResource
from ...warehouse.positions_store import read_portfolios, read_positions

GROUP = "positions"

@asset(group_name=GROUP, kinds={"postgres"},
       description="Portfolios in the warehouse (sigmasight.portfolios).")
def portfolios(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    with warehouse.engine().connect() as conn:
        frame = read_portfolios(conn)
    return MaterializeResult(metadata={
        "portfolios": len(frame),
        "preview": MetadataValue.md(frame[["name", "owner_email"]].to_markdown(index=False)
                                    if len(frame) else "no portfolios: run `sigmasight seed demo`"),
    })

@asset(group_name=GROUP, kinds={"postgres"}, deps=[portfolios],
       description="Positions with their tags (sigmasight.positions, position_tags).")
def positions(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    with warehouse.engine().connect() as conn:
        frame = read_positions(conn)
    counts = frame.groupby(["portfolio", "position_type"]).size().unstack(fill_value=0)
    return MaterializeResult(metadata={
        "positions": len(frame),
        "open_positions": int(frame["exit_date"].isna().sum()),
        "by_type": MetadataValue.md(counts.to_markdown() if len(frame) else "no positions"),
    })
