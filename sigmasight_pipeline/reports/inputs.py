"""What a day's reports are built from: plain DataFrames, one per warehouse table.

Filled by :func:`sigmasight_pipeline.warehouse.report_store.read_report_inputs` (one query
per table, every portfolio at once); the renderers only see this container, never a
database connection. Ids are strings; every frame keeps its columns when it has no rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionDtype
from pandas.core.dtypes.cast import maybe_box_native

#: tables whose assets may not have run yet: the report says so instead of failing
OPTIONAL_TABLES = (
    # per security (a position's rows are its beta symbol's: SPEC §7.1 views, joined in
    # reports/document.py, not read as 100,000 view rows a day)
    "security_factor_exposures",
    "portfolio_factor_exposures",
    "factor_correlations",
    "security_rate_betas",
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
    #: row indexes of :meth:`select` (see :meth:`indexed`): off, every call filters the frame
    index_rows: bool = field(default=False, repr=False, compare=False)
    _indexes: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def indexed(self) -> ReportInputs:
        """These inputs (same frames), answering :meth:`select` from one index per frame and
        key column, built on first use: a report set then costs a dict lookup and its own
        rows' dicts per table instead of a pandas filter and ``to_dict`` per table (most of
        a report's build time was that per-call overhead on ~50-row frames). Worth it for
        many portfolios of the same inputs (a worker's chunk); one portfolio of a whole day
        is cheaper filtered."""
        return replace(self, index_rows=True)

    def table(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def rows(self, name: str, portfolio_id: str) -> list[dict]:
        """The rows of table ``name`` for the portfolio (every row of a table without
        ``portfolio_id``) as fresh dicts (``to_dict("records")``), in the frame's order."""
        frame = self.tables[name]
        if "portfolio_id" not in frame.columns:
            return frame.to_dict("records")
        return self.select(frame, "portfolio_id", (portfolio_id,))

    def select(self, frame: pd.DataFrame | None, column: str, keys: Iterable,
               with_null: bool = False) -> list[dict]:
        """The rows of ``frame`` whose ``column`` is one of ``keys`` (and, ``with_null``, the
        rows where it is missing), in the frame's order, as fresh dicts equal in values and
        types to ``frame[...].to_dict("records")``. None or a frame without ``column``: []."""
        if frame is None or column not in frame.columns:
            return []
        if not self.index_rows:
            return frame_rows(frame, column, keys, with_null)
        hit = self._indexes.get((id(frame), column))
        if hit is None or hit[0] is not frame:  # the frame is kept: an id is never reused
            hit = self._indexes[(id(frame), column)] = (frame, _RowIndex(frame, column))
        return hit[1].rows(keys, with_null)


def frame_rows(frame: pd.DataFrame, column: str, keys: Iterable,
               with_null: bool = False) -> list[dict]:
    """:meth:`ReportInputs.select` without an index: one filter and ``to_dict``."""
    keys = list(keys)
    mask = frame[column].isin(keys) if len(keys) != 1 else frame[column] == keys[0]
    if with_null:
        mask = mask | frame[column].isna()
    return frame[mask].to_dict("records")


def column_values(series: pd.Series) -> list:
    """The values ``to_dict("records")`` gives for a column: Python scalars of numeric
    columns, object and extension values boxed to native types (pandas' own rule), the
    iterated values otherwise (Timestamps of datetime columns)."""
    if isinstance(series.dtype, np.dtype) and series.dtype.kind in "biuf":
        return series.to_numpy().tolist()
    if series.dtype == np.dtype(object) or isinstance(series.dtype, ExtensionDtype):
        # the values as stored; maybe_box_native leaves these types as they are
        values = series.to_numpy(dtype=object).tolist()
        return [v if type(v) in _NATIVE else maybe_box_native(v) for v in values]
    return list(series)


#: types :func:`maybe_box_native` returns unchanged (it converts numpy scalars)
_NATIVE = frozenset({str, float, int, bool, type(None), dt.date, dt.datetime})


class _RowIndex:
    """A frame's rows as value tuples, and the row numbers of each key of one column."""

    __slots__ = ("columns", "tuples", "by_key", "nulls")

    def __init__(self, frame: pd.DataFrame, column: str):
        self.columns = frame.columns.tolist()
        values = [column_values(frame.iloc[:, j]) for j in range(frame.shape[1])]
        self.tuples = list(zip(*values, strict=True)) if values else []
        self.by_key: dict = {}
        self.nulls: list[int] = []
        keys = values[self.columns.index(column)]
        missing = frame[column].isna().to_numpy()
        for i, (key, null) in enumerate(zip(keys, missing.tolist(), strict=True)):
            if null:
                self.nulls.append(i)
            else:
                self.by_key.setdefault(key, []).append(i)

    def rows(self, keys: Iterable, with_null: bool) -> list[dict]:
        lists = [self.by_key.get(k, ()) for k in keys]
        if with_null:
            lists.append(self.nulls)
        lists = [n for n in lists if n]
        if not lists:
            return []
        numbers = lists[0] if len(lists) == 1 else sorted(set().union(*lists))
        cols, tuples = self.columns, self.tuples
        return [dict(zip(cols, tuples[i], strict=True)) for i in numbers]


def _shared_column(series: pd.Series) -> pd.Series | None:
    """``series`` with each distinct value one object (None when that changes nothing: no
    repeats, unhashable values, a dtype whose values are not stored as Python objects)."""
    dtype = series.dtype
    if not (dtype == np.dtype(object)
            or (isinstance(dtype, pd.StringDtype) and dtype.storage == "python")):
        return None
    values = series.to_numpy(dtype=object).tolist()
    canonical: dict = {}
    try:
        shared = [canonical.setdefault(v, v) for v in values]
    except TypeError:  # lists, dicts (flags, factor impacts)
        return None
    if len(canonical) == len(values):
        return None
    array = np.empty(len(shared), dtype=object)
    array[:] = shared
    return pd.Series(array, index=series.index, name=series.name,
                     dtype=None if dtype == np.dtype(object) else dtype)


def shared_values(inputs: ReportInputs) -> ReportInputs:
    """The same inputs (equal frames, dtypes and values) with equal values of each object
    or text column made one object: pickle memoizes by object, so a worker's chunk then
    carries the day's date, each portfolio id and symbol once instead of once a row (the
    chunks pickled in a quarter of the time, a third smaller)."""
    done: dict[int, tuple[pd.DataFrame, pd.DataFrame]] = {}  # a frame held twice: once

    def share(frame: pd.DataFrame) -> pd.DataFrame:
        if id(frame) in done:
            return done[id(frame)][1]
        out = None
        for j in range(frame.shape[1]):
            column = _shared_column(frame.iloc[:, j])
            if column is not None:
                out = frame.copy(deep=False) if out is None else out
                out.isetitem(j, column)
        done[id(frame)] = (frame, frame if out is None else out)
        return done[id(frame)][1]

    return replace(inputs, **_map_frames(inputs, share))


def _map_frames(inputs: ReportInputs, fn) -> dict:
    """``fn`` of every frame of ``inputs``: {field: fn(frame)} for a frame field,
    {field: {name: fn(frame)}} for a dict of frames (tables, risk_ii); other fields left out."""
    out: dict = {}
    for f in fields(inputs):
        if not f.init:
            continue
        value = getattr(inputs, f.name)
        if isinstance(value, pd.DataFrame):
            out[f.name] = fn(value)
        elif isinstance(value, dict) and all(isinstance(v, pd.DataFrame)
                                             for v in value.values()):
            out[f.name] = {name: fn(frame) for name, frame in value.items()}
    return out


def _split_frame(frame: pd.DataFrame, keys: pd.Series, group_of: dict[str, int],
                 n_groups: int, with_null: bool) -> list[pd.DataFrame]:
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
        return [frame.iloc[np.sort(np.concatenate([order[bounds[i]:bounds[i + 1]], nulls]))]
                for i in range(n_groups)]
    ordered = frame.iloc[order]
    return [ordered.iloc[bounds[i]:bounds[i + 1]] for i in range(n_groups)]


def split_inputs(inputs: ReportInputs, groups: Sequence[Sequence[str]]) -> list[ReportInputs]:
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
        return _split_frame(frame, keys, group_of, n, with_null)

    # tables and risk_ii alike: an unsplit risk_ii made every portfolio scan (and
    # astype(str)) the whole day's 60-day history and 30-day attribution
    by_frame = _map_frames(inputs, parts)
    split: dict[str, list] = {}
    for f in fields(inputs):
        if not f.init:
            continue
        value = by_frame.get(f.name)
        if value is None:
            split[f.name] = [getattr(inputs, f.name)] * n
        elif isinstance(value, dict):
            split[f.name] = [{name: p[i] for name, p in value.items()} for i in range(n)]
        else:
            split[f.name] = value
    return [ReportInputs(**{name: values[i] for name, values in split.items()})
            for i in range(n)]
