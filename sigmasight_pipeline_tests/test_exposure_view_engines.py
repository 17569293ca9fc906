"""Sector exposures, concentration and limits (SPEC §7.9) on a hand book.

Every expected number is recomputed here from the positions by hand (plain Python sums
over the book below), never taken from the engines.
"""

from __future__ import annotations

import math
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from sigmasight_pipeline.engines.concentration import portfolio_concentration
from sigmasight_pipeline.engines.limits import (
    LIMIT_KEYS,
    LimitsFileError,
    check_limits,
    limit_values,
    load_limits,
    parse_limits,
)
from sigmasight_pipeline.engines.sectors import sector_exposures

# (position_id, portfolio, symbol, position_type, underlying, exposure US$)
BOOK = [
    ("a1", "P1", "AAPL", "LONG", None, 50_000.0),
    ("a2", "P1", "AAPL250815C00200000", "LC", "AAPL", 10_000.0),  # delta-adjusted
    ("m1", "P1", "MSFT", "SHORT", None, -20_000.0),
    ("s1", "P1", "SPY", "LONG", None, 30_000.0),
    ("s2", "P1", "SPY250919P00500000", "LP", "SPY", -4_000.0),
    ("f1", "P1", "FXNAX", "LONG", None, 15_000.0),
    ("v1", "P1", "VIX250716C00025000", "LC", "VIX", 5_000.0),
    ("x1", "P1", "XYZ", "SHORT", None, -25_000.0),  # no securities row at all
    ("j1", "P1", "JPM", "LONG", None, 40_000.0),
    ("r1", "P1", "VNQ", "LONG", None, 8_000.0),  # an ETF that has a sector
    ("j2", "P2", "JPM", "LONG", None, 10_000.0),
]
SECURITIES = pd.DataFrame([
    ("AAPL", "equity", "Information Technology"),
    ("MSFT", "equity", "Information Technology"),
    ("SPY", "etf", None),
    ("FXNAX", "mutual_fund", None),
    ("VIX", "index", None),
    ("JPM", "equity", "Financials"),
    ("VNQ", "etf", "Real Estate"),
    ("AAPL250815C00200000", "option", None),
], columns=["symbol", "asset_class", "sector"])
#: hand classification of each position (underlying's sector, else ETF/fund, else unclassified)
HAND_SECTOR = {"a1": "Information Technology", "a2": "Information Technology",
               "m1": "Information Technology", "s1": "ETF", "s2": "ETF", "f1": "Mutual fund",
               "v1": "(unclassified)", "x1": "(unclassified)", "j1": "Financials",
               "r1": "Real Estate", "j2": "Financials"}
HAND_UNDERLYING = {"a1": "AAPL", "a2": "AAPL", "m1": "MSFT", "s1": "SPY", "s2": "SPY",
                   "f1": "FXNAX", "v1": "VIX", "x1": "XYZ", "j1": "JPM", "r1": "VNQ",
                   "j2": "JPM"}
MARKET_BETAS = pd.Series({"AAPL": 1.2, "MSFT": np.nan, "SPY": 1.0, "JPM": 1.1})


def _frames():
    positions = pd.DataFrame([(p, port, sym, kind, und) for p, port, sym, kind, und, _ in BOOK],
                             columns=["position_id", "portfolio_id", "symbol", "position_type",
                                      "underlying_symbol"])
    values = pd.DataFrame([(p, port, sym, e) for p, port, sym, _, _, e in BOOK],
                          columns=["position_id", "portfolio_id", "symbol", "exposure"])
    return positions, values


def test_sector_exposures_by_hand():
    positions, values = _frames()
    out = sector_exposures(values, positions, SECURITIES)
    for port in ("P1", "P2"):
        rows = [r for r in BOOK if r[1] == port]
        gross = sum(abs(r[5]) for r in rows)
        mine = out[out["portfolio_id"] == port].set_index("sector")
        assert set(mine.index) == {HAND_SECTOR[r[0]] for r in rows}
        for sector in mine.index:
            members = [r[5] for r in rows if HAND_SECTOR[r[0]] == sector]
            got = mine.loc[sector]
            assert got["gross_exposure"] == pytest.approx(sum(abs(e) for e in members))
            assert got["net_exposure"] == pytest.approx(sum(members))
            assert got["long_exposure"] == pytest.approx(sum(e for e in members if e > 0))
            assert got["short_exposure"] == pytest.approx(sum(e for e in members if e < 0))
            assert got["position_count"] == len(members)
            assert got["pct_of_gross"] == pytest.approx(
                100 * sum(abs(e) for e in members) / gross)
        # Σ over sectors = the portfolio's gross; nothing dropped
        assert mine["gross_exposure"].sum() == pytest.approx(gross, rel=1e-12)
        assert mine["position_count"].sum() == len(rows)
    p1 = out[out["portfolio_id"] == "P1"].set_index("sector")
    # literal spot checks: IT = 50k + 10k + |−20k|; unclassified = VIX 5k + XYZ 25k
    assert p1.loc["Information Technology", "gross_exposure"] == 80_000.0
    assert p1.loc["Information Technology", "net_exposure"] == 40_000.0
    assert p1.loc["(unclassified)", "gross_exposure"] == 30_000.0
    assert p1.loc["ETF", "gross_exposure"] == 34_000.0
    assert p1.loc["(unclassified)", "position_count"] == 2
    # sorted by gross descending within a portfolio
    assert list(p1["gross_exposure"]) == sorted(p1["gross_exposure"], reverse=True)


def _hand_concentration(port: str) -> dict:
    per_u: dict[str, float] = {}
    beta_net = 0.0
    for pid, p, _, _, _, e in BOOK:
        if p != port:
            continue
        u = HAND_UNDERLYING[pid]
        per_u[u] = per_u.get(u, 0.0) + e
        beta = MARKET_BETAS.get(u, np.nan)
        beta_net += e * (1.0 if pd.isna(beta) else beta)
    total = sum(abs(x) for x in per_u.values())
    weights = sorted((abs(x) / total for x in per_u.values()), reverse=True)
    hhi = 10_000 * sum(w * w for w in weights)
    return {"n": len(per_u), "hhi": hhi, "effective_n": 10_000 / hhi,
            "top1": 100 * sum(weights[:1]), "top5": 100 * sum(weights[:5]),
            "top10": 100 * sum(weights[:10]),
            "largest": max(per_u, key=lambda u: abs(per_u[u])), "beta_net": beta_net}


def test_concentration_by_hand():
    positions, values = _frames()
    out = portfolio_concentration(values, positions, MARKET_BETAS).set_index("portfolio_id")
    for port in ("P1", "P2"):
        hand = _hand_concentration(port)
        got = out.loc[port]
        assert got["n_underlyings"] == hand["n"]
        assert got["hhi"] == pytest.approx(hand["hhi"], rel=1e-12)
        assert got["effective_n"] == pytest.approx(hand["effective_n"], rel=1e-12)
        assert got["top1_pct"] == pytest.approx(hand["top1"], rel=1e-12)
        assert got["top5_pct"] == pytest.approx(hand["top5"], rel=1e-12)
        assert got["top10_pct"] == pytest.approx(hand["top10"], rel=1e-12)
        assert got["largest_underlying"] == hand["largest"]
        assert got["beta_adjusted_net_exposure"] == pytest.approx(hand["beta_net"], rel=1e-12)
    # P1 literally: AAPL nets 60k of Σ|E_u| = 60+20+26+15+5+25+40+8 = 199k
    assert out.loc["P1", "top1_pct"] == pytest.approx(100 * 60 / 199)
    assert out.loc["P1", "n_underlyings"] == 8
    # one name: HHI 10,000, effective N 1, every top-k 100 %
    assert out.loc["P2", "hhi"] == pytest.approx(10_000)
    assert out.loc["P2", "effective_n"] == pytest.approx(1.0)
    assert out.loc["P2", "top10_pct"] == pytest.approx(100.0)
    # β: AAPL 1.2 on 60k, MSFT NaN → 1, SPY 1.0, JPM 1.1, others defaulted 1
    assert out.loc["P1", "beta_adjusted_net_exposure"] == pytest.approx(
        60_000 * 1.2 - 20_000 + 26_000 + 15_000 + 5_000 - 25_000 + 40_000 * 1.1 + 8_000)


def test_concentration_of_a_book_that_nets_to_zero_is_null_not_zero():
    positions = pd.DataFrame({"position_id": ["a", "b"], "portfolio_id": ["P", "P"],
                              "symbol": ["AAPL", "AAPL"], "position_type": ["LONG", "SHORT"],
                              "underlying_symbol": [None, None]})
    values = positions[["position_id", "portfolio_id", "symbol"]].assign(
        exposure=[1000.0, -1000.0])
    row = portfolio_concentration(values, positions, pd.Series(dtype=float)).iloc[0]
    assert row["n_underlyings"] == 1
    assert all(pd.isna(row[c]) for c in ("hhi", "effective_n", "top1_pct", "largest_underlying"))
    assert row["beta_adjusted_net_exposure"] == 0.0


# --- limits on a hand book ------------------------------------------------------------------

#: portfolio → (gross, net, top1 %, effective N, β-adjusted net, largest sector %, VaR US$)
HAND = {"P": (2_000_000.0, -500_000.0, 30.0, 4.0, 900_000.0, 45.0, 60_000.0)}
#: limit key → the value it compares on portfolio P, by hand from HAND
HAND_VALUES = {
    "max_gross_exposure": 2_000_000.0,
    "max_net_exposure_pct_gross": 25.0,  # 100 × |−0.5m| / 2m
    "max_single_name_pct": 30.0,
    "max_sector_pct": 45.0,
    "max_var_99_1d_pct_gross": 3.0,  # 100 × 60k / 2m
    "min_effective_n": 4.0,
    "max_beta_adjusted_net_pct_gross": 45.0,  # 100 × 0.9m / 2m
}


def _hand_inputs(var: bool = True):
    gross, net, top1, eff_n, beta_net, sector_pct, var_usd = HAND["P"]
    exposures = pd.DataFrame({"portfolio_id": ["P"], "gross_exposure": [gross],
                              "net_exposure": [net]})
    concentration = pd.DataFrame({"portfolio_id": ["P"], "top1_pct": [top1],
                                  "effective_n": [eff_n],
                                  "beta_adjusted_net_exposure": [beta_net]})
    sectors = pd.DataFrame({"portfolio_id": ["P", "P", "P"],
                            "pct_of_gross": [sector_pct, 35.0, 20.0]})
    var_frame = pd.DataFrame({"portfolio_id": ["P"], "var": [var_usd]}) if var else None
    return exposures, concentration, sectors, var_frame


def _thresholds(values: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"portfolio_id": "P", "limit_name": list(values),
                         "threshold": list(values.values())})


@pytest.mark.parametrize("key", list(LIMIT_KEYS))
def test_every_limit_breached_and_not_breached(key):
    values = limit_values(*_hand_inputs())
    got = values.set_index("limit_name").loc[key, "value"]
    assert got == pytest.approx(HAND_VALUES[key])
    value = HAND_VALUES[key]
    is_min = key.startswith("min_")
    # a threshold on the breaching side, one on the safe side, and the boundary (never a breach)
    breached = value * 1.1 if is_min else value * 0.9
    safe = value * 0.9 if is_min else value * 1.1
    for threshold, status in ((breached, "breach"), (safe, "ok"), (value, "ok")):
        rows = check_limits(values, _thresholds({key: threshold}))
        assert len(rows) == 1
        row = rows.iloc[0]
        assert (row["limit_name"], row["status"]) == (key, status)
        assert row["value"] == pytest.approx(value) and row["threshold"] == threshold


def test_var_limit_without_var_is_not_available_never_ok():
    values = limit_values(*_hand_inputs(var=False))  # no portfolio_var table
    rows = check_limits(values, _thresholds({"max_var_99_1d_pct_gross": 1e9,
                                             "max_gross_exposure": 1.0}))
    by_key = rows.set_index("limit_name")
    assert by_key.loc["max_var_99_1d_pct_gross", "status"] == "not_available"
    assert pd.isna(by_key.loc["max_var_99_1d_pct_gross", "value"])
    assert by_key.loc["max_gross_exposure", "status"] == "breach"
    assert list(rows["status"])[0] == "breach"  # breaches first
    # a table without this portfolio's row: also not_available
    exposures, concentration, sectors, _ = _hand_inputs()
    other = pd.DataFrame({"portfolio_id": ["Q"], "var": [1.0]})
    rows = check_limits(limit_values(exposures, concentration, sectors, other),
                        _thresholds({"max_var_99_1d_pct_gross": 5.0}))
    assert rows.iloc[0]["status"] == "not_available"


def test_zero_gross_percentages_are_not_available():
    exposures = pd.DataFrame({"portfolio_id": ["P"], "gross_exposure": [0.0],
                              "net_exposure": [0.0]})
    concentration = pd.DataFrame({"portfolio_id": ["P"], "top1_pct": [np.nan],
                                  "effective_n": [np.nan], "beta_adjusted_net_exposure": [0.0]})
    sectors = pd.DataFrame({"portfolio_id": [], "pct_of_gross": []})
    values = limit_values(exposures, concentration, sectors, None)
    rows = check_limits(values, _thresholds({k: 1.0 for k in LIMIT_KEYS})).set_index(
        "limit_name")
    assert rows.loc["max_gross_exposure", "status"] == "ok"  # 0 ≤ 1
    assert (rows.drop(index="max_gross_exposure")["status"] == "not_available").all()


# --- the limits file ------------------------------------------------------------------------

GOOD = """\
defaults:
  max_gross_exposure: 1_000_000
  min_effective_n: 5
  max_sector_pct: 2.5e1
portfolios:
  Alpha:
    max_gross_exposure: 3000000
    min_effective_n: null
  Beta:
"""


def test_defaults_and_overrides():
    config = parse_limits(GOOD, "limits.yaml")
    assert config.defaults == {"max_gross_exposure": 1e6, "min_effective_n": 5.0,
                               "max_sector_pct": 25.0}
    config.check_portfolios(["Alpha", "Beta", "Gamma"])
    ports = pd.DataFrame({"portfolio_id": ["a", "b", "g"], "name": ["Alpha", "Beta", "Gamma"]})
    got = {(r.portfolio_id, r.limit_name): r.threshold
           for r in config.thresholds(ports).itertuples()}
    assert got == {("a", "max_gross_exposure"): 3e6, ("a", "max_sector_pct"): 25.0,
                   ("b", "max_gross_exposure"): 1e6, ("b", "min_effective_n"): 5.0,
                   ("b", "max_sector_pct"): 25.0,
                   ("g", "max_gross_exposure"): 1e6, ("g", "min_effective_n"): 5.0,
                   ("g", "max_sector_pct"): 25.0}


@pytest.mark.parametrize("text, line, key, reason", [
    ("defaults:\n  max_gross_exposure: 1\n  max_grss: 2\n", 3, "defaults.max_grss",
     "unknown limit key"),
    ("defaults:\n  max_sector_pct: forty\n", 2, "defaults.max_sector_pct",
     "threshold 'forty' is not a number"),
    ("defaults:\n  max_sector_pct: '40'\n", 2, "defaults.max_sector_pct", "is not a number"),
    ("defaults:\n  max_sector_pct: true\n", 2, "defaults.max_sector_pct", "is not a number"),
    ("defaults:\n  max_sector_pct: [1, 2]\n", 2, "defaults.max_sector_pct",
     "must be a number"),
    ("portfolios:\n  Alpha:\n    min_effective_n: -3\n", 3, "portfolios.Alpha.min_effective_n",
     "threshold -3 is negative"),
    ("defaults:\n  max_gross_exposure: .nan\n", 2, "defaults.max_gross_exposure",
     "not a finite number"),
    ("defaults:\n  max_gross_exposure: 1\n  max_gross_exposure: 2\n", 3,
     "defaults.max_gross_exposure", "duplicate key (first on line 2)"),
    ("defaults: {}\nlimits:\n  x: 1\n", 2, "limits", "unknown top-level key"),
    ("portfolios:\n  Alpha: 5\n", 2, "portfolios.Alpha", "must be a mapping"),
])
def test_bad_files_name_file_key_line_and_reason(text, line, key, reason):
    with pytest.raises(LimitsFileError) as err:
        parse_limits(text, "/etc/my_limits.yaml")
    message = str(err.value)
    assert message.startswith(f"/etc/my_limits.yaml: line {line}: key '{key}': ")
    assert reason in message


def test_unknown_portfolio_names_its_line():
    config = parse_limits(GOOD, "/x/limits.yaml")
    with pytest.raises(LimitsFileError) as err:
        config.check_portfolios(["Alpha", "Gamma"])
    assert str(err.value).startswith(
        "/x/limits.yaml: line 9: key 'portfolios.Beta': no portfolio named 'Beta' exists")


def test_broken_yaml_and_empty_file(tmp_path):
    path = tmp_path / "limits.yaml"
    path.write_text("defaults:\n  max_gross_exposure: [1\n")
    with pytest.raises(LimitsFileError, match=rf"^{path}: line \d+: not valid YAML"):
        load_limits(path)
    path.write_text("")
    with pytest.raises(LimitsFileError, match="the file is empty"):
        load_limits(path)
    with pytest.raises(LimitsFileError, match="cannot read the limits file"):
        load_limits(tmp_path / "missing.yaml")


def test_packaged_file_is_valid_and_names_the_demo_portfolios():
    config = load_limits()
    demo = pd.read_csv(resources.files("sigmasight_pipeline") / "data" / "demo_positions.csv")
    config.check_portfolios(demo["portfolio"].unique())
    used = set(config.defaults).union(*config.portfolios.values())
    assert used == set(LIMIT_KEYS)
    assert set(config.portfolios) == set(demo["portfolio"].unique())
    assert all(math.isfinite(v) for v in config.defaults.values())
