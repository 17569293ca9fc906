"""Stress tests: the scenario library and its direct and correlated P&L (SPEC §5.7).

The library is ``sigmasight_pipeline/data/stress_scenarios.yaml`` (18 scenarios shipped; the
file's header documents the format). Shocks are on the model's own factors: the equity
factors as decimal returns (Market = total market return, styles = long-short spread
returns) and ``Rate`` as a decimal yield change (0.0025 = +25 bp). ``underlying_moves``
replace the beta-implied move of every position on that underlying.

For each scenario and portfolio:

* ``direct_pnl``: revaluation (§5.6) with the named shocks alone (unnamed factors 0);
* ``correlated_pnl``: each unnamed equity factor u first moves by its conditional
  expectation given the named equity factors s under the daily factor covariance (§5.5),
  ``x_u = Σ_us Σ_ss⁻¹ x_s`` (:func:`conditional_moves`); Rate is never propagated. Without
  a usable covariance (None, or not a finite 6 × 6 block over the equity factors),
  correlated = direct and the row gets flag ``no_factor_covariance`` (only in scenarios
  where propagation would have happened: some but not all equity factors named);
* ``*_pct`` = pnl / gross exposure (decimal, NaN when gross is 0);
* ``factor_impacts`` = ``{factor: {"shock", "dollar_exposure", "pnl"}}`` for every factor
  with a non-zero correlated move: dollar_exposure D_f = Σ exposure_i · beta_if with the
  betas the revaluation used (defaulted ones included), pnl = D_f · x_f; for Rate D =
  Σ exposure_i · ir_beta_i ($ per +1 pp) and pnl = D · 100 · Δy. A linear attribution:
  option convexity, underlying_moves overrides and the move floor are in the totals only;
* ``flags``: ``loss_exceeds_gross`` when the direct *or* the correlated loss exceeds gross
  exposure, and the union of both revaluations' ``beta_defaulted``, ``move_floored`` and
  ``ir_beta_missing``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from importlib import resources
from numbers import Real
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from sigmasight_pipeline.engines.factor_names import ALL_FACTORS, EQUITY_FACTORS, RATE_FACTOR
from sigmasight_pipeline.engines.scenarios import (
    FLAG_ORDER,
    NO_FACTOR_COVARIANCE,
    Scenario,
    gross_exposure,
    pct_of_gross,
    position_betas,
    position_ir_betas,
    scenario_pnl,
)

__all__ = [
    "CATEGORIES",
    "SEVERITIES",
    "STRESS_COLUMNS",
    "ScenarioLibraryError",
    "conditional_moves",
    "default_library_path",
    "load_scenarios",
    "stress_tests",
]

CATEGORIES = ("market", "rates", "rotation", "volatility", "historical")
SEVERITIES = ("mild", "moderate", "severe", "extreme")
#: largest accepted |shock|: equity factor returns, Rate (decimal yield change = 1000 bp)
MAX_EQUITY_SHOCK = 1.0
MAX_RATE_SHOCK = 0.10

STRESS_COLUMNS = [
    "portfolio_id",
    "scenario",
    "category",
    "severity",
    "direct_pnl",
    "correlated_pnl",
    "direct_pct",
    "correlated_pct",
    "factor_impacts",
    "flags",
]

_REQUIRED = ("id", "name", "category", "severity")
_OPTIONAL = ("shocks", "underlying_moves", "description", "active")


class ScenarioLibraryError(ValueError):
    """An invalid stress-scenario file; the message names the file, scenario and field.

    ``errors`` lists every problem found (one line each); the message joins them.
    """

    def __init__(self, path: str, errors: list[str]):
        self.path = path
        self.errors = list(errors)
        lines = "\n".join(f"  - {e}" for e in self.errors)
        super().__init__(f"invalid stress-scenario library {path}:\n{lines}")


def default_library_path() -> Path:
    """The packaged ``stress_scenarios.yaml``."""
    ref = resources.files("sigmasight_pipeline") / "data" / "stress_scenarios.yaml"
    return Path(str(ref))


def _is_number(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _check_moves(
    moves, field: str, where: str, errors: list[str], *, factors: bool
) -> dict[str, float]:
    """Validate a {key: move} mapping; append messages to ``errors``; return the clean dict."""
    if moves is None:
        return {}
    if not isinstance(moves, Mapping):
        errors.append(f"{where}, field '{field}': must be a mapping of {{name: move}}, "
                      f"got {type(moves).__name__}")
        return {}
    clean: dict[str, float] = {}
    for key, value in moves.items():
        name = key.strip() if isinstance(key, str) else key
        label = f"{field}.{key}"
        if not isinstance(name, str) or not name:
            errors.append(f"{where}, field '{label}': keys must be non-empty strings (quote "
                          "symbols such as 'ON' or 'YES' that YAML reads as booleans)")
            continue
        if factors and name not in ALL_FACTORS:
            errors.append(f"{where}, field '{label}': unknown factor {name!r}; "
                          f"known: {', '.join(ALL_FACTORS)}")
            continue
        if not _is_number(value):
            errors.append(f"{where}, field '{label}': shock must be a number, got {value!r}")
            continue
        value = float(value)
        if not math.isfinite(value):
            errors.append(f"{where}, field '{label}': shock must be finite, got {value!r}")
            continue
        if factors and name == RATE_FACTOR and abs(value) > MAX_RATE_SHOCK:
            errors.append(f"{where}, field '{label}': {value!r} is not a decimal yield change "
                          f"(|Δy| <= {MAX_RATE_SHOCK}; 0.0025 = +25 bp)")
            continue
        if factors and name != RATE_FACTOR and abs(value) > MAX_EQUITY_SHOCK:
            errors.append(f"{where}, field '{label}': {value!r} is not a decimal return "
                          f"(|x| <= {MAX_EQUITY_SHOCK}; -0.10 = -10 %)")
            continue
        if not factors and value < -1.0:
            errors.append(f"{where}, field '{label}': a price cannot fall more than 100 %, "
                          f"got {value!r}")
            continue
        key_out = name if factors else name.upper()
        if key_out in clean:
            errors.append(f"{where}, field '{label}': given twice")
            continue
        clean[key_out] = value
    return clean


def _parse_entry(entry, index: int, errors: list[str]) -> tuple[Scenario | None, bool]:
    """One library entry -> (Scenario or None when invalid, active)."""
    if not isinstance(entry, Mapping):
        errors.append(f"scenario #{index}: must be a mapping, got {type(entry).__name__}")
        return None, False
    sid = entry.get("id")
    where = (f"scenario '{sid}' (#{index})" if isinstance(sid, str) and sid.strip()
             else f"scenario #{index}")
    n_errors = len(errors)
    for key in entry:
        if key not in _REQUIRED + _OPTIONAL:
            errors.append(f"{where}, field '{key}': unknown field; allowed: "
                          f"{', '.join(_REQUIRED + _OPTIONAL)}")
    for key in _REQUIRED:
        value = entry.get(key)
        if value is None:
            errors.append(f"{where}, field '{key}': missing (required)")
        elif not isinstance(value, str) or not value.strip():
            errors.append(f"{where}, field '{key}': must be a non-empty string, got {value!r}")
    if isinstance(sid, str) and any(ch.isspace() for ch in sid.strip()):
        errors.append(f"{where}, field 'id': must not contain whitespace")
    category, severity = entry.get("category"), entry.get("severity")
    if isinstance(category, str) and category.strip() and category not in CATEGORIES:
        errors.append(f"{where}, field 'category': unknown category {category!r}; "
                      f"allowed: {', '.join(CATEGORIES)}")
    if isinstance(severity, str) and severity.strip() and severity not in SEVERITIES:
        errors.append(f"{where}, field 'severity': unknown severity {severity!r}; "
                      f"allowed: {', '.join(SEVERITIES)}")
    shocks = _check_moves(entry.get("shocks"), "shocks", where, errors, factors=True)
    moves = _check_moves(entry.get("underlying_moves"), "underlying_moves", where, errors,
                         factors=False)
    if len(errors) == n_errors and not shocks and not moves:
        errors.append(f"{where}, field 'shocks': no shocks and no underlying_moves")
    description = entry.get("description", "")
    if description is None:
        description = ""
    if not isinstance(description, str):
        errors.append(f"{where}, field 'description': must be a string")
    active = entry.get("active", True)
    if not isinstance(active, bool):
        errors.append(f"{where}, field 'active': must be true or false, got {active!r}")
    if len(errors) > n_errors:
        return None, False
    scenario = Scenario(
        id=sid.strip(),
        name=entry["name"].strip(),
        category=category,
        severity=severity,
        shocks=shocks,
        underlying_moves=moves,
        description=" ".join(description.split()),
    )
    return scenario, active


def load_scenarios(path: str | Path | None = None) -> list[Scenario]:
    """The active scenarios of a library file, in file order (default: the packaged one).

    The file is YAML: ``scenarios:`` a list of mappings with id, name, category (one of
    :data:`CATEGORIES`), severity (one of :data:`SEVERITIES`), shocks {factor: move},
    optional underlying_moves {symbol: move}, description and ``active`` (default true;
    ``active: false`` keeps a scenario in the file but out of the run). Factor names are
    those of :data:`ALL_FACTORS`; equity shocks are decimal returns with |x| <= 1, Rate a
    decimal yield change with |Δy| <= 0.10; underlying moves are >= -1 and symbols are
    upper-cased. A scenario needs at least one shock or underlying move; ids are unique
    (inactive ones included).

    Raises :class:`ScenarioLibraryError` listing every problem (file, scenario id or index,
    field) — nothing is loaded from an invalid file.
    """
    file = Path(path) if path is not None else default_library_path()
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioLibraryError(str(file), [f"cannot read the file: {exc}"]) from exc
    except yaml.YAMLError as exc:
        raise ScenarioLibraryError(str(file), [f"not valid YAML: {exc}"]) from exc
    if not isinstance(data, Mapping) or not isinstance(data.get("scenarios"), list):
        raise ScenarioLibraryError(
            str(file), ["top level must be a mapping with a 'scenarios' list"]
        )
    errors: list[str] = []
    unknown_top = [k for k in data if k not in ("version", "scenarios")]
    if unknown_top:
        errors.append(f"top level: unknown keys {unknown_top}; allowed: version, scenarios")
    if data.get("version", 1) != 1:
        errors.append(f"top level, field 'version': unsupported version {data['version']!r}")
    scenarios: list[Scenario] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(data["scenarios"]):
        scenario, active = _parse_entry(entry, index, errors)
        if scenario is None:
            continue
        if scenario.id in seen:
            errors.append(f"scenario '{scenario.id}' (#{index}), field 'id': duplicate id "
                          f"(first at #{seen[scenario.id]})")
            continue
        seen[scenario.id] = index
        if active:
            scenarios.append(scenario)
    if errors:
        raise ScenarioLibraryError(str(file), errors)
    return scenarios


def _usable_block(cov: pd.DataFrame | None) -> np.ndarray | None:
    """The equity block of ``cov`` (:func:`_equity_block`) when it is a finite covariance
    over all six equity factors (extra rows/columns ignored), else None."""
    if cov is None or cov.empty:
        return None
    if not set(EQUITY_FACTORS) <= set(cov.index) or not set(EQUITY_FACTORS) <= set(cov.columns):
        return None
    block = _equity_block(cov)
    return block if np.isfinite(block).all() else None


def conditional_moves(cov: pd.DataFrame, shocks: Mapping[str, float]) -> dict[str, float]:
    """Factor moves with every unnamed equity factor at its conditional expectation.

    For the named equity factors s (keys of ``shocks``) and each unnamed equity factor u:
    ``x_u = Σ_us Σ_ss⁻¹ x_s`` (zero-mean Gaussian conditional mean), computed with
    ``np.linalg.solve`` (least squares if Σ_ss is singular). Named factors keep their
    shocks; ``Rate`` is passed through unchanged and neither conditions nor is propagated.
    With no named equity factor every unnamed one is 0.

    cov: factors × factors DataFrame (daily covariance, SPEC §5.5; only the ratio matters,
    so the scale is irrelevant). Returns {factor: move} for all EQUITY_FACTORS, plus Rate
    when given, in ALL_FACTORS order. Unknown factor names or a covariance missing a needed
    factor or holding non-finite values raise ValueError.
    """
    _check_known(shocks)
    named = [f for f in EQUITY_FACTORS if f in shocks]
    block = None
    if named and len(named) < len(EQUITY_FACTORS):
        missing = [f for f in EQUITY_FACTORS if f not in cov.index or f not in cov.columns]
        if missing:
            raise ValueError(f"covariance lacks factors {missing}")
        block = _equity_block(cov)
    return _conditional_moves(block, shocks)


def _check_known(shocks: Mapping[str, float]) -> None:
    unknown = [f for f in shocks if f not in ALL_FACTORS]
    if unknown:
        raise ValueError(f"unknown factors {unknown}; known: {ALL_FACTORS}")


def _equity_block(cov: pd.DataFrame) -> np.ndarray:
    """The EQUITY_FACTORS × EQUITY_FACTORS block of ``cov`` as floats, in that order."""
    return cov.loc[EQUITY_FACTORS, EQUITY_FACTORS].to_numpy(dtype=float, na_value=np.nan)


def _conditional_moves(block: np.ndarray | None, shocks: Mapping[str, float]
                       ) -> dict[str, float]:
    """:func:`conditional_moves` on the equity block (:func:`_equity_block`; None only when
    no propagation happens): one block for all of a day's scenarios instead of two label
    lookups of the frame per scenario. Unknown factor names raise ValueError here too (a
    scenario need not come from the checked library)."""
    _check_known(shocks)
    named = [i for i, f in enumerate(EQUITY_FACTORS) if f in shocks]
    unnamed = [i for i, f in enumerate(EQUITY_FACTORS) if f not in shocks]
    moves = {EQUITY_FACTORS[i]: float(shocks[EQUITY_FACTORS[i]]) for i in named}
    if not named:
        moves.update({EQUITY_FACTORS[u]: 0.0 for u in unnamed})
    elif unnamed:
        # column-major, as a frame's .loc block converts: the solve and the product then
        # round exactly as they did on the frame's blocks
        sigma_ss = np.asfortranarray(block[np.ix_(named, named)])  # (n_s, n_s)
        sigma_us = np.asfortranarray(block[np.ix_(unnamed, named)])  # (n_u, n_s)
        if not (np.isfinite(sigma_ss).all() and np.isfinite(sigma_us).all()):
            raise ValueError("covariance holds non-finite values")
        x_s = np.array([moves[EQUITY_FACTORS[i]] for i in named])  # (n_s,)
        try:
            z = np.linalg.solve(sigma_ss, x_s)
        except np.linalg.LinAlgError:
            z = np.linalg.lstsq(sigma_ss, x_s, rcond=None)[0]
        moves.update(dict(zip([EQUITY_FACTORS[u] for u in unnamed], (sigma_us @ z).tolist(),
                              strict=True)))
    if RATE_FACTOR in shocks:
        moves[RATE_FACTOR] = float(shocks[RATE_FACTOR])
    return {f: moves[f] for f in ALL_FACTORS if f in moves}


def _empty_stress() -> pd.DataFrame:
    floats = ("direct_pnl", "correlated_pnl", "direct_pct", "correlated_pct")
    return pd.DataFrame(
        {c: pd.Series(dtype=float if c in floats else object) for c in STRESS_COLUMNS}
    )


def _moves_frames(moves: list[Mapping[str, float]], ids: list[str]):
    factor_moves = pd.DataFrame(
        [[m.get(f, 0.0) for f in EQUITY_FACTORS] for m in moves],
        index=ids, columns=EQUITY_FACTORS, dtype=float,
    )
    rate_moves = pd.Series([m.get(RATE_FACTOR, 0.0) for m in moves], index=ids, dtype=float)
    return factor_moves, rate_moves


def stress_tests(
    book: pd.DataFrame,
    betas: pd.DataFrame,
    ir_betas: pd.Series,
    cov: pd.DataFrame | None,
    scenarios: list[Scenario],
) -> pd.DataFrame:
    """Direct and correlated stress P&L of every portfolio of ``book`` (module docstring).

    book, betas, ir_betas as :func:`engines.scenarios.scenario_pnl`; cov the daily equity
    factor covariance (SPEC §5.5) or None; scenarios e.g. :func:`load_scenarios`. All
    scenarios are evaluated at once (one revaluation for the direct moves, one for the
    correlated ones). Returns one row per (portfolio, scenario), columns
    :data:`STRESS_COLUMNS`, scenarios in the given order; an empty book or scenario list
    gives an empty frame with those columns. Duplicate scenario ids raise ValueError.
    """
    ids = [sc.id for sc in scenarios]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate scenario ids: {sorted({i for i in ids if ids.count(i) > 1})}")
    if book.empty or not scenarios:
        return _empty_stress()
    book = book.reset_index(drop=True)

    block = _usable_block(cov)  # once for all scenarios
    have_cov = block is not None
    direct = [dict(sc.shocks) for sc in scenarios]
    correlated = [_conditional_moves(block, sc.shocks) if have_cov else dict(sc.shocks)
                  for sc in scenarios]
    overrides = pd.DataFrame([dict(sc.underlying_moves) for sc in scenarios], index=ids,
                             dtype=float)
    direct_x, direct_dy = _moves_frames(direct, ids)
    corr_x, corr_dy = _moves_frames(correlated, ids)
    res_direct = scenario_pnl(book, betas, ir_betas, direct_x, direct_dy, overrides,
                              with_positions=False).portfolios
    if have_cov:
        res_corr = scenario_pnl(book, betas, ir_betas, corr_x, corr_dy, overrides,
                                with_positions=False).portfolios
    else:
        res_corr = res_direct
    keys = ["portfolio_id", "scenario"]
    if not res_direct[keys].equals(res_corr[keys]):  # same book and ids: same row order
        raise AssertionError("direct and correlated results are not aligned")

    # --- linear attribution per portfolio: D_f (k, 6) and D_rate (k,) ------------------------
    codes, portfolio_ids = pd.factorize(book["portfolio_id"], sort=False)
    k, s = len(portfolio_ids), len(ids)
    exposure = pd.to_numeric(book["exposure"], errors="coerce").to_numpy(dtype=float)
    beta, _ = position_betas(book, betas)  # (n, 6), the betas the revaluation used
    ir_beta = position_ir_betas(book, ir_betas)  # (n,)
    dollar = np.zeros((k, len(EQUITY_FACTORS)))
    np.add.at(dollar, codes, exposure[:, None] * beta)
    dollar_rate = np.zeros(k)
    np.add.at(dollar_rate, codes, exposure * np.nan_to_num(ir_beta, nan=0.0))
    moves_x = corr_x.to_numpy()  # (s, 6)
    moves_dy = corr_dy.to_numpy()  # (s,)
    impacts = []
    for p in range(k):  # portfolios × scenarios dicts (no per-position loop)
        for j in range(s):
            cell = {
                f: {"shock": float(moves_x[j, i]), "dollar_exposure": float(dollar[p, i]),
                    "pnl": float(dollar[p, i] * moves_x[j, i]) + 0.0}
                for i, f in enumerate(EQUITY_FACTORS) if moves_x[j, i] != 0.0
            }
            if moves_dy[j] != 0.0:
                cell[RATE_FACTOR] = {"shock": float(moves_dy[j]),
                                     "dollar_exposure": float(dollar_rate[p]),
                                     "pnl": float(dollar_rate[p] * 100.0 * moves_dy[j]) + 0.0}
            impacts.append(cell)

    # --- flags: union of both revaluations (+ no_factor_covariance) ----------------------------
    n_named = np.array([sum(f in sc.shocks for f in EQUITY_FACTORS) for sc in scenarios])
    propagates = (n_named > 0) & (n_named < len(EQUITY_FACTORS))  # (s,)
    no_cov = np.tile(propagates & (not have_cov), k)
    flags = []
    for d_flags, c_flags, missing in zip(res_direct["flags"], res_corr["flags"], no_cov,
                                         strict=True):
        codes_set = set(d_flags) | set(c_flags)
        if missing:
            codes_set.add(NO_FACTOR_COVARIANCE)
        flags.append([c for c in FLAG_ORDER if c in codes_set])

    gross = gross_exposure(book).reindex(res_direct["portfolio_id"].to_numpy()).to_numpy()
    meta = {sc.id: sc for sc in scenarios}
    out = pd.DataFrame(
        {
            "portfolio_id": res_direct["portfolio_id"].to_numpy(),
            "scenario": res_direct["scenario"].to_numpy(),
            "category": [meta[i].category for i in res_direct["scenario"]],
            "severity": [meta[i].severity for i in res_direct["scenario"]],
            "direct_pnl": res_direct["pnl"].to_numpy(),
            "correlated_pnl": res_corr["pnl"].to_numpy(),
            "direct_pct": pct_of_gross(res_direct["pnl"], gross),
            "correlated_pct": pct_of_gross(res_corr["pnl"], gross),
            "factor_impacts": impacts,
            "flags": flags,
        },
        columns=STRESS_COLUMNS,
    )
    return out
