"""Failed Dagster runs in the warehouse (``sigmasight.run_failures``): written by the
run-failure sensor, read by the report server's index."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection

from .tables import run_failures

#: longest error text kept per run (a stack trace is in the Dagster UI)
MAX_MESSAGE = 2000


def record_failure(conn: Connection, run_id: str, job_name: str, failed_at: dt.datetime,
                   message: str, partitions: str | None = None,
                   failed_steps: list[str] | None = None) -> None:
    """Insert (or refresh, for a re-evaluated sensor tick) the failure of ``run_id``."""
    row = {"run_id": run_id, "job_name": job_name, "failed_at": failed_at,
           "partitions": partitions, "failed_steps": ", ".join(failed_steps or []) or None,
           "message": message[:MAX_MESSAGE]}
    stmt = insert(run_failures).values(**row)
    conn.execute(stmt.on_conflict_do_update(index_elements=["run_id"], set_=row))


def recent_failures(conn: Connection, limit: int = 20) -> list[dict]:
    """The latest failures, newest first, as plain dicts for the report server."""
    rows = conn.execute(select(run_failures).order_by(run_failures.c.failed_at.desc())
                        .limit(limit)).mappings().all()
    return [{"run_id": r["run_id"], "job": r["job_name"],
             "failed_at": r["failed_at"].strftime("%Y-%m-%d %H:%M %Z").strip(),
             "partitions": r["partitions"] or "",
             "steps": r["failed_steps"] or "", "message": r["message"]} for r in rows]
