"""The public parameter checks: canonical values back, ConfigError naming the field otherwise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from loyalty_sim.errors import ConfigError
from loyalty_sim.validation import check_choice, check_count, check_money, check_positive, check_probability


def _field(fn, *args, **kw) -> str:
    with pytest.raises(ConfigError) as err:
        fn(*args, **kw)
    return err.value.field


def test_check_count():
    assert check_count("weeks", 4.0, minimum=1) == 4 and check_count("n", np.int64(3)) == 3
    for bad in (0, True, 2.5, "3", None):
        assert _field(check_count, "weeks", bad, minimum=1) == "weeks"


def test_check_positive():
    assert check_positive("sd", "0.5") == 0.5 and check_positive("sd", 0, allow_zero=True) == 0.0
    for bad in (0, -1, math.inf, math.nan, "x"):
        assert _field(check_positive, "sd", bad) == "sd"


@pytest.mark.parametrize("interval, inside, outside", [
    ("(0, 1)", [0.5], [0, 1]), ("[0, 1)", [0, 0.5], [1]), ("(0, 1]", [1], [0]), ("[0, 1]", [0, 1], [-0.1, 1.1]),
])
def test_check_probability_ends(interval, inside, outside):
    for v in inside:
        assert check_probability("p", v, interval=interval) == v
    for v in outside + [math.nan]:
        assert _field(check_probability, "p", v, interval=interval) == "p"


def test_check_probability_strict_and_money_and_choice():
    assert check_probability("p", "0.5") == 0.5
    assert _field(check_probability, "p", "0.5", strict=True) == "p"
    assert _field(check_probability, "p", True, interval="[0, 1]", strict=True) == "p"
    assert check_money("cost", 3) == 3.0
    for bad in (-1, math.inf, True, "3"):
        assert _field(check_money, "cost", bad) == "cost"
    assert check_choice("unit", "store", ("customer", "store")) == "store"
    assert _field(check_choice, "unit", "shop", ("customer", "store")) == "unit"
