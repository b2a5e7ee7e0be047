"""A log wherever a preset is: ``simulate --log``, ``compare SCENARIO --log``, ``trial design --log``, scenario files."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from loyalty_sim import Population, simulate
from loyalty_sim.cli import main
from loyalty_sim.errors import ConfigError
from loyalty_sim.scenario import load_scenario, scenario_from_mapping


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A small shop's log (string ids) next to a scenario file naming it by a relative path."""
    pop = Population("coffee_shop", size=600, weeks=30, seed=7)
    log = simulate(pop, None, weeks=30, seed=7, output="log").transactions[["customer_id", "timestamp", "amount"]]
    log = log.assign(customer_id="member-" + log["customer_id"].astype(str))
    folder = tmp_path_factory.mktemp("shop")
    (folder / "data").mkdir()
    log.to_csv(folder / "data" / "sales.csv", index=False)
    (folder / "mine.yaml").write_text(
        "name: my shop\npreset: coffee_shop\nweeks: 30\nlaunch_week: 8\nreplications: 2\n"
        "population: {log: data/sales.csv, fill_from: grocery}\n"
        "schemes:\n  - {type: stamp_card, name: stamp10, stamps_required: 10, reward_value: 4.5, reward_cost: 1.2}\n",
        encoding="utf-8")
    return folder


def test_simulate_log_states_counts_and_assumptions(shop, capsys):
    log = str(shop / "data" / "sales.csv")
    assert main(["simulate", "--log", log, "--weeks", "6", "--fill-from", "grocery", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    cal = out["calibrated_from"]
    assert out["initial_customers"] == cal["counts"]["simulated"] == cal["counts"]["default_size"]
    assert cal["customers"]["fill_from"] == "grocery"
    assert cal["statements"][-1].startswith("Assumed from preset grocery")
    assert main(["simulate", "--log", log, "--weeks", "6", "--customers", "900"]) == 0
    text = capsys.readouterr().out
    assert "Customers: " in text and "900 simulated at week 0" in text and "Assumed from preset coffee_shop" in text
    assert "member-" not in text


def test_compare_scenario_on_a_log(shop, capsys, tmp_path):
    log = str(shop / "data" / "sales.csv")
    assert main(["compare", "coffee_comparison", "--log", log, "--weeks", "30", "--replications", "2",
                 "--out", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    assert "The fitted customers predicted" in text and "Assumed from preset coffee_shop" in text
    saved = json.loads((tmp_path / "out" / "comparison.json").read_text())
    assert saved["scenario"]["calibrated_from"]["counts"]["in_log"] == pd.read_csv(log)["customer_id"].nunique()
    assert "member-" not in (tmp_path / "out" / "comparison.json").read_text()


def test_trial_design_on_a_log_has_one_count_chain(shop, capsys):
    log = str(shop / "data" / "sales.csv")
    assert main(["trial", "design", "--log", log, "--scheme", "stamp10", "--weeks", "4", "--candidate-weeks", "2,4",
                 "--rerandomisations", "0", "--fill-from", "online_retail", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    counts = out["calibrated_from"]["counts"]
    assert out["settings"]["population_size"] == counts["simulated"] == counts["default_size"]
    assert out["assumptions_preset"] == "online_retail"
    assert any(n.startswith("Assumed from preset online_retail") for n in out["notes"])
    n_log = pd.read_csv(log)["customer_id"].nunique()
    assert out["assignment"]["pilot"] + out["assignment"]["control"] == n_log == counts["in_log"]
    assert any(f"all {n_log:,} of the log's customers are assigned" in n
               and f"the {out['pre_period']['active_customers']:,} who bought" in n for n in out["notes"])


@pytest.mark.parametrize("argv, words", [
    (["--fill-from", "bakery"], "--fill-from"),
    (["--calibration-end", "04/05/2026"], "--calibration-end"),
    (["--duplicates", "maybe"], "--duplicates"),
])
def test_log_option_errors_exit_2_without_a_traceback(shop, capsys, argv, words):
    log = str(shop / "data" / "sales.csv")
    try:
        code = main(["simulate", "--log", log, "--weeks", "4", *argv])
    except SystemExit as exc:  # argparse refuses a choice before anything runs
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2 and words in err and "Traceback" not in err


def test_missing_log_names_the_file(tmp_path, capsys):
    assert main(["simulate", "--log", str(tmp_path / "nope.csv"), "--weeks", "4"]) == 2
    assert "nope.csv" in capsys.readouterr().err


def test_scenario_population_from_a_log_round_trips(shop):
    sc = load_scenario(shop / "mine.yaml")
    assert sc.calibration is not None and sc.preset == "grocery"
    assert sc.customers == sc.calibration.shop.default_size  # no customers: in the file: the shop's own size
    assert sc.params.name == "fitted to sales.csv" and sc.params.segment_mix["price_sensitive"] == 0.45
    d = sc.to_dict()
    assert d["calibrated_from"]["counts"]["simulated"] == sc.customers
    again = scenario_from_mapping(d)
    assert again == sc and again.params == sc.params and again.preset == "grocery"
    bigger = load_scenario(shop / "mine.yaml", customers=5000)
    assert bigger.customers == 5000 and "5,000 simulated at week 0" in bigger.statements()[0]


@pytest.mark.parametrize("population, field, words", [
    ("{log: data/missing.csv}", "population.log", "missing.csv"),
    ("{log: data/sales.csv, fill_from: bakery}", "population.fill_from", "bakery"),
    ("{log: data/sales.csv, calibrationend: auto}", "population", "calibrationend"),
    ("{log: data/sales.csv, duplicates: maybe}", "population.duplicates", "maybe"),
    ("{log: data/sales.csv, calibration_end: 04/05/2026}", "population.calibration_end", "04/05/2026"),
])
def test_scenario_log_errors_name_file_and_field(shop, population, field, words):
    text = (shop / "mine.yaml").read_text().replace("{log: data/sales.csv, fill_from: grocery}", population)
    bad = shop / "bad.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(Exception) as info:
        load_scenario(bad)
    msg = str(info.value)
    assert words in msg and ("bad.yaml" in msg or "sales.csv" in msg)
    if field is not None:
        assert isinstance(info.value, ConfigError) and field in msg
