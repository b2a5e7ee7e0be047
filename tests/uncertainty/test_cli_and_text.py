"""compare --uncertainty: the report's words and JSON, and options refused before anything runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from loyalty_sim.cli import main
from loyalty_sim.text.escape import plain_text
from loyalty_sim.text.uncertainty import uncertainty_markdown
from loyalty_sim.uncertainty.analysis import analyse
from loyalty_sim.uncertainty.priors import sobol_points

from .conftest import synthetic_psa


@pytest.mark.slow
def test_compare_uncertainty_prints_both_intervals_and_writes_the_tables(tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["compare", "coffee_comparison", "--customers", "4096", "--weeks", "30", "--replications", "2",
               "--uncertainty", "2", "--uncertainty-replications", "1", "--out", str(out), "--json"])
    assert rc == 0
    payload = json.loads(capsys.readouterr().out)
    u = payload["uncertainty"]
    assert u["draws"] == 2 and u["replications"] == 1 and u["reused"]["counterfactual_runs"] == 1
    rows = {r["option"]: r for r in u["decision"]}
    assert set(rows) == {"no scheme", "stamp10", "points_tiered", "club3", "member10"}
    assert sum(r["p_best"] for r in rows.values()) == pytest.approx(1.0)
    for name in ("stamp10", "club3"):
        r = rows[name]
        assert r["low"] <= r["expected"] <= r["high"] and r["noise_half_width"] >= 0
    assert (out / "uncertainty_decision.csv").is_file() and (out / "uncertainty_value_of_information.csv").is_file()
    assert "uncertainty" in json.loads((out / "comparison.json").read_text())


@pytest.mark.parametrize("args, words", [(["--uncertainty", "0"], "--uncertainty: must be between 1 and 65,536"),
                                         (["--uncertainty", "1000000"], "--uncertainty: must be between 1 and 65,536"),
                                         (["--uncertainty", "many"], "--uncertainty: expected a whole number"),
                                         (["--uncertainty", "4", "--uncertainty-replications", "0"],
                                          "--uncertainty-replications: must be between 1 and 1,000")])
def test_bad_uncertainty_options_exit_2_before_any_run(args, words, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["compare", "coffee_comparison", *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_the_report_words_give_both_intervals_the_switch_and_the_pilot_worth():
    """Two schemes whose order flips at theta_0 = 0.5 of the prior: a switching value and a pilot worth something."""
    u = sobol_points(128, 3, 2)
    a_ = 100 + 40 * (u[:, 0] - 0.5) + 5 * u[:, 1]
    b_ = 100 - 40 * (u[:, 0] - 0.5)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(1)))
    v = np.stack([a_, b_], axis=1)[:, None, :] + rng.normal(0, 1.0, size=(128, 2, 2))
    psa = synthetic_psa(u, v, ["rate_lift_price", "goal_gradient", "erosion_floor"], ["stamp<10>", "points"])
    a = analyse(psa)
    text = uncertainty_markdown(a, "my.yaml")
    assert "from the assumptions" in text and "from simulation noise" in text
    # the lead flips where the frequency lift is low; the assumption in plain words, then its name in the table
    assert "unless the purchase lift of price-sensitive buyers (`rate_lift_price`) is below" in text
    (sw,) = a.switches  # goal_gradient (flat) and erosion_floor (unused) give none
    assert sw.value == pytest.approx(float(psa.priors["rate_lift_price"].ppf(np.array([0.5 - 2.5 / 80]))[0]), rel=0.05)
    assert "A pilot that measured the frequency lift would be worth up to" in text
    assert "--scheme-name 'stamp<10>' --primary frequency" in plain_text(text)  # a command to paste, quoted
    assert "<" not in text  # the user's scheme name is escaped wherever it appears


def test_the_figures_draw_both_intervals_and_the_tornado():
    import matplotlib.pyplot as plt

    from loyalty_sim.plots.uncertainty import plot_profit_uncertainty, plot_tornado

    u = sobol_points(64, 2, 3)
    v = np.stack([100 + 40 * u[:, 0], 90 + 10 * u[:, 1]], axis=1)[:, None, :] + np.zeros((64, 2, 2))
    a = analyse(synthetic_psa(u, v, ["rate_lift_price", "goal_gradient"], ["a$b", "c"]))
    ax = plot_profit_uncertainty(a.table)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a\\$b", "c"]  # literal text, never mathtext
    ax2 = plot_tornado(a.tornado)
    assert ax2.get_yticklabels()[0].get_text().startswith("purchase lift of price-sensitive buyers")  # widest on top
    plt.close("all")


def test_every_assumption_has_plain_words_for_the_report():
    from loyalty_sim.behaviour import PARAMETER_TABLE
    from loyalty_sim.text.uncertainty import PLAIN_NAMES, plain_name

    assert set(PLAIN_NAMES) == {p.name for p in PARAMETER_TABLE}
    assert all("_" not in plain_name(p.name) and len(plain_name(p.name)) <= 45 for p in PARAMETER_TABLE)
