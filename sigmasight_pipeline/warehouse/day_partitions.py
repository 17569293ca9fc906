"""Tables range-partitioned by trading day, and a day replaced by swapping its partition.

A table declared with ``postgresql_partition_by=BY_DAY`` (tables.py; migration 0009) holds
one partition per day that has rows, ``<table>_YYYYMMDD``, and ``<table>_default`` for
rows that reach it any other way (an INSERT, a narrowed replace; the swap keeps the
default partition clear of the days it writes). ``writer.replace_partition`` writes a
whole day of such a table without a DELETE and without maintaining an index of the year:

1. ``stage``: a new table of the table's columns and defaults with a CHECK of the day;
   the day's rows are COPYed into it with no index to maintain;
2. ``build_keys``: its primary key and the parent's indexes, one sort each;
3. ``swap``, after every day of the write is staged: the day's old partition detached and
   dropped, the day's rows in the default partition deleted, the new table attached in
   its place (the CHECK spares ATTACH its validating scan) and renamed to the day's name.

Locks and atomicity: everything runs in the caller's transaction, after the advisory
(table, day) locks of ``writer.lock_partition``, so a crash before COMMIT leaves the old
partition attached and the staged tables gone. Steps 1–2 lock only the new table (its
columns come from the metadata, not ``LIKE`` the table): readers of every day, this one
included, read the old rows meanwhile, and writers of other days stage theirs. Step 3
first takes ACCESS EXCLUSIVE on the table (DETACH and DROP need it) and holds it until
COMMIT, which is why it runs last: readers of the table wait for the swap's few
statements, not for the COPY, and swaps of other days queue one behind another. It also
waits for a reader's open transaction on the table to end.

Measured (``benchmarks/bench_partitions.py``, 100,000 position_values rows, a year of 25 M
rows held): DELETE + COPY into the plain table 0.79 s; TRUNCATE of the day's partition +
COPY 0.29 s; this swap 0.18 s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from sqlalchemy import Table, text
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateColumn

from .tables import BY_DAY, SCHEMA


def is_by_day(table: Table) -> bool:
    """Whether ``table`` is declared range-partitioned by its ``date`` column."""
    return table.dialect_options["postgresql"].get("partition_by") == BY_DAY


def partition_name(table: Table, day: dt.date) -> str:
    return f"{table.name}_{day:%Y%m%d}"


def default_name(table: Table) -> str:
    return f"{table.name}_default"


def _bounds(day: dt.date) -> tuple[str, str]:
    return day.isoformat(), (day + dt.timedelta(days=1)).isoformat()


def _run(conn: Connection, statements: Iterable[str]) -> None:
    """Statements without parameters in one round trip (psycopg's simple query protocol)."""
    sql = ";\n".join(statements)
    if sql:
        with conn.connection.driver_connection.cursor() as cur:
            cur.execute(sql)


def _columns_ddl(conn: Connection, table: Table) -> str:
    """``table``'s column definitions (types, NOT NULL, defaults) from its metadata: not
    ``LIKE <table>``, which would hold a lock on the table from the start of the write and
    so deadlock two writers of different days at their swaps."""
    return ", ".join(str(CreateColumn(c).compile(dialect=conn.dialect)) for c in table.columns)


def stage(conn: Connection, table: Table, day: dt.date) -> str:
    """A new, unindexed table of ``table``'s columns that only accepts rows of ``day``;
    returns its name (in ``SCHEMA``). Unique within a transaction that holds the day's
    advisory lock: the swap renames it before COMMIT."""
    name = f"{partition_name(table, day)}_new"
    low, high = _bounds(day)
    _run(conn, [f"CREATE TABLE {SCHEMA}.{name} ({_columns_ddl(conn, table)}, "
                f"CONSTRAINT one_day CHECK (date >= DATE '{low}' AND date < DATE '{high}'))"])
    return name


#: PostgreSQL's identifier length (NAMEDATALEN - 1)
_MAX_NAME = 63


def _index_statements(table: Table, staged: str) -> list[str]:
    """The table's primary key and indexes (from its metadata) built on ``staged``, named
    as PostgreSQL names a partition's own: ``<staged>_pkey``, ``<staged>_<cols>_idx``."""
    names = iter(_index_names(table, staged))
    out = []
    pk = [c.name for c in table.primary_key.columns]
    if pk:
        out.append(f"ALTER TABLE {SCHEMA}.{staged} ADD CONSTRAINT {next(names)} "
                   f"PRIMARY KEY ({', '.join(pk)})")
    for index in sorted(table.indexes, key=lambda i: i.name):
        cols = [c.name for c in index.columns]
        unique = "UNIQUE " if index.unique else ""
        out.append(f"CREATE {unique}INDEX {next(names)} ON {SCHEMA}.{staged} "
                   f"({', '.join(cols)})")
    return out


def build_keys(conn: Connection, table: Table, staged: str) -> None:
    """The staged table's primary key and indexes, built after its COPY."""
    _run(conn, _index_statements(table, staged))


def _partitions(conn: Connection, table: Table) -> set[str]:
    return set(conn.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = CAST(:t AS regclass)"), {"t": f"{SCHEMA}.{table.name}"}).scalars())


def swap(conn: Connection, table: Table, days: Iterable[dt.date],
         staged: Mapping[dt.date, str]) -> None:
    """Each of ``days`` replaced by its staged table (a day without one is left empty)."""
    days = sorted(set(days))
    if not days:
        return
    existing = _partitions(conn, table)
    parent, default = f"{SCHEMA}.{table.name}", default_name(table)
    # the table's lock before any of its partitions' (DETACH would take it, but after the
    # default partition's): every writer and reader locks the table first, so two swaps
    # queue here instead of deadlocking over the default partition
    statements = [f"LOCK TABLE {parent} IN ACCESS EXCLUSIVE MODE"]
    if default in existing:
        dates = ", ".join(f"DATE '{d.isoformat()}'" for d in days)
        statements.append(f"DELETE FROM {SCHEMA}.{default} WHERE date IN ({dates})")
    for day in days:
        part = partition_name(table, day)
        if part in existing:
            statements += [f"ALTER TABLE {parent} DETACH PARTITION {SCHEMA}.{part}",
                           f"DROP TABLE {SCHEMA}.{part}"]
        new = staged.get(day)
        if new is None:
            continue
        low, high = _bounds(day)
        statements += [f"ALTER TABLE {parent} ATTACH PARTITION {SCHEMA}.{new} "
                       f"FOR VALUES FROM ('{low}') TO ('{high}')",
                       f"ALTER TABLE {SCHEMA}.{new} DROP CONSTRAINT one_day",
                       f"ALTER TABLE {SCHEMA}.{new} RENAME TO {part}"]
        # the staged indexes renamed to the names the migration's partitions carry
        statements += [f"ALTER INDEX {SCHEMA}.{old} RENAME TO {canonical}" for old, canonical
                       in zip(_index_names(table, new), _index_names(table, part), strict=True)]
    _run(conn, statements)


def _index_names(table: Table, prefix: str) -> list[str]:
    names = [f"{prefix}_pkey"] if table.primary_key.columns else []
    names += [f"{prefix}_{'_'.join(c.name for c in i.columns)}_idx"
              for i in sorted(table.indexes, key=lambda i: i.name)]
    too_long = [n for n in names if len(n) > _MAX_NAME]
    if too_long:  # PostgreSQL would truncate them, and the swap's renames would miss
        raise ValueError(f"{table.name}: names of a day's partition longer than "
                         f"{_MAX_NAME} characters: {too_long}")
    return names
