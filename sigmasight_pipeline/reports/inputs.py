"""What a day's reports are built from: plain DataFrames, one per warehouse table.

Filled by :func:`sigmasight_pipeline.warehouse.report_store.read_report_inputs` (one query
per table, every portfolio at once); the renderers only see this container, never a
database connection. Ids are strings; every frame keeps its columns when it has no rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np
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


#: tables the renderers read through :meth:`ReportInputs.rows` (row dicts cached when split);
#: the others are filtered as frames, so converting them would be wasted
ROW_TABLES = frozenset({
    "position_greeks", "portfolio_exposures", "tag_exposures", "portfolio_snapshots",
    "portfolio_factor_exposures", "market_risk_scenarios", "stress_test_results",
    "position_correlations", "correlation_summaries", "portfolio_var",
    "factor_risk_contributions", "position_risk_contributions", "sector_exposures",
    "portfolio_concentration", "limit_checks",
})


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
    #: ``tables`` as row dicts (``to_dict("records")``), filled by :func:`split_inputs`
    #: (``with_rows``) for tables with ``portfolio_id``: the day's table converted once,
    #: instead of a filter and a ``to_dict`` per portfolio and table (most of a report's
    #: pandas overhead)
    row_cache: dict[str, list[dict]] = field(default_factory=dict, repr=False,
                                             compare=False)

    def table(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def rows(self, name: str, portfolio_id: str) -> list[dict]:
        """``for_portfolio(name, portfolio_id).to_dict("records")``: fresh dicts, the frame's
        order and values (from the row cache when the inputs were split with rows)."""
        cached = self.row_cache.get(name)
        if cached is None:
            return self.for_portfolio(name, portfolio_id).to_dict("records")
        return [dict(r) for r in cached if r["portfolio_id"] == portfolio_id]

    def for_portfolio(self, name: str, portfolio_id: str) -> pd.DataFrame:
        frame = self.tables[name]
        if "portfolio_id" in frame.columns:
            return frame[frame["portfolio_id"] == portfolio_id]
        return frame


def _split_frame(frame: pd.DataFrame, keys: pd.Series, group_of: dict[str, int],
                 n_groups: int, with_null: bool, records: list[dict] | None = None
                 ) -> tuple[list[pd.DataFrame], list[list[dict]] | None]:
    """The rows of each group, in the frame's order, from one stable sort.

    ``keys`` are the rows' portfolio ids; rows of no group are left out, rows with no key
    (book-wide rows such as a data-quality issue without a portfolio) go to every group
    when ``with_null``. Each group is a slice of the sorted frame (no per-group gather).
    """
    codes = keys.map(group_of).to_numpy(dtype=float, na_value=np.nan)
    codes = np.where(np.isnan(codes), -1, codes).astype(np.int64)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(n_groups + 1))
    nulls = np.flatnonzero(keys.isna().to_numpy()) if with_null else np.empty(0, np.int64)
    if len(nulls):
        idx = [np.sort(np.concatenate([order[bounds[i]:bounds[i + 1]], nulls]))
               for i in range(n_groups)]
        frames = [frame.iloc[i] for i in idx]
    else:
        idx = [order[bounds[i]:bounds[i + 1]] for i in range(n_groups)]
        ordered = frame.iloc[order]
        frames = [ordered.iloc[bounds[i]:bounds[i + 1]] for i in range(n_groups)]
    if records is None:
        return frames, None
    # a row's dict does not depend on the other rows: the group's rows of the day's records
    return frames, [[records[j] for j in i.tolist()] for i in idx]


def split_inputs(inputs: ReportInputs, groups: Sequence[Sequence[str]],
                 with_rows: bool = False) -> list[ReportInputs]:
    """One :class:`ReportInputs` per group of portfolio ids, holding only their rows.

    A report built from a group's inputs is the same as one built from the whole day's (the
    renderers filter by portfolio id or by the portfolio's position ids either way; rows keep
    their order and dtypes), but each portfolio's filtering then scans its own ~50 rows
    instead of the book's 100,000: the day is split once, with one sort per table. Every
    frame (named fields and ``tables`` alike) is split by its columns, so frames added later
    follow the same rule:

    - ``portfolio_id``: the group's rows, plus rows with no portfolio (book-wide);
    - else ``position_id``: rows of the group's positions (``positions`` of any state);
    - else the frame is shared unchanged (securities, factor correlations).
    """
    group_of = {pid: i for i, group in enumerate(groups) for pid in group}
    n = len(groups)
    owner = dict(zip(inputs.positions["position_id"], inputs.positions["portfolio_id"],
                     strict=True))

    def parts(frame: pd.DataFrame) -> list[pd.DataFrame]:
        if "portfolio_id" in frame.columns:
            keys, with_null = frame["portfolio_id"], True
        elif "position_id" in frame.columns:
            keys, with_null = frame["position_id"].map(owner), False
        else:
            return [frame] * n
        return _split_frame(frame, keys, group_of, n, with_null)[0]

    row_parts: dict[str, list[list[dict]]] = {}

    def table_parts(name: str, frame: pd.DataFrame) -> list[pd.DataFrame]:
        if not with_rows or name not in ROW_TABLES or "portfolio_id" not in frame.columns:
            return parts(frame)
        records = inputs.row_cache.get(name)
        if records is None:
            records = frame.to_dict("records")
        frames, row_parts[name] = _split_frame(frame, frame["portfolio_id"], group_of, n,
                                               True, records)
        return frames

    split: dict[str, list] = {}
    for f in fields(inputs):
        value = getattr(inputs, f.name)
        if f.name == "row_cache":
            continue
        if isinstance(value, pd.DataFrame):
            split[f.name] = parts(value)
        elif isinstance(value, dict) and all(isinstance(v, pd.DataFrame)
                                             for v in value.values()):
            # tables and risk_ii alike: an unsplit risk_ii made every portfolio scan (and
            # astype(str)) the whole day's 60-day history and 30-day attribution
            by_table = {name: (table_parts(name, frame) if f.name == "tables"
                               else parts(frame)) for name, frame in value.items()}
            split[f.name] = [{name: p[i] for name, p in by_table.items()} for i in range(n)]
        else:
            split[f.name] = [value] * n
    return [ReportInputs(**{name: values[i] for name, values in split.items()},
                         row_cache={name: p[i] for name, p in row_parts.items()})
            for i in range(n)]
