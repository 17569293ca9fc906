"""Alembic environment: migrates the ``sigmasight`` schema of the configured warehouse."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import text

from sigmasight_pipeline.settings import get_settings
from sigmasight_pipeline.warehouse.database import get_engine, resolve_database_url
from sigmasight_pipeline.warehouse.tables import SCHEMA, metadata

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    url = config.attributes.get("database_url")
    if url:
        return url
    settings = get_settings()
    return resolve_database_url(settings.database_url, settings.home)


def run_migrations_offline() -> None:
    context.configure(
        url=_url(), target_metadata=metadata, literal_binds=True, include_schemas=True,
        version_table_schema=SCHEMA,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = get_engine(_url())
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        context.configure(
            connection=connection,
            target_metadata=metadata,
            include_schemas=True,
            version_table_schema=SCHEMA,
            include_name=lambda name, type_, parent: type_ != "schema" or name == SCHEMA,
        )
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
