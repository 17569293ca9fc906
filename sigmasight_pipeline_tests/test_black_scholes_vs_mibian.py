"""Black-Scholes engine vs mibian (the SPEC §5.2 reference) and textbook values.

What reading mibian 0.1.3's source (``mibian/__init__.py``, class ``BS``) showed:

- Its BS formulas are the textbook ones with T = days/365, rate and vol in percent; theta is
  annual theta / 365, vega and rho are divided by 100. Put theta and put rho have the usual
  signs — there is no sign quirk, so every Greek is compared at the SPEC tolerance
  (rtol 1e-6, atol 1e-10) with no exceptions.
- ``days = 0`` raises ZeroDivisionError: d1 is computed before ``_price`` and the intrinsic
  branch of ``_price``/``_delta`` is dead code (overwritten by the ``else`` branch). The
  T = 0 rules are therefore tested against the SPEC, not mibian.
- ``volatility=0`` is falsy, so mibian computes nothing (all attributes stay None).
- ``putCallParity`` discounts with (1 + r)^T instead of e^(rT); not used here.
- Its ``impliedVolatility`` is a bisection on [0, 500] % that stops when the estimate
  rounded to the input's number of decimals equals the price (the price itself is rounded
  to 6 decimals), so it is only a coarse reference; our implied_vol is tested by repricing.
"""

from __future__ import annotations

import math
import warnings

import mibian
import numpy as np
import pytest

from sigmasight_pipeline.engines.black_scholes import (
    bs_greeks,
    bs_price,
    continuous_rate_from_bey,
    implied_vol,
    no_arbitrage_bounds,
)

RTOL, ATOL = 1e-6, 1e-10
N_CASES = 2500


def _random_cases(n: int, seed: int):
    rng = np.random.default_rng(seed)
    S = rng.uniform(5.0, 800.0, n)
    K = np.round(S * rng.uniform(0.5, 1.5, n), 2)  # moneyness K/S in [0.5, 1.5]
    days = rng.integers(1, 3 * 365 + 1, n)  # 1 day .. 3 years, integer calendar days
    r = rng.uniform(0.0, 0.08, n)
    vol = rng.uniform(0.05, 1.50, n)
    is_call = rng.random(n) < 0.5
    return S, K, days, r, vol, is_call


@pytest.fixture(scope="module")
def mibian_cases():
    S, K, days, r, vol, is_call = _random_cases(N_CASES, seed=20250630)
    ref = {k: np.empty(N_CASES) for k in ("price", "delta", "gamma", "theta", "vega", "rho")}
    for i in range(N_CASES):
        m = mibian.BS([S[i], K[i], r[i] * 100, days[i]], volatility=vol[i] * 100)
        call = bool(is_call[i])
        ref["price"][i] = m.callPrice if call else m.putPrice
        ref["delta"][i] = m.callDelta if call else m.putDelta
        ref["gamma"][i] = m.gamma
        ref["theta"][i] = m.callTheta if call else m.putTheta
        ref["vega"][i] = m.vega
        ref["rho"][i] = m.callRho if call else m.putRho
    return (S, K, days / 365.0, r, vol, is_call), ref


@pytest.mark.parametrize("name", ["price", "delta", "gamma", "theta", "vega", "rho"])
def test_matches_mibian_on_random_cases(mibian_cases, name):
    (S, K, T, r, vol, is_call), ref = mibian_cases
    ours = bs_greeks(S, K, T, r, vol, is_call)[name]
    np.testing.assert_allclose(ours, ref[name], rtol=RTOL, atol=ATOL)


def test_random_cases_cover_both_types_and_wide_ranges(mibian_cases):
    (S, K, T, r, vol, is_call), _ = mibian_cases
    assert 0.4 < is_call.mean() < 0.6
    assert T.min() == pytest.approx(1 / 365) and T.max() > 2.9
    assert vol.min() < 0.06 and vol.max() > 1.45
    assert (K / S).min() < 0.55 and (K / S).max() > 1.45


def test_bs_price_equals_greeks_price(mibian_cases):
    (S, K, T, r, vol, is_call), ref = mibian_cases
    np.testing.assert_allclose(
        bs_price(S, K, T, r, vol, is_call), ref["price"], rtol=RTOL, atol=ATOL
    )


def test_greek_signs_and_ranges(mibian_cases):
    (S, K, T, r, vol, is_call), _ = mibian_cases
    g = bs_greeks(S, K, T, r, vol, is_call)
    assert np.all((g["delta"][is_call] >= 0) & (g["delta"][is_call] <= 1))
    assert np.all((g["delta"][~is_call] >= -1) & (g["delta"][~is_call] <= 0))
    assert np.all(g["gamma"] >= 0) and np.all(g["vega"] >= 0)
    assert np.all(g["rho"][is_call] >= 0) and np.all(g["rho"][~is_call] <= 0)
    assert np.all(g["theta"][is_call] <= 0)  # no dividends: a call always decays


def test_put_call_parity(mibian_cases):
    (S, K, T, r, vol, _), _ = mibian_cases
    call = bs_price(S, K, T, r, vol, True)
    put = bs_price(S, K, T, r, vol, False)
    np.testing.assert_allclose(call - put, S - K * np.exp(-r * T), rtol=1e-9, atol=1e-9)


def test_greeks_are_finite_differences_of_price():
    S, K, T, r, vol = 105.0, 100.0, 0.75, 0.04, 0.3
    g = bs_greeks(S, K, T, r, vol, np.array([True, False]))
    is_call = np.array([True, False])
    h = 1e-4

    def p(**kw):
        return bs_price(**{**dict(S=S, K=K, T=T, r=r, sigma=vol), **kw}, is_call=is_call)

    np.testing.assert_allclose(g["delta"], (p(S=S + h) - p(S=S - h)) / (2 * h), rtol=1e-6)
    np.testing.assert_allclose(
        g["gamma"], (p(S=S + 0.01) - 2 * p() + p(S=S - 0.01)) / 1e-4, rtol=1e-4
    )
    np.testing.assert_allclose(
        g["vega"], (p(sigma=vol + h) - p(sigma=vol - h)) / (2 * h) / 100, rtol=1e-6
    )
    np.testing.assert_allclose(g["rho"], (p(r=r + h) - p(r=r - h)) / (2 * h) / 100, rtol=1e-6)
    # theta: value change per calendar day as time passes (T shrinks)
    np.testing.assert_allclose(g["theta"], -(p(T=T + h) - p(T=T - h)) / (2 * h) / 365, rtol=1e-6)


def test_hull_textbook_example():
    # Hull, Options Futures and Other Derivatives, Example 15.6: S=42, K=40, r=10%, σ=20%,
    # T=0.5 -> d1 = 0.7693, d2 = 0.6278, c = 4.76, p = 0.81.
    S, K, r, sigma, T = 42.0, 40.0, 0.10, 0.20, 0.5
    d1 = (math.log(S / K) + (r + sigma**2 / 2) * T) / (sigma * math.sqrt(T))
    d2 = d1 - sigma * math.sqrt(T)
    assert d1 == pytest.approx(0.7693, abs=1e-4) and d2 == pytest.approx(0.6278, abs=1e-4)
    call, put = bs_price(S, K, T, r, sigma, np.array([True, False]))
    assert call == pytest.approx(4.76, abs=5e-3) and put == pytest.approx(0.81, abs=5e-3)
    # the same by hand with math.erf
    N = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))  # noqa: E731
    assert call == pytest.approx(S * N(d1) - K * math.exp(-r * T) * N(d2), rel=1e-12)
    assert put == pytest.approx(K * math.exp(-r * T) * N(-d2) - S * N(-d1), rel=1e-12)
    g = bs_greeks(S, K, T, r, sigma, True)
    assert float(g["delta"]) == pytest.approx(N(d1), rel=1e-12)  # 0.7791


def test_broadcasting_and_shapes():
    out = bs_greeks(100.0, np.array([90.0, 100.0, 110.0]), 0.5, 0.03, 0.2, True)
    assert all(v.shape == (3,) for v in out.values())
    grid = bs_price(
        np.array([[90.0], [110.0]]),
        np.array([100.0, 105.0]),
        1.0,
        0.0,
        0.2,
        np.array([True, False]),
    )
    assert grid.shape == (2, 2)
    assert np.ndim(bs_price(100.0, 100.0, 1.0, 0.0, 0.2, True)) == 0


def test_is_call_must_be_boolean():
    with pytest.raises(TypeError):
        bs_price(100.0, 100.0, 1.0, 0.0, 0.2, np.array(["P"]))


# --- T == 0 ------------------------------------------------------------------------------


def test_expiry_rules_without_warnings():
    S = np.array([110.0, 90.0, 100.0, 110.0, 90.0, 100.0])
    K = 100.0
    is_call = np.array([True, True, True, False, False, False])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = bs_greeks(S, K, 0.0, 0.05, 0.3, is_call)
        price = bs_price(S, K, 0.0, 0.05, 0.3, is_call)
        price_nan_vol = bs_price(S, K, 0.0, 0.05, np.nan, is_call)
    np.testing.assert_array_equal(g["price"], [10.0, 0.0, 0.0, 0.0, 10.0, 0.0])
    np.testing.assert_array_equal(price, g["price"])
    np.testing.assert_array_equal(price_nan_vol, g["price"])  # vol is irrelevant at expiry
    # call delta = 1 if S > K else 0; put delta = -1 if S < K else 0 (at the money: 0)
    np.testing.assert_array_equal(g["delta"], [1.0, 0.0, 0.0, 0.0, -1.0, 0.0])
    for name in ("gamma", "theta", "vega", "rho"):
        np.testing.assert_array_equal(g[name], 0.0)


def test_expiry_mixed_with_live_options():
    T = np.array([0.0, 30 / 365])
    g = bs_greeks(105.0, 100.0, T, 0.05, 0.25, True)
    m = mibian.BS([105.0, 100.0, 5.0, 30], volatility=25)
    assert g["delta"][0] == 1.0 and g["gamma"][0] == 0.0
    assert g["delta"][1] == pytest.approx(m.callDelta, rel=RTOL)
    assert g["theta"][1] == pytest.approx(m.callTheta, rel=RTOL)


def test_zero_vol_is_deterministic_limit():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = bs_greeks(100.0, 100.0, 1.0, 0.05, 0.0, np.array([True, False]))
    k_disc = 100.0 * math.exp(-0.05)
    np.testing.assert_allclose(g["price"], [100.0 - k_disc, 0.0])
    np.testing.assert_allclose(g["delta"], [1.0, 0.0])
    np.testing.assert_array_equal(g["gamma"], 0.0)
    np.testing.assert_array_equal(g["vega"], 0.0)


# --- implied volatility ------------------------------------------------------------------


def test_implied_vol_recovers_vol_and_reprices():
    n = 20_000
    S, K, days, r, vol, is_call = _random_cases(n, seed=7)
    T = days / 365.0
    price = bs_price(S, K, T, r, vol, is_call)
    iv = implied_vol(price, S, K, T, r, is_call)
    lower, upper = no_arbitrage_bounds(S, K, T, r, is_call)
    inside = (price > lower) & (price < upper)
    # every price strictly inside the bounds is solved ...
    assert np.isfinite(iv[inside]).all()
    assert inside.mean() > 0.95
    # ... and reprices to 1e-8 (SPEC §5.2)
    repriced = bs_price(S, K, T, r, iv, is_call)
    assert np.max(np.abs(repriced - price)[inside]) <= 1e-8
    # The vol itself is identified only where the price is sensitive to it: a 1e-6 vol error
    # must move the price by more than the price's rounding (vega per unit vol > 1e-2 $).
    vega_unit = bs_greeks(S, K, T, r, vol, is_call)["vega"] * 100
    informative = inside & (vega_unit > 1e-2)
    assert informative.mean() > 0.9
    np.testing.assert_allclose(iv[informative], vol[informative], rtol=0, atol=1e-6)


def test_implied_vol_textbook_and_mibian():
    iv = implied_vol(4.759422392871532, 42.0, 40.0, 0.5, 0.10, True)
    assert float(iv) == pytest.approx(0.20, abs=1e-10)
    # mibian's bisection agrees to its own (coarse) precision
    m = mibian.BS([42.0, 40.0, 10.0, 182.5], putPrice=0.808599)
    iv_put = implied_vol(0.808599, 42.0, 40.0, 0.5, 0.10, False)
    assert float(iv_put) * 100 == pytest.approx(m.impliedVolatility, abs=1e-3)


def test_implied_vol_extreme_but_valid_vols():
    S, T, r = 100.0, 0.25, 0.02
    is_call = np.array([False, True, True])
    for vol, K in ((0.011, np.array([99.0, 100.0, 101.0])), (4.9, np.array([60.0, 100.0, 150.0]))):
        price = bs_price(S, K, T, r, vol, is_call)
        assert np.all(price > 1e-6)
        iv = implied_vol(price, S, K, T, r, is_call)
        np.testing.assert_allclose(bs_price(S, K, T, r, iv, is_call), price, atol=1e-8)


def test_implied_vol_nan_outside_no_arbitrage_bounds():
    S, K, T, r = 100.0, 90.0, 0.5, 0.05
    k_disc = K * math.exp(-r * T)
    call_lower, put_upper = S - k_disc, k_disc
    prices = np.array(
        [
            call_lower - 0.01,  # call below intrinsic (forward)
            call_lower,  # exactly at the lower bound: zero vol, no solution in the bracket
            S + 0.01,  # call above the stock
            S,  # at the upper bound
            -1.0,  # negative
            np.nan,
            put_upper + 0.01,  # put above discounted strike
            0.0,  # put at its lower bound (0 for an OTM put)
        ]
    )
    is_call = np.array([True] * 6 + [False] * 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        iv = implied_vol(prices, S, K, T, r, is_call)
    assert np.isnan(iv).all()


def test_implied_vol_nan_when_expired_or_bad_inputs():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        iv = implied_vol(
            np.array([5.0, 5.0, 5.0, 5.0]),
            np.array([100.0, 100.0, 0.0, 100.0]),
            np.array([100.0, 100.0, 100.0, np.nan]),
            np.array([0.0, -0.1, 0.5, 0.5]),
            0.03,
            True,
        )
    assert np.isnan(iv).all()


def test_implied_vol_nan_when_no_vol_in_bracket():
    # Inside the no-arbitrage bounds (0, 100), but above the price at 1000 % vol (38.3).
    S, K, T, r = 100.0, 100.0, 0.01, 0.0
    assert bs_price(S, K, T, r, 10.0, True) < 50.0
    assert np.isnan(implied_vol(50.0, S, K, T, r, True))


# --- rates -------------------------------------------------------------------------------


def test_continuous_rate_from_bey():
    assert float(continuous_rate_from_bey(5.0)) == pytest.approx(2 * math.log(1.025), rel=1e-15)
    assert float(continuous_rate_from_bey(0.0)) == 0.0
    y = np.array([0.5, 4.31, 8.0])
    r = continuous_rate_from_bey(y)
    # the continuous rate compounds to the same growth as semi-annual y over a year
    np.testing.assert_allclose(np.exp(r), (1 + y / 200) ** 2, rtol=1e-14)
    assert np.all(r < y / 100)
