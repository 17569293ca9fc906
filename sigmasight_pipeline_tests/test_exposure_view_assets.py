"""Exposure views end to end on the demo book (SPEC §7.9): sector exposures and concentration
recomputed by hand from the warehouse's position values, limit checks against the packaged
limits file, the VaR limit with and without ``portfolio_var``, a broken limits file, and the
report sections."""

from __future__ import annotations

import datetime as dt
import io
import json

import pandas as pd
import pytest
from sqlalchemy import text

from sigmasight_pipeline.settings import get_settings

D = dt.date(2025, 6, 30)
HF = "Demo Hedge Fund Style Investor Portfolio"
HNW = "Demo High Net Worth Investor Portfolio"
IND = "Demo Individual Investor Portfolio"
OPTIONS = ("LC", "LP", "SC", "SP")


def _sql(engine, sql: str, **params) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn, params=params)


def _hand_views(engine) -> tuple[dict, dict]:
    """(sector → gross/net/count per portfolio, concentration per portfolio) by hand."""
    rows = _sql(engine, """
        SELECT f.name, v.exposure, p.position_type, p.symbol, p.underlying_symbol
          FROM sigmasight.position_values v
          JOIN sigmasight.positions p ON p.id = v.position_id
          JOIN sigmasight.portfolios f ON f.id = v.portfolio_id
         WHERE v.date = :d""", d=D)
    secs = _sql(engine, "SELECT symbol, asset_class, sector FROM sigmasight.securities")
    ref = {r.symbol: (r.asset_class, r.sector) for r in secs.itertuples()}
    betas = _sql(engine, """
        SELECT CASE WHEN p.position_type IN ('LC','LP','SC','SP') THEN p.underlying_symbol
                    ELSE p.symbol END AS u, b.beta
          FROM sigmasight.position_factor_exposures b
          JOIN sigmasight.positions p ON p.id = b.position_id
         WHERE b.date = :d AND b.factor = 'Market' AND b.beta IS NOT NULL""", d=D)
    beta = dict(zip(betas.u, betas.beta, strict=True))
    sectors: dict = {}
    per_u: dict = {}
    beta_net: dict = {}
    for r in rows.itertuples():
        u = r.underlying_symbol if r.position_type in OPTIONS else r.symbol
        asset_class, sector = ref.get(u, (None, None))
        if sector is None or pd.isna(sector) or not str(sector).strip():
            sector = {"etf": "ETF", "mutual_fund": "Mutual fund"}.get(asset_class,
                                                                      "(unclassified)")
        s = sectors.setdefault(r.name, {}).setdefault(sector, [0.0, 0.0, 0])
        s[0] += abs(r.exposure)
        s[1] += r.exposure
        s[2] += 1
        per_u.setdefault(r.name, {}).setdefault(u, 0.0)
        per_u[r.name][u] += r.exposure
        beta_net[r.name] = beta_net.get(r.name, 0.0) + r.exposure * beta.get(u, 1.0)
    conc = {}
    for name, exposures in per_u.items():
        total = sum(abs(x) for x in exposures.values())
        w = sorted((abs(x) / total for x in exposures.values()), reverse=True)
        hhi = 10_000 * sum(x * x for x in w)
        conc[name] = {"n_underlyings": len(w), "hhi": hhi, "effective_n": 10_000 / hhi,
                      "top1_pct": 100 * w[0], "top5_pct": 100 * sum(w[:5]),
                      "top10_pct": 100 * sum(w[:10]),
                      "largest_underlying": max(exposures, key=lambda k: abs(exposures[k])),
                      "beta_adjusted_net_exposure": beta_net[name]}
    return sectors, conc


def _limit_rows(engine) -> pd.DataFrame:
    return _sql(engine, """
        SELECT f.name, l.limit_name, l.value, l.threshold, l.status
          FROM sigmasight.limit_checks l JOIN sigmasight.portfolios f ON f.id = l.portfolio_id
         WHERE l.date = :d
         ORDER BY f.name, l.limit_name""", d=D)  # a join's row order is the planner's


def _materialize_limits(expect_success: bool):
    from dagster import DagsterInstance, materialize

    from sigmasight_pipeline.definitions import defs
    from sigmasight_pipeline.defs.risk.exposure_view_assets import limit_checks_asset

    get_settings.cache_clear()
    with DagsterInstance.ephemeral() as instance:
        result = materialize([limit_checks_asset], instance=instance, resources=defs.resources,
                             partition_key=D.isoformat(), raise_on_error=False)
    assert result.success is expect_success
    return result


def test_demo_day_views_limits_var_and_reports(demo_book, run_days, cli_env, monkeypatch):
    engine = demo_book
    lines = run_days(D)  # the WARN check fails, the run still succeeds
    warned = [line for line in lines if "check limit_checks:no_limit_breaches FAILED" in line]
    assert len(warned) == 1, lines
    assert (f"(warning, not blocking: 1 limit breach(es) on 1 day(s); on {D}: {HF} "
            "max_single_name_pct 35.3 > 30)") in warned[0]
    assert any("sector_gross_sums_to_portfolio_gross passed" in line for line in lines)

    # --- sectors and concentration against the hand computation
    hand_sectors, hand_conc = _hand_views(engine)
    stored = _sql(engine, """
        SELECT f.name, s.sector, s.gross_exposure, s.net_exposure, s.pct_of_gross,
               s.position_count, e.gross_exposure AS portfolio_gross
          FROM sigmasight.sector_exposures s
          JOIN sigmasight.portfolios f ON f.id = s.portfolio_id
          JOIN sigmasight.portfolio_exposures e ON e.portfolio_id = s.portfolio_id
                                               AND e.date = s.date
         WHERE s.date = :d""", d=D)
    assert set(stored.name) == {HF, HNW, IND}
    for r in stored.itertuples():
        gross, net, count = hand_sectors[r.name][r.sector]
        assert r.gross_exposure == pytest.approx(gross, rel=1e-12)
        assert r.net_exposure == pytest.approx(net, rel=1e-12, abs=1e-6)
        assert r.position_count == count
        assert r.pct_of_gross == pytest.approx(100 * gross / r.portfolio_gross, rel=1e-12)
    assert len(stored) == sum(len(v) for v in hand_sectors.values())
    sums = stored.groupby("name").agg(g=("gross_exposure", "sum"), p=("portfolio_gross", "first"))
    assert ((sums.g - sums.p).abs() <= 1e-6 * sums.p).all()
    # the VIX call has no sector: counted, not dropped
    assert hand_sectors[HF]["(unclassified)"][2] == 1
    assert "(unclassified)" in set(stored[stored.name == HF].sector)

    conc = _sql(engine, """
        SELECT f.name, c.* FROM sigmasight.portfolio_concentration c
          JOIN sigmasight.portfolios f ON f.id = c.portfolio_id WHERE c.date = :d""", d=D)
    assert set(conc.name) == {HF, HNW, IND}
    for r in conc.to_dict("records"):
        hand = hand_conc[r["name"]]
        assert r["n_underlyings"] == hand["n_underlyings"]
        assert r["largest_underlying"] == hand["largest_underlying"]
        for key in ("hhi", "effective_n", "top1_pct", "top5_pct", "top10_pct",
                    "beta_adjusted_net_exposure"):
            assert r[key] == pytest.approx(hand[key], rel=1e-10), key

    # --- limits: the packaged file; the hedge fund breaches its single-name limit (SPY)
    limits = _limit_rows(engine)
    assert limits.groupby("name").size().to_dict() == {HF: 7, HNW: 6, IND: 6}
    breaches = limits[limits.status == "breach"]
    assert list(zip(breaches.name, breaches.limit_name, strict=True)) == [
        (HF, "max_single_name_pct")]
    assert breaches.value.iloc[0] == pytest.approx(hand_conc[HF]["top1_pct"])
    assert breaches.threshold.iloc[0] == 30.0
    # the VaR limit: 100 × parametric 99 % 1-day VaR / gross, from portfolio_var of the run
    var_hand = _sql(engine, """
        SELECT f.name, 100 * v.var / e.gross_exposure AS pct
          FROM sigmasight.portfolio_var v
          JOIN sigmasight.portfolio_exposures e ON e.portfolio_id = v.portfolio_id
                                               AND e.date = v.date
          JOIN sigmasight.portfolios f ON f.id = v.portfolio_id
         WHERE v.date = :d AND v.method = 'parametric' AND v.horizon_days = 1
           AND abs(v.confidence - 0.99) < 1e-9""", d=D).set_index("name")["pct"]
    var_rows = limits[limits.limit_name == "max_var_99_1d_pct_gross"].set_index("name")
    assert set(var_rows.index) == {HF, HNW, IND}
    for name in (HF, HNW, IND):
        assert var_rows.loc[name, "value"] == pytest.approx(var_hand[name], rel=1e-12)
        assert var_rows.loc[name, "status"] == ("ok" if var_hand[name] <= 5 else "breach")
    assert set(limits.status) == {"ok", "breach"}

    # --- reports: the sections and the CSV's Sector
    folder = cli_env / "reports" / D.isoformat()
    md = (folder / "demo-hedge-fund-style-investor-portfolio.md").read_text()
    assert "## Sectors and concentration" in md and "## Limits (breaches first)" in md
    assert "| BREACH | max_single_name_pct |" in md
    assert md.index("| BREACH |") < md.index("| ok |")
    assert "(counted under (unclassified), included in the totals): 1." in md
    doc = json.loads((folder / "demo-hedge-fund-style-investor-portfolio.json").read_text())
    assert doc["limits"]["breach_count"] == 1
    assert doc["limits"]["checks"][0]["limit_name"] == "max_single_name_pct"
    assert doc["sectors_concentration"]["unclassified_positions"] == 1
    assert sum(s["gross_exposure"] for s in doc["sectors_concentration"]["sectors"]) == (
        pytest.approx(doc["summary"]["gross_exposure"], abs=0.05))
    csv = pd.read_csv(io.StringIO(
        (folder / "demo-hedge-fund-style-investor-portfolio.csv").read_text()))
    sector = dict(zip(csv.Symbol, csv.Sector, strict=True))
    assert sector["VIX250716C00025000"] == "(unclassified)"
    assert sector["SPY250919C00460000"] == "ETF"
    assert sector["NVDA251017C00800000"] == sector["NVDA"] == "Information Technology"

    # --- the VaR limit against hand-set portfolio_var rows; a missing 99 % parametric row
    # is not_available, never ok
    gross = _sql(engine, """SELECT f.name, f.id::text AS pid, e.gross_exposure
                              FROM sigmasight.portfolio_exposures e
                              JOIN sigmasight.portfolios f ON f.id = e.portfolio_id
                             WHERE e.date = :d""", d=D).set_index("name")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM sigmasight.portfolio_var WHERE date = :d"), {"d": D})
        for name, pct, method, confidence in ((HF, 3.0, "parametric", 0.99),
                                              (HNW, 10.0, "parametric", 0.99),
                                              (IND, 1.0, "historical", 0.99),
                                              (IND, 1.0, "parametric", 0.95)):
            conn.execute(text("""INSERT INTO sigmasight.portfolio_var
                (date, portfolio_id, method, confidence, horizon_days, var)
                VALUES (:d, :p, :m, :c, 1, :v)"""),
                         {"d": D, "p": gross.loc[name, "pid"], "m": method, "c": confidence,
                          "v": pct / 100 * gross.loc[name, "gross_exposure"]})
    _materialize_limits(expect_success=True)
    var_rows = _limit_rows(engine).set_index("name").query(
        "limit_name == 'max_var_99_1d_pct_gross'")
    assert var_rows.loc[HF, "status"] == "ok"
    assert var_rows.loc[HF, "value"] == pytest.approx(3.0)
    assert var_rows.loc[HNW, "status"] == "breach"
    assert var_rows.loc[HNW, "value"] == pytest.approx(10.0)
    # only historical / 95 % rows: the 99 % parametric row is absent
    assert var_rows.loc[IND, "status"] == "not_available"
    assert pd.isna(var_rows.loc[IND, "value"])

    # --- a broken limits file fails the asset before anything is written
    before = _limit_rows(engine)
    bad = cli_env / "my_limits.yaml"
    bad.write_text("defaults:\n  max_gross_exposure: 1000000\n  max_sector_pct: lots\n")
    monkeypatch.setenv("SIGMASIGHT_LIMITS", str(bad))
    result = _materialize_limits(expect_success=False)
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.step_failure_data.user_failure_data.description
    assert f"{bad}: line 3: key 'defaults.max_sector_pct': threshold 'lots' is not a number" \
        in message
    pd.testing.assert_frame_equal(_limit_rows(engine), before)  # nothing written
    bad.write_text("portfolios:\n  Demo Nobody Portfolio:\n    max_gross_exposure: 5\n")
    result = _materialize_limits(expect_success=False)
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert ("line 2: key 'portfolios.Demo Nobody Portfolio': no portfolio named"
            in failure.step_failure_data.user_failure_data.description)
    pd.testing.assert_frame_equal(_limit_rows(engine), before)
