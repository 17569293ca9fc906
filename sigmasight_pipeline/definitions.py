"""The Dagster code location: every domain's assets, checks, jobs and schedules."""

from dagster import (
    Definitions,
    in_process_executor,
    load_asset_checks_from_modules,
    load_assets_from_modules,
)

from .defs.daily.schedules import daily_risk_job, daily_risk_schedule
from .defs.market_data import assets as market_data_assets
from .defs.positions import assets as positions_assets
from .defs.risk import assets as risk_assets
from .defs.risk import checks as risk_checks
from .resources import default_resources

_MODULES = [positions_assets, market_data_assets, risk_assets, risk_checks]

defs = Definitions(
    assets=load_assets_from_modules(_MODULES),
    asset_checks=load_asset_checks_from_modules(_MODULES),
    jobs=[daily_risk_job],
    schedules=[daily_risk_schedule],
    resources=default_resources(),
    # one process per run, steps in lineage order: the engines are vectorized, and a process
    # per step (the multiprocess default) costs seconds of imports each on small machines.
    # Scale out with more runs (the queue, dagster-k8s), not more processes per run.
    executor=in_process_executor,
)


def all_assets_and_checks() -> list:
    """Everything a headless run materializes (assets first, then their checks)."""
    return [*load_assets_from_modules(_MODULES), *load_asset_checks_from_modules(_MODULES)]
