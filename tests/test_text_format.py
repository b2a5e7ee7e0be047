"""The one number formatter: fixed point, thousands separators, never nan/inf/scientific notation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty_sim.text import format as fmt

ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True, width=64)
ANY_VALUE = st.one_of(ANY_FLOAT, st.integers(min_value=-10**30, max_value=10**30), st.none(), st.booleans(),
                      st.text(max_size=5), st.just(np.float32("nan")), st.just(np.int64(7)))


def _clean(text: str) -> None:
    low = text.lower()
    assert "nan" not in low and "inf" not in low and "e+" not in low and "e-" not in low, text


@given(ANY_VALUE, st.integers(min_value=0, max_value=6), st.booleans())
def test_no_formatter_emits_nan_inf_or_scientific_notation(x, digits, sign):
    _clean(fmt.number(x, digits, sign=sign))
    _clean(fmt.percent(x, digits, sign=sign))
    _clean(fmt.points(x, digits, sign=sign))
    _clean(fmt.money(x, digits, sign=sign, currency="EUR"))
    _clean(fmt.p_value(x))
    _clean(fmt.interval(x, 1.0, fmt.number, digits=digits))


@given(ANY_FLOAT)
def test_missing_is_n_a_and_finite_is_a_number(x):
    out = fmt.number(x)
    if math.isfinite(x):
        assert float(out.replace(",", "")) == pytest.approx(round(x, 2), abs=0.006)
    else:
        assert out == "n/a"


def test_exact_forms():
    assert fmt.number(1234.5) == "1,234.50"
    assert fmt.number(0.12549, 3, sign=True) == "+0.125"
    assert fmt.number(-2.0, 0, sign=True) == "-2"
    assert fmt.percent(0.052) == "5.2%"
    assert fmt.percent(0.052, sign=True) == "+5.2%"
    assert fmt.percent(12.345, 0, sign=True) == "+1,234%"
    assert fmt.points(0.013) == "+1.3 points"
    assert fmt.money(1234.4) == "1,234"
    assert fmt.money(-5, currency="EUR") == "EUR -5"
    assert fmt.p_value(0.04567) == "0.0457"
    assert fmt.p_value(1.2e-7) == "< 0.001"
    assert fmt.p_value(0.0012) == "0.0012"
    assert fmt.interval(0.1, 0.2, fmt.percent, digits=0) == "10% to 20%"
    assert fmt.interval(float("nan"), 0.2) == "n/a"
    assert fmt.number(None, missing="no data") == "n/a (no data)"
    assert fmt.not_available("zero standard error") == "n/a (zero standard error)"
    assert fmt.number(1e300).startswith("1,000,000")
