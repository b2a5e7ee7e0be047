"""Report words: scheme sentences, true verdicts, ROI in words, formatted tables."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from loyalty_sim.scenario import available_scenarios, load_scenario
from loyalty_sim.schemes import FAMILIES, scheme_from_dict
from loyalty_sim.text.comparison import payback_words, verdict_lines, zero_effect_reason
from loyalty_sim.text.format import roi_words
from loyalty_sim.text.schemes import describe, describe_markdown
from loyalty_sim.text.tables import html_table


def test_every_family_has_a_sentence_with_its_numbers_and_currency():
    seen = set()
    for name in available_scenarios():
        for s in load_scenario(name).schemes:
            text = describe(s, "EUR")
            seen.add(s.family)
            assert text.endswith(".") and "nan" not in text.lower() and "_" not in text.split(":")[0], text
    assert seen | {"combined"} >= set(f.family for f in FAMILIES.values())
    stamp = scheme_from_dict({"type": "stamp_card", "name": "x", "stamps_required": 10, "reward_value": 4.5,
                              "reward_cost": 1.2, "expiry_weeks": 26})
    assert describe(stamp, "EUR").startswith("Stamp card: a free item worth EUR 4.50, costing EUR 1.20, after 10 "
                                             "purchases; cards expire after 26 weeks")
    disc = scheme_from_dict({"type": "discount", "name": "m", "depth": 0.1, "members_only": True,
                             "enrolment": {"mode": "opt_in", "take_up": 0.4}})
    assert describe(disc, "€") == ("Discount: 10% off every purchase for members; customers opt in (40% of those "
                                   "shopping after launch join).")
    evil = scheme_from_dict({"type": "discount", "name": "<b>x</b>", "depth": 0.2})
    assert "<b>" not in describe_markdown(evil)


def test_roi_and_payback_in_words():
    assert roi_words(2.72, "EUR") == "each EUR 1 spent returns EUR 2.72 of profit"
    assert roi_words(-0.4, "€") == "each € 1 spent loses € 0.40"
    assert "costs nothing" in roi_words(math.nan)
    assert payback_words(12.0) == "pays back 12 weeks after launch"
    assert payback_words(1.2) == "pays back 1 week after launch"
    assert payback_words(math.nan) == "has not paid back by the end of the horizon"
    assert payback_words(0.0) == "is in profit from its launch week on"


def _summary(profits, words):
    return pd.DataFrame({"incremental_profit": profits, "profit_ci": [(p - 100, p + 100) for p in profits],
                         "roi": [p / 1000 for p in profits], "payback_week": [5.0] * len(profits),
                         "purchases_relative_effect": [0.05, 0.0, 0.02][:len(profits)],
                         "verdict": words}, index=["a", "b", "c"][:len(profits)])


def test_a_loss_is_never_called_best():
    lines = verdict_lines(_summary([-500.0, -2000.0], ["reconsider: x", "reconsider: y"]), weeks_after=52,
                          replications=5, level=0.95, currency="EUR")
    text = "\n".join(lines)
    assert text.startswith("**No scheme pays.**") and "least costly is **a**: EUR -500" in text
    assert "best" not in text.lower() and "most profitable" not in text.lower() and "Leading" not in text
    assert "simulation noise only" in text


def test_the_leader_gets_roi_payback_and_the_interval_coverage():
    summ = _summary([2720.0, 100.0], ["pays: x", "uncertain: y"])
    lines = verdict_lines(summ, weeks_after=78, replications=5, level=0.95, currency="EUR",
                          reasons={"b": "below the noticed depth"}, tie=("b", 2620.0, -50.0, 5000.0))
    text = "\n".join(lines)
    assert "**Leading candidate: a.**" in text and "EUR 2,720 of profit" in text
    assert "each EUR 1 spent returns EUR 2.72 of profit" in text and "pays back 5 weeks after launch" in text
    assert "cannot tell the two apart" in text and "tied" not in text
    assert "no change in purchase frequency (below the noticed depth)" in text
    assert "5 replications cover simulation noise only" in text


def test_zero_effect_reason_names_the_noticed_depth():
    sc = load_scenario("coffee_comparison")
    m10 = next(s for s in sc.schemes if s.name == "member10")
    assert "at or below the depth customers notice (10%" in zero_effect_reason(m10, sc.behaviour)
    assert zero_effect_reason(sc.schemes[0], sc.behaviour) is None


def test_html_table_is_formatted_and_escaped():
    df = pd.DataFrame({"incremental_profit": [-2722505.0, float("nan")], "scheme_name": ["<i>a</i>", "b"],
                       "p_flag": [True, False]})
    html = html_table(df)._repr_html_()
    assert "-2,722,505" in html and "e+06" not in html and "NaN" not in html and "n/a" in html
    assert "&lt;i&gt;a&lt;/i&gt;" in html and "<i>" not in html
    assert "<th class=\"num\">incremental profit</th>" in html and "scheme name" in html and "yes" in html
    assert "<th></th>" not in html  # no index column


def test_a_currency_is_letters_or_symbols_never_markup():
    from loyalty_sim import ConfigError, report
    from loyalty_sim.scenario import scenario_from_mapping

    assert report.validate_parameters("01-scheme-comparison", {"currency": "US$"}) == {"currency": "US$"}
    with pytest.raises(ConfigError, match="currency"):
        report.validate_parameters("01-scheme-comparison", {"currency": "<b>x"})
    base = {"name": "x", "schemes": [{"type": "discount", "name": "d"}]}
    assert scenario_from_mapping({**base, "currency": "£"}).currency == "£"
    assert scenario_from_mapping(base).currency == "EUR"
    with pytest.raises(ConfigError, match="currency"):
        scenario_from_mapping({**base, "currency": "**"}, source="s.yaml")
