"""Position correlations, clusters and effective number of bets per portfolio (SPEC §5.8).

Per portfolio:

1. positions are aggregated per underlying (``beta_symbol``: an option counts under its
   underlying; signed exposures are summed, so a covered call nets against its stock);
2. kept are underlyings with |aggregated exposure| ≥ ``min_abs_exposure`` ($10,000) and
   ≥ ``min_share`` (1 %) of the portfolio's gross exposure (Σ|exposure| over its positions,
   before aggregation — the same gross as portfolio_exposures);
3. returns are daily log returns ln(P_t / P_(t−1)) of adj_close between consecutive
   sessions (rows of the price table put on the ``sessions`` calendar when given), over the
   last ``lookback`` + 1 sessions on or before ``day`` (``lookback`` returns). A missing
   or non-positive price makes the returns on both sides of it missing; gaps are not
   bridged;
4. pairwise-complete Pearson correlation of two kept underlyings over their common return
   days; a pair is stored when it has ≥ ``min_overlap`` common days and a defined
   correlation (a constant series has none);
5. clusters: connected components of the graph with an edge where |ρ| ≥
   ``cluster_threshold`` among stored pairs, size ≥ 2, each a sorted symbol list;
6. with w_i = exposure_i / gross (gross of the whole portfolio), effective_bets =
   (Σ|w_i|)² / Σ_ij |w_i||w_j||ρ_ij| with ρ_ii = 1 and 0 for pairs not stored: between 1
   (one bet) and n (uncorrelated, equal weights); 1.0 with one kept underlying, NaN with
   none. avg_abs_correlation = mean |ρ| over stored pairs (NaN when none).

Pure: numpy / pandas / scipy.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from sigmasight_pipeline.engines.activity import as_float_matrix

__all__ = [
    "PAIR_COLUMNS",
    "SUMMARY_COLUMNS",
    "effective_bets",
    "log_returns",
    "position_correlations",
]

PAIR_COLUMNS = ["portfolio_id", "symbol_a", "symbol_b", "correlation", "n_obs"]
SUMMARY_COLUMNS = [
    "portfolio_id",
    "n_positions",
    "avg_abs_correlation",
    "effective_bets",
    "clusters",
]


def log_returns(adj_close: pd.DataFrame, day: dt.date, lookback: int = 90,
                sessions: pd.DatetimeIndex | None = None) -> pd.DataFrame:
    """Daily log returns of the last ``lookback`` sessions ending on or before ``day``.

    adj_close: wide, index dates (``datetime.date``, timestamps or ISO strings), columns
    symbols, $ per share. ``sessions`` (the trading calendar) puts the rows on it first, so
    a session missing for every symbol makes the returns on both sides of it missing rather
    than one return spanning two sessions; None: the frame's rows are the sessions. Returns
    at most ``lookback`` rows (dates of the later price), NaN where either price is missing
    or non-positive.
    """
    if adj_close.empty:
        return adj_close.iloc[:0].astype(float)
    when = pd.to_datetime(pd.Index(adj_close.index))
    prices = adj_close.set_axis(when, axis=0).sort_index()
    prices = prices.loc[prices.index <= pd.Timestamp(day)]
    if sessions is not None and len(prices):
        calendar = pd.DatetimeIndex(sessions)
        prices = prices.reindex(calendar[(calendar >= prices.index[0])
                                         & (calendar <= pd.Timestamp(day))])
    prices = prices.tail(lookback + 1)
    values = as_float_matrix(prices)  # (n_days + 1, n_symbols)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(values > 0.0, np.log(values), np.nan)  # (n_days, n_symbols)
    returns = logs[1:] - logs[:-1]
    return pd.DataFrame(returns, index=prices.index[1:], columns=prices.columns)


def effective_bets(weights: np.ndarray, abs_corr: np.ndarray) -> float:
    """(Σ|w|)² / |w|ᵀ·|ρ|·|w| for weights (n,) and |correlations| (n, n) with unit diagonal.

    1 for one bet (or perfectly correlated bets), n for n equal uncorrelated bets; NaN for
    an empty or all-zero weight vector.
    """
    a = np.abs(np.asarray(weights, dtype=float))
    if a.size == 0:
        return float("nan")
    denominator = float(a @ abs_corr @ a)
    if not denominator > 0.0:
        return float("nan")
    return float(a.sum() ** 2 / denominator)


def _kept_underlyings(
    exposures: pd.DataFrame, min_abs_exposure: float, min_share: float
) -> tuple[pd.DataFrame, pd.Series, list]:
    """(kept rows [portfolio_id, beta_symbol, exposure, weight], gross per portfolio, ids)."""
    ex = exposures[["portfolio_id", "beta_symbol", "exposure"]].copy()
    ex["exposure"] = pd.to_numeric(ex["exposure"], errors="coerce")
    portfolio_ids = list(pd.unique(ex["portfolio_id"]))
    gross = ex["exposure"].abs().groupby(ex["portfolio_id"], sort=False).sum()
    ex = ex.dropna(subset=["exposure", "beta_symbol"])
    ex["beta_symbol"] = ex["beta_symbol"].astype(str)
    agg = ex.groupby(["portfolio_id", "beta_symbol"], sort=False)["exposure"].sum().reset_index()
    port_gross = gross.reindex(agg["portfolio_id"].to_numpy()).to_numpy(dtype=float)
    size = agg["exposure"].abs().to_numpy()
    keep = (port_gross > 0) & (size > 0) & (size >= min_abs_exposure) & (
        size >= min_share * port_gross
    )
    kept = agg.loc[keep].copy()
    kept["weight"] = kept["exposure"].to_numpy() / port_gross[keep]
    return kept, gross, portfolio_ids


def position_correlations(
    exposures: pd.DataFrame,
    adj_close: pd.DataFrame,
    day,
    lookback: int = 90,
    min_abs_exposure: float = 10_000.0,
    min_share: float = 0.01,
    min_overlap: int = 20,
    cluster_threshold: float = 0.7,
    sessions: pd.DatetimeIndex | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pairwise correlations and their summary per portfolio (module docstring).

    Parameters
    ----------
    exposures : one row per valued position: portfolio_id, beta_symbol (the underlying for
        options), exposure ($, signed, delta-adjusted for options).
    adj_close : wide date × symbol adjusted closes; only rows dated ≤ ``day`` are used.
    day : the partition's trading day.
    sessions : the trading calendar (see :func:`log_returns`); None: the rows of adj_close.

    Returns
    -------
    (pairs, summaries): pairs columns :data:`PAIR_COLUMNS` (symbol_a < symbol_b, each pair
    once, correlation in [−1, 1], n_obs common return days); summaries columns
    :data:`SUMMARY_COLUMNS`, one row for every portfolio in ``exposures``.
    """
    kept, _, portfolio_ids = _kept_underlyings(exposures, min_abs_exposure, min_share)
    symbols = sorted(set(kept["beta_symbol"]))
    returns = log_returns(adj_close, day, lookback, sessions)
    returns = returns.loc[:, ~returns.columns.duplicated(keep="last")]
    returns = returns.reindex(columns=symbols)  # (n_days, n_symbols); absent symbol = NaN
    corr = returns.corr(min_periods=max(int(min_overlap), 2)).to_numpy(dtype=float)
    present = returns.notna().to_numpy(dtype=float)
    n_obs = (present.T @ present).astype(np.int64)  # common return days per pair
    column = {s: i for i, s in enumerate(symbols)}

    # kept rows as arrays, sorted by symbol within each portfolio (symbols are unique
    # within a portfolio); each portfolio a slice [lo, hi). Pairs are gathered as indices
    # into these arrays and framed once; pandas per portfolio was most of the loop's time.
    kept = kept.sort_values("beta_symbol", kind="stable")
    codes, order = pd.factorize(kept["portfolio_id"], sort=False)
    by = np.argsort(codes, kind="stable")
    k_pid = kept["portfolio_id"].to_numpy(dtype=object)[by]
    k_sym = kept["beta_symbol"].to_numpy(dtype=object)[by]
    k_col = np.array([column[s] for s in k_sym.tolist()], dtype=np.int64)
    k_weight = kept["weight"].to_numpy(dtype=float)[by]
    bounds = np.searchsorted(codes[by], np.arange(len(order) + 1))
    slices = {pid: (int(bounds[i]), int(bounds[i + 1])) for i, pid in enumerate(order)}

    pair_a: list[np.ndarray] = []  # row indices into the kept arrays
    pair_b: list[np.ndarray] = []
    pair_rho: list[np.ndarray] = []
    pair_obs: list[np.ndarray] = []
    link_a: list[np.ndarray] = []  # cluster edges (|ρ| ≥ threshold), same indices
    link_b: list[np.ndarray] = []
    stats = {}
    for pid in portfolio_ids:  # a loop over portfolios, not positions
        lo, hi = slices.get(pid, (0, 0))
        if hi - lo < 2:
            continue
        idx = k_col[lo:hi]
        rho = np.clip(corr[np.ix_(idx, idx)], -1.0, 1.0)  # (m, m)
        obs = n_obs[np.ix_(idx, idx)]
        stored = np.isfinite(rho) & (obs >= min_overlap)
        np.fill_diagonal(stored, False)
        ia, ib = np.nonzero(np.triu(stored, k=1))
        pair_a.append(ia + lo)
        pair_b.append(ib + lo)
        pair_rho.append(rho[ia, ib])
        pair_obs.append(obs[ia, ib])
        abs_rho = np.where(stored, np.abs(np.nan_to_num(rho)), 0.0)
        np.fill_diagonal(abs_rho, 1.0)
        eb = effective_bets(k_weight[lo:hi], abs_rho)
        avg = float(np.abs(rho[ia, ib]).mean()) if len(ia) else np.nan
        la, lb = np.nonzero(stored & (np.abs(np.nan_to_num(rho)) >= cluster_threshold))
        link_a.append(la + lo)
        link_b.append(lb + lo)
        stats[pid] = (avg, eb)

    # clusters: connected components of one block-diagonal graph of every portfolio's
    # links (no edge crosses portfolios), then grouped by portfolio
    n_kept = len(k_sym)
    la = np.concatenate(link_a) if link_a else np.empty(0, dtype=np.int64)
    lb = np.concatenate(link_b) if link_b else np.empty(0, dtype=np.int64)
    labels = np.empty(0, dtype=np.int64)
    if n_kept:
        graph = csr_matrix((np.ones(len(la), dtype=np.int8), (la, lb)), shape=(n_kept, n_kept))
        _, labels = connected_components(graph, directed=False)
    members: dict[int, list[str]] = {}
    for label, sym in zip(labels.tolist(), k_sym.tolist(), strict=True):
        members.setdefault(label, []).append(sym)
    summaries = []
    for pid in portfolio_ids:
        lo, hi = slices.get(pid, (0, 0))
        n = hi - lo
        if n < 2:
            summaries.append((pid, n, np.nan, 1.0 if n == 1 else np.nan, []))
            continue
        groups = [members[g] for g in dict.fromkeys(labels[lo:hi].tolist())]
        clusters = sorted((sorted(g) for g in groups if len(g) >= 2),
                          key=lambda g: (-len(g), g))
        summaries.append((pid, n, *stats[pid], clusters))

    a = np.concatenate(pair_a) if pair_a else np.empty(0, dtype=np.int64)
    b = np.concatenate(pair_b) if pair_b else np.empty(0, dtype=np.int64)
    pair_cols = {
        "portfolio_id": k_pid[a], "symbol_a": k_sym[a], "symbol_b": k_sym[b],
        "correlation": np.concatenate(pair_rho) if pair_rho else np.empty(0),
        "n_obs": np.concatenate(pair_obs) if pair_obs else np.empty(0, dtype=np.int64),
    }
    pairs = (pd.DataFrame(pair_cols, columns=PAIR_COLUMNS) if len(a)
             else pd.DataFrame(columns=PAIR_COLUMNS))
    pairs = pairs.astype({"correlation": float, "n_obs": np.int64})[PAIR_COLUMNS]
    summary = pd.DataFrame(summaries, columns=SUMMARY_COLUMNS)
    summary = summary.astype({"n_positions": np.int64, "avg_abs_correlation": float,
                              "effective_bets": float})
    return pairs, summary
