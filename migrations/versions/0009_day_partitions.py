"""position_values and position_correlations range-partitioned by day (issue 16, writes).

Each table is rebuilt as ``PARTITION BY RANGE (date)``: a partition per day that has rows
(``<table>_YYYYMMDD``) and a default partition, the same columns, defaults, primary key
and indexes, the rows copied over. A day's replace then swaps that day's partition
(warehouse/day_partitions.py) instead of deleting 100,000 rows from a year of 25 M and
inserting 100,000 into its indexes. The views that read a table (SPEC §7.1) are dropped
and created again from their own definitions around the rebuild; downgrade rebuilds the
plain tables the same way.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 19:30:00

"""
import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | Sequence[str] | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "sigmasight"
TABLES = ("position_values", "position_correlations")

#: views reading a table, directly or through other views, deepest last
_VIEWS = """
WITH RECURSIVE dep(oid, depth) AS (
    SELECT r.ev_class, 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
     WHERE d.refobjid = CAST(:t AS regclass) AND r.ev_class <> d.refobjid
    UNION ALL
    SELECT r.ev_class, dep.depth + 1 FROM dep JOIN pg_depend d ON d.refobjid = dep.oid
      JOIN pg_rewrite r ON r.oid = d.objid
     WHERE r.ev_class <> dep.oid AND dep.depth < 20
)
SELECT CAST(CAST(c.oid AS regclass) AS text), pg_get_viewdef(c.oid), max(dep.depth) AS depth
  FROM dep JOIN pg_class c ON c.oid = dep.oid WHERE c.relkind = 'v'
 GROUP BY c.oid ORDER BY depth
"""


def _rebuild(table: str, partitioned: bool) -> None:
    """``table`` rebuilt partitioned by day (or plain again) with its rows, keys and views."""
    conn = op.get_bind()
    qualified, old = f"{SCHEMA}.{table}", f"{table}_rebuilt_from"
    views = conn.execute(sa.text(_VIEWS), {"t": qualified}).all()
    keys = conn.execute(sa.text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = CAST(:t AS regclass) AND contype = 'p'"), {"t": qualified}).all()
    indexes = conn.execute(sa.text(
        "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
        "WHERE indrelid = CAST(:t AS regclass) AND NOT indisprimary"), {"t": qualified}).all()
    for name, _, _ in reversed(views):
        op.execute(f"DROP VIEW {name}")
    op.execute(f"ALTER TABLE {qualified} RENAME TO {old}")
    for name, _ in keys:  # frees the names for the rebuilt table's
        op.execute(f'ALTER TABLE {SCHEMA}.{old} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        op.execute(f"DROP INDEX {name}")
    like = f"(LIKE {SCHEMA}.{old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    if partitioned:
        op.execute(f"CREATE TABLE {qualified} {like} PARTITION BY RANGE (date)")
        op.execute(f"CREATE TABLE {qualified}_default PARTITION OF {qualified} DEFAULT")
        days = conn.execute(sa.text(f"SELECT DISTINCT date FROM {SCHEMA}.{old}")).scalars()
        for day in sorted(days):
            op.execute(f"CREATE TABLE {qualified}_{day:%Y%m%d} PARTITION OF {qualified} "
                       f"FOR VALUES FROM ('{day}') TO ('{day + dt.timedelta(days=1)}')")
    else:
        op.execute(f"CREATE TABLE {qualified} {like}")
    op.execute(f"INSERT INTO {qualified} SELECT * FROM {SCHEMA}.{old}")
    for name, definition in keys:
        op.execute(f'ALTER TABLE {qualified} ADD CONSTRAINT "{name}" {definition}')
    for _, definition in indexes:
        # on a partitioned table: the index of every partition, named <partition>_<cols>_idx
        op.execute(definition.replace(" ONLY ", " "))
    op.execute(f"DROP TABLE {SCHEMA}.{old}")
    for name, definition, _ in views:
        op.execute(f"CREATE VIEW {name} AS {definition}")


def upgrade() -> None:
    for table in TABLES:
        _rebuild(table, partitioned=True)


def downgrade() -> None:
    for table in TABLES:
        _rebuild(table, partitioned=False)
