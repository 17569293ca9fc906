"""The Dagster code location: every domain's assets, checks, jobs and schedules."""

from importlib.metadata import PackageNotFoundError, version

from dagster import (
    AssetSpec,
    Definitions,
    in_process_executor,
    load_asset_checks_from_modules,
    load_assets_from_modules,
    map_asset_specs,
)

from .defs.daily.freshness import FRESHNESS_CHECKS, freshness_job, freshness_schedule
from .defs.daily.schedules import daily_risk_job, daily_risk_schedule
from .defs.daily.sensors import record_run_failures
from .defs.market_data import assets as market_data_assets
from .defs.positions import assets as positions_assets
from .defs.positions.sensors import positions_inbox
from .defs.reports import assets as reports_assets
from .defs.risk import assets as risk_assets
from .defs.risk import checks as risk_checks
from .defs.risk import (
    correlation_assets,
    engine_checks,
    exposure_view_assets,
    exposure_view_checks,
    factor_assets,
    scenario_assets,
    var_assets,
)
from .defs.risk import performance_assets as risk_performance_assets
from .resources import default_resources

_MODULES = [positions_assets, market_data_assets, risk_assets, risk_checks, factor_assets,
            scenario_assets, correlation_assets, engine_checks, reports_assets]
_MODULES += [var_assets]  # portfolio risk I (SPEC §7.1-7.5)
_MODULES += [risk_performance_assets]  # portfolio risk II (SPEC §7.6-7.8)
_MODULES += [exposure_view_assets, exposure_view_checks]  # sectors, concentration, limits (§7.9)

#: who answers for each group's assets (shown in the UI, filterable)
OWNERS = {
    "positions": ["team:portfolio-data"],
    "market_data": ["team:market-data"],
    "risk": ["team:risk-engineering"],
    "reports": ["team:risk-engineering"],
}

try:
    _PACKAGE_VERSION = version("sigmasight-pipeline")
except PackageNotFoundError:  # running from a source tree that is not installed
    _PACKAGE_VERSION = "0+source"


def _with_ownership(spec: AssetSpec) -> AssetSpec:
    """Owners by group; the package version as code version unless the asset sets its own
    (a release then shows every asset as changed code in the UI)."""
    return spec.replace_attributes(
        owners=spec.owners or OWNERS.get(spec.group_name, []),
        code_version=spec.code_version or _PACKAGE_VERSION,
        tags={**spec.tags, "domain": spec.group_name or "default"},
    )


def _assets() -> list:
    return list(map_asset_specs(_with_ownership, load_assets_from_modules(_MODULES)))


defs = Definitions(
    assets=_assets(),
    # the freshness checks are not in _MODULES: a headless run of days leaves them out
    asset_checks=[*load_asset_checks_from_modules(_MODULES), *FRESHNESS_CHECKS],
    jobs=[daily_risk_job, freshness_job],
    schedules=[daily_risk_schedule, freshness_schedule],
    sensors=[record_run_failures, positions_inbox],
    resources=default_resources(),
    # one process per run, steps in lineage order: the engines are vectorized, and a process
    # per step (the multiprocess default) costs seconds of imports each on small machines.
    # Scale out with more runs (the queue, dagster-k8s), not more processes per run.
    executor=in_process_executor,
)


def all_assets_and_checks() -> list:
    """Everything a headless run materializes (assets first, then their checks)."""
    return [*_assets(), *load_asset_checks_from_modules(_MODULES)]
