"""Market data from a directory of CSV files (SPEC §3), for offline or vendor-exported data.

The directory holds:

- ``prices.csv`` (required): ``date, symbol, close`` required; ``open, high, low,
  adj_close, volume`` optional (a missing or empty ``adj_close`` equals ``close``);
- ``treasury_yields.csv`` (required): ``date, series_id, value`` (percent, as FRED);
- ``option_quotes.csv`` (optional): ``date, symbol, underlying`` and at least one of
  ``bid, ask, last, implied_vol`` (decimal, 0.25 = 25 %); ``open_interest`` optional;
- ``securities.csv`` (optional): ``symbol`` required; ``name, asset_class, sector,
  industry`` optional (asset_class ∈ equity, etf, mutual_fund, index, option);
- ``corporate_actions.csv`` (optional, SPEC §8): ``symbol, ex_date, action`` required,
  ``ratio, cash_amount``; action ∈ split, dividend; a split's ratio (new shares per old
  share) must be positive, a dividend needs its cash_amount ($ per share); no two lines
  may share (symbol, ex_date, action).

Dates are ``YYYY-MM-DD``; header names are case-insensitive; unknown columns are ignored;
symbols and series ids are upper-cased. Every file is validated **whole** the first time it
is read (and again whenever it changes on disk): one bad value anywhere — an unparsable
date or number, a negative price, an empty required value, a duplicate row — raises
:class:`~sigmasight_pipeline.providers.base.ProviderDataError` naming the file and listing
each bad line (line numbers as an editor shows them, the header is line 1) with its column,
so the caller writes nothing from a broken file. A missing optional file gives empty
frames; a missing directory or required file raises ``ProviderDataError``.

``securities`` answers from ``securities.csv``; a symbol without an entry there that has
prices (or option quotes) gets a generic entry (name = symbol, asset_class ``equity``, or
``option`` for an OCC symbol).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .base import (
    CORPORATE_ACTION_COLUMNS,
    OPTION_QUOTE_COLUMNS,
    PRICE_COLUMNS,
    SECURITY_COLUMNS,
    YIELD_COLUMNS,
    ProviderDataError,
    empty_frame,
)

__all__ = ["FilesProvider", "MAX_LISTED_ERRORS"]

SOURCE = "files"
#: bad lines listed in one error message (the rest are counted)
MAX_LISTED_ERRORS = 20
ASSET_CLASSES = ("equity", "etf", "mutual_fund", "index", "option")
_OCC = re.compile(r"^[A-Z0-9.\-]{1,6}\d{6}[CP]\d{8}$")

# value rules
_POSITIVE = "positive"  # a price: finite and > 0
_NON_NEGATIVE = "non_negative"  # bid/ask/last: finite and >= 0
_COUNT = "count"  # volume, open interest: a whole number >= 0
_ANY = "any"  # a yield: any finite number


@dataclass(frozen=True)
class _FileSpec:
    name: str
    required: tuple[str, ...]
    dates: tuple[str, ...] = ()
    texts: tuple[str, ...] = ()  # non-empty when required
    upper: tuple[str, ...] = ()  # texts normalized to upper case
    numbers: dict[str, str] = field(default_factory=dict)  # column -> rule
    optional: tuple[str, ...] = ()
    #: at least one of these columns must be in the header and filled on each line
    one_of: tuple[str, ...] = ()
    key: tuple[str, ...] = ()  # no two lines may share these values
    required_file: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


PRICES = _FileSpec(
    name="prices.csv",
    required=("date", "symbol", "close"),
    optional=("open", "high", "low", "adj_close", "volume"),
    dates=("date",),
    texts=("symbol",),
    upper=("symbol",),
    numbers={"open": _POSITIVE, "high": _POSITIVE, "low": _POSITIVE, "close": _POSITIVE,
             "adj_close": _POSITIVE, "volume": _COUNT},
    key=("date", "symbol"),
    required_file=True,
)
QUOTES = _FileSpec(
    name="option_quotes.csv",
    required=("date", "symbol", "underlying"),
    optional=("bid", "ask", "last", "implied_vol", "open_interest"),
    dates=("date",),
    texts=("symbol", "underlying"),
    upper=("symbol", "underlying"),
    numbers={"bid": _NON_NEGATIVE, "ask": _NON_NEGATIVE, "last": _NON_NEGATIVE,
             "implied_vol": _POSITIVE, "open_interest": _COUNT},
    one_of=("bid", "ask", "last", "implied_vol"),
    key=("date", "symbol"),
)
YIELDS = _FileSpec(
    name="treasury_yields.csv",
    required=("date", "series_id", "value"),
    dates=("date",),
    texts=("series_id",),
    upper=("series_id",),
    numbers={"value": _ANY},
    key=("date", "series_id"),
    required_file=True,
)
SECURITIES = _FileSpec(
    name="securities.csv",
    required=("symbol",),
    optional=("name", "asset_class", "sector", "industry"),
    texts=("symbol",),
    upper=("symbol",),
    key=("symbol",),
)
#: SPEC §8: ratio = new shares per old share for a split; cash_amount $ per share for a dividend
CORPORATE_ACTIONS = _FileSpec(
    name="corporate_actions.csv",
    required=("symbol", "ex_date", "action"),
    optional=("ratio", "cash_amount"),
    dates=("ex_date",),
    texts=("symbol", "action"),
    upper=("symbol",),
    numbers={"ratio": _POSITIVE, "cash_amount": _NON_NEGATIVE},
    key=("symbol", "ex_date", "action"),
)
CORPORATE_ACTION_TYPES = ("split", "dividend")


@dataclass(frozen=True)
class _Bad:
    line: int
    column: str | None
    reason: str


class _Collector:
    def __init__(self) -> None:
        self.items: list[_Bad] = []

    def add(self, lines: np.ndarray, mask: np.ndarray, column: str | None, reason) -> None:
        """Record ``reason`` (a str, or a function of the row index) where ``mask``."""
        for j in np.flatnonzero(mask).tolist():
            text = reason if isinstance(reason, str) else reason(j)
            self.items.append(_Bad(int(lines[j]), column, text))


def _format_errors(path: Path, bad: list[_Bad]) -> str:
    bad = sorted(bad, key=lambda b: (b.line, b.column or ""))
    n_lines = len({b.line for b in bad})
    head = (f"{path}: {len(bad)} bad value(s) on {n_lines} line(s); nothing was read from "
            f"{path.name} (line numbers count the header as line 1):")
    shown = [
        f"  line {b.line}, column {b.column}: {b.reason}" if b.column
        else f"  line {b.line}: {b.reason}"
        for b in bad[:MAX_LISTED_ERRORS]
    ]
    if len(bad) > MAX_LISTED_ERRORS:
        shown.append(f"  ... and {len(bad) - MAX_LISTED_ERRORS} more")
    return "\n".join([head, *shown])


def _as_date(value) -> dt.date:
    """A datetime.date from a date, datetime, Timestamp or ISO string."""
    return pd.Timestamp(value).date()


def _quoted(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:37] + "...")


_RawColumns = dict[str, np.ndarray]  # column -> stripped text of each record (object)


def _header_positions(path: Path, spec: _FileSpec, header: list[str] | None) -> dict[str, int]:
    """Column -> position in the header; raises when a required column is missing."""
    if header is None or not any(h.strip() for h in header):
        raise ProviderDataError(
            f"{path}: the file is empty; expected a header line with the columns "
            f"{', '.join(spec.required)}"
        )
    names = [h.strip().lower() for h in header]
    missing = [c for c in spec.required if c not in names]
    if missing:
        raise ProviderDataError(
            f"{path}: missing required column(s) {', '.join(missing)} in the header "
            f"(line 1 has: {', '.join(n for n in names if n) or 'nothing'})"
        )
    if spec.one_of and not any(c in names for c in spec.one_of):
        raise ProviderDataError(
            f"{path}: the header needs at least one of the columns {', '.join(spec.one_of)}"
        )
    return {c: names.index(c) for c in spec.columns if c in names}


def _read_fast(text: str, n_header: int, position: dict[str, int]
               ) -> tuple[_RawColumns, np.ndarray] | None:
    """pandas' C parser, when every record is one physical line (else None)."""
    n_physical = text.count("\n") + (0 if text.endswith("\n") else 1)
    try:
        frame = pd.read_csv(io.StringIO(text), header=None, skiprows=1, dtype=str,
                            keep_default_na=False, na_filter=False, skip_blank_lines=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError):
        return None  # ragged lines or no data: the exact reader explains or handles it
    if len(frame) + 1 != n_physical or frame.shape[1] > n_header:
        return None  # quoted line breaks or extra fields
    cells = frame.apply(lambda col: col.str.strip())
    keep = (cells != "").any(axis=1).to_numpy()  # drop blank lines
    lines = np.arange(2, len(frame) + 2, dtype=np.int64)[keep]
    values = {
        c: (cells[i].to_numpy(dtype=object)[keep] if i in cells.columns
            else np.full(int(keep.sum()), "", dtype=object))
        for c, i in position.items()
    }
    return values, lines


def _read_exact(path: Path, text: str, n_header: int, position: dict[str, int]
                ) -> tuple[_RawColumns, np.ndarray, list[_Bad]]:
    """The csv module, tracking the physical line where each record starts."""
    reader = csv.reader(io.StringIO(text, newline=""))
    values: dict[str, list[str]] = {c: [] for c in position}
    lines: list[int] = []
    bad: list[_Bad] = []
    try:
        next(reader)
        last_line = reader.line_num
        for row in reader:
            start = last_line + 1
            last_line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue  # blank line
            if len(row) > n_header and any(cell.strip() for cell in row[n_header:]):
                bad.append(_Bad(start, None, f"{len(row)} fields but the header has "
                                             f"{n_header} (a stray comma?)"))
            lines.append(start)
            for c, i in position.items():
                values[c].append(row[i].strip() if i < len(row) else "")
    except csv.Error as exc:
        raise ProviderDataError(f"{path}: unreadable CSV near line {reader.line_num}: "
                                f"{exc}") from exc
    columns = {c: np.array(v, dtype=object) for c, v in values.items()}
    return columns, np.asarray(lines, dtype=np.int64), bad


def _read_rows(path: Path, spec: _FileSpec) -> tuple[_RawColumns, np.ndarray, list[_Bad]]:
    """Raw text of the spec's columns, the line number of each record, structural errors."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProviderDataError(f"{path}: not UTF-8 text ({exc.reason} at byte "
                                f"{exc.start})") from exc
    try:
        header = next(csv.reader(io.StringIO(text, newline="")), None)
    except csv.Error as exc:
        raise ProviderDataError(f"{path}: unreadable CSV header: {exc}") from exc
    position = _header_positions(path, spec, header)
    fast = _read_fast(text, len(header), position)
    if fast is not None:
        return (*fast, [])
    return _read_exact(path, text, len(header), position)


def _parse(path: Path, spec: _FileSpec) -> pd.DataFrame:
    """The file as a typed frame (spec columns; absent optional ones all-missing)."""
    raw, lines, structural = _read_rows(path, spec)
    bad = _Collector()
    bad.items.extend(structural)
    n = len(lines)
    out: dict[str, object] = {}

    for c in spec.texts + tuple(c for c in spec.optional if c not in spec.numbers):
        if c not in raw:
            out[c] = np.full(n, None, dtype=object)
            continue
        text = np.asarray(raw[c], dtype=object)
        empty = text == ""
        if c in spec.required:
            bad.add(lines, empty, c, "empty value")
        if c in spec.upper:
            text = np.array([t.upper() for t in text], dtype=object)
        out[c] = np.where(empty, None, text)

    for c in spec.dates:
        text = pd.Series(raw[c], dtype=object)
        parsed = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
        empty = (text == "").to_numpy()
        unparsable = parsed.isna().to_numpy() & ~empty
        bad.add(lines, empty, c, "empty value")
        bad.add(lines, unparsable, c, lambda j, t=text: f"{_quoted(t[j])} is not a date "
                "(YYYY-MM-DD)")
        out[c] = np.where(parsed.isna().to_numpy(), None,
                          parsed.dt.date.to_numpy(dtype=object, na_value=None))

    for c, rule in spec.numbers.items():
        if c not in raw:
            out[c] = np.full(n, np.nan)
            continue
        text = pd.Series(raw[c], dtype=object)
        number = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
        empty = (text == "").to_numpy()
        not_number = ~np.isfinite(number) & ~empty
        bad.add(lines, not_number, c, lambda j, t=text: f"{_quoted(t[j])} is not a number")
        if c in spec.required:
            bad.add(lines, empty, c, "empty value")
        ok = np.isfinite(number)
        if rule == _POSITIVE:
            what = {"implied_vol": "volatility", "ratio": "split ratio"}.get(c, "price")
            bad.add(lines, ok & (number <= 0), c,
                    lambda j, t=text, w=what: f"{t[j]} is not a positive {w}")
        elif rule == _NON_NEGATIVE:
            bad.add(lines, ok & (number < 0), c, lambda j, t=text: f"{t[j]} is negative")
        elif rule == _COUNT:
            bad.add(lines, ok & ((number < 0) | (number != np.floor(number))), c,
                    lambda j, t=text: f"{t[j]} is not a whole number >= 0")
        out[c] = np.where(ok, number, np.nan)

    if spec.one_of:
        present = [c for c in spec.one_of if c in raw]
        none_filled = np.logical_and.reduce([np.asarray(raw[c]) == "" for c in present])
        bad.add(lines, none_filled, None, f"no value in any of {', '.join(present)}")
    if "high" in raw and "low" in raw:
        high, low = out["high"], out["low"]
        bad.add(lines, high < low, "high",
                lambda j: f"high {high[j]:g} is below low {low[j]:g}")
    if spec is SECURITIES and "asset_class" in raw:
        cls = np.array([None if v is None else re.sub(r"[\s\-]+", "_", v.lower())
                        for v in out["asset_class"]], dtype=object)
        unknown = np.array([v is not None and v not in ASSET_CLASSES for v in cls])
        bad.add(lines, unknown, "asset_class",
                lambda j: f"{_quoted(raw['asset_class'][j])} is not one of "
                f"{', '.join(ASSET_CLASSES)}")
        out["asset_class"] = cls

    if spec is CORPORATE_ACTIONS:
        action = np.array([None if v is None else v.strip().lower() for v in out["action"]],
                          dtype=object)
        unknown = np.array([v is not None and v not in CORPORATE_ACTION_TYPES for v in action])
        bad.add(lines, unknown, "action",
                lambda j: f"{_quoted(raw['action'][j])} is not one of "
                f"{', '.join(CORPORATE_ACTION_TYPES)}")
        out["action"] = action
        for kind, c, what in (("split", "ratio", "a ratio (new shares per old share)"),
                              ("dividend", "cash_amount", "a cash_amount ($ per share)")):
            empty = np.asarray(raw[c]) == "" if c in raw else np.ones(n, dtype=bool)
            bad.add(lines, (action == kind) & empty, c, f"a {kind} needs {what}")
    if spec.key:
        first_line: dict[tuple, int] = {}
        keys = zip(*(out[k] for k in spec.key), strict=True)
        for line, key in zip(lines.tolist(), keys, strict=True):
            if any(part is None for part in key):
                continue
            if key in first_line:
                bad.items.append(_Bad(line, None, f"duplicate {', '.join(spec.key)} "
                                                  f"(first on line {first_line[key]})"))
            else:
                first_line[key] = line
    if bad.items:
        raise ProviderDataError(_format_errors(path, bad.items))
    return pd.DataFrame(out)


class FilesProvider:
    """Reads SPEC §3's CSV files from ``directory`` (see the module docstring).

    Files are parsed and validated once and cached until their size or modification time
    changes, so a backfill reading the same ``prices.csv`` for every day parses it once.
    """

    source = SOURCE

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self._cache: dict[str, tuple[tuple[int, int], pd.DataFrame]] = {}

    def __repr__(self) -> str:
        return f"FilesProvider({str(self.directory)!r})"

    def _table(self, spec: _FileSpec) -> pd.DataFrame | None:
        """The validated file, or None when an optional file is absent."""
        if not self.directory.is_dir():
            what = "is not a directory" if self.directory.exists() else "does not exist"
            raise ProviderDataError(
                f"market-data directory {self.directory} {what}; set "
                f"SIGMASIGHT_MARKET_DATA_DIR to a directory holding prices.csv and "
                f"treasury_yields.csv (optionally option_quotes.csv, securities.csv)"
            )
        path = self.directory / spec.name
        if not path.is_file():
            if spec.required_file:
                raise ProviderDataError(
                    f"{path}: file not found; the files provider needs {spec.name} with the "
                    f"columns {', '.join(spec.required)}"
                )
            self._cache.pop(spec.name, None)
            return None
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        cached = self._cache.get(spec.name)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        frame = _parse(path, spec)
        self._cache[spec.name] = (stamp, frame)
        return frame

    def validate(self) -> None:
        """Read and validate every file now (raises ProviderDataError on the first bad one)."""
        for spec in (PRICES, YIELDS, QUOTES, SECURITIES, CORPORATE_ACTIONS):
            self._table(spec)

    # --- provider interface ----------------------------------------------------------------

    def prices(self, symbols: Sequence[str], start: dt.date, end: dt.date) -> pd.DataFrame:
        table = self._table(PRICES)
        start, end = _as_date(start), _as_date(end)
        wanted = {s.strip().upper() for s in symbols}
        rows = table[table["symbol"].isin(wanted)
                     & (table["date"] >= start) & (table["date"] <= end)]
        if rows.empty:
            return empty_frame(PRICE_COLUMNS)
        close = rows["close"].to_numpy(np.float64)
        adj = rows["adj_close"].to_numpy(np.float64)
        return pd.DataFrame({
            "date": rows["date"].to_numpy(object),
            "symbol": rows["symbol"].to_numpy(object),
            "open": rows["open"].to_numpy(np.float64),
            "high": rows["high"].to_numpy(np.float64),
            "low": rows["low"].to_numpy(np.float64),
            "close": close,
            "adj_close": np.where(np.isnan(adj), close, adj),
            "volume": pd.array(rows["volume"].to_numpy(), dtype="Int64"),
            "source": SOURCE,
        }).sort_values(["date", "symbol"], ignore_index=True)[PRICE_COLUMNS]

    def option_quotes(self, contracts: pd.DataFrame, day: dt.date) -> pd.DataFrame:
        table = self._table(QUOTES)
        if table is None or contracts is None or len(contracts) == 0:
            return empty_frame(OPTION_QUOTE_COLUMNS)
        day = _as_date(day)
        wanted = {str(s).strip().upper() for s in contracts["symbol"]}
        rows = table[table["symbol"].isin(wanted) & (table["date"] == day)]
        if rows.empty:
            return empty_frame(OPTION_QUOTE_COLUMNS)
        return pd.DataFrame({
            "date": rows["date"].to_numpy(object),
            "symbol": rows["symbol"].to_numpy(object),
            "underlying": rows["underlying"].to_numpy(object),
            "bid": rows["bid"].to_numpy(np.float64),
            "ask": rows["ask"].to_numpy(np.float64),
            "last": rows["last"].to_numpy(np.float64),
            "implied_vol": rows["implied_vol"].to_numpy(np.float64),
            "open_interest": pd.array(rows["open_interest"].to_numpy(), dtype="Int64"),
            "source": SOURCE,
        }).sort_values("symbol", ignore_index=True)[OPTION_QUOTE_COLUMNS]

    def treasury_yields(
        self, series_ids: Sequence[str], start: dt.date, end: dt.date
    ) -> pd.DataFrame:
        table = self._table(YIELDS)
        start, end = _as_date(start), _as_date(end)
        wanted = {s.strip().upper() for s in series_ids}
        rows = table[table["series_id"].isin(wanted)
                     & (table["date"] >= start) & (table["date"] <= end)]
        if rows.empty:
            return empty_frame(YIELD_COLUMNS)
        return pd.DataFrame({
            "date": rows["date"].to_numpy(object),
            "series_id": rows["series_id"].to_numpy(object),
            "value": rows["value"].to_numpy(np.float64),
            "source": SOURCE,
        }).sort_values(["date", "series_id"], ignore_index=True)[YIELD_COLUMNS]

    def securities(self, symbols: Sequence[str]) -> pd.DataFrame:
        wanted = list(dict.fromkeys(s.strip().upper() for s in symbols))
        table = self._table(SECURITIES)
        wanted_set = set(wanted)
        listed = {} if table is None else {
            r.symbol: r for r in table.itertuples(index=False) if r.symbol in wanted_set
        }
        traded = set(self._table(PRICES)["symbol"])
        quotes = self._table(QUOTES)
        if quotes is not None:
            traded |= set(quotes["symbol"])
        rows = []
        for s in wanted:
            entry = listed.get(s)
            if entry is not None:
                kind = entry.asset_class or ("option" if _OCC.match(s) else "equity")
                rows.append((s, entry.name or s, kind, entry.sector, entry.industry))
            elif s in traded:
                rows.append((s, s, "option" if _OCC.match(s) else "equity", None, None))
        if not rows:
            return empty_frame(SECURITY_COLUMNS)
        frame = pd.DataFrame(rows, columns=SECURITY_COLUMNS[:-1], dtype=object)
        frame["source"] = SOURCE
        return frame[SECURITY_COLUMNS]

    def corporate_actions(self, symbols: Sequence[str], start: dt.date, end: dt.date
                          ) -> pd.DataFrame:
        """Splits and dividends of ``symbols`` with ex_date in [start, end] (SPEC §8), from
        the optional corporate_actions.csv (none when the file is absent)."""
        table = self._table(CORPORATE_ACTIONS)
        if table is None:
            return empty_frame(CORPORATE_ACTION_COLUMNS)
        start, end = _as_date(start), _as_date(end)
        wanted = {s.strip().upper() for s in symbols}
        rows = table[table["symbol"].isin(wanted)
                     & (table["ex_date"] >= start) & (table["ex_date"] <= end)]
        if rows.empty:
            return empty_frame(CORPORATE_ACTION_COLUMNS)
        split = (rows["action"] == "split").to_numpy()
        return pd.DataFrame({
            "symbol": rows["symbol"].to_numpy(object),
            "ex_date": rows["ex_date"].to_numpy(object),
            "action": rows["action"].to_numpy(object),
            "ratio": np.where(split, rows["ratio"].to_numpy(np.float64), np.nan),
            "cash_amount": np.where(split, np.nan, rows["cash_amount"].to_numpy(np.float64)),
            "source": SOURCE,
        }).sort_values(["symbol", "ex_date", "action"], ignore_index=True)[
            CORPORATE_ACTION_COLUMNS]
