"""Dagster's PostgreSQL event log storage with a small connection pool (dagster.yaml).

dagster-postgres opens a new PostgreSQL connection for every statement it runs outside the
webserver (``NullPool``: a fork of a server backend, ~2 ms, each time). A range run records
one check evaluation per check and trading day, and each evaluation takes four statements
(the event, a "does the checks table exist" probe, the execution row and its lookup): the
one-year demo's 14 checks × 250 days spent most of their steps connecting. This subclass
keeps a few connections open per process (pre-pinged, so a restarted server costs one retry,
not an error) and remembers which tables exist, since Dagster's tables are never dropped
while an instance is up. Everything else is dagster-postgres unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster._serdes import ConfigurableClassData
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.utils import (
    create_pg_engine,
    get_token_provider_from_config,
    pg_url_from_config,
)

#: connections kept open per process; bursts beyond it open (and close) extra ones
POOL_SIZE = 2
MAX_OVERFLOW = 8
#: seconds after which a pooled connection is replaced (long-lived webserver / daemon)
POOL_RECYCLE_S = 3600


class PooledPostgresEventLogStorage(PostgresEventLogStorage):
    """:class:`PostgresEventLogStorage` over a ``QueuePool`` instead of ``NullPool``."""

    def __init__(self, postgres_url: str, should_autocreate_tables: bool = True,
                 inst_data: ConfigurableClassData | None = None, token_provider=None):
        super().__init__(postgres_url, should_autocreate_tables=should_autocreate_tables,
                         inst_data=inst_data, token_provider=token_provider)
        self._engine.dispose()
        self._engine = create_pg_engine(
            self.postgres_url, self._token_provider, isolation_level="AUTOCOMMIT",
            pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW, pool_recycle=POOL_RECYCLE_S,
            pool_pre_ping=True)
        self._tables_present: set[str] = set()

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None,
                          config_value: Mapping[str, Any]) -> PooledPostgresEventLogStorage:
        return cls(inst_data=inst_data, postgres_url=pg_url_from_config(config_value),
                   should_autocreate_tables=config_value.get("should_autocreate_tables", True),
                   token_provider=get_token_provider_from_config(config_value))

    def has_table(self, table_name: str) -> bool:
        # only a present table is remembered: one created later (an upgrade) is still seen
        if table_name in self._tables_present:
            return True
        present = super().has_table(table_name)
        if present:
            self._tables_present.add(table_name)
        return present

    def dispose(self) -> None:
        super().dispose()
        self._engine.dispose()
