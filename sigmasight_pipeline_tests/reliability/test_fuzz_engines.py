"""Bad numbers into every engine (hypothesis): a clear ValueError naming the input, or a
result whose numbers are finite and flagged where they are not plain — never an unexpected
exception, never a price of 0 or NaN passed off as a value."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sigmasight_pipeline.calendar import sessions_back
from sigmasight_pipeline.engines.black_scholes import bs_greeks, bs_price, implied_vol
from sigmasight_pipeline.engines.exposures import portfolio_exposures, tag_exposures
from sigmasight_pipeline.engines.greeks import compute_position_greeks, historical_volatility
from sigmasight_pipeline.engines.prices import resolve_closes
from sigmasight_pipeline.engines.snapshots import portfolio_snapshots
from sigmasight_pipeline.engines.valuation import value_positions

AS_OF = dt.date(2025, 6, 30)
SESSIONS = sessions_back(AS_OF, 10)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: the awkward numbers: NaN, ±inf, 0, negatives, tiny and huge
bad = st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, -1.0, -1e9, 1e-12, 1e12,
                       1e300, 5e-324])
anyf = st.one_of(bad, st.floats(allow_nan=True, allow_infinity=True, width=64))
pricey = st.one_of(bad, st.floats(0.01, 1e5))


@FUZZ
@given(S=anyf, K=anyf, T=anyf, r=st.one_of(bad, st.floats(-0.1, 0.2)), sigma=anyf,
       call=st.booleans())
def test_black_scholes_never_raises_and_stays_within_bounds(S, K, T, r, sigma, call):
    with np.errstate(all="ignore"):
        price = float(bs_price(S, K, T, r, sigma, call))
        greeks = bs_greeks(S, K, T, r, sigma, call)
        iv = float(implied_vol(price, S, K, T, r, call)) if math.isfinite(price) else math.nan
    plain = all(math.isfinite(x) for x in (S, K, T, r, sigma)) and S > 0 and K > 0
    if plain and 0 < T < 1e3 and 0 < sigma < 50 and abs(r) < 1:
        upper = S if call else K * math.exp(-r * T)  # the no-arbitrage upper bound
        assert math.isfinite(price) and price >= -1e-9 * max(S, K)
        assert price <= upper * (1 + 1e-9) + 1e-9
        assert -1 - 1e-12 <= float(greeks["delta"]) <= 1 + 1e-12
    assert math.isnan(iv) or 1e-4 <= iv <= 10


def _options(rows) -> pd.DataFrame:
    out = []
    for i, (strike, qty, days, typ) in enumerate(rows):
        exp = AS_OF + dt.timedelta(days=days)
        out.append({"position_id": f"p{i}", "portfolio_id": "pf", "symbol": f"AAPL{i}",
                    "underlying_symbol": "AAPL", "strike": strike, "expiration": exp,
                    "option_type": typ, "quantity": qty, "multiplier": 100})
    return pd.DataFrame(out)


option_rows = st.lists(st.tuples(pricey, st.sampled_from([1.0, -3.0, 0.0, 1e9]),
                                 st.sampled_from([-5, -1, 0, 1, 30, 400, 20000]),
                                 st.sampled_from(["C", "P", "c", "X", ""])),
                       min_size=1, max_size=4)


@FUZZ
@given(rows=option_rows, spot=pricey, stale=st.booleans(), bid=anyf, ask=anyf, last=anyf,
       iv=anyf, hist=st.one_of(bad, st.floats(0, 20)), rate=st.one_of(bad, st.floats(-0.05, 0.1)))
# found by this test: a subnormal spot with a tiny vol gave a NaN gamma (0/0)
@example(rows=[(1e-12, 1.0, 1, "C")], spot=5e-324, stale=False, bid=math.nan, ask=math.nan,
         last=math.nan, iv=math.nan, hist=1e-12, rate=0.0)
def test_greeks_engine_raises_valueerror_or_returns_finite_flagged_rows(
        rows, spot, stale, bid, ask, last, iv, hist, rate):
    options = _options(rows)
    prices = pd.DataFrame({"price": [spot], "stale": [stale]},
                          index=pd.Index(["AAPL"], name="symbol"))
    quotes = pd.DataFrame({"symbol": options["symbol"], "bid": bid, "ask": ask, "last": last,
                           "implied_vol": iv})
    try:
        with np.errstate(all="ignore"):
            result = compute_position_greeks(options, prices, quotes, pd.Series({"AAPL": hist}),
                                             rate, AS_OF)
    except ValueError as exc:  # the documented contract errors, each naming what is wrong
        assert str(exc)
        return
    greeks, issues = result.greeks, result.issues
    accounted = set(greeks["position_id"]) | set(issues["position_id"])
    assert set(options["position_id"]) <= accounted  # each option: a row or an issue
    for row in greeks.to_dict("records"):
        assert math.isfinite(row["option_price"]) and row["option_price"] >= 0, row
        assert math.isfinite(row["underlying_price"]) and row["underlying_price"] > 0, row
        for col in ("delta", "gamma", "theta", "vega", "rho", "position_delta",
                    "dollar_delta"):
            assert math.isfinite(row[col]), (col, row)
        assert -1 - 1e-9 <= row["delta"] <= 1 + 1e-9
        if row["vol_source"] in ("quote_iv", "implied_from_mid"):
            assert 0.01 < row["implied_vol"] <= 5.0, row  # the engine's sane range
        elif row["vol_source"] == "historical_30d":  # flagged, not range-checked
            assert row["implied_vol"] > 0 and "vol_historical" in row["flags"], row
        if stale:
            assert "stale_price" in row["flags"]


@FUZZ
@given(closes=st.lists(st.tuples(st.sampled_from(["AAA", "BBB", "CCC"]),
                                 st.integers(0, len(SESSIONS) - 1), anyf),
                       max_size=12),
       quantities=st.lists(st.sampled_from([1.0, -5.0, 1e6, -0.5]), min_size=3, max_size=3),
       tags=st.lists(st.sampled_from(["", "Core", "x" * 10_000, "é;'\""]), max_size=3))
def test_closes_values_exposures_and_snapshots_never_value_at_a_bad_price(closes, quantities,
                                                                          tags):
    history = pd.DataFrame(
        [{"symbol": s, "date": SESSIONS[i], "close": c, "adj_close": c} for s, i, c in closes],
        columns=["symbol", "date", "close", "adj_close"])
    resolved = resolve_closes(history, ["AAA", "BBB", "CCC"], AS_OF, SESSIONS)
    assert (resolved["price"] > 0).all() and np.isfinite(resolved["price"]).all()
    positions = pd.DataFrame({
        "position_id": ["p1", "p2", "p3"], "portfolio_id": ["pf", "pf", "pf"],
        "symbol": ["AAA", "BBB", "AAA"],  # a duplicate symbol
        "position_type": ["LONG" if q > 0 else "SHORT" for q in quantities],
        "quantity": quantities, "multiplier": [1, 1, 1], "entry_price": [10.0, 20.0, 30.0],
        "entry_date": [dt.date(2024, 1, 2)] * 3, "exit_date": [None] * 3,
        "exit_price": [None] * 3, "underlying_symbol": [None] * 3, "expiration": [None] * 3,
        "option_type": [None] * 3, "strike": [None] * 3})
    values, issues = value_positions(positions, resolved, None, AS_OF)
    assert set(values["position_id"]) | set(issues["position_id"]) == {"p1", "p2", "p3"}
    assert np.isfinite(values["price"]).all() and (values["price"] > 0).all()
    # market value = quantity × multiplier × price of each valued position (SPEC §4)
    held = values.merge(positions[["position_id", "quantity", "multiplier"]], on="position_id",
                        how="left", validate="1:1")
    assert held["quantity"].notna().all()
    expected = held["price"] * held["quantity"] * held["multiplier"]
    assert np.allclose(held["market_value"], expected, rtol=1e-12, atol=0)
    exposures = portfolio_exposures(values, positions, ["pf"])
    assert len(exposures) == 1
    e = exposures.iloc[0]
    assert math.isclose(e["gross_exposure"], e["long_exposure"] - e["short_exposure"],
                        rel_tol=1e-12, abs_tol=1e-6)
    tag_frame = pd.DataFrame({"position_id": ["p1"] * len(tags), "tag": tags})
    by_tag = tag_exposures(values, tag_frame)
    assert np.isfinite(by_tag["gross_exposure"]).all()
    snaps = portfolio_snapshots(AS_OF, ["pf"], positions, values, None, exposures, None, None,
                                None, None, None, "simulated", prev_date=SESSIONS[-2])
    assert len(snaps) == 1
    assert math.isfinite(snaps["total_value"].iloc[0])


@FUZZ
@given(series=st.lists(anyf, min_size=0, max_size=40))
def test_historical_volatility_is_finite_positive_or_nan(series):
    dates = pd.DatetimeIndex(pd.to_datetime(sessions_back(AS_OF, len(series)) if series else []))
    wide = pd.DataFrame({"AAA": series[: len(dates)]}, index=dates)
    with np.errstate(all="ignore"):
        vol = historical_volatility(wide, AS_OF)
    value = vol.get("AAA", math.nan)
    assert math.isnan(value) or (math.isfinite(value) and value >= 0)
