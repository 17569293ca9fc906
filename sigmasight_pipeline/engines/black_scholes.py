"""Vectorized Black-Scholes-Merton pricing, Greeks and implied volatility (no dividends, q = 0).

Units and conventions (SPEC §4 position_greeks, §5.2), identical to ``mibian.BS``:

- ``S`` underlying price and ``K`` strike in $ per share; prices returned in $ per share.
- ``T`` time to expiry in years (the pipeline uses calendar days / 365).
- ``r`` continuously compounded risk-free rate as a decimal (0.05 = 5 %).
- ``sigma`` annualized volatility as a decimal (0.25 = 25 %).
- ``is_call`` boolean (True = call, False = put).

Greeks, per share (mibian's conventions):

- delta: $ per $1 move of the underlying (call in [0, 1], put in [-1, 0]);
- gamma: change of delta per $1 move of the underlying;
- theta: $ per calendar day, i.e. annual theta / 365 (negative = the option loses value);
- vega: $ per 1 volatility point (+0.01 of sigma);
- rho: $ per 1 rate point (+0.01 of r).

At expiry (``T <= 0``) the option is worth its intrinsic value; call delta is 1 if S > K
else 0, put delta is -1 if S < K else 0, and every other Greek is 0. A zero volatility with
``T > 0`` gives the deterministic limit (discounted forward intrinsic value).

All inputs broadcast against each other; everything is float64 and no Python loop runs per
option. ``mibian.BS`` (scalar, percent units) is the reference in the tests.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

__all__ = [
    "GREEK_NAMES",
    "bs_greeks",
    "bs_price",
    "continuous_rate_from_bey",
    "implied_vol",
    "no_arbitrage_bounds",
]

GREEK_NAMES = ("delta", "gamma", "theta", "vega", "rho")

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)
_DAYS_PER_YEAR = 365.0  # theta per calendar day, as mibian
_POINT = 0.01  # one volatility / rate point

IV_LOWER = 1e-4  # search bracket of implied_vol, decimal volatility
IV_UPPER = 10.0


def _as_float(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _as_bool(is_call) -> np.ndarray:
    arr = np.asarray(is_call)
    if arr.dtype.kind not in "biu":
        raise TypeError(
            f"is_call must be boolean (True = call, False = put), got dtype {arr.dtype}"
        )
    return arr.astype(bool, copy=False)


def _broadcast(S, K, T, r, sigma, is_call):
    S, K, T, r, sigma = (_as_float(v) for v in (S, K, T, r, sigma))
    is_call = _as_bool(is_call)
    return np.broadcast_arrays(S, K, T, r, sigma, is_call)


def _sign(is_call: np.ndarray) -> np.ndarray:
    """+1.0 for calls, -1.0 for puts: every BSM formula below is written with this sign."""
    return np.where(is_call, 1.0, -1.0)


def _d1_d2(S, K, T, r, sigma):
    """√T, d1 = (ln(S/K) + (r + σ²/2)·T) / (σ√T) and d2 = d1 − σ√T (raw: no T or σ guards)."""
    sqrt_t = np.sqrt(T)
    vol_sqrt_t = sigma * sqrt_t
    d1 = (np.log(S / K) + (r + 0.5 * sigma * sigma) * T) / vol_sqrt_t
    return sqrt_t, d1, d1 - vol_sqrt_t


def bs_price(S, K, T, r, sigma, is_call) -> np.ndarray:
    """Black-Scholes-Merton option value in $ per share (q = 0).

    ``call = S·N(d1) − K·e^(−rT)·N(d2)``, ``put = K·e^(−rT)·N(−d2) − S·N(−d1)``.
    ``T <= 0`` gives the intrinsic value max(±(S − K), 0) without warnings; ``sigma <= 0``
    (or σ√T underflowing to 0) with ``T > 0`` gives max(±(S − K·e^(−rT)), 0). Inputs
    broadcast; returns an ndarray of the broadcast shape (0-d for scalars).
    """
    S, K, T, r, sigma, is_call = _broadcast(S, K, T, r, sigma, is_call)
    sgn = _sign(is_call)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        sqrt_t, d1, d2 = _d1_d2(S, K, T, r, sigma)
        k_disc = K * np.exp(-r * T)
        price = sgn * (S * ndtr(sgn * d1) - k_disc * ndtr(sgn * d2))
        expired = T <= 0.0
        flat = (sigma * sqrt_t <= 0.0) & ~expired  # σ ≤ 0, or σ√T underflowed to 0
        if expired.any():
            price = np.where(expired, np.maximum(sgn * (S - K), 0.0), price)
        if flat.any():
            price = np.where(flat, np.maximum(sgn * (S - k_disc), 0.0), price)
    return price


def bs_greeks(S, K, T, r, sigma, is_call) -> dict[str, np.ndarray]:
    """Price and Greeks per share, in mibian's units (see the module docstring).

    Returns ``{"price", "delta", "gamma", "theta", "vega", "rho"}``, each an ndarray of the
    broadcast shape:

    - price $; delta = ±N(±d1); gamma = φ(d1) / (S·σ·√T);
    - theta = (−S·φ(d1)·σ / (2√T) ∓ r·K·e^(−rT)·N(±d2)) / 365  ($ per calendar day);
    - vega = S·φ(d1)·√T / 100  ($ per vol point);
    - rho = ±K·T·e^(−rT)·N(±d2) / 100  ($ per rate point);

    upper signs for calls, lower for puts. ``T <= 0``: intrinsic price, call delta 1 if
    S > K else 0, put delta −1 if S < K else 0, other Greeks 0.
    """
    S, K, T, r, sigma, is_call = _broadcast(S, K, T, r, sigma, is_call)
    sgn = _sign(is_call)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        sqrt_t, d1, d2 = _d1_d2(S, K, T, r, sigma)
        n_d1 = ndtr(sgn * d1)  # N(d1) for calls, N(-d1) for puts
        n_d2 = ndtr(sgn * d2)
        pdf_d1 = np.exp(-0.5 * d1 * d1)
        pdf_d1 *= _INV_SQRT_2PI
        k_disc = K * np.exp(-r * T)
        k_disc_n_d2 = k_disc * n_d2
        s_pdf = S * pdf_d1

        price = sgn * (S * n_d1 - k_disc_n_d2)
        delta = sgn * n_d1
        gamma = pdf_d1 / (S * sigma * sqrt_t)
        theta = (-0.5 * s_pdf * sigma / sqrt_t - sgn * r * k_disc_n_d2) / _DAYS_PER_YEAR
        vega = s_pdf * sqrt_t * _POINT
        rho = sgn * k_disc_n_d2 * T * _POINT

        expired = T <= 0.0
        flat = (sigma * sqrt_t <= 0.0) & ~expired  # σ ≤ 0, or σ√T underflowed to 0
        if expired.any() or flat.any():
            # Expiry: intrinsic value, digital delta, no other sensitivity.
            itm_expiry = sgn * (S - K) > 0.0
            # Zero volatility before expiry: deterministic, exercised iff forward-ITM.
            fwd = sgn * (S - k_disc)
            itm_fwd = (fwd > 0.0).astype(np.float64)
            price = np.where(expired, np.maximum(sgn * (S - K), 0.0), price)
            price = np.where(flat, np.maximum(fwd, 0.0), price)
            delta = np.where(expired, sgn * itm_expiry, delta)
            delta = np.where(flat, sgn * itm_fwd, delta)
            theta = np.where(expired, 0.0, theta)
            theta = np.where(flat, -sgn * r * k_disc * itm_fwd / _DAYS_PER_YEAR, theta)
            rho = np.where(expired, 0.0, rho)
            rho = np.where(flat, sgn * k_disc * T * itm_fwd * _POINT, rho)
            degenerate = expired | flat
            gamma = np.where(degenerate, 0.0, gamma)
            vega = np.where(degenerate, 0.0, vega)
    return {
        "price": price,
        "delta": delta,
        "gamma": gamma,
        "theta": theta,
        "vega": vega,
        "rho": rho,
    }


def no_arbitrage_bounds(S, K, T, r, is_call) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) no-arbitrage bounds of a European option value, $ per share.

    Calls: [max(S − K·e^(−rT), 0), S]; puts: [max(K·e^(−rT) − S, 0), K·e^(−rT)].
    """
    S, K, T, r = (_as_float(v) for v in (S, K, T, r))
    is_call = _as_bool(is_call)
    k_disc = K * np.exp(-r * T)
    lower = np.where(is_call, np.maximum(S - k_disc, 0.0), np.maximum(k_disc - S, 0.0))
    upper = np.where(is_call, S, k_disc)
    return lower, upper


def _price_vega(S, K, T, r, sigma, sgn):
    """Price ($/share) and vega per unit of volatility (not per point); T > 0, sigma > 0."""
    sqrt_t, d1, d2 = _d1_d2(S, K, T, r, sigma)
    price = sgn * (S * ndtr(sgn * d1) - K * np.exp(-r * T) * ndtr(sgn * d2))
    vega = S * sqrt_t * _INV_SQRT_2PI * np.exp(-0.5 * d1 * d1)
    return price, vega


def implied_vol(
    price,
    S,
    K,
    T,
    r,
    is_call,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> np.ndarray:
    """Black-Scholes implied volatility (decimal) of option prices in $ per share.

    Safeguarded Newton iteration run on all elements at once: each element keeps a bracket
    [lo, hi] (initially [1e-4, 10]) that always contains the root; a Newton step that leaves
    the bracket (or has no usable vega) is replaced by bisection. The start is the
    Manaster-Koehler point sqrt(2·|ln(S/K) + rT| / T), the inflection of the price in σ,
    from which Newton converges monotonically. An element is solved when the model price is
    within ``tol`` ($ absolute) of ``price``, or when a Newton step no longer changes σ at
    machine precision.

    Returns NaN where T <= 0, any input is non-finite, S or K <= 0, the price is not strictly
    inside the no-arbitrage bounds (see :func:`no_arbitrage_bounds`), no volatility in
    [1e-4, 10] reproduces it within ``tol``, or ``max_iter`` iterations did not converge.
    """
    price, S, K, T, r = (_as_float(v) for v in (price, S, K, T, r))
    is_call = _as_bool(is_call)
    price, S, K, T, r, is_call = np.broadcast_arrays(price, S, K, T, r, is_call)
    shape = price.shape
    out = np.full(shape, np.nan)

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        valid = (
            np.isfinite(price)
            & np.isfinite(S)
            & np.isfinite(K)
            & np.isfinite(T)
            & np.isfinite(r)
            & (T > 0.0)
            & (S > 0.0)
            & (K > 0.0)
        )
        lower, upper = no_arbitrage_bounds(S, K, T, r, is_call)
        inside = valid & (price > lower) & (price < upper)
        idx = np.flatnonzero(inside)
        if idx.size == 0:
            return out

        # 1-D working copies of the solvable elements.
        p = price.ravel()[idx]
        s = S.ravel()[idx]
        k = K.ravel()[idx]
        t = T.ravel()[idx]
        rr = r.ravel()[idx]
        sg = _sign(is_call.ravel()[idx])
        m = idx.size
        result = np.full(m, np.nan)

        lo = np.full(m, IV_LOWER)
        hi = np.full(m, IV_UPPER)
        f_lo = _price_vega(s, k, t, rr, lo, sg)[0] - p
        f_hi = _price_vega(s, k, t, rr, hi, sg)[0] - p
        bracketed = (f_lo <= tol) & (f_hi >= -tol)

        x = np.sqrt(2.0 * np.abs(np.log(s / k) + rr * t) / t)
        x = np.clip(x, IV_LOWER, IV_UPPER)

        active = np.flatnonzero(bracketed)
        for _ in range(max_iter):
            if active.size == 0:
                break
            xa = x[active]
            pa, va = _price_vega(s[active], k[active], t[active], rr[active], xa, sg[active])
            f = pa - p[active]
            lo_a = np.where(f < 0.0, xa, lo[active])
            hi_a = np.where(f > 0.0, xa, hi[active])
            step = f / va
            xn = xa - step
            # Newton step outside the open bracket (or NaN/inf) -> bisect.
            bisect = ~((xn > lo_a) & (xn < hi_a))
            xn = np.where(bisect, 0.5 * (lo_a + hi_a), xn)

            done = np.abs(f) <= tol
            # Newton at machine precision in sigma: no further iteration can help.
            stalled = ~done & ~bisect & (np.abs(step) <= 4.0 * np.finfo(float).eps * xa)
            result[active[done]] = xa[done]
            result[active[stalled]] = xn[stalled]

            lo[active] = lo_a
            hi[active] = hi_a
            x[active] = xn
            active = active[~(done | stalled)]

    out.ravel()[idx] = result
    return out


def continuous_rate_from_bey(yield_percent) -> np.ndarray:
    """Continuously compounded rate (decimal) from a bond-equivalent yield in percent.

    FRED's Treasury constant-maturity yields (e.g. DGS3MO) are bond-equivalent (semi-annual
    compounding) in percent: r = 2·ln(1 + y/200). 5.0 -> 0.04939...
    """
    return 2.0 * np.log1p(_as_float(yield_percent) / 200.0)
