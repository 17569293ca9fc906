"""Scenario revaluation shared by market risk and stress tests (SPEC §5.6).

A scenario moves the model's factors: equity factor moves ``x_f`` (decimal returns; Market
= total market return, styles = the long-short spread returns of §5.3) and a yield change
``Δy`` (decimal, 0.0025 = +25 bp), optionally with per-underlying overrides. Every position
is revalued under every scenario at once: arrays are (n_positions, n_scenarios).

Per position i and scenario j, with the betas of the position's ``beta_symbol`` (the
underlying for options, the symbol itself otherwise):

* underlying move ``m_ij = Σ_f beta_if · x_jf`` (no intercept / alpha); an override for the
  beta_symbol in scenario j replaces m_ij; m is floored at −0.99 (flag ``move_floored``).
* a position whose beta_symbol has no equity beta at all takes Market beta 1 and 0 on the
  other factors (flag ``beta_defaulted``, set only in scenarios where that default moved it:
  some equity factor move ≠ 0 and no override). A single missing (NaN) beta next to
  present ones counts as 0.
* stocks, ETFs and funds: ``pnl = exposure × m`` ($, signed exposure).
* options: full Black-Scholes revaluation with the same vol, r and T,
  ``pnl = quantity × multiplier × (V(S·(1 + m)) − V(S))`` with V = ``bs_price``, the model
  value on both sides (the quoted price never enters, so a mid/model gap is no P&L). T = 0:
  intrinsic value on both sides.
* rate term, every position (options through their delta-adjusted exposure):
  ``exposure × ir_beta × 100 × Δy`` ($; ir_beta is the return per +1 percentage point of
  DGS10, 100·Δy the move in percentage points). A position without an ir_beta contributes
  0 and, in scenarios with Δy ≠ 0, gets flag ``ir_beta_missing`` (there is no sensible
  default rate sensitivity, so the gap is shown instead of hidden in a zero).

Portfolio P&L is the sum over its positions. Losses are not capped: a portfolio whose loss
exceeds its gross exposure (Σ|exposure|) gets flag ``loss_exceeds_gross``.

Pure: numpy / pandas / scipy only. Money in US dollars.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sigmasight_pipeline.engines.activity import as_float, as_float_matrix, is_option
from sigmasight_pipeline.engines.black_scholes import bs_price
from sigmasight_pipeline.engines.factor_names import EQUITY_FACTORS

__all__ = [
    "BETA_DEFAULTED",
    "FLAG_ORDER",
    "IR_BETA_MISSING",
    "LOSS_EXCEEDS_GROSS",
    "MOVE_FLOOR",
    "MOVE_FLOORED",
    "NO_FACTOR_COVARIANCE",
    "PnlMatrix",
    "PORTFOLIO_COLUMNS",
    "POSITION_COLUMNS",
    "Scenario",
    "ScenarioResult",
    "flag_lists",
    "gross_exposure",
    "pct_of_gross",
    "position_betas",
    "position_ir_betas",
    "position_pnl_matrix",
    "scenario_pnl",
]

#: floor of an underlying move: a price can fall 99 %, not 100 % or more
MOVE_FLOOR = -0.99

BETA_DEFAULTED = "beta_defaulted"
MOVE_FLOORED = "move_floored"
LOSS_EXCEEDS_GROSS = "loss_exceeds_gross"
IR_BETA_MISSING = "ir_beta_missing"
#: set by the stress engine when no factor covariance was available (correlated = direct)
NO_FACTOR_COVARIANCE = "no_factor_covariance"
#: every flag the scenario engines set, in output order (SPEC §5.9 order, then new codes)
FLAG_ORDER = (
    BETA_DEFAULTED,
    MOVE_FLOORED,
    LOSS_EXCEEDS_GROSS,
    IR_BETA_MISSING,
    NO_FACTOR_COVARIANCE,
)

POSITION_COLUMNS = ["position_id", "portfolio_id", "scenario", "move", "pnl", "option_pnl", "flags"]
PORTFOLIO_COLUMNS = ["portfolio_id", "scenario", "pnl", "option_pnl", "flags"]

_BOOK_COLUMNS = (
    "position_id",
    "portfolio_id",
    "position_type",
    "beta_symbol",
    "quantity",
    "multiplier",
    "exposure",
)
_OPTION_COLUMNS = ("underlying_price", "strike", "option_type", "implied_vol", "rate",
                   "years_to_expiry")
_CALL_CODES = frozenset({"C", "CALL"})
_PUT_CODES = frozenset({"P", "PUT"})


@dataclass(frozen=True)
class Scenario:
    """One scenario of the stress library (SPEC §5.7).

    shocks: factor -> move; equity factors as decimal returns (−0.10 = −10 %), ``Rate`` as a
    decimal yield change (0.0025 = +25 bp). underlying_moves: symbol -> decimal price move
    that replaces the beta-implied move of every position on that underlying (e.g. VIX
    +1.50 = +150 %).
    """

    id: str
    name: str
    category: str
    severity: str
    shocks: Mapping[str, float]
    underlying_moves: Mapping[str, float] = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True)
class ScenarioResult:
    """Output of :func:`scenario_pnl`.

    positions: one row per (position, scenario), columns :data:`POSITION_COLUMNS`: move
    (decimal underlying move after override and floor), pnl ($, price and rate terms),
    option_pnl (= pnl for options, 0 for stocks), flags (list of codes).
    portfolios: one row per (portfolio, scenario), columns :data:`PORTFOLIO_COLUMNS`:
    sums of pnl and option_pnl, flags = union of its positions' flags plus
    ``loss_exceeds_gross``.
    """

    positions: pd.DataFrame
    portfolios: pd.DataFrame


def flag_lists(masks: Mapping[str, np.ndarray]) -> list[list[str]]:
    """One list of flag codes per element of equally shaped boolean masks (flattened, C order).

    Codes appear in the order of :data:`FLAG_ORDER`; a code not in it raises KeyError.
    """
    names = [name for name in FLAG_ORDER if name in masks]
    unknown = set(masks) - set(FLAG_ORDER)
    if unknown:
        raise KeyError(f"unknown flag codes {sorted(unknown)}")
    if not names:
        return []
    first = np.asarray(masks[names[0]])
    codes = np.zeros(first.size, dtype=np.int64)
    for bit, name in enumerate(names):
        codes |= np.asarray(masks[name], dtype=bool).ravel().astype(np.int64) << bit
    combos = {
        int(c): [name for bit, name in enumerate(names) if (int(c) >> bit) & 1]
        for c in np.unique(codes)
    }
    return [list(combos[c]) for c in codes.tolist()]


def gross_exposure(book: pd.DataFrame) -> pd.Series:
    """portfolio_id -> gross exposure Σ|exposure| ($, ≥ 0) of the book's positions."""
    if book.empty:
        return pd.Series(dtype=float, name="gross_exposure")
    gross = pd.Series(np.abs(as_float(book["exposure"])), index=book.index)
    out = gross.groupby(book["portfolio_id"].to_numpy(), sort=False).sum()
    out.index.name = "portfolio_id"
    return out.rename("gross_exposure")


def pct_of_gross(pnl: np.ndarray | pd.Series, gross: np.ndarray | pd.Series) -> np.ndarray:
    """pnl / gross as a decimal, NaN where gross is 0 or missing."""
    pnl = np.asarray(pnl, dtype=float)
    gross = np.asarray(gross, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(gross > 0.0, pnl / np.where(gross > 0.0, gross, 1.0), np.nan)


def _lookup_rows(frame: pd.DataFrame, keys: np.ndarray, columns: list[str]) -> np.ndarray:
    """frame.loc[keys, columns] as float64 (len(keys), len(columns)); NaN where absent."""
    frame = frame[~frame.index.duplicated(keep="last")]
    sub = frame.reindex(index=keys, columns=columns)
    return as_float_matrix(sub)


def position_betas(book: pd.DataFrame, betas: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Equity betas used in revaluation, (n_positions, 6) in EQUITY_FACTORS order, and a
    boolean (n_positions,) mask of positions whose betas were defaulted.

    betas: index beta_symbol, columns EQUITY_FACTORS (NaN = no beta; extra columns ignored).
    A beta_symbol absent from ``betas`` or with every equity beta NaN takes Market 1, others
    0 (defaulted); a single NaN next to present betas counts as 0.
    """
    keys = book["beta_symbol"].to_numpy()
    if betas is None or betas.empty:
        raw = np.full((len(book), len(EQUITY_FACTORS)), np.nan)
    else:
        raw = _lookup_rows(betas, keys, EQUITY_FACTORS)  # (n, 6)
    defaulted = ~np.isfinite(raw).any(axis=1)
    effective = np.where(np.isfinite(raw), raw, 0.0)
    effective[defaulted, EQUITY_FACTORS.index("Market")] = 1.0
    return effective, defaulted


def position_ir_betas(book: pd.DataFrame, ir_betas: pd.Series | None) -> np.ndarray:
    """ir_beta of each position's beta_symbol (return per +1 pp of DGS10), NaN when none."""
    if ir_betas is None or len(ir_betas) == 0:
        return np.full(len(book), np.nan)
    series = pd.to_numeric(ir_betas, errors="coerce")
    series = series[~series.index.duplicated(keep="last")]
    return series.reindex(book["beta_symbol"].to_numpy()).to_numpy(dtype=float, na_value=np.nan)


def _scenario_ids(*indexes: pd.Index) -> list:
    ids: list = []
    seen: set = set()
    for index in indexes:
        if index.has_duplicates:
            dup = sorted({str(x) for x in index[index.duplicated()]})
            raise ValueError(f"duplicate scenario ids: {dup}")
        for sid in index:
            if sid not in seen:
                seen.add(sid)
                ids.append(sid)
    return ids


def _require(book: pd.DataFrame, columns, what: str) -> None:
    missing = [c for c in columns if c not in book.columns]
    if missing:
        raise ValueError(f"book lacks {what} columns {missing}")


def _bad_positions(book: pd.DataFrame, mask: np.ndarray, what: str) -> None:
    if mask.any():
        ids = ", ".join(str(x) for x in book.loc[mask, "position_id"].tolist()[:20])
        raise ValueError(f"{what}: positions {ids}")


def _option_inputs(opts: pd.DataFrame) -> dict[str, np.ndarray]:
    """Validated Black-Scholes inputs of the option rows (S, K, T, r, vol, is_call)."""
    kind = opts["option_type"].astype("string").str.strip().str.upper()
    is_call = kind.isin(_CALL_CODES).fillna(False).to_numpy(dtype=bool)
    is_put = kind.isin(_PUT_CODES).fillna(False).to_numpy(dtype=bool)
    _bad_positions(opts, ~(is_call | is_put), "option_type must be 'call'/'put' (or C/P)")
    s = as_float(opts["underlying_price"])
    k = as_float(opts["strike"])
    t = as_float(opts["years_to_expiry"])
    r = as_float(opts["rate"])
    vol = as_float(opts["implied_vol"])
    with np.errstate(invalid="ignore"):
        bad = ~((s > 0) & (k > 0) & (t >= 0) & np.isfinite(r))
        bad |= (t > 0) & ~(vol > 0)
        bad |= ~np.isfinite(s * k * t)
    _bad_positions(
        opts, bad,
        "options need finite underlying_price > 0, strike > 0, years_to_expiry >= 0, rate and "
        "(before expiry) implied_vol > 0",
    )
    return {"S": s, "K": k, "T": t, "r": r, "vol": vol, "is_call": is_call}


def _empty_result() -> ScenarioResult:
    positions = pd.DataFrame({c: pd.Series(dtype=float if c in ("move", "pnl", "option_pnl")
                                           else object) for c in POSITION_COLUMNS})
    portfolios = pd.DataFrame({c: pd.Series(dtype=float if c in ("pnl", "option_pnl")
                                            else object) for c in PORTFOLIO_COLUMNS})
    return ScenarioResult(positions=positions, portfolios=portfolios)


@dataclass(frozen=True)
class PnlMatrix:
    """Output of :func:`position_pnl_matrix`: the revalued (position × scenario) arrays.

    book: the input book (index reset), row i of every array; ids: scenario ids (columns);
    move, pnl, option_pnl: (n, s) float arrays (decimal move, $); exposure: (n,) $;
    masks: flag code → (n, s) bool array.
    """

    book: pd.DataFrame
    ids: list
    move: np.ndarray
    pnl: np.ndarray
    option_pnl: np.ndarray
    exposure: np.ndarray
    masks: dict


def position_pnl_matrix(
    book: pd.DataFrame,
    betas: pd.DataFrame,
    ir_betas: pd.Series,
    factor_moves: pd.DataFrame,
    rate_moves: pd.Series,
    overrides: pd.DataFrame | None = None,
) -> PnlMatrix | None:
    """The revaluation of :func:`scenario_pnl` as arrays, before any frame is built (None when
    the book or the scenario set is empty). Parameters and rules as :func:`scenario_pnl`;
    historical simulation (engines/var.py) revalues its options with it.
    """
    _require(book, _BOOK_COLUMNS, "required")
    unknown = [c for c in factor_moves.columns if c not in EQUITY_FACTORS]
    if unknown:
        raise ValueError(f"factor_moves columns must be equity factors, got {unknown}")
    overrides = overrides if overrides is not None else pd.DataFrame()
    if overrides.columns.has_duplicates:
        raise ValueError("overrides has duplicate symbol columns")
    ids = _scenario_ids(factor_moves.index, rate_moves.index, overrides.index)
    if book.empty or not ids:
        return None

    x = (
        factor_moves.reindex(index=ids, columns=EQUITY_FACTORS)
        .apply(pd.to_numeric, errors="coerce")
        .fillna(0.0)
        .to_numpy(dtype=float)
    )  # (s, 6); a factor or scenario not given = 0
    dy = pd.to_numeric(rate_moves, errors="coerce").reindex(ids).fillna(0.0).to_numpy(float)
    if not (np.isfinite(x).all() and np.isfinite(dy).all()):
        raise ValueError("factor and rate moves must be finite")

    book = book.reset_index(drop=True)
    n, s = len(book), len(ids)
    exposure = as_float(book["exposure"])  # (n,)
    _bad_positions(book, ~np.isfinite(exposure), "exposure must be finite")
    option = is_option(book["position_type"]).to_numpy(dtype=bool)  # (n,)

    beta, defaulted = position_betas(book, betas)  # (n, 6), (n,)
    move = beta @ x.T  # (n, s)

    keys = book["beta_symbol"].to_numpy()
    override = np.full((n, s), np.nan)  # (n, s)
    if not overrides.empty:
        # numeric on the few override columns first, then gathered per position (reindexing
        # on the n position keys made n columns: 25 s at 100,000 positions)
        given = as_float_matrix(overrides.reindex(index=ids))  # (s, m)
        column = overrides.columns.get_indexer(keys)  # (n,), -1 = no override column
        hit = column >= 0
        override[hit] = given[:, column[hit]].T
        if np.isinf(override).any():
            raise ValueError("overrides must be finite")
    overridden = np.isfinite(override)
    move = np.where(overridden, override, move)
    floored = move < MOVE_FLOOR
    move = np.maximum(move, MOVE_FLOOR)

    pnl = exposure[:, None] * move  # (n, s); options replaced below
    if option.any():
        _require(book, _OPTION_COLUMNS, "option")
        opts = book.loc[option]
        p = _option_inputs(opts)
        col = {k: v[:, None] for k, v in p.items()}  # (n_opt, 1) broadcast against scenarios
        v0 = bs_price(col["S"], col["K"], col["T"], col["r"], col["vol"], col["is_call"])
        v1 = bs_price(col["S"] * (1.0 + move[option]), col["K"], col["T"], col["r"], col["vol"],
                      col["is_call"])  # (n_opt, s)
        contracts = as_float(opts["quantity"]) * as_float(opts["multiplier"])
        pnl[option] = contracts[:, None] * (v1 - v0)

    ir_beta = position_ir_betas(book, ir_betas)  # (n,)
    has_ir = np.isfinite(ir_beta)
    pnl = pnl + (exposure * np.where(has_ir, ir_beta, 0.0))[:, None] * (100.0 * dy)[None, :]
    pnl = pnl + 0.0  # no -0.0
    option_pnl = np.where(option[:, None], pnl, 0.0)

    equity_moved = (x != 0.0).any(axis=1)  # (s,)
    masks = {
        BETA_DEFAULTED: defaulted[:, None] & ~overridden & equity_moved[None, :],
        MOVE_FLOORED: floored,
        IR_BETA_MISSING: ~has_ir[:, None] & (dy != 0.0)[None, :],
    }
    return PnlMatrix(book=book, ids=ids, move=move, pnl=pnl, option_pnl=option_pnl,
                     exposure=exposure, masks=masks)


def scenario_pnl(
    book: pd.DataFrame,
    betas: pd.DataFrame,
    ir_betas: pd.Series,
    factor_moves: pd.DataFrame,
    rate_moves: pd.Series,
    overrides: pd.DataFrame | None = None,
    with_positions: bool = True,
) -> ScenarioResult:
    """Revalue every position of ``book`` under every scenario (SPEC §5.6, module docstring).

    Parameters
    ----------
    book : one row per held, valued position: position_id, portfolio_id, position_type
        (LONG/SHORT/LC/LP/SC/SP), beta_symbol, quantity (signed), multiplier, exposure ($,
        signed, delta-adjusted for options) and, for options, underlying_price (S, $),
        strike ($), option_type ('call'/'put' or 'C'/'P', any case), implied_vol (decimal),
        rate (continuous decimal), years_to_expiry (T, years; 0 = expiring today).
    betas : index beta_symbol, columns EQUITY_FACTORS; NaN = no beta.
    ir_betas : index beta_symbol, return per +1 pp of DGS10; NaN or absent = none.
    factor_moves : index scenario id, columns ⊆ EQUITY_FACTORS (decimal returns; absent
        columns and NaN are 0). A non-equity column raises ValueError.
    rate_moves : index scenario id, decimal yield change Δy (0.0025 = +25 bp); NaN = 0.
    overrides : index scenario id, columns symbols (matched to beta_symbol), decimal move
        replacing the beta-implied move; NaN = no override.
    with_positions : False skips the (position × scenario) rows (``positions`` is then
        empty): callers that store only the portfolio sums save building n × s rows.

    The scenarios are the union of the three indexes (factor_moves' order first); a
    scenario missing from one of them has 0 factor moves / no rate move / no override.
    Non-finite moves raise ValueError, as do option rows with unusable pricing inputs.
    """
    result = position_pnl_matrix(book, betas, ir_betas, factor_moves, rate_moves, overrides)
    if result is None:
        return _empty_result()
    book, ids, masks = result.book, result.ids, result.masks
    move, pnl, option_pnl, exposure = result.move, result.pnl, result.option_pnl, result.exposure
    n, s = len(book), len(ids)
    positions = _empty_result().positions if not with_positions else pd.DataFrame(
        {
            "position_id": np.repeat(book["position_id"].to_numpy(), s),
            "portfolio_id": np.repeat(book["portfolio_id"].to_numpy(), s),
            "scenario": np.tile(np.asarray(ids, dtype=object), n),
            "move": move.ravel(),
            "pnl": pnl.ravel(),
            "option_pnl": option_pnl.ravel(),
            "flags": flag_lists(masks),
        },
        columns=POSITION_COLUMNS,
    )

    # --- portfolios: sums over positions (k, s) ---------------------------------------------
    codes, portfolio_ids = pd.factorize(book["portfolio_id"], sort=False)
    k = len(portfolio_ids)
    port_pnl = np.zeros((k, s))
    np.add.at(port_pnl, codes, pnl)
    port_option = np.zeros((k, s))
    np.add.at(port_option, codes, option_pnl)
    port_masks = {}
    for name, mask in masks.items():
        hits = np.zeros((k, s), dtype=np.int64)
        np.add.at(hits, codes, mask.astype(np.int64))
        port_masks[name] = hits > 0
    gross = np.zeros(k)
    np.add.at(gross, codes, np.abs(exposure))
    port_masks[LOSS_EXCEEDS_GROSS] = -port_pnl > gross[:, None]
    portfolios = pd.DataFrame(
        {
            "portfolio_id": np.repeat(np.asarray(portfolio_ids, dtype=object), s),
            "scenario": np.tile(np.asarray(ids, dtype=object), k),
            "pnl": port_pnl.ravel(),
            "option_pnl": port_option.ravel(),
            "flags": flag_lists(port_masks),
        },
        columns=PORTFOLIO_COLUMNS,
    )
    return ScenarioResult(positions=positions, portfolios=portfolios)
