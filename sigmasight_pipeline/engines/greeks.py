"""Position-level option Greeks with the volatility and price waterfalls (SPEC §5.1, §5.2).

Pure pandas/numpy; vectorized over every option of every portfolio for one date. Per-share
Greeks follow mibian's units (see :mod:`sigmasight_pipeline.engines.black_scholes`):
delta per $1, gamma per $1, theta $ per calendar day, vega $ per vol point, rho $ per rate
point. Position Greeks = per-share × signed quantity × multiplier, so a short option has
negative position gamma and vega.

Volatility waterfall for an option with T > 0 (``vol_source``):

1. ``quote_iv`` — the quote's implied_vol when finite and in the sane range (0.01, 5.0]. A
   finite quote IV outside that range is ignored with an ``absurd_vol`` warning issue.
2. ``implied_from_mid`` — solved from the mid when bid > 0, ask >= bid and the mid lies
   strictly inside the no-arbitrage bounds. A solution outside the sane range is kept
   with flag ``absurd_vol`` (+ warning issue): SPEC §5.2 rejects only the mid outside the
   bounds. A mid that exists but gives no solution: flag ``iv_no_solution`` (+ warning).
3. ``historical_30d`` — the underlying's 30-day historical vol, flag ``vol_historical``.
4. Nothing: no Greeks row; an ``insufficient_history`` error issue.

Option price (``price_source``): ``mid`` when bid > 0 and ask >= bid; else ``last`` when
> 0; else ``intrinsic`` for an option expiring today (T = 0); else ``model`` (BSM with the
chosen vol, flag ``model_price``). An option expiring today (T = 0) gets the expiry Greeks
(digital delta, others 0) and flag ``expiring``; no volatility is needed, so its
implied_vol is NaN and vol_source None. A missing underlying price: no row, a
``missing_price`` error issue. Stale underlying: flag ``stale_price``. VIX options are valued
on spot VIX: flag ``vix_spot_proxy``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sigmasight_pipeline.engines.black_scholes import bs_greeks, implied_vol, no_arbitrage_bounds
from sigmasight_pipeline.engines.prices import plausible_price

__all__ = [
    "FLAG_ORDER",
    "GREEKS_COLUMNS",
    "ISSUE_COLUMNS",
    "GreeksResult",
    "compute_position_greeks",
    "historical_volatility",
]

GREEKS_COLUMNS = [
    "position_id",
    "portfolio_id",
    "symbol",
    "underlying_price",
    "option_price",
    "price_source",
    "implied_vol",
    "vol_source",
    "years_to_expiry",
    "rate",
    "delta",
    "gamma",
    "theta",
    "vega",
    "rho",
    "position_delta",
    "position_gamma",
    "position_theta",
    "position_vega",
    "position_rho",
    "dollar_delta",
    "dollar_gamma_1pct",
    "flags",
]
ISSUE_COLUMNS = ["position_id", "portfolio_id", "symbol", "code", "severity", "message"]

# Row flags this engine can set, in the order of SPEC §5.9.
FLAG_ORDER = (
    "stale_price",
    "model_price",
    "iv_no_solution",
    "absurd_vol",
    "vol_historical",
    "expiring",
    "vix_spot_proxy",
)

SANE_VOL_MIN = 0.01  # exclusive
SANE_VOL_MAX = 5.0  # inclusive
DAYS_PER_YEAR = 365.0
TRADING_DAYS_PER_YEAR = 252
VIX_SYMBOLS = frozenset({"VIX", "^VIX", "VIX.X", "$VIX", "$VIX.X", "I:VIX"})
GREEK_NAMES = ("delta", "gamma", "theta", "vega", "rho")


@dataclass(frozen=True)
class GreeksResult:
    """Output of :func:`compute_position_greeks`.

    greeks: one row per option that could be valued, columns :data:`GREEKS_COLUMNS`.
    issues: data-quality rows, columns :data:`ISSUE_COLUMNS` (severity 'error' or 'warning').
    """

    greeks: pd.DataFrame
    issues: pd.DataFrame


def _sane_vol(vol: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (vol > SANE_VOL_MIN) & (vol <= SANE_VOL_MAX)


def _lookup(frame_or_series, keys: pd.Series, column: str | None = None) -> np.ndarray:
    """Values of ``frame_or_series[column]`` aligned on ``keys`` (float64, NaN if absent)."""
    obj = frame_or_series if column is None else frame_or_series[column]
    obj = obj[~obj.index.duplicated(keep="last")]
    return _take(obj, obj.index.get_indexer(keys.to_numpy()))


def _take(values: pd.Series, row: np.ndarray) -> np.ndarray:
    """``values`` at the positions ``row`` as float64, NaN where ``row`` is -1 (not found)."""
    out = np.full(len(row), np.nan)
    found = row >= 0
    out[found] = values.to_numpy(dtype=np.float64, na_value=np.nan)[row[found]]
    return out


def _quote_columns(quotes: pd.DataFrame | None, symbols: pd.Series) -> dict[str, np.ndarray]:
    """Each option's quote fields (float64, NaN without a quote): the last quote of each
    symbol, matched once for all four fields."""
    cols = ("bid", "ask", "last", "implied_vol")
    if quotes is None or len(quotes) == 0:
        return {c: np.full(len(symbols), np.nan) for c in cols}
    q = quotes.drop_duplicates("symbol", keep="last")
    row = pd.Index(q["symbol"]).get_indexer(symbols.to_numpy())
    return {c: _take(q[c], row) if c in q.columns else np.full(len(symbols), np.nan)
            for c in cols}


def _per_distinct(values: pd.Series, fn) -> np.ndarray:
    """``fn`` of each value, computed once per distinct value (an object array)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return np.asarray([fn(u) for u in uniques], dtype=object)[codes]


def _flags_lists(masks: dict[str, np.ndarray], n: int) -> list[list[str]]:
    """One list of flag codes per row from boolean masks (order of :data:`FLAG_ORDER`)."""
    codes = np.zeros(n, dtype=np.int64)
    for bit, name in enumerate(FLAG_ORDER):
        codes |= masks[name].astype(np.int64) << bit
    combos = {
        int(c): [name for bit, name in enumerate(FLAG_ORDER) if (int(c) >> bit) & 1]
        for c in np.unique(codes)
    }
    return [list(combos[c]) for c in codes.tolist()]


def _labels(conditions: list[np.ndarray], labels: list[str], default=None) -> np.ndarray:
    """Object array: the label of the first true condition per row, else ``default``."""
    out = np.full(len(conditions[0]), default, dtype=object)
    for cond, label in zip(conditions[::-1], labels[::-1], strict=True):
        out[cond] = label
    return out


def _fallback_text(vol_source: np.ndarray) -> list[str]:
    return ["none (Greeks not computed)" if v is None else v for v in vol_source]


def _issues_frame(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ISSUE_COLUMNS})
    return pd.concat(parts, ignore_index=True)[ISSUE_COLUMNS]


def _issue_rows(
    opts: pd.DataFrame, mask: np.ndarray, code: str, severity: str, messages: list[str]
) -> pd.DataFrame:
    sub = opts.loc[mask, ["position_id", "portfolio_id", "symbol"]]
    return sub.assign(code=code, severity=severity, message=messages).reset_index(drop=True)


def _fmt(x: float) -> str:
    return f"{x:.4f}" if np.isfinite(x) else "n/a"


#: a continuous risk-free rate beyond ±100 % a year is bad data, not a market (DGS3MO is %)
MAX_ABS_RATE = 1.0


def compute_position_greeks(
    options: pd.DataFrame,
    underlying_prices: pd.DataFrame,
    quotes: pd.DataFrame | None,
    hist_vol: pd.Series | None,
    rate: float,
    as_of: dt.date,
) -> GreeksResult:
    """Per-share and position Greeks of the options held on ``as_of``.

    Parameters
    ----------
    options : columns position_id, portfolio_id, symbol (OCC), underlying_symbol, strike,
        expiration (date), option_type ('C'/'P'), quantity (signed), multiplier. Only options
        active on ``as_of`` (expiration >= as_of); an earlier expiration raises ValueError.
    underlying_prices : indexed by symbol, columns ``price`` ($ per share, the close
        resolved by the caller) and ``stale`` (bool). Absent symbols have no price.
    quotes : columns symbol, bid, ask, last, implied_vol (decimal) for ``as_of``; may be
        empty or None, lack symbols or hold NaN.
    hist_vol : underlying symbol -> annualized 30-day historical vol (decimal, NaN unknown).
    rate : continuously compounded risk-free rate (decimal), see continuous_rate_from_bey.
    as_of : the valuation (partition) date. T = calendar days to expiration / 365.

    Returns
    -------
    GreeksResult(greeks, issues), see the module docstring for the waterfalls and flags.
    """
    rate = float(rate)
    if not np.isfinite(rate) or abs(rate) > MAX_ABS_RATE:
        raise ValueError(f"rate must be a continuous decimal rate within ±{MAX_ABS_RATE:g} "
                         f"(±{MAX_ABS_RATE:.0%} a year), got {rate!r}: check DGS3MO")
    as_of_ts = pd.Timestamp(as_of)
    as_of_str = as_of_ts.date().isoformat()
    opts = options.reset_index(drop=True)
    n = len(opts)

    # --- contract checks: a bad input is a bug upstream, name the positions ---------------
    option_type = _per_distinct(opts["option_type"], lambda v: str(v).upper().strip())
    bad_type = ~np.isin(option_type, ["C", "P"])
    if bad_type.any():
        raise ValueError(
            "option_type must be 'C' or 'P' for options: "
            + ", ".join(opts.loc[bad_type, "symbol"].astype(str).tolist())
        )
    expiration = pd.to_datetime(opts["expiration"])
    days = (expiration - as_of_ts).dt.days.to_numpy(dtype=np.float64, na_value=np.nan)
    bad_exp = ~(days >= 0)
    if bad_exp.any():
        raise ValueError(
            f"options not active on {as_of_str} (expiration missing or before it): "
            + ", ".join(opts.loc[bad_exp, "symbol"].astype(str).tolist())
        )

    strike = pd.to_numeric(opts["strike"], errors="coerce").to_numpy(dtype=np.float64)
    bad_strike = ~(np.isfinite(strike) & (strike > 0))
    if bad_strike.any():
        raise ValueError(
            "strike must be a positive number for options: "
            + ", ".join(opts.loc[bad_strike, "symbol"].astype(str).tolist())
        )

    # --- inputs as aligned float arrays (n,) -----------------------------------------------
    is_call = option_type == "C"
    quantity = opts["quantity"].to_numpy(dtype=np.float64)
    multiplier = opts["multiplier"].to_numpy(dtype=np.float64)
    years = days / DAYS_PER_YEAR
    underlying = opts["underlying_symbol"].astype(str)

    spot = _lookup(underlying_prices, underlying, "price")
    if "stale" in underlying_prices.columns:
        stale = underlying_prices["stale"].eq(True)  # NaN or None -> not stale
        stale = stale[~stale.index.duplicated(keep="last")]
        stale = stale.reindex(underlying.to_numpy()).to_numpy(dtype=bool, na_value=False)
    else:
        stale = np.zeros(n, dtype=bool)
    q = _quote_columns(quotes, opts["symbol"])
    bid, ask, last, quote_iv = q["bid"], q["ask"], q["last"], q["implied_vol"]
    if hist_vol is None:
        hist = np.full(n, np.nan)
    else:
        hist = _lookup(hist_vol, underlying)

    with np.errstate(invalid="ignore"):
        has_spot = plausible_price(spot)  # else a missing_price row, never inf Greeks
        expiring = days == 0
        live = has_spot & ~expiring
        has_mid = (bid > 0.0) & (ask >= bid) & np.isfinite(ask)
        mid = np.where(has_mid, 0.5 * (bid + ask), np.nan)
        has_last = np.isfinite(last) & (last > 0.0)
        hist_ok = np.isfinite(hist) & (hist > 0.0)

    # --- volatility waterfall (rows with T > 0 and a spot price) ---------------------------
    quote_iv_ok = live & _sane_vol(quote_iv)
    absurd_quote_iv = live & np.isfinite(quote_iv) & ~quote_iv_ok
    try_mid = live & ~quote_iv_ok & has_mid
    mid_iv = np.full(n, np.nan)
    if try_mid.any():
        mid_iv[try_mid] = implied_vol(
            mid[try_mid], spot[try_mid], strike[try_mid], years[try_mid], rate, is_call[try_mid]
        )
    # SPEC §5.2 rejects only a mid outside the no-arbitrage bounds: any solution is kept, and
    # one outside the sane range (a 3-day VIX call can imply 600 %) is flagged absurd_vol
    with np.errstate(invalid="ignore"):
        mid_iv_ok = try_mid & np.isfinite(mid_iv) & (mid_iv > 0.0)
    absurd_mid_iv = mid_iv_ok & ~_sane_vol(mid_iv)
    iv_no_solution = try_mid & ~mid_iv_ok
    use_hist = live & ~quote_iv_ok & ~mid_iv_ok & hist_ok
    no_vol = live & ~quote_iv_ok & ~mid_iv_ok & ~hist_ok

    vol = np.select([quote_iv_ok, mid_iv_ok, use_hist], [quote_iv, mid_iv, hist], np.nan)
    vol_source = _labels(
        [quote_iv_ok, mid_iv_ok, use_hist], ["quote_iv", "implied_from_mid", "historical_30d"]
    )

    # --- Greeks for every valued row -------------------------------------------------------
    keep = has_spot & (expiring | quote_iv_ok | mid_iv_ok | use_hist)
    greeks = bs_greeks(spot[keep], strike[keep], years[keep], rate, vol[keep], is_call[keep])

    k_mid, k_last, k_exp = has_mid[keep], has_last[keep], expiring[keep]
    price_source = _labels([k_mid, k_last, k_exp], ["mid", "last", "intrinsic"], "model")
    option_price = np.select([k_mid, k_last], [mid[keep], last[keep]], greeks["price"])

    s_keep = spot[keep]
    scale = quantity[keep] * multiplier[keep]  # signed contracts × shares per contract
    out = {
        "position_id": opts.loc[keep, "position_id"].to_numpy(),
        "portfolio_id": opts.loc[keep, "portfolio_id"].to_numpy(),
        "symbol": opts.loc[keep, "symbol"].to_numpy(),
        "underlying_price": s_keep,
        "option_price": option_price,
        "price_source": price_source,
        "implied_vol": vol[keep],
        "vol_source": vol_source[keep],
        "years_to_expiry": years[keep],
        "rate": np.full(int(keep.sum()), rate),
    }
    for name in GREEK_NAMES:
        out[name] = greeks[name]
    for name in GREEK_NAMES:
        out[f"position_{name}"] = greeks[name] * scale + 0.0  # + 0.0: no -0.0 for shorts
    out["dollar_delta"] = out["position_delta"] * s_keep
    out["dollar_gamma_1pct"] = 0.5 * out["position_gamma"] * (0.01 * s_keep) ** 2
    underlying_upper = _per_distinct(underlying, lambda v: v.upper() if isinstance(v, str) else v)
    flag_masks = {
        "stale_price": stale[keep],
        "model_price": price_source == "model",
        "iv_no_solution": iv_no_solution[keep],
        "absurd_vol": absurd_mid_iv[keep],
        "vol_historical": use_hist[keep],
        "expiring": k_exp,
        "vix_spot_proxy": np.isin(underlying_upper, list(VIX_SYMBOLS))[keep],
    }
    out["flags"] = _flags_lists(flag_masks, int(keep.sum()))
    greeks_frame = pd.DataFrame(out, columns=GREEKS_COLUMNS)

    # --- data-quality issues ---------------------------------------------------------------
    issues = []
    missing = ~has_spot
    if missing.any():
        issues.append(
            _issue_rows(
                opts,
                missing,
                "missing_price",
                "error",
                [
                    f"No price for underlying {u} of option {s} on {as_of_str}: Greeks were not "
                    "computed and the position is left out of the Greek aggregates."
                    for u, s in zip(underlying[missing], opts.loc[missing, "symbol"], strict=True)
                ],
            )
        )
    if no_vol.any():
        issues.append(
            _issue_rows(
                opts,
                no_vol,
                "insufficient_history",
                "error",
                [
                    f"No volatility for option {s} on {as_of_str}: no usable quote implied vol or "
                    f"bid/ask mid, and underlying {u} has fewer than 30 daily returns up to that "
                    "date; Greeks were not computed."
                    for u, s in zip(underlying[no_vol], opts.loc[no_vol, "symbol"], strict=True)
                ],
            )
        )
    if absurd_quote_iv.any():
        fallback = _fallback_text(vol_source[absurd_quote_iv])
        issues.append(
            _issue_rows(
                opts,
                absurd_quote_iv,
                "absurd_vol",
                "warning",
                [
                    f"Quote implied vol {v:.6g} of {s} on {as_of_str} is outside the sane range "
                    f"({SANE_VOL_MIN}, {SANE_VOL_MAX}]; ignored, volatility taken from {f}."
                    for v, s, f in zip(
                        quote_iv[absurd_quote_iv],
                        opts.loc[absurd_quote_iv, "symbol"],
                        fallback,
                        strict=True,
                    )
                ],
            )
        )
    if absurd_mid_iv.any():
        m = absurd_mid_iv
        issues.append(_issue_rows(opts, m, "absurd_vol", "warning", [
            f"Mid {_fmt(md)} of {s} on {as_of_str} implies a volatility of {iv:.6g}, outside "
            f"the sane range ({SANE_VOL_MIN}, {SANE_VOL_MAX}]; kept (the mid is inside the "
            "no-arbitrage bounds) and flagged absurd_vol: check the quote."
            for md, s, iv in zip(mid[m], opts.loc[m, "symbol"], mid_iv[m], strict=True)]))
    if iv_no_solution.any():
        m = iv_no_solution
        lower, upper = no_arbitrage_bounds(spot[m], strike[m], years[m], rate, is_call[m])
        fallback = _fallback_text(vol_source[m])
        messages = []
        for s, md, b, a, lo, hi, iv, f in zip(
            opts.loc[m, "symbol"],
            mid[m],
            bid[m],
            ask[m],
            lower,
            upper,
            mid_iv[m],
            fallback,
            strict=True,
        ):
            if not (lo < md < hi):
                why = f"lies outside the no-arbitrage bounds ({_fmt(lo)}, {_fmt(hi)})"
            elif np.isfinite(iv):
                why = (
                    f"implies a volatility of {iv:.6g}, outside the sane range "
                    f"({SANE_VOL_MIN}, {SANE_VOL_MAX}]"
                )
            else:
                why = "has no implied volatility in [0.0001, 10]"
            messages.append(
                f"Mid {_fmt(md)} of {s} on {as_of_str} (bid {_fmt(b)}, ask {_fmt(a)}) {why}; "
                f"volatility taken from {f}."
            )
        issues.append(_issue_rows(opts, m, "iv_no_solution", "warning", messages))

    return GreeksResult(greeks=greeks_frame, issues=_issues_frame(issues))


def historical_volatility(adj_close: pd.DataFrame, as_of: dt.date, window: int = 30,
                          sessions: pd.DatetimeIndex | None = None) -> pd.Series:
    """Annualized historical volatility per symbol, decimal.

    ``adj_close``: wide frame, index = dates, columns = symbols, adjusted closes in $.
    For each symbol: the sample standard deviation (ddof = 1) of its last ``window`` daily
    log returns ending on ``as_of`` (rows dated <= as_of), × √252. A daily return runs
    between two consecutive sessions that both have a (finite, > 0) price; a missing close
    drops the returns on both sides of it — it never bridges two sessions as one return —
    and older returns fill the window. ``sessions`` (the trading calendar) puts the rows on
    it first, so a session missing for every symbol is a gap too; None: the frame's rows are
    the sessions. NaN when the symbol has fewer than ``window`` daily returns. Returns a
    Series indexed like ``adj_close.columns``.
    """
    if window < 2:
        raise ValueError(f"window must be >= 2 returns, got {window}")
    frame = adj_close.sort_index()
    frame = frame.set_axis(pd.to_datetime(frame.index), axis=0)
    frame = frame.loc[frame.index <= pd.Timestamp(as_of)]
    if sessions is not None and len(frame):
        calendar = pd.DatetimeIndex(sessions)
        frame = frame.reindex(calendar[(calendar >= frame.index[0])
                                       & (calendar <= pd.Timestamp(as_of))])
    prices = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    n_dates, n_symbols = prices.shape
    result = np.full(n_symbols, np.nan)
    if n_dates > window:
        with np.errstate(invalid="ignore", divide="ignore"):
            logs = np.where(np.isfinite(prices) & (prices > 0.0), np.log(prices), np.nan)
        returns = logs[1:] - logs[:-1]  # (n_dates - 1, n_symbols), NaN across a gap
        valid = np.isfinite(returns)
        # number of valid returns at or after each row, per symbol
        remaining = np.cumsum(valid[::-1], axis=0)[::-1]
        take = valid & (remaining <= window)  # the last `window` daily returns of each symbol
        full = take.sum(axis=0) == window
        if full.any():
            sel = take[:, full].T  # (n_full, n_returns), each row exactly `window` True
            tail = returns[:, full].T[sel].reshape(-1, window)  # (n_full, window)
            result[full] = tail.std(axis=1, ddof=1) * np.sqrt(TRADING_DAYS_PER_YEAR)
    return pd.Series(result, index=adj_close.columns, name="hist_vol", dtype=np.float64)
