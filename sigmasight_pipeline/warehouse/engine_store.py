"""Reading engine results back (one table, some days), ids as strings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import Table, Text, any_, bindparam, cast, select, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID, distinct_on
from sqlalchemy.engine import Connection

from .fetch import fetch_frame, fetch_rows, frame_of, uuid_as_text
from .tables import portfolio_snapshots


def _names(table: Table, columns: Sequence[str] | None) -> list[str]:
    """``columns`` (checked against ``table``), or all of its columns when None."""
    if columns is None:
        return [c.name for c in table.columns]
    unknown = [c for c in columns if c not in table.c]
    if unknown:
        raise KeyError(f"{table.name} has no column(s) {unknown}")
    return list(columns)


def _days_query(table: Table, days: list[dt.date], filters: dict,
                columns: Sequence[str] | None = None):
    q = select(*(uuid_as_text(table.c[c]) for c in _names(table, columns))).where(
        table.c.date.in_(days))
    for col, val in filters.items():
        q = q.where(table.c[col] == val)
    return q.order_by(*table.primary_key.columns)


def read_days(conn: Connection, table: Table, days: Sequence[dt.date] | dt.date,
              columns: Sequence[str] | None = None, **filters) -> pd.DataFrame:
    """Rows of ``table`` whose date is in ``days`` (and columns equal ``filters``): its
    ``columns`` in that order, or every column when None.

    Ordered by the primary key: float sums over the rows then come out bit-identical
    however PostgreSQL happens to lay the rows out after a rewrite. Reading only the
    columns an engine uses matters at scale: a day of 100,000 position values is ~10×
    faster in 3 columns than in all 16.
    """
    days = [days] if isinstance(days, dt.date) else list(days)
    return fetch_frame(conn, _days_query(table, days, filters, columns), _names(table, columns))


def read_each_day(conn: Connection, table: Table, days: Sequence[dt.date],
                  columns: Sequence[str] | None = None, **filters
                  ) -> dict[dt.date, pd.DataFrame]:
    """``{day: read_days(conn, table, day, columns, **filters)}`` for every day of ``days``
    from one query: each day's frame is built from its own rows (same order, dtypes and
    index as its own read; one frame over all days could infer other dtypes, e.g. float
    for a column that is all None on one day)."""
    days = list(days)
    names = _names(table, columns)
    # the date routes each row to its day: read it even when the caller did not ask for it
    query_names = names if "date" in names else [*names, "date"]
    rows = rows_by_day(fetch_rows(conn, _days_query(table, days, filters, query_names)),
                       query_names.index("date"), days)
    if query_names is not names:
        return {day: frame_of([row[:-1] for row in r], names) for day, r in rows.items()}
    return {day: frame_of(r, names) for day, r in rows.items()}


def rows_by_day(rows: Sequence[tuple], at: int, days: Sequence[dt.date]
                ) -> dict[dt.date, list[tuple]]:
    """``rows`` routed to their day (the date in column ``at``; each of ``days`` a key, a
    row of another day an error), in their order within each day."""
    out: dict[dt.date, list[tuple]] = {day: [] for day in days}
    for row in rows:
        out[row[at]].append(row)
    return out


#: rows held per DayChunks reader: a chunk of days is read in one query up to this many
ROWS_PER_CHUNK = 50_000
#: most days per chunk (a small book's year is then 5 queries, not 250)
MAX_CHUNK_DAYS = 50


class DayChunks:
    """``read_days(conn, table, day)`` for the days of a range run, read a chunk of days
    per query (fewer round trips than one per day) with memory bounded by
    ``ROWS_PER_CHUNK`` rows: the first chunk is one day, later chunks are sized from the
    rows a day had. Days outside ``days`` are read on their own. Each call returns a copy.

    ``before``: a day read in the same first query as the first day (the session before the
    range, for an asset that reads t−1's rows beside t's): the first chunk is then two days.
    """

    def __init__(self, table: Table, days: Sequence[dt.date],
                 columns: Sequence[str] | None = None, *, before: dt.date | None = None,
                 **filters):
        self.table, self.columns, self.filters = table, columns, filters
        self.days = list(days)
        self._size = 1
        if before is not None and before not in self.days:
            self.days.insert(0, before)
            self._size = 2
        self._index = {day: i for i, day in enumerate(self.days)}
        self._frames: dict[dt.date, pd.DataFrame] = {}

    def __call__(self, conn: Connection, day: dt.date) -> pd.DataFrame:
        if day not in self._frames:
            i = self._index.get(day)
            if i is None:
                return read_days(conn, self.table, day, self.columns, **self.filters)
            chunk = self.days[i:i + self._size]
            self._frames = read_each_day(conn, self.table, chunk, self.columns, **self.filters)
            per_day = max(1, sum(len(f) for f in self._frames.values()) // len(chunk))
            self._size = max(1, min(MAX_CHUNK_DAYS, ROWS_PER_CHUNK // per_day))
        return self._frames[day].copy()


def snapshot_dates_before(conn: Connection, table: Table, day: dt.date) -> set[str]:
    """Portfolio ids that have any row in ``table`` dated before ``day``."""
    q = select(table.c.portfolio_id).where(table.c.date < day).distinct()
    return {str(r[0]) for r in conn.execute(q)}


def read_snapshot_history(conn: Connection, end: dt.date, columns: Sequence[str],
                          start: dt.date | None = None) -> pd.DataFrame:
    """(portfolio_id as text, *columns) of every portfolio_snapshots row up to ``end``
    (from ``start`` when given), ordered by date: the series the performance, volatility
    and backtest windows run over."""
    snaps = portfolio_snapshots
    cols = [c for c in columns if c != "portfolio_id"]
    q = select(uuid_as_text(snaps.c.portfolio_id), *(snaps.c[c] for c in cols)).where(
        snaps.c.date <= end)
    if start is not None:
        q = q.where(snaps.c.date >= start)
    q = q.order_by(snaps.c.date, snaps.c.portfolio_id)
    return fetch_frame(conn, q, ["portfolio_id", *cols])


class MissingTableError(RuntimeError):
    """A table another release creates is not in the warehouse yet."""


def read_var_history(conn: Connection, start: dt.date, end: dt.date) -> pd.DataFrame:
    """(date, portfolio_id, method, confidence, var) of the 1-day portfolio_var rows dated
    in [start, end] (SPEC §7.5). Raises :class:`MissingTableError` naming the table when
    the warehouse has no portfolio_var (Portfolio risk I not migrated/materialized)."""
    exists = conn.execute(text("SELECT to_regclass('sigmasight.portfolio_var')")).scalar()
    if exists is None:
        raise MissingTableError(
            "sigmasight.portfolio_var does not exist: the VaR backtest needs Portfolio risk I "
            "(SPEC §7.5); run `sigmasight db upgrade` with that release and materialize "
            "portfolio_var first")
    rows = conn.execute(text(
        "SELECT date, portfolio_id::text, method, confidence, var FROM sigmasight.portfolio_var"
        " WHERE horizon_days = 1 AND date BETWEEN :start AND :end ORDER BY date, portfolio_id"),
        {"start": start, "end": end}).all()
    out = pd.DataFrame(rows, columns=["date", "portfolio_id", "method", "confidence", "var"])
    out["var"] = pd.to_numeric(out["var"], errors="coerce").astype(float)
    out["confidence"] = out["confidence"].astype(float)
    return out
def last_values_before(conn: Connection, position_ids: Sequence[str], day: dt.date
                       ) -> pd.DataFrame:
    """Each position's latest ``position_values`` row dated before ``day`` with the
    adj_close of the price it used (position_id, date, price, price_date, market_value,
    split_factor, adj_close); for P&L over a stretch of days without a value."""
    from .tables import market_prices
    from .tables import position_values as pv

    columns = ["position_id", "date", "price", "price_date", "market_value", "split_factor",
               "adj_close"]
    if not position_ids:
        return pd.DataFrame(columns=columns)
    latest = (select(pv.c.position_id, pv.c.date, pv.c.symbol, pv.c.price, pv.c.price_date,
                     pv.c.market_value, pv.c.split_factor)
              # one array parameter, not one per id: a first day values 100,000
              # positions none of which has an earlier row (PostgreSQL takes ≤ 65,535);
              # sent as text and cast by the server (uuid.UUID() per id took ~0.5 s)
              .where(pv.c.position_id == any_(cast(bindparam(
                  "position_ids", [str(p) for p in position_ids], type_=ARRAY(Text)),
                  ARRAY(UUID(as_uuid=True)))), pv.c.date < day)
              .order_by(pv.c.position_id, pv.c.date.desc())
              .ext(distinct_on(pv.c.position_id)).subquery())
    q = (select(uuid_as_text(latest.c.position_id), latest.c.date, latest.c.price,
                latest.c.price_date, latest.c.market_value, latest.c.split_factor,
                market_prices.c.adj_close)
         .select_from(latest.outerjoin(market_prices, (market_prices.c.symbol == latest.c.symbol)
                                       & (market_prices.c.date == latest.c.price_date))))
    return fetch_frame(conn, q, columns)
