"""Logic the notebooks used to hold, now in the package: same numbers, ConfigError instead of ValueError."""

from __future__ import annotations

import numpy as np
import pytest

from loyalty_sim import report
from loyalty_sim.comparison import sweep
from loyalty_sim.economics import Economics, economics_for, incremental_profit_frame, profit_frame, scheme_economics
from loyalty_sim.errors import ConfigError
from loyalty_sim.scenario import load_scenario, run_scenario, scenario_from_mapping, scheme_named
from loyalty_sim.schemes import FlatDiscount


@pytest.fixture(scope="module")
def run():
    sc = load_scenario("coffee_comparison", customers=400, weeks=30, launch_week=8, seed=3)
    return sc, run_scenario(sc)


def test_incremental_profit_frame_is_notebook_01s_series(run):
    sc, r = run
    econ = economics_for(sc)
    base = profit_frame(r.baseline, econ)["profit"]
    for name, res in r.results.items():
        if name == "baseline":
            continue
        old = (profit_frame(res, econ)["profit"] - base).loc[sc.launch_week:]  # what notebook 01 computed
        new = incremental_profit_frame(res, r.baseline, econ)
        assert new.index[0] == sc.launch_week
        np.testing.assert_array_equal(new["incremental_profit"].to_numpy(), old.to_numpy())
        np.testing.assert_allclose(new["cumulative"].to_numpy(), old.cumsum().to_numpy())
        assert scheme_economics(res, r.baseline, econ)["incremental_profit_cash"] == pytest.approx(float(old.sum()))


def test_economics_for_keeps_the_preset_margin_for_minus_one(run):
    sc, _ = run
    preset = Economics.from_mapping(sc.economics, preset=sc.params.name)
    assert economics_for(sc) == economics_for(sc, gross_margin=-1) == preset
    assert economics_for(sc, gross_margin=0.3, fixed_cost_per_week=5).to_dict() == {
        **preset.to_dict(), "gross_margin": 0.3, "fixed_cost_per_week": 5}
    with pytest.raises(ConfigError) as err:
        economics_for(sc, gross_margin=1.5)
    assert err.value.field == "economics.gross_margin"


def test_sweep_takes_a_scenario_without_schemes():
    top = {"name": "depth", "preset": "grocery", "customers": 300, "weeks": 12, "launch_week": 4, "replications": 1}
    with pytest.raises(ConfigError, match=r"scenario\.schemes"):
        scenario_from_mapping(top)
    sc = scenario_from_mapping(top, require_schemes=False)
    assert sc.schemes == []
    sw = sweep(sc, lambda d: FlatDiscount(name="d", depth=d), [0.0, 0.2], name="depth")
    assert list(sw["depth"]) == [0.0, 0.2]


def test_scheme_named_is_a_config_error(run):
    sc, _ = run
    assert scheme_named(sc, "stamp10").name == "stamp10"
    with pytest.raises(ConfigError, match=r"scheme 'nope' is not in .*coffee_comparison\.yaml; it has \['stamp10'") as err:
        scheme_named(sc, "nope")
    assert err.value.field == "scheme"


def test_depths_are_checked_before_the_report_runs():
    assert report.validate_parameters("02-discount-levels", {"depths": [0, 0.5, 0.9]})["depths"] == [0, 0.5, 0.9]
    for bad in ([0.1, 0.95], [-0.1], ["a"], [True]):
        with pytest.raises(ConfigError, match=r"every value must be a number in \[0, 0\.9\]") as err:
            report.validate_parameters("02-discount-levels", {"depths": bad})
        assert err.value.field == "depths"


def test_footer_names_the_versions():
    text = report.footer()
    assert text.startswith("---\n*Versions:* loyalty-sim ")
    for k, v in report.environment_info().items():
        assert f"{k} {v}" in text
