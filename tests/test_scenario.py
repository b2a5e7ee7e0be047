"""Scenario files: validation with file and field path, overrides, common random numbers, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from loyalty_sim import ConfigError
from loyalty_sim.cli import main
from loyalty_sim.scenario import load_scenario, run_scenario, scenario_from_mapping

ROOT = Path(__file__).resolve().parent.parent
GOOD = {"name": "t", "preset": "coffee_shop", "customers": 500, "weeks": 12, "launch_week": 4, "seed": 1,
        "schemes": [{"type": "stamp_card", "name": "card", "stamps_required": 8}]}


def _write(tmp_path, data, name="s.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data))
    return p


@pytest.mark.parametrize("change,match", [
    ({"colour": "red"}, r"s\.yaml.*scenario\.colour.*Extra inputs"),
    ({"weeks": "many"}, r"scenario\.weeks.*integer"),
    ({"launch_week": 20}, r"launch_week \(20\) must be before"),
    ({"schemes": [{"type": "stamp_card", "name": "c", "stamps_required": -3}]},
     r"schemes\[0\]\.stamps_required.*greater than or equal to 1.*-3"),
    ({"schemes": [{"type": "stamp_card", "name": "c", "head_start": 12, "stamps_required": 10}]},
     r"schemes\[0\].*head_start \(12\) must be less"),
    ({"schemes": [{"type": "discount", "name": "d", "depth": 0.95}]}, r"schemes\[0\]\.depth.*less than or equal to 0\.9"),
    ({"schemes": [{"type": "lottery", "name": "x"}]}, r"schemes\[0\]\.type.*unknown scheme type 'lottery'"),
    ({"schemes": [{"type": ["stamp_card"], "name": "x"}]}, r"schemes\[0\]\.type.*unknown scheme type \['stamp_card'\]"),
    ({"schemes": [{"type": {"a": 1}, "name": "x"}]}, r"schemes\[0\]\.type.*unknown scheme type"),
    ({"schemes": [{"type": "stamp_card", "name": "c", "stamp": 3}]}, r"schemes\[0\]\.stamp.*Extra inputs"),
    ({"schemes": [{"type": "stamp_card", "name": "a"}, {"type": "discount", "name": "a"}]}, r"unique"),
    ({"schemes": [{"type": "combined", "name": "c", "parts": [{"type": "discount", "name": "d", "depth": 2}]}]},
     r"schemes\[0\]\.parts\[0\]\.depth"),
    ({"preset": "bakery"}, r"unknown preset 'bakery'"),
    ({"population": {"b": -1}}, r"population\.b"),
    ({"behaviour": {"goal_gradient": -0.1}}, r"behaviour\.goal_gradient"),
    ({"behaviour": {"bogus": 1}}, r"behaviour\.bogus"),
    ({"schemes": []}, r"scenario\.schemes"),
    # a pattern is said in words, never as a regular expression
    ({"currency": "<b>"}, r"scenario\.currency: expected 1-8 letters, currency symbols or dots, such as EUR"),
    # a rule's own message without pydantic's "Value error, "
    ({"schemes": [{"type": "points", "name": "p", "redemption": {"rule": "tiered", "thresholds": [5], "rewards": []}}]},
     r"schemes\[0\]\.redemption: tiered redemption needs as many thresholds as rewards"),
])
def test_invalid_scenarios_name_file_field_and_expectation(tmp_path, change, match):
    path = _write(tmp_path, {**GOOD, **change})
    before = path.read_bytes()
    with pytest.raises(ConfigError, match=match) as info:
        load_scenario(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == before  # never modified


def test_malformed_yaml_names_the_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\nschemes: [\n  - a: 1\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml.*line"):
        load_scenario(p)


def test_overrides_replace_file_values(tmp_path):
    sc = load_scenario(_write(tmp_path, GOOD), customers=300, weeks=10, seed=9)
    assert (sc.customers, sc.weeks, sc.seed) == (300, 10, 9)
    assert sc.launch_week == 4


def test_run_uses_the_same_customers_and_random_numbers():
    sc = scenario_from_mapping(GOOD)
    run = run_scenario(sc)
    base, card = run.results["baseline"], run.results["card"]
    # before launch the scheme run is identical to the baseline (common random numbers)
    assert base.weekly.loc[:3].equals(card.weekly.loc[:3, base.weekly.columns])
    assert (base.customers["customer_id"] == card.customers["customer_id"]).all()


@pytest.mark.parametrize("path", sorted((ROOT / "loyalty_sim" / "scenarios").glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_scheme_file_is_valid(path):
    sc = load_scenario(path)
    assert sc.schemes and sc.weeks > sc.launch_week


def test_cli_runs_a_scenario_with_overrides(capsys, tmp_path):
    path = _write(tmp_path, GOOD)
    assert main(["simulate", "--scenario", str(path), "--customers", "400", "--weeks", "10", "--seed", "2",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["schemes"]) == {"baseline", "card"}
    assert out["schemes"]["card"]["transactions"] >= out["schemes"]["baseline"]["transactions"] * 0.95
    assert out["seed"] == 2
    assert main(["simulate", "--scenario", str(path)]) == 0
    assert "transactions change pct" in capsys.readouterr().out


def test_cli_reports_a_bad_scenario_without_traceback(capsys, tmp_path):
    path = _write(tmp_path, {**GOOD, "schemes": [{"type": "discount", "name": "d", "depth": 0.95}]})
    assert main(["simulate", "--scenario", str(path)]) == 2
    err = capsys.readouterr().err
    assert "schemes[0].depth" in err and "Traceback" not in err


@pytest.mark.parametrize("category,shown", [("nope", "'nope'"), ("\r=1+1", r"'\r=1+1'"), ("x" * 5000, "5,000 characters")])
def test_offer_category_the_catalogue_lacks_is_refused_when_loading(tmp_path, category, shown):
    """Checked against the population at load time, by field path and file, the value escaped and cut."""
    data = {**GOOD, "preset": "grocery",
            "schemes": [{"type": "targeted_offers", "name": "o", "category": category}]}
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError, match=r"schemes\[0\]\.category.*not in the catalogue") as info:
        load_scenario(path)
    msg = str(info.value)
    assert str(path) in msg and shown in msg and "\r" not in msg and len(msg) < 400
