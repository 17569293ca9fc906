"""Writing validated positions and reading the book back."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from .tables import SCHEMA, portfolios, position_tags, positions

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
    pos_rows = []
    for rec in book.to_dict("records"):
        row = {f: _none(rec[f]) for f in _POSITION_FIELDS}
        row["portfolio_id"] = port_ids[rec["portfolio"]]
        pos_rows.append(row)
    stmt = insert(positions).values(pos_rows)
    stmt = stmt.on_conflict_do_update(
        constraint="uq_positions_identity",
        set_={c: stmt.excluded[c] for c in ("exit_date", "exit_price", "position_type",
                                             "multiplier", "underlying_symbol", "strike",
                                             "expiration", "option_type")},
    ).returning(positions.c.id, positions.c.portfolio_id, positions.c.symbol,
                positions.c.entry_date, positions.c.quantity, positions.c.entry_price)
    ids = {(r.portfolio_id, r.symbol, r.entry_date, r.quantity, r.entry_price): r.id
           for r in conn.execute(stmt)}
    after = conn.execute(text(f"SELECT count(*) FROM {SCHEMA}.positions")).scalar_one()

    position_ids = list(ids.values())
    conn.execute(position_tags.delete().where(position_tags.c.position_id.in_(position_ids)))
    tag_rows = [
        {"position_id": ids[(port_ids[rec["portfolio"]], rec["symbol"], rec["entry_date"],
                             rec["quantity"], rec["entry_price"])], "tag": tag}
        for rec in book.to_dict("records") for tag in rec["tags"]
    ]
    if tag_rows:
        conn.execute(insert(position_tags).values(tag_rows))
    return LoadSummary(len(port_ids), len(book), after - before, after)


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


def read_positions(conn: Connection, portfolio_ids=None) -> pd.DataFrame:
    """Every position (open and closed) with its portfolio name; ids as strings."""
    query = select(positions.c.id.label("position_id"), positions.c.portfolio_id,
                   portfolios.c.name.label("portfolio"),
                   *(positions.c[f] for f in _POSITION_FIELDS)).join(portfolios)
    if portfolio_ids is not None:
        query = query.where(positions.c.portfolio_id.in_(list(portfolio_ids)))
    frame = pd.DataFrame(conn.execute(query.order_by(portfolios.c.name, positions.c.symbol,
                                                     positions.c.entry_date)).mappings().all(),
                         columns=["position_id", "portfolio_id", "portfolio", *_POSITION_FIELDS])
    for col in ("position_id", "portfolio_id"):
        frame[col] = frame[col].astype(str)
    return frame


def read_tags(conn: Connection) -> pd.DataFrame:
    """position_id (str), tag."""
    frame = pd.DataFrame(conn.execute(select(position_tags)).mappings().all(),
                         columns=["position_id", "tag"])
    frame["position_id"] = frame["position_id"].astype(str)
    return frame


