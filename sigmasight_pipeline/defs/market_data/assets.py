"""Market-data assets: securities, prices, option quotes and treasury yields per trading day.

Each partition fetches its day(s) for every symbol needed (held symbols, option
underlyings, factor ETFs, benchmarks) and, when a symbol lacks the engines' history window
(253 sessions) in the warehouse, fills that window in the same run in one bulk request.
Symbols the provider does not return become ``data_quality_issues`` rows; an unreachable
provider fails the asset after its RetryPolicy; malformed provider data fails at once.
"""

import datetime as dt

import numpy as np
import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from ...calendar import previous_trading_day, sessions_back
from ...engines.corporate_actions import effective_positions
from ...engines.prices import plausible_price
from ...providers.base import (
    CORPORATE_ACTION_COLUMNS,
    OPTION_QUOTE_COLUMNS,
    PRICE_COLUMNS,
    SECURITY_COLUMNS,
    TREASURY_SERIES,
    YIELD_COLUMNS,
    ProviderDataError,
    ProviderUnreachable,
)
from ...resources import MarketDataResource, WarehouseResource
from ...universe import HISTORY_SESSIONS, held_in_range, option_contracts, price_symbols
from ...warehouse.market_data_store import (
    first_price_date,
    price_counts,
    read_corporate_actions,
    read_prices,
)
from ...warehouse.positions_store import read_positions
from ...warehouse.tables import (
    corporate_actions,
    market_prices,
    option_quotes,
    securities,
    treasury_yields,
)
from ...warehouse.writer import merge_rows, replace_partition
from ..common import (
    DAILY,
    PROVIDER_RETRY,
    DayMetadata,
    issue_counts,
    partition_days,
    write_issues,
)
from ..positions.assets import positions as positions_asset

GROUP = "market_data"


def _fetch(what: str, call):
    """Run a provider call; malformed data and an unreachable host are not worth retrying
    (Dagster's RetryPolicy stays for answers that say "try later": 429, 503)."""
    try:
        return call()
    except (ProviderDataError, ProviderUnreachable) as exc:
        raise Failure(description=f"{what}: {exc}", allow_retries=False) from None


def _book(warehouse: WarehouseResource, days: list[dt.date]) -> pd.DataFrame:
    with warehouse.engine().connect() as conn:
        return held_in_range(read_positions(conn), days[0], days[-1])


def _on_days(frame: pd.DataFrame, days: list[dt.date]) -> pd.DataFrame:
    """The rows of ``days`` only, with ``date`` as datetime.date."""
    dates = pd.to_datetime(frame["date"]).dt.date
    keep = dates.isin(set(days))
    return frame[keep].assign(date=dates[keep])


@asset(
    name="securities",
    group_name=GROUP,
    kinds={"postgres"},
    deps=[positions_asset],
    retry_policy=PROVIDER_RETRY,
    description="Reference data (name, asset class, sector, industry) of every symbol "
    "needed (sigmasight.securities).",
    **DAILY,
)
def securities_asset(
    context: AssetExecutionContext, warehouse: WarehouseResource, market_data: MarketDataResource
) -> MaterializeResult:
    days = partition_days(context)
    book = _book(warehouse, days)
    provider = market_data.provider()
    symbols = price_symbols(book) + sorted(book.loc[book["option_type"].notna(), "symbol"])
    frame = _fetch("securities", lambda: provider.securities(symbols))
    frame = frame.reindex(columns=SECURITY_COLUMNS)
    with warehouse.engine().begin() as conn:
        written = merge_rows(conn, securities, frame)
    missing = sorted(set(symbols) - set(frame["symbol"]))
    return MaterializeResult(
        metadata={"rows_written": written, "symbols_missing": missing, "source": provider.source}
    )


def _history_gaps(conn, symbols: list[str], first_day: dt.date) -> tuple[list[str], list[dt.date]]:
    """Symbols short of the history window before ``first_day``, and that window."""
    window = sessions_back(first_day, HISTORY_SESSIONS + 1)[:-1]
    if not window:
        return [], []
    counts = price_counts(conn, symbols, window[0], window[-1])
    return sorted(counts[counts < len(window)].index), window


def _unusable_prices(frame: pd.DataFrame) -> pd.Series:
    """Rows whose close is not a plausible price (finite, $1e-6 to $10m), or whose
    adj_close is given but is not one: a vendor glitch, never a price to value with."""
    adj = pd.to_numeric(frame["adj_close"], errors="coerce").to_numpy(dtype=float)
    good_adj = np.isnan(adj) | plausible_price(adj)
    return pd.Series(~(plausible_price(frame["close"].to_numpy()) & good_adj), index=frame.index)


def _rebased(stored: pd.DataFrame, fetched: pd.DataFrame, tolerance: float = 1e-6) -> list[str]:
    """Symbols whose adj_close for the same day differs between warehouse and provider.

    Vendors back-adjust: after a split or dividend, every earlier adj_close changes. Mixing
    the stored basis with the new one would book a false return on the day they meet.
    """
    both = stored.merge(fetched, on=["symbol", "date"], suffixes=("_stored", "_new"))
    ratio = both["adj_close_new"].astype(float) / both["adj_close_stored"].astype(float)
    return sorted(both.loc[(ratio - 1.0).abs() > tolerance, "symbol"].unique())


@asset(
    name="market_prices",
    group_name=GROUP,
    kinds={"postgres"},
    # after corporate_actions, which tells symbols new to the warehouse by their history
    deps=[positions_asset, AssetKey("corporate_actions")],
    retry_policy=PROVIDER_RETRY,
    description="Daily OHLC, adjusted close and volume of held symbols, option underlyings, "
    "factor ETFs and benchmarks, with the engines' 253-session history filled "
    "in bulk when missing or re-based by the vendor (sigmasight.market_prices).",
    **DAILY,
)
def market_prices_asset(
    context: AssetExecutionContext, warehouse: WarehouseResource, market_data: MarketDataResource
) -> MaterializeResult:
    days = partition_days(context)
    book = _book(warehouse, days)
    symbols = price_symbols(book)
    provider = market_data.provider()
    engine = warehouse.engine()
    overlap_day = previous_trading_day(days[0])
    with engine.connect() as conn:
        gaps, window = _history_gaps(conn, symbols, days[0])
        stored_overlap = read_prices(
            conn, symbols, overlap_day, overlap_day, columns=("symbol", "date", "adj_close")
        )
    # One request per symbol from the session before the run: that extra day shows
    # whether the vendor has re-based adj_close since the history was stored.
    # Symbols with stored history: the provider's cheapest daily path (Polygon: grouped
    # daily bars, one request per session for every stock); the others one by one.
    known = [s for s in symbols if s not in set(gaps)]
    fetched = pd.concat([pd.DataFrame(columns=PRICE_COLUMNS)] + [
        f.reindex(columns=PRICE_COLUMNS) for f in (
            _fetch("prices", lambda: provider.daily_prices(known, overlap_day, days[-1]))
            if known else None,
            _fetch("prices", lambda: provider.prices(gaps, overlap_day, days[-1]))
            if gaps else None)
        if f is not None and len(f)], ignore_index=True)
    bad = _unusable_prices(fetched)
    unusable = {(row.symbol, row.date): row.close for row in _on_days(fetched[bad], days)
                .itertuples()}
    fetched = fetched[~bad]
    rebased = [
        s for s in _rebased(stored_overlap, _on_days(fetched, [overlap_day])) if s not in gaps
    ]
    history = [pd.DataFrame(columns=PRICE_COLUMNS)]
    if gaps:
        context.log.info(f"filling {len(window)} sessions of history for {len(gaps)} symbols")
        history.append(
            _fetch("price history", lambda: provider.prices(gaps, window[0], window[-1]))
        )
    if rebased:  # rewrite all the stored history of those symbols on the new basis
        with engine.connect() as conn:
            since = first_price_date(conn, rebased)
        context.log.info(f"{provider.source} re-based {rebased}: re-fetching since {since}")
        history.append(
            _fetch("re-based history", lambda: provider.prices(rebased, since, overlap_day))
        )
    history = pd.concat([h.reindex(columns=PRICE_COLUMNS) for h in history], ignore_index=True)
    bad_history = _unusable_prices(history)
    if bad_history.any():
        context.log.warning(f"dropped {int(bad_history.sum())} history rows with an unusable "
                            f"close from {provider.source}")
        history = history[~bad_history]
    frame = _on_days(fetched, days)

    returned = set(frame["symbol"]) | set(history["symbol"]) | set(fetched["symbol"])
    issues = [
        {
            "date": days[0],
            "symbol": sym,
            "severity": "info",
            "code": "rebased_history",
            "message": (
                f"{provider.source} changed {sym}'s adjusted close for {overlap_day} "
                "(a split or dividend since it was stored); all its stored history was "
                "re-fetched on the new basis"
            ),
        }
        for sym in rebased
    ]
    for day in days:
        have = set(frame.loc[frame["date"] == day, "symbol"])
        for sym in sorted(set(symbols) - have):
            unknown = sym not in returned and (sym, day) not in unusable
            issues.append(
                {
                    "date": day,
                    "symbol": sym,
                    "severity": "error" if unknown else "warning",
                    "code": "unknown_symbol" if unknown else "missing_price",
                    "message": (
                        f"{provider.source} returned an unusable close "
                        f"({unusable[(sym, day)]!r}) for {sym} on {day}; the row was dropped "
                        "and engines fall back to the latest good close up to 5 sessions old "
                        "(stale_price)"
                        if (sym, day) in unusable
                        else f"{provider.source} returned no data at all for {sym}; positions "
                        f"in {sym} get no price on {day}"
                        if unknown
                        else f"{provider.source} has no {day} bar for {sym}; engines fall back to "
                        "the latest close up to 5 sessions old (stale_price)"
                    ),
                }
            )
    issues = pd.DataFrame(issues)
    with engine.begin() as conn:
        filled = merge_rows(conn, market_prices, history.reindex(columns=PRICE_COLUMNS))
        written = replace_partition(conn, market_prices, days, frame)
        write_issues(conn, "market_prices", days, issues)
    DayMetadata(context).rows(frame).issues(issues).record()
    missing = (
        sorted(set(issues.loc[issues["code"] != "rebased_history", "symbol"]))
        if len(issues)
        else []
    )
    return MaterializeResult(
        metadata={
            "rows_written": written,
            "history_rows_filled": filled,
            "symbols": len(symbols),
            "symbols_missing": missing,
            "symbols_rebased": rebased,
            "data_quality": issue_counts(issues),
            "source": provider.source,
        }
    )


@asset(
    name="corporate_actions",
    group_name=GROUP,
    kinds={"postgres"},
    deps=[positions_asset],
    retry_policy=PROVIDER_RETRY,
    description="Splits (ratio = new shares per old share) and cash dividends of every "
    "symbol needed, from the earliest entry date held to the partition "
    "(sigmasight.corporate_actions); engines value positions after splits from it.",
    **DAILY,
)
def corporate_actions_asset(
    context: AssetExecutionContext, warehouse: WarehouseResource, market_data: MarketDataResource
) -> MaterializeResult:
    days = partition_days(context)
    book = _book(warehouse, days)
    provider = market_data.provider()
    symbols = price_symbols(book)
    # a position's split factor runs over splits after its entry date, however long ago:
    # symbols without stored history (new to the book; market_prices runs after this asset)
    # get every action since the earliest entry, the others those since the previous session
    entry = pd.to_datetime(book["entry_date"]).min() if len(book) else pd.NaT
    start = min(entry.date(), days[0]) if pd.notna(entry) else days[0]
    recent = previous_trading_day(days[0])
    with warehouse.engine().connect() as conn:
        new, _ = _history_gaps(conn, symbols, days[0])
    known = [s for s in symbols if s not in set(new)]
    frames = [pd.DataFrame(columns=CORPORATE_ACTION_COLUMNS)]
    if new:
        frames.append(_fetch("corporate actions",
                             lambda: provider.corporate_actions(new, start, days[-1])))
    if known:
        frames.append(_fetch("corporate actions",
                             lambda: provider.corporate_actions(known, recent, days[-1])))
    frame = pd.concat([f.reindex(columns=CORPORATE_ACTION_COLUMNS) for f in frames if len(f)]
                      or frames, ignore_index=True)
    with warehouse.engine().begin() as conn:
        written = merge_rows(conn, corporate_actions, frame)
    splits = frame[frame["action"] == "split"]
    return MaterializeResult(metadata={
        "rows_written": written, "since": start.isoformat(), "source": provider.source,
        "symbols_full_history": len(new), "symbols_recent": len(known),
        "splits": MetadataValue.md(
            splits[["symbol", "ex_date", "ratio"]].to_markdown(index=False)
            if len(splits) else "_none_"),
    })


@asset(
    name="option_quotes",
    group_name=GROUP,
    kinds={"postgres"},
    deps=[positions_asset, corporate_actions_asset],
    retry_policy=PROVIDER_RETRY,
    description="End-of-day quotes (bid, ask, last, implied vol) of every option held "
    "(sigmasight.option_quotes).",
    **DAILY,
)
def option_quotes_asset(
    context: AssetExecutionContext, warehouse: WarehouseResource, market_data: MarketDataResource
) -> MaterializeResult:
    days = partition_days(context)
    book = _book(warehouse, days)
    provider = market_data.provider()
    frames, issues = [], []
    with warehouse.engine().connect() as conn:
        actions = read_corporate_actions(conn, end=days[-1])
    for day in days:
        # contracts on their terms of the day: a split divides the strike (SPEC §8)
        contracts = option_contracts(effective_positions(book, actions, day), day)
        if contracts.empty:
            continue
        quotes = _fetch(
            f"option quotes {day}", lambda c=contracts, d=day: provider.option_quotes(c, d)
        )
        quotes = _on_days(quotes.reindex(columns=OPTION_QUOTE_COLUMNS), [day])
        frames.append(quotes)
        for sym in sorted(set(contracts["symbol"]) - set(quotes["symbol"])):
            issues.append(
                {
                    "date": day,
                    "symbol": sym,
                    "code": "missing_price",
                    "severity": "warning",
                    "message": f"{provider.source} has no {day} quote for option {sym}; "
                    "the Greeks use the historical-vol model price "
                    "(model_price)",
                }
            )
    frame = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=OPTION_QUOTE_COLUMNS)
    )
    issues = pd.DataFrame(issues)
    with warehouse.engine().begin() as conn:
        written = replace_partition(conn, option_quotes, days, frame)
        write_issues(conn, "option_quotes", days, issues)
    DayMetadata(context).rows(frame).issues(issues).record()
    return MaterializeResult(
        metadata={
            "rows_written": written,
            "contracts_missing": sorted(set(issues["symbol"])) if len(issues) else [],
            "source": provider.source,
        }
    )


@asset(
    name="treasury_yields",
    group_name=GROUP,
    kinds={"postgres"},
    retry_policy=PROVIDER_RETRY,
    description="Treasury constant-maturity yields DGS3MO, DGS2, DGS10, DGS30 in percent, "
    "as FRED publishes them (sigmasight.treasury_yields).",
    **DAILY,
)
def treasury_yields_asset(
    context: AssetExecutionContext, warehouse: WarehouseResource, market_data: MarketDataResource
) -> MaterializeResult:
    days = partition_days(context)
    provider = market_data.provider()
    engine = warehouse.engine()
    with engine.connect() as conn:
        gaps, window = _yield_gaps(conn, days[0])
    history = pd.DataFrame(columns=YIELD_COLUMNS)
    if gaps:
        history = _fetch(
            "yield history", lambda: provider.treasury_yields(gaps, window[0], window[-1])
        )
    frame = _fetch(
        "yields", lambda: provider.treasury_yields(list(TREASURY_SERIES), days[0], days[-1])
    )
    frame = _on_days(frame.reindex(columns=YIELD_COLUMNS), days)
    issues = pd.DataFrame(
        [
            {
                "date": day,
                "symbol": s,
                "code": "missing_price",
                "severity": "warning",
                "message": f"no {s} value for {day}; engines use the latest earlier value",
            }
            for day in days
            for s in TREASURY_SERIES
            if not ((frame["date"] == day) & (frame["series_id"] == s)).any()
        ]
    )
    with engine.begin() as conn:
        filled = merge_rows(conn, treasury_yields, history.reindex(columns=YIELD_COLUMNS))
        written = replace_partition(conn, treasury_yields, days, frame)
        write_issues(conn, "treasury_yields", days, issues)
    DayMetadata(context).rows(frame).issues(issues).record()
    return MaterializeResult(
        metadata={
            "rows_written": written,
            "history_rows_filled": filled,
            "series_missing": MetadataValue.json(
                issues[["date", "symbol"]].astype(str).to_dict("records") if len(issues) else []
            ),
            "source": provider.source,
        }
    )


def _yield_gaps(conn, first_day: dt.date) -> tuple[list[str], list[dt.date]]:
    from ...warehouse.market_data_store import read_yields

    window = sessions_back(first_day, HISTORY_SESSIONS + 1)[:-1]
    gaps = [
        s
        for s in TREASURY_SERIES
        if len(read_yields(conn, s, window[0], window[-1])) < 0.9 * len(window)
    ]
    return gaps, window
