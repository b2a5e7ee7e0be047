"""The words of a comparison: verdict sentences and intervals, written by the one formatter."""

from __future__ import annotations

import math

from loyalty_sim.economics import verdict_word
from loyalty_sim.text.comparison import verdict, with_interval


def _verdict(effect: float, low: float, high: float, **kw: object) -> str:
    return verdict(verdict_word(effect, low, high), effect, low, high, **kw)


def test_verdict_sentences_carry_the_effect_and_its_interval():
    assert _verdict(-1234.4, -1500, -50) == ("reconsider: incremental profit is negative (-1,234; 95% interval "
                                             "-1,500 to -50) - the scheme costs more than it returns")
    assert _verdict(100, 50, 150, level=0.9) == "pays: incremental profit 100 (90% interval 50 to 150)"
    assert _verdict(10, -5, 25) == "uncertain: incremental profit 10 (95% interval -5 to 25) includes zero"
    assert _verdict(10, math.nan, math.nan) == ("one replication only: incremental profit 10, no interval "
                                                "(use 3+ replications)")
    # with the scenario's currency every amount carries it
    assert _verdict(100, 50, 150, currency="EUR") == ("pays: incremental profit EUR 100 (95% interval EUR 50 to "
                                                      "EUR 150)")
    assert _verdict(-1234.4, -1500, -50, currency="GBP").startswith("reconsider: incremental profit is negative "
                                                                    "(GBP -1,234; 95% interval GBP -1,500 to GBP -50)")


def test_with_interval_signs_every_number_and_drops_a_missing_interval():
    assert with_interval(12.34, 8.1, 16.0, digits=1) == "+12.3 (+8.1 to +16.0)"
    assert with_interval(0.052, 0.01, 0.094, digits=1, pct=True) == "+5.2% (+1.0% to +9.4%)"
    assert with_interval(1500.0, math.nan, math.nan) == "+1,500"
    assert with_interval(math.nan, math.nan, math.nan) == "n/a"
