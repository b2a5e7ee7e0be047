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


def test_check_number_shares_columns_and_from_mapping():
    import dataclasses

    import pandas as pd

    from loyalty_sim.validation import check_columns, check_number, check_shares, from_mapping

    assert check_number("x", 2, low=0, high=3) == 2.0
    for bad, match in (("2", "finite number"), (True, "finite number"), (float("nan"), "finite number"),
                       (-1, ">= 0"), (4, "<= 3")):
        with pytest.raises(ConfigError, match=match) as err:
            check_number("x", bad, low=0, high=3)
        assert err.value.field == "x"
    with pytest.raises(ConfigError, match="> 0"):
        check_number("x", 0, low=0, strict_low=True)
    assert check_shares("mix", {"a": 0.25, "b": 0.75}) == {"a": 0.25, "b": 0.75}
    with pytest.raises(ConfigError, match="sum to 1"):
        check_shares("mix", {"a": 0.5})
    with pytest.raises(ConfigError, match="unknown keys") as err:
        check_shares("mix", {"c": 1.0}, keys=("a", "b"))
    assert err.value.field == "mix"
    with pytest.raises(ConfigError, match=r"'mix\.a'"):
        check_shares("mix", {"a": 1.5, "b": -0.5})
    with pytest.raises(ConfigError, match=r"needs columns \['b'\]"):
        check_columns("log", pd.DataFrame({"a": [1]}), ("a", "b"))

    @dataclasses.dataclass(frozen=True)
    class Cfg:
        x: float = 1.0

        def __post_init__(self):
            check_number("cfg.x", self.x, low=0)

    assert from_mapping(Cfg, None, what="setting(s)") == Cfg()
    assert from_mapping(Cfg, {}, what="setting(s)", defaults={"x": 2.0}) == Cfg(2.0)
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) \['y'\]; expected some of \['x'\]") as err:
        from_mapping(Cfg, {"y": 1}, what="setting(s)", prefix="cfg", source="f.yaml")
    assert (err.value.field, err.value.source) == ("cfg.y", "f.yaml")
    with pytest.raises(ConfigError) as err:
        from_mapping(Cfg, {"x": -1}, what="setting(s)", source="f.yaml")
    assert (err.value.field, err.value.source) == ("cfg.x", "f.yaml")
