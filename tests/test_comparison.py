"""Comparisons: counterfactual vs naive before/after, intervals, calibration, CLI output."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from loyalty_sim import ConfigError
from loyalty_sim.cli import main
from loyalty_sim.comparison import compare, interval, replication_seeds
from loyalty_sim.scenario import scenario_from_mapping

SCEN = {"name": "t", "preset": "coffee_shop", "customers": 1500, "weeks": 30, "launch_week": 10, "seed": 3,
        "schemes": [{"type": "stamp_card", "name": "card", "reward_value": 4.5, "reward_cost": 1.2},
                    {"type": "discount", "name": "member20", "depth": 0.2, "members_only": True,
                     "enrolment": {"mode": "opt_in", "take_up": 0.4}}]}


@pytest.fixture(scope="module")
def comp():
    return compare(scenario_from_mapping(SCEN), replications=4)


def test_effects_have_intervals_and_the_naive_change_is_biased(comp):
    eff = comp.effects().set_index(["scheme", "metric"])
    row = eff.loc[("card", "purchases_per_customer_week")]
    assert row["ci_low"] < row["effect"] < row["ci_high"]
    assert row["effect"] > 0 and row["ci_low"] > 0
    assert row["level"] == 0.95
    # a steady base drifts (survivors buy less often): the naive before/after understates the effect
    assert row["naive_before_after"] < row["effect"]
    assert eff.attrs["replications"] if hasattr(eff, "attrs") else True


def test_summary_has_a_verdict_per_scheme(comp):
    s = comp.summary()
    assert set(s.index) == {"card", "member20"}
    assert s.loc["member20", "verdict"].startswith(("reconsider", "uncertain", "pays"))
    assert np.isfinite(s.loc["card", "roi"])


def test_members_self_select_naive_gap_exceeds_causal_effect(comp):
    gaps = comp.member_gaps
    assert "member20" in gaps.index
    g = gaps.loc["member20"]
    assert g["naive_gap"] > 3 * abs(g["causal_effect_on_members"])


def test_replication_seeds_are_distinct_and_reproducible():
    a = replication_seeds(1, 5)
    assert a == replication_seeds(1, 5) and len(set(a)) == 5 and a != replication_seeds(2, 5)


def test_interval_of_one_value_is_undefined():
    m, lo, hi = interval(np.array([3.0]))
    assert m == 3.0 and np.isnan(lo) and np.isnan(hi)


@pytest.mark.slow
def test_zero_effect_scheme_is_rarely_significant():
    """Unpaired runs of a scheme with no effect: the 95% interval excludes 0 in at most ~10% of comparisons."""
    base = {**SCEN, "customers": 1000, "weeks": 16, "launch_week": 4,
            "schemes": [{"type": "stamp_card", "name": "nothing", "reward_value": 0.0, "reward_cost": 0.0}]}
    significant = 0
    trials = 50
    for seed in range(trials):
        c = compare(scenario_from_mapping({**base, "seed": seed}), replications=5, paired=False)
        row = c.effects().set_index(["scheme", "metric"]).loc[("nothing", "purchases_per_customer_week")]
        significant += not (row["ci_low"] <= 0 <= row["ci_high"])
    assert significant <= 0.10 * trials


def test_compare_cli_writes_safe_csv_and_json(tmp_path, capsys):
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**SCEN, "name": "=HYPERLINK(\"x\")",
                                    "schemes": [{**SCEN["schemes"][0], "name": "-card"}]}))
    out = tmp_path / "out"
    assert main(["compare", str(path), "--replications", "2", "--customers", "500", "--out", str(out),
                 "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["replications"] == 2 and payload["summary"][0]["scheme"] == "-card"
    for f in out.glob("*.csv"):
        for row in csv.reader(f.open()):
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@")) or _is_number(cell), (f.name, cell)
    assert json.loads((out / "comparison.json").read_text())["scenario"]["name"] == "=HYPERLINK(\"x\")"
    assert main(["compare", str(path), "--replications", "2", "--customers", "500"]) == 0
    assert "verdict" in capsys.readouterr().out


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


def test_difference_between_schemes_is_paired_and_named_in_the_headline(comp):
    from loyalty_sim.text.comparison import headline

    a, b = comp.schemes[0], comp.schemes[1]
    d, lo, hi = comp.difference(a, b)
    pr = comp.per_replication
    va = pr[(pr.scheme == a) & (pr.metric == "incremental_profit")].sort_values("replication")["value"].to_numpy()
    vb = pr[(pr.scheme == b) & (pr.metric == "incremental_profit")].sort_values("replication")["value"].to_numpy()
    assert d == pytest.approx((va - vb).mean()) and lo <= d <= hi
    text = headline(comp)
    assert ("cannot tell the two apart" in text) or (" beats **" in text)
    with pytest.raises(ConfigError, match="no 'incremental_profit' for scheme 'nope'"):
        comp.difference(a, "nope")


def test_launch_in_week_zero_has_no_naive_change_but_a_summary(tmp_path, capsys):
    """No weeks before launch: the naive before/after is undefined (null + reason), not a KeyError."""
    sc = scenario_from_mapping({**SCEN, "customers": 200, "weeks": 4, "launch_week": 0})
    c = compare(sc, replications=2)
    s = c.summary()
    assert s["naive_before_after_purchases"].isna().all()
    row = c.to_dict()["summary"][0]
    assert row["naive_before_after_purchases"] is None
    assert "week 0" in row["naive_before_after_purchases_reason"]
    f = tmp_path / "sc.yaml"
    f.write_text(json.dumps({**SCEN, "customers": 200, "weeks": 4, "launch_week": 0}))
    assert main(["compare", str(f), "--replications", "2"]) == 0
    assert "n/a, no weeks before launch" in capsys.readouterr().out
