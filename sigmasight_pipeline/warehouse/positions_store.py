"""Writing validated positions and reading the book back."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from .fetch import fetch_frame, uuid_as_text
from .tables import (
    SCHEMA,
    VERSIONED_TABLES,
    portfolios,
    position_tags,
    positions,
    table_versions,
)

_POSITION_FIELDS = (
    "symbol", "position_type", "quantity", "multiplier", "entry_price", "entry_date",
    "exit_date", "exit_price", "underlying_symbol", "strike", "expiration", "option_type",
)


@dataclass(frozen=True)
class LoadSummary:
    portfolios: int
    positions_in_file: int
    positions_added: int
    positions_total: int


def load_positions(conn: Connection, book: pd.DataFrame) -> LoadSummary:
    """Upsert portfolios and positions of a validated book in the caller's transaction.

    A position is identified by (portfolio, symbol, entry_date, quantity, entry_price):
    re-importing the same file changes nothing; a re-import that adds an exit updates it.
    Tags of the imported positions are replaced by the file's. Batched statements only.
    """
    # Serialize concurrent imports: they would race on the same identities.
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('sigmasight.positions_import'))"))
    owners = book.groupby("portfolio", sort=True)["owner"].first()
    port_rows = [{"name": n, "owner_email": o if isinstance(o, str) else None}
                 for n, o in owners.items()]
    stmt = insert(portfolios).values(port_rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[portfolios.c.name],
        set_={"owner_email": func.coalesce(stmt.excluded.owner_email, portfolios.c.owner_email)},
    ).returning(portfolios.c.id, portfolios.c.name)
    port_ids = {name: pid for pid, name in conn.execute(stmt)}

    before = conn.execute(text(f"SELECT count(*) FROM {SCHEMA}.positions")).scalar_one()
    # COPY into a temporary table, then one INSERT … SELECT … ON CONFLICT: a multi-row
    # VALUES statement binds 13 parameters per position and PostgreSQL allows 65,535 per
    # statement (about 5,000 positions); COPY has no limit and is ~10× faster at 100k.
    columns = ["portfolio_id", *_POSITION_FIELDS]
    conn.execute(text(
        f"CREATE TEMP TABLE {_TMP_POSITIONS} (LIKE {SCHEMA}.positions INCLUDING DEFAULTS) "
        "ON COMMIT DROP"))
    portfolio_col = [port_ids[name] for name in book["portfolio"].tolist()]
    rows = zip(portfolio_col, *([_none(v) for v in book[f].tolist()] for f in _POSITION_FIELDS),
               strict=True)
    _copy_rows(conn, _TMP_POSITIONS, columns, rows)
    cols = ", ".join(columns)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in _UPDATED_ON_REIMPORT)
    returned = conn.execute(text(
        f"INSERT INTO {SCHEMA}.positions ({cols}) SELECT {cols} FROM {_TMP_POSITIONS} "
        f"ON CONFLICT ON CONSTRAINT uq_positions_identity DO UPDATE SET {updates} "
        "RETURNING id, portfolio_id, symbol, entry_date, quantity, entry_price"))
    ids = {(r.portfolio_id, r.symbol, r.entry_date, r.quantity, r.entry_price): r.id
           for r in returned}
    conn.execute(text(f"DROP TABLE {_TMP_POSITIONS}"))
    after = conn.execute(text(f"SELECT count(*) FROM {SCHEMA}.positions")).scalar_one()

    conn.execute(text(f"DELETE FROM {SCHEMA}.position_tags WHERE position_id = ANY(:ids)"),
                 {"ids": list(ids.values())})
    keys = zip(portfolio_col, *(book[c].tolist() for c in ("symbol", "entry_date", "quantity",
                                                           "entry_price")), strict=True)
    tag_rows = ((ids[key], tag) for key, tags in zip(keys, book["tags"].tolist(), strict=True)
                for tag in tags)
    _copy_rows(conn, f"{SCHEMA}.position_tags", ["position_id", "tag"], tag_rows)
    return LoadSummary(len(port_ids), len(book), after - before, after)


_TMP_POSITIONS = "tmp_import_positions"
_UPDATED_ON_REIMPORT = ("exit_date", "exit_price", "position_type", "multiplier",
                        "underlying_symbol", "strike", "expiration", "option_type")


def _copy_rows(conn: Connection, table: str, columns: list[str], rows) -> None:
    """COPY ``rows`` (tuples in ``columns`` order) in the caller's transaction."""
    raw = conn.connection.driver_connection  # psycopg.Connection
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row)


def _none(value):
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else value


def read_portfolios(conn: Connection) -> pd.DataFrame:
    """portfolio_id, name, owner_email, description — ordered by name."""
    rows = conn.execute(
        select(portfolios.c.id.label("portfolio_id"), portfolios.c.name,
               portfolios.c.owner_email, portfolios.c.description).order_by(portfolios.c.name)
    )
    return pd.DataFrame(rows.mappings().all(),
                        columns=["portfolio_id", "name", "owner_email", "description"])


#: what :func:`read_positions` returns, in this order
POSITION_COLUMNS = ("position_id", "portfolio_id", "portfolio", *_POSITION_FIELDS)
#: enough to tell each position's beta symbol (an option's underlying, else its symbol)
BETA_SYMBOL_COLUMNS = ("position_id", "position_type", "symbol", "underlying_symbol")


def read_positions(conn: Connection, portfolio_ids=None,
                   columns=POSITION_COLUMNS) -> pd.DataFrame:
    """Every position (open and closed) with its portfolio name; ids as strings.

    ``columns``: a subset of :data:`POSITION_COLUMNS` (same row order). The whole book is
    read once and kept (:class:`_BookCache`): a later call reads the versions of
    ``portfolios`` and ``positions`` (one row each, :data:`~.tables.table_versions`) and
    returns a copy of the kept columns while neither table changed. A day's engine steps
    read the book some 15 times (0.3-0.5 s each at 100,000 positions).
    """
    unknown = set(columns) - set(POSITION_COLUMNS)
    if unknown:
        raise KeyError(f"read_positions: no column(s) {sorted(unknown)}")
    if portfolio_ids is not None:
        return _query_positions(conn, portfolio_ids, columns)
    book = _BOOK.get(conn)
    return book[list(columns)].copy()


def _query_positions(conn: Connection, portfolio_ids, columns) -> pd.DataFrame:
    selectable = {"position_id": uuid_as_text(positions.c.id).label("position_id"),
                  "portfolio_id": uuid_as_text(positions.c.portfolio_id),
                  "portfolio": portfolios.c.name.label("portfolio"),
                  **{f: positions.c[f] for f in _POSITION_FIELDS}}
    query = select(*(selectable[c] for c in columns)).select_from(positions).join(portfolios)
    if portfolio_ids is not None:
        query = query.where(positions.c.portfolio_id.in_(list(portfolio_ids)))
    frame = fetch_frame(conn, query.order_by(portfolios.c.name, positions.c.symbol,
                                             positions.c.entry_date), list(columns))
    for col in ("position_id", "portfolio_id"):
        if col in frame:
            frame[col] = frame[col].astype(str)
    return frame


class _BookCache:
    """The last book read, per database, with the table versions it was read at.

    The versions are read *before* the book: a change committed in between makes the kept
    copy newer than its versions, so the next call finds other versions and reads again
    (never an older copy under newer versions). A version is random (never reused, even by
    a schema dropped and migrated again); a missing row (a table version deleted by hand)
    means no copy is kept. Holds one book per database URL (~60 MB at 100,000 positions).
    """

    def __init__(self):
        self._kept: dict[str, tuple[tuple, pd.DataFrame]] = {}
        self._lock = threading.Lock()

    def get(self, conn: Connection) -> pd.DataFrame:
        rows = conn.execute(select(table_versions.c.table_name, table_versions.c.version)
                            .where(table_versions.c.table_name.in_(VERSIONED_TABLES))).all()
        found = dict(rows)
        versions = tuple(found.get(t) for t in VERSIONED_TABLES)
        key = conn.engine.url.render_as_string(hide_password=False)
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and kept[0] == versions:
            return kept[1]
        book = _query_positions(conn, None, POSITION_COLUMNS)
        with self._lock:
            if None in versions:
                self._kept.pop(key, None)
            else:
                self._kept[key] = (versions, book)
        return book

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


_BOOK = _BookCache()


def read_tags(conn: Connection) -> pd.DataFrame:
    """position_id (str), tag."""
    frame = fetch_frame(conn, select(uuid_as_text(position_tags.c.position_id),
                                     position_tags.c.tag), ["position_id", "tag"])
    frame["position_id"] = frame["position_id"].astype(str)
    return frame


