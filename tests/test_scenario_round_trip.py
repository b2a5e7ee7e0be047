"""Configs written into outputs load back: ``scenario_from_mapping(sc.to_dict()) == sc``; economics fail at load."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty_sim.errors import ConfigError
from loyalty_sim.files import load_yaml
from loyalty_sim.scenario import available_scenarios, find_scenario, load_scenario, scenario_from_mapping
from loyalty_sim.schemes import scheme_from_dict

SHIPPED = available_scenarios()


def _schemes_round_trip(sc) -> bool:
    """True once ``scheme_from_dict(s.to_dict())`` works for these schemes (the schemes' half of defect 3)."""
    try:
        return all(scheme_from_dict(s.to_dict()) == s for s in sc.schemes)
    except ConfigError:
        return False


_SHARES = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def scenarios(draw):
    """A shipped scenario with random top-level, population, behaviour and economics values."""
    name = draw(st.sampled_from(SHIPPED))
    weeks = draw(st.integers(2, 300))
    overrides = dict(customers=draw(st.integers(1, 10**6)), weeks=weeks, launch_week=draw(st.integers(0, weeks - 1)),
                     seed=draw(st.integers(0, 2**63 - 1)), replications=draw(st.integers(1, 1000)))
    raw = load_yaml(find_scenario(name))
    raw = {**raw, **overrides}
    if draw(st.booleans()):
        raw["population"] = {**raw.get("population", {}), "email_opt_in": draw(_SHARES),
                             "arrivals": draw(st.sampled_from(["steady", "none", 0.01])),
                             "history_weeks": draw(st.floats(1.0, 1000.0))}
    if draw(st.booleans()):
        raw["behaviour"] = {**raw.get("behaviour", {}), "goal_gradient": draw(st.floats(0.0, 5.0)),
                            "erosion_floor": draw(_SHARES), "take_up_heavy_bias": draw(st.floats(0.0, 3.0))}
    if draw(st.booleans()):
        raw["economics"] = {**raw.get("economics", {}), "gross_margin": draw(_SHARES),
                            "discount_rate": draw(st.floats(0.0, 10.0)), "setup_cost": draw(st.floats(0.0, 1e9))}
    return raw


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=scenarios())
def test_scenario_round_trips_with_its_schemes_as_given(raw):
    """The scenario written into an output, schemes included, loads back equal."""
    sc = scenario_from_mapping(raw, source="f.yaml")
    out = sc.to_dict()
    assert out["source"] == "f.yaml" and out["preset"] == sc.params.name
    back = scenario_from_mapping(out)
    assert back == sc
    assert back.to_dict() == out


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenario_round_trips_whole(name):
    sc = load_scenario(name)
    assert _schemes_round_trip(sc)
    assert scenario_from_mapping(sc.to_dict()) == sc


def test_custom_population_round_trips_without_a_preset():
    sc = load_scenario("discount_members")
    custom = sc.params.replace(name="fitted", r=0.9)
    sc.params = custom
    out = {**sc.to_dict(), "schemes": load_yaml(find_scenario("discount_members"))["schemes"]}
    assert out["preset"] == "fitted"
    assert scenario_from_mapping(out).params == custom
    with pytest.raises(ConfigError, match="unknown preset 'fitted'") as err:
        scenario_from_mapping({**out, "population": {"r": 0.9}})
    assert err.value.field == "preset"


@pytest.mark.parametrize("econ, field", [({"margin": 0.3}, "economics.margin"),
                                         ({"gross_margin": 1.5}, "economics.gross_margin"),
                                         ({"discount_rate": "ten"}, "economics.discount_rate")])
def test_wrong_economics_fail_at_load(tmp_path, econ, field):
    raw = {**load_yaml(find_scenario("discount_members")), "economics": econ}
    with pytest.raises(ConfigError) as err:
        scenario_from_mapping(raw, source="f.yaml")
    assert err.value.field == field and err.value.source == "f.yaml"


def test_offer_category_checked_at_load():
    raw = load_yaml(find_scenario("targeted_offers"))
    bad = [{**s, "category": "toys"} if s.get("type") == "targeted_offers" else s for s in raw["schemes"]]
    i = next(i for i, s in enumerate(raw["schemes"]) if s.get("type") == "targeted_offers")
    with pytest.raises(ConfigError, match="'toys' is not in the catalogue") as err:
        scenario_from_mapping({**raw, "schemes": bad}, source="f.yaml")
    assert err.value.field == f"schemes[{i}].category"
    combined = {"type": "combined", "name": "both", "parts": [{**bad[i], "name": "o"}]}
    with pytest.raises(ConfigError, match="'toys' is not in the catalogue") as err:
        scenario_from_mapping({**raw, "schemes": [combined]})
    assert err.value.field == "schemes[0].parts[0].category"


def test_shipped_scenario_by_name_and_a_file_wins(tmp_path, monkeypatch):
    assert load_scenario("coffee_comparison") == load_scenario(find_scenario("coffee_comparison.yaml"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "coffee_comparison").write_text("name: mine\nschemes:\n  - {type: discount, name: d, depth: 0.1}\n")
    assert load_scenario("coffee_comparison").name == "mine"
    with pytest.raises(ConfigError, match="file not found"):
        load_scenario("no_such_scenario")
