"""VaR backtesting (SPEC §7.6) against statistics computed here by hand with scipy.stats."""

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sigmasight_pipeline.engines.backtest import (
    backtest_statistics,
    traffic_light,
    var_backtests,
)


def _ln(a: float, b: float) -> float:
    """a·ln b with 0·ln 0 = 0."""
    return 0.0 if a == 0 else a * math.log(b)


def _kupiec(n: int, x: int, p: float) -> float:
    pi = x / n
    return (-2 * (_ln(n - x, 1 - p) + _ln(x, p))
            + 2 * (_ln(n - x, 1 - pi) + _ln(x, pi)))


def _christoffersen(seq: list[bool]) -> float:
    counts = {(a, b): 0 for a in (0, 1) for b in (0, 1)}
    for a, b in zip(seq[:-1], seq[1:], strict=True):
        counts[(int(a), int(b))] += 1
    n00, n01, n10, n11 = counts[(0, 0)], counts[(0, 1)], counts[(1, 0)], counts[(1, 1)]
    pi0 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi1 = n11 / (n10 + n11) if n10 + n11 else 0.0
    pi = (n01 + n11) / (n00 + n01 + n10 + n11)
    return (-2 * (_ln(n00 + n10, 1 - pi) + _ln(n01 + n11, pi))
            + 2 * (_ln(n00, 1 - pi0) + _ln(n01, pi0) + _ln(n10, 1 - pi1) + _ln(n11, pi1)))


def _run(exceptions: list[bool], alpha: float):
    """P&L −2 on exception days and +1 otherwise against a VaR of 1."""
    pnl = np.where(np.array(exceptions), -2.0, 1.0)[:, None]
    var = np.ones_like(pnl)
    return backtest_statistics(pnl, var, np.ones_like(pnl, dtype=bool), np.array([alpha]))


@pytest.mark.parametrize("x, zone", [(0, "green"), (4, "green"), (5, "yellow"), (9, "yellow"),
                                     (10, "red"), (15, "red")])
def test_traffic_light_textbook_values_n_250(x, zone):
    assert traffic_light(250, x) == zone
    # the Basel boundaries themselves, from the binomial distribution
    cdf = stats.binom.cdf(x, 250, 0.01)
    assert zone == ("green" if cdf < 0.95 else "yellow" if cdf < 0.9999 else "red")


def test_kupiec_and_christoffersen_match_hand_computation_on_clustered_exceptions():
    rng = np.random.default_rng(7)
    seq = list(rng.random(250) < 0.02)
    seq[100:103] = [True, True, True]  # a cluster
    x = sum(seq)
    row = _run(seq, 0.99).iloc[0]
    uc = _kupiec(250, x, 0.01)
    ind = _christoffersen(seq)
    assert row["observations"] == 250 and row["exceptions"] == x
    assert row["expected_exceptions"] == pytest.approx(2.5)
    assert row["kupiec_lr"] == pytest.approx(uc, rel=1e-12)
    assert row["kupiec_p"] == pytest.approx(stats.chi2.sf(uc, 1), rel=1e-10)
    assert row["christoffersen_lr"] == pytest.approx(ind, rel=1e-12)
    assert row["christoffersen_p"] == pytest.approx(stats.chi2.sf(ind, 1), rel=1e-10)
    assert row["cc_lr"] == pytest.approx(uc + ind, rel=1e-12)
    assert row["cc_p"] == pytest.approx(stats.chi2.sf(uc + ind, 2), rel=1e-10)
    assert row["zone"] == traffic_light(250, x)
    assert ind > 1.0  # the cluster is seen


@pytest.mark.parametrize("x, zone", [(4, "green"), (5, "yellow"), (10, "red")])
def test_zone_from_exception_sequence_at_99(x, zone):
    seq = [False] * 250
    for k in range(x):
        seq[10 + 23 * k] = True
    row = _run(seq, 0.99).iloc[0]
    assert row["exceptions"] == x and row["zone"] == zone
    assert row["kupiec_lr"] == pytest.approx(_kupiec(250, x, 0.01), rel=1e-12)


def test_no_exception_gives_finite_statistics_and_no_zone_below_99():
    row = _run([False] * 250, 0.95).iloc[0]
    assert row["exceptions"] == 0
    assert row["kupiec_lr"] == pytest.approx(-2 * 250 * math.log(0.95), rel=1e-12)
    assert row["christoffersen_lr"] == 0.0 and row["christoffersen_p"] == 1.0
    assert row["zone"] is None


def test_fewer_than_20_observations_are_null_with_flag():
    row = _run([True] + [False] * 18, 0.99).iloc[0]
    assert row["observations"] == 19 and row["exceptions"] == 1
    for col in ("kupiec_lr", "kupiec_p", "christoffersen_lr", "cc_p", "expected_exceptions"):
        assert np.isnan(row[col])
    assert row["zone"] is None and row["flags"] == ["insufficient_history"]


def test_days_without_previous_var_are_skipped_not_no_exception():
    sessions = [dt.date(2025, 1, 1) + dt.timedelta(days=i) for i in range(41)]
    days = sessions[1:]
    pnl = pd.DataFrame({"date": days, "portfolio_id": "p", "pnl_type": "actual",
                        "pnl": [-5.0 if i % 10 == 0 else 1.0 for i in range(40)]})
    var_days = sessions[:-1]
    var = pd.DataFrame({"date": var_days, "portfolio_id": "p", "method": "parametric",
                        "confidence": 0.99, "var": 2.0})
    # P&L day i is sessions[i + 1]; exceptions on i = 0, 10, 20, 30. The VaR of sessions[10]
    # is missing, so day i = 10 (an exception) cannot be tested, nor i = 19 (none)
    var = var[~var["date"].isin([sessions[10], sessions[19]])]
    out = var_backtests(sessions, ["p"], pnl, var)
    row = out[(out["method"] == "parametric") & (out["confidence"] == 0.99)
              & (out["pnl_type"] == "actual")].iloc[0]
    assert row["observations"] == 38 and row["skipped"] == 2
    assert row["exceptions"] == 3  # i = 0, 20, 30; i = 10 was skipped
    assert "2 day(s)" in row["note"]
    # the sequence of observations with the skipped days left out
    seq = [i % 10 == 0 for i in range(40) if i not in (10, 19)]
    assert row["christoffersen_lr"] == pytest.approx(_christoffersen(seq), rel=1e-12)
    # no VaR at all for the other method: 0 observations, every P&L day skipped
    hist = out[(out["method"] == "historical") & (out["confidence"] == 0.99)
               & (out["pnl_type"] == "actual")].iloc[0]
    assert hist["observations"] == 0 and hist["skipped"] == 40
    assert hist["flags"] == ["insufficient_history"]
    # no hypothetical P&L given: nothing to observe, nothing skipped
    hyp = out[out["pnl_type"] == "hypothetical"].iloc[0]
    assert hyp["observations"] == 0 and hyp["skipped"] == 0 and pd.isna(hyp["note"])
    assert len(out) == 2 * 3 * 2
