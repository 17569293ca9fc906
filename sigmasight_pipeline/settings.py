"""Settings from the environment or a ``.env`` file (SPEC §1).

Secrets are ``SecretStr`` so that they never render in logs, reprs or exceptions; the
database URL stays a plain string for the code but its password is hidden in the repr.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MarketDataSource = Literal["simulated", "files", "polygon"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("SIGMASIGHT_DATABASE_URL")
    )
    #: None = decide from the keys: polygon when POLYGON_API_KEY is set, else simulated.
    market_data: MarketDataSource | None = Field(
        default=None, validation_alias=AliasChoices("SIGMASIGHT_MARKET_DATA")
    )
    market_data_dir: Path | None = Field(
        default=None, validation_alias=AliasChoices("SIGMASIGHT_MARKET_DATA_DIR")
    )
    polygon_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("POLYGON_API_KEY")
    )
    fred_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("FRED_API_KEY")
    )
    #: report files land under <reports_dir>/<date>/; default <SIGMASIGHT_HOME>/reports
    reports_dir: Path = Field(
        default=Path(".sigmasight/reports"), validation_alias=AliasChoices("SIGMASIGHT_REPORTS_DIR")
    )
    #: port of the read-only report file server started by `sigmasight dev` (127.0.0.1)
    reports_port: int = Field(
        default=3001, ge=0, le=65535, validation_alias=AliasChoices("SIGMASIGHT_REPORTS_PORT")
    )
    #: where the embedded PostgreSQL and Dagster's local files live
    home: Path = Field(
        default=Path(".sigmasight"), validation_alias=AliasChoices("SIGMASIGHT_HOME")
    )
    #: the stress-scenario library; None = the packaged data/stress_scenarios.yaml
    stress_scenarios: Path | None = Field(
        default=None, validation_alias=AliasChoices("SIGMASIGHT_STRESS_SCENARIOS")
    )
    #: historical-simulation VaR: scenarios (trading days up to the partition day), SPEC §7.4
    var_scenarios: int = Field(
        default=250, ge=1, le=2520, validation_alias=AliasChoices("SIGMASIGHT_VAR_SCENARIOS")
    )
    #: the per-portfolio risk limits (SPEC §7.9); None = the packaged data/limits.yaml
    limits: Path | None = Field(
        default=None, validation_alias=AliasChoices("SIGMASIGHT_LIMITS")
    )
    #: a directory watched by the positions inbox sensor (None = the sensor does nothing)
    positions_inbox: Path | None = Field(
        default=None, validation_alias=AliasChoices("SIGMASIGHT_POSITIONS_INBOX")
    )
    #: seed of the simulated market
    simulation_seed: int = Field(
        default=7, validation_alias=AliasChoices("SIGMASIGHT_SIMULATION_SEED")
    )

    @model_validator(mode="after")
    def _reports_under_home(self) -> Settings:
        if "reports_dir" not in self.model_fields_set:
            self.reports_dir = self.home / "reports"
        return self

    def __repr_args__(self):
        """The database URL's password is hidden like the API keys (repr, str, logs)."""
        from .warehouse.database import redacted

        for name, value in super().__repr_args__():
            if name == "database_url" and value:
                try:
                    value = redacted(value)
                except Exception:  # not a URL at all: show nothing of it
                    value = "***"
            yield name, value

    @property
    def resolved_market_data(self) -> MarketDataSource:
        if self.market_data is not None:
            return self.market_data
        return "polygon" if self.polygon_api_key else "simulated"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
