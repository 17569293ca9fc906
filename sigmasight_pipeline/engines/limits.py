"""Per-portfolio risk limits (SPEC §7.9): the limits file, and the daily checks.

The limits file is YAML (setting ``SIGMASIGHT_LIMITS``; default the packaged
``sigmasight_pipeline/data/limits.yaml``)::

    defaults:                      # every portfolio, unless overridden
      max_gross_exposure: 10000000
      min_effective_n: 5
    portfolios:
      Demo Hedge Fund Style Investor Portfolio:
        max_gross_exposure: 25000000
        min_effective_n: null      # null: this limit does not apply to this portfolio

A limit *applies* to a portfolio when it has a threshold from ``defaults`` or from the
portfolio's own entry (which wins). Keys, the value each compares and its unit:

=================================== ======================================================
``max_gross_exposure``              gross_exposure (US$)
``max_net_exposure_pct_gross``      100 × |net_exposure| / gross_exposure (%)
``max_single_name_pct``             top1_pct of portfolio_concentration (%)
``max_sector_pct``                  the largest sector's pct_of_gross (%)
``max_var_99_1d_pct_gross``         100 × parametric VaR (99 %, 1 day) / gross_exposure (%)
``min_effective_n``                 effective_n of portfolio_concentration (names)
``max_beta_adjusted_net_pct_gross`` 100 × |beta_adjusted_net_exposure| / gross_exposure (%)
=================================== ======================================================

A ``max_`` limit breaches when value > threshold, a ``min_`` one when value < threshold.
Status is ``ok`` or ``breach``; when the value cannot be computed that day — the VaR table
or its row does not exist yet, or the portfolio has no gross exposure for a percentage —
the status is ``not_available`` with a NULL value (never ``ok``).

The file is validated whole before anything is computed: an unknown key, a threshold that
is not a number (or is negative, or not finite), a portfolio name that does not exist, a
duplicate key, or broken YAML raise :class:`LimitsFileError` naming the file, the key with
its line number, and the reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

#: limit key → ("max" | "min", the value compared, its unit), in SPEC order
LIMIT_KEYS: dict[str, tuple[str, str]] = {
    "max_gross_exposure": ("max", "gross exposure (US$)"),
    "max_net_exposure_pct_gross": ("max", "|net exposure| / gross exposure (%)"),
    "max_single_name_pct": ("max", "largest underlying's weight (%)"),
    "max_sector_pct": ("max", "largest sector's share of gross (%)"),
    "max_var_99_1d_pct_gross": ("max", "parametric VaR 99 % 1-day / gross exposure (%)"),
    "min_effective_n": ("min", "effective number of underlyings"),
    "max_beta_adjusted_net_pct_gross": ("max", "|beta-adjusted net exposure| / gross (%)"),
}
STATUS_OK, STATUS_BREACH, STATUS_NOT_AVAILABLE = "ok", "breach", "not_available"
LIMIT_CHECK_COLUMNS = ["portfolio_id", "limit_name", "value", "threshold", "status"]
TOP_LEVEL_KEYS = ("defaults", "portfolios")
DEFAULT_LIMITS_FILE = "limits.yaml"

_INT, _FLOAT, _NULL = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
                       "tag:yaml.org,2002:null")


class LimitsFileError(ValueError):
    """The limits file is invalid: the message names the file, key, line and reason."""


@dataclass(frozen=True)
class LimitsConfig:
    """A validated limits file. ``None`` as a threshold means "does not apply"."""

    source: str
    defaults: dict[str, float | None] = field(default_factory=dict)
    portfolios: dict[str, dict[str, float | None]] = field(default_factory=dict)
    #: portfolio name → the line of its key in the file (for the unknown-name error)
    portfolio_lines: dict[str, int] = field(default_factory=dict)

    def check_portfolios(self, known_names: Iterable[str]) -> None:
        """Raise :class:`LimitsFileError` for the first portfolio name not in ``known_names``."""
        known = set(known_names)
        for name, line in sorted(self.portfolio_lines.items(), key=lambda kv: kv[1]):
            if name not in known:
                raise LimitsFileError(
                    f"{self.source}: line {line}: key 'portfolios.{name}': no portfolio named "
                    f"{name!r} exists (known: {', '.join(sorted(known)) or 'none'})")

    def thresholds(self, portfolios: pd.DataFrame) -> pd.DataFrame:
        """The applicable (portfolio_id, limit_name, threshold) rows, in key order.

        ``portfolios`` needs portfolio_id and name.
        """
        rows = []
        for pid, name in zip(portfolios["portfolio_id"], portfolios["name"], strict=True):
            merged = {**self.defaults, **self.portfolios.get(name, {})}
            rows += [(pid, key, merged[key]) for key in LIMIT_KEYS
                     if merged.get(key) is not None]
        return pd.DataFrame(rows, columns=["portfolio_id", "limit_name", "threshold"])


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _fail(source: str, node: Node, key: str, reason: str) -> LimitsFileError:
    return LimitsFileError(f"{source}: line {_line(node)}: key '{key}': {reason}")


def _pairs(source: str, node: Node, where: str) -> list[tuple[ScalarNode, Node]]:
    """The (key, value) nodes of a mapping; an empty value (``key:``) is an empty mapping."""
    if isinstance(node, ScalarNode) and node.tag == _NULL:
        return []
    if not isinstance(node, MappingNode):
        raise _fail(source, node, where, "must be a mapping of keys to values")
    seen: dict[str, int] = {}
    pairs = []
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            raise _fail(source, key_node, where, "keys must be plain names")
        key = str(key_node.value)
        if key in seen:
            raise _fail(source, key_node, f"{where}.{key}" if where else key,
                        f"duplicate key (first on line {seen[key]})")
        seen[key] = _line(key_node)
        pairs.append((key_node, value_node))
    return pairs


def _threshold(source: str, node: Node, key: str) -> float | None:
    if not isinstance(node, ScalarNode):
        raise _fail(source, node, key, "the threshold must be a number, not a list or mapping")
    if node.tag == _NULL:
        return None
    text = str(node.value)
    value: float | None = None
    if node.tag in (_INT, _FLOAT):
        value = float(yaml.constructor.SafeConstructor().construct_object(node))
    elif node.style is None:  # plain scalar YAML 1.1 calls a string, e.g. 2.5e6
        try:
            value = float(text)
        except ValueError:
            value = None
    if value is None:
        raise _fail(source, node, key, f"threshold {text!r} is not a number")
    if not math.isfinite(value):
        raise _fail(source, node, key, f"threshold {text!r} is not a finite number")
    if value < 0:
        raise _fail(source, node, key, f"threshold {text} is negative (thresholds are >= 0)")
    return value


def _limit_map(source: str, node: Node, where: str) -> dict[str, float | None]:
    out = {}
    for key_node, value_node in _pairs(source, node, where):
        key = str(key_node.value)
        if key not in LIMIT_KEYS:
            raise _fail(source, key_node, f"{where}.{key}",
                        f"unknown limit key (known: {', '.join(LIMIT_KEYS)})")
        out[key] = _threshold(source, value_node, f"{where}.{key}")
    return out


def parse_limits(text: str, source: str) -> LimitsConfig:
    """A :class:`LimitsConfig` from the file's text; ``source`` names it in errors."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise LimitsFileError(f"{source}: {where}not valid YAML: {problem}") from None
    if root is None:
        raise LimitsFileError(f"{source}: line 1: the file is empty; it needs 'defaults:' "
                              "and/or 'portfolios:'")
    if not isinstance(root, MappingNode):
        raise LimitsFileError(f"{source}: line {_line(root)}: the top level must be a mapping "
                              "with 'defaults:' and/or 'portfolios:'")
    defaults: dict[str, float | None] = {}
    portfolios: dict[str, dict[str, float | None]] = {}
    lines: dict[str, int] = {}
    for key_node, value_node in _pairs(source, root, ""):
        key = str(key_node.value)
        if key == "defaults":
            defaults = _limit_map(source, value_node, "defaults")
        elif key == "portfolios":
            for name_node, limits_node in _pairs(source, value_node, "portfolios"):
                name = str(name_node.value)
                lines[name] = _line(name_node)
                portfolios[name] = _limit_map(source, limits_node, f"portfolios.{name}")
        else:
            raise _fail(source, key_node, key,
                        f"unknown top-level key (known: {', '.join(TOP_LEVEL_KEYS)})")
    return LimitsConfig(source=source, defaults=defaults, portfolios=portfolios,
                        portfolio_lines=lines)


def default_limits_path() -> Path:
    """The packaged ``limits.yaml``."""
    return Path(str(resources.files("sigmasight_pipeline") / "data" / DEFAULT_LIMITS_FILE))


def load_limits(path: Path | str | None = None) -> LimitsConfig:
    """Read and validate a limits file (the packaged one when ``path`` is None)."""
    path = Path(path) if path is not None else default_limits_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LimitsFileError(f"{path}: cannot read the limits file ({exc.strerror})") from None
    return _parse_cached(text, str(path))


@lru_cache(maxsize=8)
def _parse_cached(text: str, source: str) -> LimitsConfig:
    return parse_limits(text, source)


# --- the daily checks -------------------------------------------------------------------

def _pct_of_gross(amount: pd.Series, gross: pd.Series) -> pd.Series:
    return 100.0 * amount.abs() / gross.where(gross > 0)


def limit_values(exposures: pd.DataFrame, concentration: pd.DataFrame,
                 sectors: pd.DataFrame, var: pd.DataFrame | None) -> pd.DataFrame:
    """The value each limit key compares, per portfolio: (portfolio_id, limit_name, value).

    ``exposures``: portfolio_id, gross_exposure, net_exposure (portfolio_exposures);
    ``concentration``: portfolio_id, top1_pct, effective_n, beta_adjusted_net_exposure;
    ``sectors``: portfolio_id, pct_of_gross (sector_exposures); ``var``: portfolio_id, var
    (parametric, 99 %, 1 day, US$) or None when the VaR table does not exist. A value that
    cannot be computed is NaN (→ status not_available).
    """
    base = exposures[["portfolio_id", "gross_exposure", "net_exposure"]].drop_duplicates(
        "portfolio_id").set_index("portfolio_id")
    gross = base["gross_exposure"].astype(float)
    conc = concentration.set_index("portfolio_id").reindex(base.index)
    top_sector = sectors.groupby("portfolio_id")["pct_of_gross"].max().reindex(base.index)
    var_usd = (var.drop_duplicates("portfolio_id").set_index("portfolio_id")["var"]
               .reindex(base.index) if var is not None and len(var)
               else pd.Series(np.nan, index=base.index))
    wide = pd.DataFrame({
        "max_gross_exposure": gross,
        "max_net_exposure_pct_gross": _pct_of_gross(base["net_exposure"].astype(float), gross),
        "max_single_name_pct": conc["top1_pct"].astype(float),
        "max_sector_pct": top_sector.astype(float),
        "max_var_99_1d_pct_gross": _pct_of_gross(var_usd.astype(float), gross),
        "min_effective_n": conc["effective_n"].astype(float),
        "max_beta_adjusted_net_pct_gross": _pct_of_gross(
            conc["beta_adjusted_net_exposure"].astype(float), gross),
    }, index=base.index)
    long = wide.rename_axis("portfolio_id").reset_index().melt(
        id_vars="portfolio_id", var_name="limit_name", value_name="value")
    return long


def check_limits(values: pd.DataFrame, thresholds: pd.DataFrame) -> pd.DataFrame:
    """One row per applicable limit: value, threshold and status (LIMIT_CHECK_COLUMNS).

    ``values`` from :func:`limit_values`; ``thresholds`` from
    :meth:`LimitsConfig.thresholds`. Only portfolios in both appear. Sorted by
    portfolio_id, then breaches first, then key order.
    """
    rows = thresholds.merge(values, on=["portfolio_id", "limit_name"], how="inner")
    if rows.empty:
        return pd.DataFrame(columns=LIMIT_CHECK_COLUMNS)
    value = rows["value"].to_numpy(dtype=float)
    threshold = rows["threshold"].to_numpy(dtype=float)
    is_min = rows["limit_name"].map({k: kind == "min" for k, (kind, _) in LIMIT_KEYS.items()}
                                    ).to_numpy(dtype=bool)
    breach = np.where(is_min, value < threshold, value > threshold)
    status = np.where(np.isnan(value), STATUS_NOT_AVAILABLE,
                      np.where(breach, STATUS_BREACH, STATUS_OK))
    rows = rows.assign(status=status, value=np.where(np.isnan(value), np.nan, value))
    order = {k: i for i, k in enumerate(LIMIT_KEYS)}
    rows["_breach"] = (rows["status"] != STATUS_BREACH).astype(int)
    rows["_key"] = rows["limit_name"].map(order)
    rows = rows.sort_values(["portfolio_id", "_breach", "_key"], kind="mergesort",
                            ignore_index=True)
    return rows[LIMIT_CHECK_COLUMNS]
