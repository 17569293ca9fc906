"""Shared helpers of the reliability suite: whole-warehouse snapshots and CLI subprocesses.

Snapshots are generic over ``warehouse/tables.py``: every table of the metadata is read,
so tables added later (risk engines, reports) are compared without touching this suite.
Columns whose value legitimately differs between two identical runs (server clocks such as
``created_at``/``updated_at``, serial ids) are left out; everything else is compared as
PostgreSQL's own text rendering of the row (exact for floats since PostgreSQL 12).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import BigInteger, DateTime, Integer, Table, text

from sigmasight_pipeline.warehouse.tables import SCHEMA, metadata

WORKTREE = Path(__file__).resolve().parents[2]

#: secrets and settings a subprocess must not inherit from the developer's shell
_SCRUBBED = ("DAGSTER_HOME", "POLYGON_API_KEY", "FRED_API_KEY", "SIGMASIGHT_MARKET_DATA_DIR",
             "SIGMASIGHT_TEST_DATABASE_URL")


def _volatile(table: Table, column) -> bool:
    """A column two identical runs may fill differently: a clock or a serial id."""
    if isinstance(column.type, DateTime) and column.server_default is not None:
        return True
    return (column.primary_key and isinstance(column.type, BigInteger | Integer)
            and column.autoincrement in (True, "auto") and len(table.primary_key.columns) == 1)


def stable_columns(table: Table) -> list[str]:
    return [c.name for c in table.columns if not _volatile(table, c)]


def dated_tables() -> list[Table]:
    """Every warehouse table with a ``date`` column (the partitioned ones)."""
    return [t for t in metadata.sorted_tables if "date" in t.c]


def table_rows(conn, table: Table, days=None) -> list[str]:
    """The rows of ``table`` (of ``days`` when given) as sorted PostgreSQL row texts."""
    cols = ", ".join(f'"{c}"' for c in stable_columns(table))
    where, params = "", {}
    if days is not None:
        where, params = 'WHERE "date" = ANY(:days)', {"days": list(days)}
    sql = f"SELECT ROW({cols})::text AS r FROM {SCHEMA}.{table.name} {where} ORDER BY 1"
    return [r[0] for r in conn.execute(text(sql), params)]


def warehouse_state(engine, tables=None, days=None) -> dict[str, list[str]]:
    """{table name: sorted row texts} for ``tables`` (default: every table)."""
    tables = metadata.sorted_tables if tables is None else tables
    with engine.connect() as conn:
        return {t.name: table_rows(conn, t, days if "date" in t.c else None) for t in tables}


def diff_states(a: dict[str, list[str]], b: dict[str, list[str]]) -> list[str]:
    """Human-readable differences between two warehouse states (empty when equal)."""
    out = []
    for name in sorted(set(a) | set(b)):
        ra, rb = a.get(name, []), b.get(name, [])
        if ra != rb:
            only_a, only_b = sorted(set(ra) - set(rb)), sorted(set(rb) - set(ra))
            out.append(f"{name}: {len(ra)} vs {len(rb)} rows; first only-before "
                       f"{only_a[:2]}, first only-after {only_b[:2]}")
    return out


def cli_command(*args: str) -> list[str]:
    """``sigmasight ARGS`` run from this worktree's package (not the installed script's)."""
    return [sys.executable, "-m", "sigmasight_pipeline.cli", *args]


@pytest.fixture
def sub_env(database_url, tmp_path) -> dict[str, str]:
    """Environment of a ``sigmasight`` subprocess: the test database, private home/reports."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env.update(
        PYTHONPATH=str(WORKTREE),
        SIGMASIGHT_DATABASE_URL=database_url,
        SIGMASIGHT_HOME=str(tmp_path / "home"),
        SIGMASIGHT_REPORTS_DIR=str(tmp_path / "reports"),
        SIGMASIGHT_MARKET_DATA="simulated",
        PYTHONUNBUFFERED="1",
    )
    return env


def start_cli(env: dict[str, str], *args: str, cwd: Path, log: Path) -> subprocess.Popen:
    """Start ``sigmasight ARGS`` in its own process group, output to ``log``."""
    fh = log.open("wb")
    return subprocess.Popen(cli_command(*args), env=env, cwd=cwd, stdout=fh,
                            stderr=subprocess.STDOUT, start_new_session=True)


def run_cli(env: dict[str, str], *args: str, cwd: Path, timeout: float = 180
            ) -> subprocess.CompletedProcess:
    return subprocess.run(cli_command(*args), env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL a process started by :func:`start_cli` and everything it started."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=30)


def row_trigger_sql(table: str, trigger: str, function: str) -> str:
    """SQL that makes ``sigmasight.<function>()`` a BEFORE INSERT row trigger of every row
    written into ``table``: on the table itself, and, for a table partitioned by day, on
    every table created as one of its partitions (a day's replace COPYs into a new table,
    then swaps it in: warehouse/day_partitions.py) through an event trigger, which needs a
    superuser (the embedded server's ``postgres``)."""
    pattern = f"{SCHEMA}.{table}".replace("_", r"\_") + r"\_%"
    return f"""
CREATE TRIGGER {trigger} BEFORE INSERT ON {SCHEMA}.{table}
FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.{function}();
CREATE OR REPLACE FUNCTION {SCHEMA}.{trigger}_on_new_table() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE created record;
BEGIN
  FOR created IN SELECT object_identity FROM pg_event_trigger_ddl_commands()
                  WHERE command_tag = 'CREATE TABLE' AND object_type = 'table' LOOP
    IF created.object_identity LIKE '{pattern}' THEN
      EXECUTE format('CREATE TRIGGER {trigger}_new BEFORE INSERT ON %s FOR EACH ROW '
                     'EXECUTE FUNCTION {SCHEMA}.{function}()', created.object_identity);
    END IF;
  END LOOP;
END $$;
CREATE EVENT TRIGGER {trigger}_on_new_table ON ddl_command_end WHEN TAG IN ('CREATE TABLE')
EXECUTE FUNCTION {SCHEMA}.{trigger}_on_new_table();
"""


def drop_row_trigger_sql(trigger: str, function: str) -> str:
    """Undoes :func:`row_trigger_sql` (CASCADE: the triggers on the tables created since)."""
    return f"""
DROP EVENT TRIGGER IF EXISTS {trigger}_on_new_table;
DROP FUNCTION IF EXISTS {SCHEMA}.{trigger}_on_new_table();
DROP FUNCTION IF EXISTS {SCHEMA}.{function}() CASCADE;
"""
