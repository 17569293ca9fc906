"""Dagster resources: the warehouse and the market-data providers.

Unset fields fall back to :mod:`sigmasight_pipeline.settings` (environment and ``.env``)
at run time, so API keys are never part of the resource configuration the UI displays.
"""


import os
from pathlib import Path

from dagster import ConfigurableResource, EnvVar
from pydantic import Field
from sqlalchemy.engine import Engine

from .providers.factory import CompositeProvider, build_provider
from .settings import get_settings
from .warehouse.database import get_engine, resolve_database_url


class WarehouseResource(ConfigurableResource):
    """The PostgreSQL warehouse (embedded server when no URL is configured)."""

    database_url: str | None = Field(
        default=None, description="SQLAlchemy/PostgreSQL URL; empty = embedded PostgreSQL")

    def url(self) -> str:
        settings = get_settings()
        return resolve_database_url(self.database_url or settings.database_url, settings.home)

    def engine(self) -> Engine:
        return get_engine(self.url())


class MarketDataResource(ConfigurableResource):
    """Where market data comes from (SPEC §1: simulated, files or polygon)."""

    source: str | None = Field(default=None, description="simulated, files or polygon")
    data_dir: str | None = Field(default=None, description="directory for the files source")
    polygon_api_key: str | None = None
    fred_api_key: str | None = None
    seed: int | None = Field(default=None, description="seed of the simulated market")

    def provider(self) -> CompositeProvider:
        s = get_settings()
        polygon_key = self.polygon_api_key or (
            s.polygon_api_key.get_secret_value() if s.polygon_api_key else None)
        fred_key = self.fred_api_key or (
            s.fred_api_key.get_secret_value() if s.fred_api_key else None)
        source = self.source or s.market_data or ("polygon" if polygon_key else "simulated")
        data_dir = self.data_dir or s.market_data_dir
        return build_provider(
            source, data_dir=Path(data_dir) if data_dir else None,
            polygon_api_key=polygon_key, fred_api_key=fred_key,
            seed=self.seed if self.seed is not None else s.simulation_seed,
        )


class ReportsResource(ConfigurableResource):
    """Where report files land and the port of their read-only HTTP server (SPEC §6)."""

    reports_dir: str | None = Field(
        default=None, description="directory of report files; empty = SIGMASIGHT_REPORTS_DIR")
    port: int | None = Field(
        default=None, description="report file server port; empty = SIGMASIGHT_REPORTS_PORT")

    def directory(self) -> Path:
        return Path(self.reports_dir or get_settings().reports_dir).resolve()

    def url(self, relative: str) -> str:
        """The file server's URL of ``relative`` (a path under the reports directory)."""
        port = self.port if self.port is not None else get_settings().reports_port
        return f"http://127.0.0.1:{port}/reports/{relative.lstrip('/')}"


def _env_or_none(name: str):
    """EnvVar when the variable is set now (kept secret in the UI), else settings at run time."""
    return EnvVar(name) if os.environ.get(name) else None


def default_resources() -> dict:
    return {
        "warehouse": WarehouseResource(database_url=_env_or_none("SIGMASIGHT_DATABASE_URL")),
        "market_data": MarketDataResource(
            polygon_api_key=_env_or_none("POLYGON_API_KEY"),
            fred_api_key=_env_or_none("FRED_API_KEY"),
        ),
        "reports": ReportsResource(),
    }
