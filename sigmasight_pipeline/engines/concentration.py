"""Portfolio concentration of a trading day (SPEC §7.9 ``portfolio_concentration``).

Positions are first netted per underlying u (an option under its underlying, as in the
correlation engine): E_u = Σ_{i: u(i)=u} e_i, with e_i the signed delta-adjusted exposure
(US$). With w_u = |E_u| / Σ_v |E_v| (weights sum to 1):

- hhi = 10,000 × Σ w_u² (the Herfindahl-Hirschman index on the 0-10,000 scale: 10,000 is
  one name, 10,000 / n for n equal names);
- effective_n = 10,000 / hhi (the number of equal-weight names with the same HHI);
- top1_pct, top5_pct, top10_pct = 100 × the sum of the 1, 5, 10 largest w_u (percent;
  fewer names than k sum them all, i.e. 100);
- largest_underlying = the u with the largest |E_u| (ties: alphabetical);
- beta_adjusted_net_exposure = Σ_i e_i × β_{u(i),Market} in US$, β defaulted to 1 for an
  underlying without a Market beta (NULL or absent).

A portfolio whose underlyings all net to 0 (or that has none) has NULL hhi, effective_n,
top-k and largest_underlying (no weights exist), never 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .sectors import underlying_symbols

CONCENTRATION_COLUMNS = ["portfolio_id", "n_underlyings", "hhi", "effective_n", "top1_pct",
                         "top5_pct", "top10_pct", "largest_underlying",
                         "beta_adjusted_net_exposure"]
TOP_K = (1, 5, 10)
#: Market beta of an underlying without one (SPEC §5.6, §7.2)
DEFAULT_MARKET_BETA = 1.0


def underlying_exposures(values: pd.DataFrame, positions: pd.DataFrame) -> pd.DataFrame:
    """E_u per (portfolio_id, underlying): the signed exposures of its positions summed."""
    book = pd.DataFrame({"position_id": positions["position_id"].to_numpy(),
                         "underlying": underlying_symbols(positions).to_numpy(object)})
    frame = values[["position_id", "portfolio_id", "symbol", "exposure"]].merge(
        book, on="position_id", how="left")
    frame["underlying"] = frame["underlying"].fillna(frame["symbol"])
    return frame.groupby(["portfolio_id", "underlying"], as_index=False, sort=True)[
        "exposure"].sum()


def portfolio_concentration(values: pd.DataFrame, positions: pd.DataFrame,
                            market_betas: pd.Series) -> pd.DataFrame:
    """One row per portfolio in ``values`` (CONCENTRATION_COLUMNS), sorted by portfolio_id.

    ``values``: one day of ``position_values`` (position_id, portfolio_id, symbol, exposure);
    ``positions``: the book (position_id, position_type, symbol, underlying_symbol);
    ``market_betas``: Market beta indexed by underlying symbol (missing → 1).
    """
    if values.empty:
        return pd.DataFrame(columns=CONCENTRATION_COLUMNS)
    per_u = underlying_exposures(values, positions)
    beta = per_u["underlying"].map(market_betas.astype(float)).fillna(DEFAULT_MARKET_BETA)
    per_u["beta_exposure"] = per_u["exposure"].to_numpy(dtype=float) * beta.to_numpy()
    per_u["abs_exposure"] = per_u["exposure"].abs()
    # largest |E_u| first, alphabetical among ties: rank 0 is the largest name
    per_u = per_u.sort_values(["portfolio_id", "abs_exposure", "underlying"],
                              ascending=[True, False, True], kind="mergesort",
                              ignore_index=True)
    total = per_u.groupby("portfolio_id")["abs_exposure"].transform("sum")
    per_u["w"] = per_u["abs_exposure"] / total.where(total > 0)
    per_u["w2"] = per_u["w"] ** 2
    per_u["rank"] = per_u.groupby("portfolio_id").cumcount()
    grouped = per_u.groupby("portfolio_id", sort=True)
    out = pd.DataFrame({
        "n_underlyings": grouped.size(),
        "hhi": 10_000.0 * grouped["w2"].sum(min_count=1),
        "beta_adjusted_net_exposure": grouped["beta_exposure"].sum(),
    })
    for k in TOP_K:
        out[f"top{k}_pct"] = 100.0 * per_u[per_u["rank"] < k].groupby(
            "portfolio_id")["w"].sum(min_count=1)
    out["effective_n"] = 10_000.0 / out["hhi"]
    first = per_u[per_u["rank"] == 0].set_index("portfolio_id")
    out["largest_underlying"] = first["underlying"].where(first["w"].notna())
    out["n_underlyings"] = out["n_underlyings"].astype("int64")
    out = out.reset_index()
    out["largest_underlying"] = out["largest_underlying"].astype(object).where(
        out["largest_underlying"].notna(), None)
    return out[CONCENTRATION_COLUMNS].replace([np.inf, -np.inf], np.nan)
