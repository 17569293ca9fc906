"""The stress-scenario library file (SPEC §5.7): the packaged 18 scenarios and validation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from sigmasight_pipeline.engines.stress import (
    CATEGORIES,
    SEVERITIES,
    ScenarioLibraryError,
    default_library_path,
    load_scenarios,
)

# The SPEC §5.7 table: id -> (shocks, category, severity)
SPEC_TABLE = {
    "market_up_10": ({"Market": 0.10}, "market", "mild"),
    "market_down_10": ({"Market": -0.10}, "market", "mild"),
    "market_rally_25": ({"Market": 0.25}, "market", "moderate"),
    "market_crash_35": ({"Market": -0.35}, "market", "severe"),
    "rates_up_25bp": ({"Rate": 0.0025}, "rates", "mild"),
    "rates_down_25bp": ({"Rate": -0.0025}, "rates", "mild"),
    "rates_up_100bp": ({"Rate": 0.01}, "rates", "moderate"),
    "rates_down_100bp": ({"Rate": -0.01}, "rates", "moderate"),
    "rate_spike_300bp": ({"Rate": 0.03}, "rates", "severe"),
    "value_rotation_20": ({"Value": 0.20}, "rotation", "moderate"),
    "growth_rally_15": ({"Value": -0.15, "Momentum": 0.10}, "rotation", "moderate"),
    "small_cap_outperformance_10": ({"Size": 0.10}, "rotation", "mild"),
    "quality_flight_12": ({"Market": -0.05, "Quality": 0.12}, "rotation", "moderate"),
    "vix_spike_150": ({"Market": -0.15, "Low Volatility": 0.06}, "volatility", "severe"),
    "liquidity_crisis": (
        {"Market": -0.20, "Size": -0.08, "Quality": 0.06, "Low Volatility": 0.08},
        "volatility",
        "severe",
    ),
    "financial_crisis_2008": (
        {"Market": -0.50, "Value": -0.10, "Size": -0.05, "Quality": 0.10, "Low Volatility": 0.15},
        "historical",
        "extreme",
    ),
    "covid_crash_2020": (
        {"Market": -0.34, "Value": -0.12, "Size": -0.08, "Quality": 0.05},
        "historical",
        "severe",
    ),
    "dotcom_crash_2000": (
        {"Market": -0.45, "Value": 0.35, "Momentum": -0.20, "Quality": 0.10},
        "historical",
        "extreme",
    ),
}


def test_packaged_library_matches_the_spec_table():
    scenarios = load_scenarios()
    assert [sc.id for sc in scenarios] == list(SPEC_TABLE)
    for sc in scenarios:
        shocks, category, severity = SPEC_TABLE[sc.id]
        assert dict(sc.shocks) == shocks, sc.id
        assert (sc.category, sc.severity) == (category, severity), sc.id
        assert sc.name and sc.description.endswith("."), sc.id
        assert dict(sc.underlying_moves) == ({"VIX": 1.5} if sc.id == "vix_spike_150" else {})
    for sc in scenarios:
        if sc.category == "historical":
            assert "approximate peak-to-trough" in sc.description.lower()
    assert {sc.category for sc in scenarios} == set(CATEGORIES)
    assert {sc.severity for sc in scenarios} == set(SEVERITIES)
    assert load_scenarios(default_library_path()) == scenarios


def test_library_ships_with_the_package():
    path = default_library_path()
    assert path.name == "stress_scenarios.yaml" and path.is_file()
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    assert '"data/*.yaml"' in pyproject.read_text()


def write_library(tmp_path: Path, entries: list[dict], name="lib.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"version": 1, "scenarios": entries}, sort_keys=False))
    return path


def good(**overrides) -> dict:
    entry = {"id": "custom", "name": "Custom", "category": "market", "severity": "mild",
             "shocks": {"Market": -0.05}, "description": "A custom scenario."}
    entry.update(overrides)
    return entry


@pytest.mark.parametrize(
    ("entries", "scenario", "field", "reason"),
    [
        ([good(shocks={"Markt": -0.1})], "custom", "shocks.Markt", "unknown factor"),
        ([good(shocks={"Market": "ten"})], "custom", "shocks.Market", "must be a number"),
        ([good(shocks={"Market": float("nan")})], "custom", "shocks.Market", "finite"),
        ([good(shocks={"Market": True})], "custom", "shocks.Market", "must be a number"),
        ([good(), good(name="Again")], "custom", "id", "duplicate id"),
        ([{k: v for k, v in good().items() if k != "severity"}], "custom", "severity",
         "missing"),
        ([{k: v for k, v in good().items() if k != "id"}], "#0", "id", "missing"),
        ([good(severity="catastrophic")], "custom", "severity", "unknown severity"),
        ([good(category="crypto")], "custom", "category", "unknown category"),
        ([good(shocks={})], "custom", "shocks", "no shocks and no underlying_moves"),
        ([good(shocks={"Rate": 25})], "custom", "shocks.Rate", "decimal yield change"),
        ([good(shocks={"Market": -35})], "custom", "shocks.Market", "decimal return"),
        ([good(underlying_moves={"VIX": -1.5})], "custom", "underlying_moves.VIX",
         "more than 100 %"),
        ([good(shock={"Market": 0.1})], "custom", "shock", "unknown field"),
        ([good(active="no")], "custom", "active", "true or false"),
    ],
)
def test_bad_library_names_file_scenario_and_field(tmp_path, entries, scenario, field, reason):
    path = write_library(tmp_path, entries)
    with pytest.raises(ScenarioLibraryError) as info:
        load_scenarios(path)
    message = str(info.value)
    assert str(path) in message
    assert (f"scenario '{scenario}'" if scenario != "#0" else "scenario #0") in message
    assert f"field '{field}'" in message
    assert reason in message
    assert isinstance(info.value, ValueError)


def test_every_error_is_listed(tmp_path):
    path = write_library(tmp_path, [good(id="a", shocks={"Foo": 1}),
                                    good(id="b", severity="huge")])
    with pytest.raises(ScenarioLibraryError) as info:
        load_scenarios(path)
    assert len(info.value.errors) == 2
    assert "scenario 'a'" in info.value.errors[0] and "scenario 'b'" in info.value.errors[1]


def test_unreadable_or_malformed_files(tmp_path):
    with pytest.raises(ScenarioLibraryError, match="cannot read"):
        load_scenarios(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("scenarios: [\n")
    with pytest.raises(ScenarioLibraryError, match="not valid YAML"):
        load_scenarios(bad)
    flat = tmp_path / "flat.yaml"
    flat.write_text("- id: x\n")
    with pytest.raises(ScenarioLibraryError, match="'scenarios' list"):
        load_scenarios(flat)


def test_a_scenario_added_to_a_copy_shows_up_and_inactive_ones_do_not(tmp_path):
    copy = tmp_path / "my_scenarios.yaml"
    shutil.copy(default_library_path(), copy)
    data = yaml.safe_load(copy.read_text())
    data["scenarios"].append(good(id="tech_selloff", shocks={"Market": -0.08, "Momentum": -0.1},
                                  underlying_moves={"nvda": -0.25}))
    data["scenarios"].append(good(id="parked", active=False))
    data["scenarios"][0]["active"] = False  # market_up_10 disabled
    copy.write_text(yaml.safe_dump(data, sort_keys=False))
    scenarios = load_scenarios(copy)
    ids = [sc.id for sc in scenarios]
    assert len(scenarios) == 18 and ids[-1] == "tech_selloff"
    assert "parked" not in ids and "market_up_10" not in ids
    added = scenarios[-1]
    assert dict(added.shocks) == {"Market": -0.08, "Momentum": -0.1}
    assert dict(added.underlying_moves) == {"NVDA": -0.25}
    # an inactive scenario still counts for duplicate ids
    data["scenarios"].append(good(id="parked"))
    copy.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ScenarioLibraryError, match="duplicate id"):
        load_scenarios(copy)
