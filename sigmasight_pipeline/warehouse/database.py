"""Where the warehouse lives: a configured PostgreSQL URL, or an embedded server.

With ``SIGMASIGHT_DATABASE_URL`` set, that server is used. Without it, a real PostgreSQL
is started with the ``pgserver`` package under ``<SIGMASIGHT_HOME>/pg`` (default
``.sigmasight/pg``) and left running for the other processes of a run (the Dagster
webserver, daemon and run workers connect to the same socket). Both paths yield a plain
PostgreSQL URL, so everything downstream runs the same code.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
import warnings
from functools import lru_cache
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url

log = logging.getLogger(__name__)


class DatabaseUnavailableError(RuntimeError):
    """The warehouse could not be reached or started."""


def embedded_database_url(home: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL under ``home/pg`` and return its URL.

    The server keeps running after this process exits (``cleanup_mode=None``) so that
    several processes share it; ``sigmasight db stop`` stops it.
    """
    pgdata = (home / "pg").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI): harmless
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            import pgserver  # wheels exist only for CPython <= 3.12
    except ImportError:
        return _system_postgres_url(pgdata)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        server = pgserver.get_server(pgdata, cleanup_mode=None)
    return server.get_uri()


def _system_postgres_url(pgdata: Path) -> str:
    """Fallback for Pythons without pgserver wheels: PostgreSQL binaries on PATH.

    PostgreSQL refuses to run as root; as root the server runs as the ``postgres`` system
    user (created by the distribution's PostgreSQL packages), as pgserver itself does.
    """
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not (initdb and pg_ctl):
        raise DatabaseUnavailableError(
            f"No SIGMASIGHT_DATABASE_URL is set and the embedded PostgreSQL is unavailable: the "
            f"'pgserver' package has no wheel for Python {sys.version_info.major}."
            f"{sys.version_info.minor} and no initdb/pg_ctl is on PATH. Use Python 3.11 or 3.12, "
            "install PostgreSQL (e.g. apt install postgresql), or set SIGMASIGHT_DATABASE_URL "
            "(docker compose up -d postgres starts one)."
        )
    prefix: list[str] = []
    pgdata.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            raise DatabaseUnavailableError(
                "PostgreSQL cannot run as root and there is no 'postgres' system user to run "
                "the embedded server as: install PostgreSQL from your distribution's packages, "
                "use Python 3.11/3.12 (pgserver), or set SIGMASIGHT_DATABASE_URL"
            ) from None
        prefix = ["runuser", "-u", "postgres", "--"]
        os.chown(pgdata, user.pw_uid, user.pw_gid)
        for parent in pgdata.parents:  # let that user traverse to its data directory
            parent.chmod(parent.stat().st_mode | 0o055)
    socket_dir = pgdata / "socket"
    if not (pgdata / "PG_VERSION").exists():
        subprocess.run(
            [*prefix, initdb, "-D", str(pgdata), "-U", "postgres", "--auth=trust"],
            check=True,
            capture_output=True,
        )
    status = subprocess.run([*prefix, pg_ctl, "-D", str(pgdata), "status"], capture_output=True)
    if status.returncode != 0:
        subprocess.run([*prefix, "mkdir", "-p", str(socket_dir)], check=True)
        subprocess.run(
            [
                *prefix,
                pg_ctl,
                "-D",
                str(pgdata),
                "-w",
                "-l",
                str(pgdata / "server.log"),
                "-o",
                f"-k {socket_dir} -c listen_addresses=''",
                "start",
            ],
            check=True,
            capture_output=True,
        )
    return f"postgresql://postgres:@/postgres?host={socket_dir}"


def stop_embedded(home: Path, timeout: float = 10.0) -> int | None:
    """Stop the embedded server under ``home/pg``; returns its pid, or None if not running.

    By signal to the postmaster (SIGTERM = smart shutdown): ``pg_ctl stop`` refuses to
    run as root, and pgserver's own cleanup only stops servers of this process.
    """
    pid_file = home.resolve() / "pg" / "postmaster.pid"
    if not pid_file.is_file():
        return None
    pid = int(pid_file.read_text().splitlines()[0])
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return None
    deadline = time.monotonic() + timeout
    while pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return pid


def resolve_database_url(database_url: str | None, home: Path) -> str:
    """The SQLAlchemy URL of the warehouse, with the psycopg (v3) driver named."""
    url = database_url or embedded_database_url(home)
    return sqlalchemy_url(url)


def sqlalchemy_url(url: str) -> str:
    """Name the psycopg 3 driver in a PostgreSQL URL (``postgresql://`` → ``+psycopg``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise DatabaseUnavailableError(
            "SIGMASIGHT_DATABASE_URL must be a PostgreSQL URL, got the "
            f"{parsed.get_backend_name()!r} backend"
        )
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def dagster_storage_url(url: str) -> str:
    """The URL form dagster-postgres accepts under SQLAlchemy 2.1 (psycopg2 driver named)."""
    return make_url(url).set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)


def redacted(url: str) -> str:
    """A URL safe to print: the password replaced by ***."""
    return make_url(url).render_as_string(hide_password=True)


def _explain_lost_database(url: str):
    """A ``handle_error`` hook: a lost or refused connection becomes a
    :class:`DatabaseUnavailableError` naming the server (password hidden) and what to do,
    instead of psycopg's bare "the connection is lost". Other errors pass unchanged."""
    parsed = make_url(url)
    where = parsed.host or parsed.query.get("host") or "localhost"
    where = where[0] if isinstance(where, tuple) else where
    display = (f"{parsed.database or ''!r} on {where}{f':{parsed.port}' if parsed.port else ''}"
               f" (user {parsed.username})")
    password = parsed.password

    def handle(ctx):
        if ctx.is_pre_ping or not (ctx.is_disconnect or ctx.connection is None):
            return None
        detail = str(ctx.original_exception).strip().splitlines()[0] if str(
            ctx.original_exception).strip() else type(ctx.original_exception).__name__
        if password:
            detail = detail.replace(password, "***")
        return DatabaseUnavailableError(
            f"the warehouse database {display} could not be reached or closed the connection "
            f"({detail}). Check that PostgreSQL is running (`sigmasight db upgrade` starts "
            "the embedded one), then re-run the failed days: each day's write is one "
            "transaction, so nothing was half-written."
        )

    return handle


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    engine = create_engine(url, pool_pre_ping=True, future=True)
    event.listen(engine, "handle_error", _explain_lost_database(url))
    return engine
