"""Review of a pilot: recovery of a known effect, coverage, checks, money, errors, output, plots, CLI."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from loyalty_sim.errors import ConfigError, DataError
from loyalty_sim.trial.review import review_trial

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "trial"


def _load_maker():
    """The script that made ``data/trial`` (simulates pilots with a known effect)."""
    name = "loyalty_sim_trial_make_example"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "make_trial_example.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


mk = _load_maker()


@pytest.fixture(scope="module")
def sim():
    return mk.simulate_pilot(customers=1500, pre_weeks=8, pilot_weeks=6, seed=5)


@pytest.fixture(scope="module")
def store_sim():
    return mk.simulate_pilot(customers=1500, pre_weeks=8, pilot_weeks=6, seed=6, stores=12, store_rate_sd=0.3,
                             store_shock_sd=0.08)


@pytest.fixture(scope="module")
def pilot_case(sim):
    asg = mk.stratified_customers(sim.customers, seed=1)
    ids = asg.loc[asg["group"] == "pilot", "customer_id"]
    return sim.log(ids), asg, sim.truth(ids)


def _review(sim, log, asg, **kw):
    return review_trial(log, asg, start=sim.start, end=sim.end, **kw)


def _random_assignment(customers, rng):
    active = customers.loc[customers["pre_purchases"] > 0, "customer_id"].to_numpy()
    pilot = rng.permutation(active.size) < active.size // 2
    return pd.DataFrame({"customer_id": active, "group": np.where(pilot, "pilot", "control")})


# ------------------------------------------------------------------ the known effect


def test_engine_pilot_with_known_effect_is_recovered(sim, pilot_case):
    log, asg, truth = pilot_case
    r = _review(sim, log, asg)
    assert truth["purchases_per_week"] > 0.03          # the stamp card works in the simulation
    for metric in ("purchases_per_week", "spend_per_week", "retention"):
        e = r.estimates[metric]
        assert e.ci_low <= truth[metric] <= e.ci_high, metric
        assert e.ci_low <= e.estimate <= e.ci_high
    f = r.estimates["purchases_per_week"]
    assert f.counterfactual == pytest.approx(truth["purchases_per_week_counterfactual"], rel=0.05)
    assert r.settings["primary_method"] == "cuped" and f.n_pilot == truth["pilot_customers"]
    assert set(r.effects["method"]) == {"did", "cuped", "diff"}
    assert r.checks["passed"] and not r.checks["srm"]["mismatch"]


def test_coverage_and_false_positive_rate_over_many_assignments(sim):
    """Re-randomise who got the scheme: the intervals cover the true effect of each pilot group about 95% of the
    time (neither too rarely nor too often), and with no scheme at all they exclude zero about 5% of the time, for
    purchase frequency and for spend (two-sided binomial bands: a test that never rejects fails too)."""
    rng = np.random.default_rng(77)
    reps = 300
    metrics = ("purchases_per_week", "spend_per_week")
    covered = dict.fromkeys(metrics, 0)
    false_pos = dict.fromkeys(metrics, 0)
    for _ in range(reps):
        asg = _random_assignment(sim.customers, rng)
        ids = asg.loc[asg["group"] == "pilot", "customer_id"]
        r = _review(sim, sim.log(ids), asg)
        truth = sim.truth(ids)
        null = _review(sim, sim.baseline, asg)
        for m in metrics:
            covered[m] += r.estimates[m].ci_low <= truth[m] <= r.estimates[m].ci_high
            false_pos[m] += not (null.estimates[m].ci_low <= 0 <= null.estimates[m].ci_high)
    se = np.sqrt(0.95 * 0.05 / reps)
    for m in metrics:
        assert 0.90 <= covered[m] / reps <= 0.99, (m, covered[m] / reps)
        assert 0.05 - 3 * se <= false_pos[m] / reps <= 0.05 + 3 * se, (m, false_pos[m] / reps)


def test_store_assignment_with_store_effects_gives_honest_intervals(store_sim):
    sim = store_sim
    stores = sorted(sim.customers["store_id"].unique())
    rng = np.random.default_rng(3)
    reps = 60
    covered = 0
    widths = []
    for _ in range(reps):
        asg = mk.random_stores(stores, pilots=6, seed=int(rng.integers(1 << 30)))
        ids = sim.customers.loc[sim.customers["store_id"].isin(asg.loc[asg["group"] == "pilot", "store_id"]),
                                "customer_id"]
        r = review_trial(sim.log(ids), asg, start=sim.start, end=sim.end)
        e = r.estimates["spend_per_week"]
        covered += e.ci_low <= sim.truth(ids)["spend_per_week"] <= e.ci_high
        widths.append(e.ci_high - e.ci_low)
        assert 1 <= e.df <= 10 + 1e-9 and "cluster-robust" in e.method      # at most G - 2: unequal stores
    assert covered / reps >= 0.95 - 3.5 * np.sqrt(0.95 * 0.05 / reps)
    # the same data analysed as if customers had been randomised: a far narrower (over-confident) interval
    asg_c = pd.DataFrame({"customer_id": sim.customers["customer_id"],
                          "group": np.where(sim.customers["customer_id"].isin(ids), "pilot", "control")})
    naive = review_trial(sim.log(ids), asg_c, start=sim.start, end=sim.end).effects
    naive_w = naive.query("metric == 'spend_per_week' and method == 'did'")
    assert float(naive_w["ci_high"].iloc[0] - naive_w["ci_low"].iloc[0]) < 0.8 * widths[-1]


def test_example_data_reviews_cleanly_and_covers_the_recorded_truth():
    truth = json.loads((DATA / "truth.json").read_text())
    t = truth["customers"]
    r = review_trial(DATA / "pilot_customers.csv", DATA / "assignment_customers.csv", start=t["start"], end=t["end"],
                     margin=0.28, reward_cost_share=t["reward_cost_share"])
    for m in ("purchases_per_week", "spend_per_week"):
        assert r.estimates[m].ci_low <= t[m] <= r.estimates[m].ci_high
    assert not r.warnings
    s = truth["stores"]
    rs = review_trial(DATA / "pilot_stores.csv", DATA / "assignment_stores.csv", start=s["start"], end=s["end"])
    assert rs.settings["unit"] == "store" and rs.estimates["spend_per_week"].n_clusters == 12
    assert rs.estimates["spend_per_week"].ci_low <= s["spend_per_week"] <= rs.estimates["spend_per_week"].ci_high


# ------------------------------------------------------------------ checks


def test_event_study_is_relative_to_the_pre_period_mean(sim, pilot_case):
    log, asg, _ = pilot_case
    r = _review(sim, log, asg)
    es = r.event_study[r.event_study["metric"] == "purchases_per_week"]
    assert list(es["week"]) == list(range(-8, 6))
    # six whole pilot weeks: their weekly effects average to the difference in differences of the whole window
    did = r.effects.query("metric == 'purchases_per_week' and method == 'did'")["estimate"].iloc[0]
    assert es.loc[es["period"] == "pilot", "estimate"].mean() == pytest.approx(did, rel=1e-9)
    # week 0 from the log itself: per customer, purchases that week minus the pre-period weekly mean
    start = pd.Timestamp(sim.start)
    buy = log[log["amount"] > 0]
    pre = buy[(buy["date"] < start) & (buy["date"] >= start - pd.Timedelta(weeks=8))].groupby("customer_id").size()
    wk0 = buy[(buy["date"] >= start) & (buy["date"] < start + pd.Timedelta(days=7))].groupby("customer_id").size()
    ids = pre.index
    change = wk0.reindex(ids, fill_value=0) - pre / 8
    pilot = asg.set_index("customer_id")["group"].reindex(ids) == "pilot"
    direct = change[pilot.to_numpy()].mean() - change[~pilot.to_numpy()].mean()
    assert es.loc[es["week"] == 0, "estimate"].iloc[0] == pytest.approx(direct, rel=1e-9)
    assert (es["ci_low"] <= es["estimate"]).all() and (es["estimate"] <= es["ci_high"]).all()
    assert r.checks["pre_trend"]["p_value"] > 0.01


def test_pre_trend_drift_is_flagged(sim, pilot_case):
    log, asg, _ = pilot_case
    pilot_ids = asg.loc[asg["group"] == "pilot", "customer_id"]
    start = pd.Timestamp(sim.start)
    pre = log[(log["date"] < start) & log["customer_id"].isin(pilot_ids)]
    weeks_before = ((start - pre["date"]).dt.days // 7).to_numpy()
    # pilot customers' early pre-period purchases thinned: their frequency rises towards the launch
    rng = np.random.default_rng(1)
    drop = rng.random(len(pre)) < 0.08 * weeks_before
    drifted = log.drop(index=pre.index[drop])
    r = _review(sim, drifted, asg)
    assert r.checks["pre_trend"]["p_value"] < 0.05 and not r.checks["passed"]
    assert any("pre-trend" in w for w in r.warnings)


def test_sample_ratio_mismatch_is_flagged(sim, pilot_case):
    log, asg, _ = pilot_case
    control = asg.loc[asg["group"] == "control", "customer_id"]
    lost = control.iloc[: len(control) // 3]
    r = _review(sim, log[~log["customer_id"].isin(lost)], asg)
    srm = r.checks["srm"]
    assert srm["mismatch"] and srm["p_value"] < 1e-6
    assert any("sample-ratio mismatch" in w for w in r.warnings)
    assert r.checks["coverage"]["assigned_not_in_log"] == len(lost)
    r2 = _review(sim, log, asg, expected_share=0.3)
    assert r2.checks["srm"]["assignment_file"]["mismatch"] and r2.checks["srm"]["expected_share"] == 0.3


def test_self_selection_shows_naive_beside_intention_to_treat(sim, pilot_case):
    log, asg, _ = pilot_case
    pre_counts = sim.customers.set_index("customer_id")["pre_purchases"]
    heavy = pre_counts.reindex(asg["customer_id"]).to_numpy() >= np.median(pre_counts[pre_counts > 0])
    asg2 = asg.assign(enrolled=np.where((asg["group"] == "pilot") & heavy, "yes", "no"))
    r = _review(sim, log, asg2)
    sel = r.checks["self_selection"]
    assert 0.3 < sel["take_up"] < 0.7
    naive = sel["naive"]["spend_per_week"]["estimate"]
    itt = sel["itt"]["spend_per_week"]["estimate"]
    assert naive > 3 * itt                                    # heavy buyers chose to enrol
    assert sel["take_up_control"] == 0
    assert sel["per_enrolled"]["spend_per_week"]["estimate"] == pytest.approx(itt / sel["take_up"])
    assert any("self-selection" in w for w in r.warnings)
    # some controls enrolled too (exposure): the Wald / Bloom ratio divides by the take-up difference
    ctrl = (asg["group"] == "control").to_numpy() & heavy & (np.arange(len(asg)) % 4 == 0)
    asg4 = asg.assign(enrolled=np.where(((asg["group"] == "pilot") & heavy) | ctrl, "yes", "no"))
    sel4 = _review(sim, log, asg4).checks["self_selection"]
    diff = sel4["take_up"] - sel4["take_up_control"]
    assert 0 < sel4["take_up_control"] and diff == pytest.approx(sel4["take_up_difference"])
    for m in ("purchases_per_week", "spend_per_week"):
        pe, it = sel4["per_enrolled"][m], sel4["itt"][m]
        assert (pe["estimate"], pe["ci_low"], pe["ci_high"]) == pytest.approx(
            (it["estimate"] / diff, it["ci_low"] / diff, it["ci_high"] / diff))
        assert pe["estimate"] != pytest.approx(it["estimate"] / sel4["take_up"])
    r3 = _review(sim, log, asg, self_selected=True)
    assert any("not randomised" in w for w in r3.warnings) and not r3.checks["passed"]


def test_unknown_ids_are_counted_never_printed(sim, pilot_case):
    log, asg, _ = pilot_case
    log = log.assign(customer_id="CUST-" + log["customer_id"].astype(str) + "-X")
    asg = asg.assign(customer_id="CUST-" + asg["customer_id"].astype(str) + "-X")
    extra = pd.DataFrame({"customer_id": [f"GHOST-{i:04d}-Q" for i in range(40)], "group": ["pilot", "control"] * 20})
    r = _review(sim, log, pd.concat([asg, extra], ignore_index=True))
    assert r.checks["coverage"]["assigned_not_in_log"] == 40
    text = r.summary_text() + "\n".join(r.warnings) + json.dumps(r.checks)
    assert "40 of" in text
    assert "GHOST-" not in text and "CUST-" not in text


def test_most_ids_missing_warns_and_none_found_is_an_error(sim, pilot_case):
    log, asg, _ = pilot_case
    extra = pd.DataFrame({"customer_id": np.arange(10**7, 10**7 + 3 * len(asg)), "group": "control"})
    r = _review(sim, log, pd.concat([asg, extra], ignore_index=True))
    assert any("most customers of the assignment are not in the log" in w for w in r.warnings)
    with pytest.raises(DataError, match="none of the"):
        _review(sim, log, extra.assign(group=np.where(np.arange(len(extra)) % 2, "pilot", "control")))


# ------------------------------------------------------------------ money


def test_money_arithmetic_and_reconsider_verdict(sim, pilot_case):
    log, asg, _ = pilot_case
    # two extra pilot customers who never bought before the pilot: not analysed, but the scheme cost them too
    pid = asg.loc[asg["group"] == "pilot", "customer_id"]
    late = pd.DataFrame({"customer_id": [9_000_001, 9_000_002], "date": pd.to_datetime([sim.start, sim.end]),
                         "amount": [40.0, 60.0], "store_id": "S01"})
    log = pd.concat([log, late], ignore_index=True)
    asg = pd.concat([asg, pd.DataFrame({"customer_id": [9_000_001, 9_000_002, 9_000_003], "group": "pilot"})],
                    ignore_index=True)
    r = _review(sim, log, asg, margin=0.3, reward_cost_share=0.02, programme_cost=500, cost_per_pilot_customer=1.0)
    e = r.estimates["spend_per_week"]
    n, weeks = e.n_pilot, 6.0
    assert n == len(pid)
    rev = r.money_item("incremental_revenue")
    assert rev == pytest.approx((e.estimate * n * weeks, e.ci_low * n * weeks, e.ci_high * n * weeks))
    pid = asg.loc[asg["group"] == "pilot", "customer_id"]
    window = log[(log["date"] >= sim.start) & (log["date"] <= sim.end) & log["customer_id"].isin(pid)]
    pilot_spend = window["amount"].sum()
    cost = 0.02 * pilot_spend + 500 + 1.0 * len(pid)          # every assigned pilot customer, analysed or not
    assert r.money_item("costed_customers")[0] == len(pid) == n + 3
    assert r.money_item("cost_base_spend")[0] == pytest.approx(pilot_spend)
    assert r.money_item("total_cost")[0] == pytest.approx(cost, rel=1e-6)
    prof = r.money_item("incremental_profit")
    assert prof == pytest.approx(tuple(0.3 * v - cost for v in rev), rel=1e-9)
    assert r.money_item("roi")[0] == pytest.approx(prof[0] / cost)
    dear = _review(sim, log, asg, margin=0.3, programme_cost=1e6)
    assert dear.verdict.startswith("reconsider") and "below the cost" in dear.verdict
    assert "reconsider" in dear.summary_text()


def test_discount_already_in_amounts_is_costed_at_full_price(sim, pilot_case):
    log, asg, _ = pilot_case
    base = _review(sim, log, asg, margin=0.25)
    d = 0.1
    r = _review(sim, log, asg, margin=0.25, discount_share=d)
    pid = asg.loc[asg["group"] == "pilot", "customer_id"]
    window = log[(log["date"] >= sim.start) & (log["date"] <= sim.end) & log["customer_id"].isin(pid)]
    given = window["amount"].sum() * d / (1 - d)
    assert r.money_item("discount_cost")[0] == pytest.approx(given)
    # profit = margin x (revenue change + discount) - discount
    rev = base.money_item("incremental_revenue")[0]
    assert r.money_item("incremental_profit")[0] == pytest.approx(0.25 * (rev + given) - given)


# ------------------------------------------------------------------ bad input


def _write(tmp_path, name, frame):
    p = tmp_path / name
    frame.to_csv(p, index=False)
    return p


def test_assignment_errors_name_file_row_and_column(tmp_path, sim, pilot_case):
    log, asg, _ = pilot_case
    bad = asg[["customer_id", "group"]].copy()
    bad.loc[5, "group"] = "treatment"
    with pytest.raises(DataError) as info:
        _review(sim, log, _write(tmp_path, "a.csv", bad))
    assert info.value.column == "group" and info.value.rows == [7] and "a.csv" in str(info.value)
    dup = pd.concat([asg.iloc[:3], asg.iloc[[1]], asg.iloc[3:]], ignore_index=True)
    with pytest.raises(DataError, match="more than once") as info:
        _review(sim, log, _write(tmp_path, "b.csv", dup))
    assert info.value.rows == [5]
    with pytest.raises(DataError, match="customer_id or store_id|'customer_id,group'"):
        _review(sim, log, asg.rename(columns={"customer_id": "id"}))
    with pytest.raises(DataError, match="no customers assigned to the control group"):
        _review(sim, log, asg.assign(group="pilot"))
    with pytest.raises(DataError, match="true/false") as info:
        _review(sim, log, asg.assign(enrolled="maybe"))
    assert info.value.column == "enrolled"
    with pytest.raises(DataError, match="not found"):
        _review(sim, log, tmp_path / "missing.csv")


def test_date_errors(sim, pilot_case):
    log, asg, _ = pilot_case
    with pytest.raises(ConfigError) as info:
        review_trial(log, asg, start=sim.end, end=sim.start)
    assert info.value.field == "end" and "reversed" in str(info.value)
    with pytest.raises(DataError, match="does not cover the pilot window"):
        review_trial(log, asg, start=sim.start, end="2027-01-01")
    with pytest.raises(DataError, match="after the log's last purchase"):
        review_trial(log, asg, start="2027-01-01", end="2027-02-01")
    with pytest.raises(DataError, match="no pre-period"):
        review_trial(log, asg, start="2026-01-05", end=sim.end)
    with pytest.raises(DataError, match="pre_weeks <= 8"):
        review_trial(log, asg, start=sim.start, end=sim.end, pre_weeks=20)
    with pytest.raises(ConfigError) as info:
        review_trial(log, asg, start=sim.start, end=sim.end, pre_period=("2026-01-05", sim.start))
    assert info.value.field == "pre_period" and "overlaps" in str(info.value)
    with pytest.raises(ConfigError) as info:
        review_trial(log, asg, start="not a date", end=sim.end)
    assert info.value.field == "start"


def test_other_input_errors(sim, pilot_case):
    log, asg, _ = pilot_case
    with pytest.raises(ConfigError) as info:
        _review(sim, log, asg, margin=1.5)
    assert info.value.field == "margin"
    with pytest.raises(ConfigError) as info:
        _review(sim, log, asg, programme_cost=-1)
    assert info.value.field == "programme_cost"
    with pytest.raises(DataError, match="no 'store_id' column"):
        _review(sim, log.drop(columns="store_id"), pd.DataFrame({"store_id": ["S01", "S02"], "group": ["pilot", "control"]}))
    # every pilot customer silent before the pilot: a group with no analysable customers
    pid = asg.loc[asg["group"] == "pilot", "customer_id"]
    quiet = log[~(log["customer_id"].isin(pid) & (log["date"] < pd.Timestamp(sim.start)))]
    with pytest.raises(DataError, match="pilot group has 0 customer"):
        _review(sim, quiet, asg)
    with pytest.raises(DataError, match="amount"):
        _review(sim, log.assign(amount=log["amount"].where(log.index != 3)), asg)
    with pytest.raises(DataError, match="at least 2 pilot and 2 control stores"):
        _review(sim, log, pd.DataFrame({"store_id": ["S01", "S02", "S03"], "group": ["pilot", "control", "control"]}))


# ------------------------------------------------------------------ output


def test_to_dict_is_json_with_the_required_keys(sim, pilot_case):
    log, asg, _ = pilot_case
    d = _review(sim, log, asg, margin=0.3, reward_cost_share=0.02).to_dict()
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text)["verdict"] == d["verdict"]
    for metric in ("purchases_per_week", "spend_per_week", "mean_ticket", "retention"):
        m = d["metrics"][metric]
        for k in ("estimate", "ci_low", "ci_high", "relative_effect", "p_value", "method"):
            assert k in m, (metric, k)
        assert m["method"] in ("did", "cuped") and m["alternatives"]
    for k in ("incremental_revenue", "incremental_gross_profit", "reward_cost", "programme_cost", "incremental_profit",
              "roi"):
        assert {"estimate", "ci_low", "ci_high"} <= set(d["money"][k])
    assert {"pre_trend", "srm", "coverage", "balance"} <= set(d["checks"])
    assert d["settings"]["definitions"]["retention"].startswith("share of pre-period-active")


def test_summary_text_says_what_how_much_how_sure_and_worth(sim, pilot_case):
    log, asg, _ = pilot_case
    text = _review(sim, log, asg, margin=0.3).summary_text()
    for phrase in ("Purchase frequency", "expected without it", "95% interval", "Worth:", "Verdict:", "CUPED"):
        assert phrase in text


def test_cli_run_prints_text_json_and_writes_files(tmp_path, capsys, sim, pilot_case):
    from loyalty_sim.trial import review_cli

    log, asg, _ = pilot_case
    log_path = tmp_path / "log.csv"
    log.assign(date=log["date"].dt.strftime("%Y-%m-%d"))[["customer_id", "date", "amount", "store_id"]].to_csv(
        log_path, index=False)
    asg_path = _write(tmp_path, "asg.csv", asg)
    parser = review_cli.add_arguments(argparse.ArgumentParser())
    base = ["--log", str(log_path), "--assignment", str(asg_path), "--start", sim.start, "--end", sim.end,
            "--margin", "0.3", "--reward-cost-share", "0.02", "--duplicates", "keep"]
    assert review_cli.run(parser.parse_args(base)) == 0
    out = capsys.readouterr().out
    assert "Verdict:" in out and "cuped *" in out
    assert review_cli.run(parser.parse_args(base + ["--json", "--out", str(tmp_path / "out")])) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["metrics"]["spend_per_week"]["method"] == "cuped"
    for name in ("review.json", "effects.csv", "before_after.csv", "event_study.csv", "money.csv"):
        assert (tmp_path / "out" / name).is_file()
    eff = pd.read_csv(tmp_path / "out" / "effects.csv")
    text_cols = [c for c in eff.columns if not pd.api.types.is_numeric_dtype(eff[c])]
    assert text_cols and not any(eff[c].astype(str).str.match(r"^[=+\-@]").any() for c in text_cols)
    assert not list(tmp_path.joinpath("out").glob(".*.tmp"))
    with pytest.raises(DataError):
        review_cli.run(parser.parse_args(base[:-2] + ["--start", "2027-01-01", "--end", "2027-02-01"]))


# ------------------------------------------------------------------ plots


def test_plots_draw_the_expected_artists(sim, pilot_case):
    import matplotlib.pyplot as plt

    from loyalty_sim.plots.trial import plot_before_after, plot_event_study, plot_trial_money

    log, asg, _ = pilot_case
    r = _review(sim, log, asg, margin=0.3, reward_cost_share=0.02, programme_cost=300)
    fig, axes = plt.subplots(1, 3)
    try:
        ax = plot_event_study(r, ax=axes[0])
        line = [ln for ln in ax.get_lines() if ln.get_label() == "weekly effect"][0]
        assert len(line.get_xdata()) == 14
        assert np.allclose(line.get_ydata(), r.event_study.query("metric == 'purchases_per_week'")["estimate"])
        assert len(ax.collections) >= 1 and ax.get_title() and "per week" in ax.get_ylabel()
        ax = plot_before_after(r, ax=axes[1])
        heights = [p.get_height() for p in ax.patches]
        ba = r.before_after.query("metric == 'purchases_per_week'").set_index("group")
        assert heights == pytest.approx([ba.loc["pilot", "pre"], ba.loc["control", "pre"],
                                         ba.loc["pilot", "post"], ba.loc["control", "post"]])
        assert ax.get_ylabel() == "purchases per customer per week" and ax.get_title()
        ax = plot_trial_money(r, ax=axes[2])
        widths = [p.get_width() for p in ax.patches]
        assert len(widths) == 5
        assert widths[-1] == pytest.approx(r.money_item("incremental_profit")[0])
        assert widths[3] == pytest.approx(-300.0)
        assert "currency" in ax.get_xlabel() and r.verdict_word in ax.get_title()
    finally:
        plt.close(fig)


def test_a_gap_in_the_log_is_flagged(sim, pilot_case):
    log, asg, _ = pilot_case
    start = pd.Timestamp(sim.start)
    gap = (log["date"] >= start - pd.Timedelta(days=21)) & (log["date"] < start - pd.Timedelta(days=14))
    r = _review(sim, log[~gap], asg)
    assert any("gap in the log" in w for w in r.warnings)


def test_assignment_written_by_the_design_reads_back_with_escaped_ids(tmp_path):
    """Ids such as '-c7' are escaped for spreadsheets when written; the review reads them as the ids."""
    from loyalty_sim.trial.design import write_assignment
    from loyalty_sim.trial.review import read_assignment

    frame = pd.DataFrame({"customer_id": ["-c7", "=x", "c1", "+4"], "group": ["pilot", "control", "pilot", "control"]})
    path = tmp_path / "assignment.csv"
    write_assignment(frame, path)
    assert "'-c7" in path.read_text()
    asg = read_assignment(path)
    assert sorted(asg.ids) == sorted(["-c7", "=x", "c1", "+4"])      # '+4' is kept, as read_log keeps it


# ------------------------------------------------------------------ review defects (regression tests)


def _boost(sim, log, ids, factor=1.6):
    """The pilot customers' window amounts scaled up: a large, certain effect on spend."""
    win = (log["date"] >= pd.Timestamp(sim.start)) & log["customer_id"].isin(ids)
    return log.assign(amount=np.where(win, log["amount"] * factor, log["amount"]))


def test_a_pilot_group_that_vanishes_from_the_window_is_an_error(sim, pilot_case):
    """Pilot customers with new card ids during the pilot used to give -100% effects, p = 0 and 'reconsider'."""
    log, asg, _ = pilot_case
    pid = asg.loc[asg["group"] == "pilot", "customer_id"]
    during = log["date"] >= pd.Timestamp(sim.start)
    moved = log["customer_id"].isin(pid) & during
    new_ids = log.assign(customer_id=np.where(moved, log["customer_id"] + 10**8, log["customer_id"]))
    with pytest.raises(DataError, match="pilot group.*no purchase at all in the pilot window.*new ids"):
        _review(sim, new_ids, asg, margin=0.3, programme_cost=100)


def test_a_group_whose_activity_collapses_is_flagged(sim, pilot_case):
    log, asg, _ = pilot_case
    pid = asg.loc[asg["group"] == "pilot", "customer_id"]
    rng = np.random.default_rng(4)
    gone = log["customer_id"].isin(pid) & (log["date"] >= pd.Timestamp(sim.start)) & (rng.random(len(log)) < 0.9)
    r = _review(sim, log[~gone], asg, margin=0.3, programme_cost=100)
    act = r.checks["activity"]
    assert act["collapsed"] == ["pilot"] and act["groups"]["pilot"]["ratio"] < 0.2 < act["groups"]["control"]["ratio"]
    assert any("pilot group's purchase frequency fell to" in w for w in r.warnings)
    assert not r.checks["passed"] and "activity collapse in the pilot group" in r.verdict


def _tiny_log(start="2026-03-02", buyers_in_window=(0,), price=None, seed=0):
    """20 customers (0-9 pilot, 10-19 control) buying weekly for 8 weeks, then some during a 4-week pilot."""
    rng = np.random.default_rng(seed)
    s = pd.Timestamp(start)
    rows = []
    for cust in range(20):
        for w in range(-8, 4):
            if w >= 0 and cust < 10 and cust not in buyers_in_window:
                continue
            amount = price if price is not None else round(float(rng.gamma(4.0, 5.0)), 2)
            rows.append((cust, s + pd.Timedelta(days=7 * w + cust % 7), amount, f"S{cust % 4 + 1}"))
    log = pd.DataFrame(rows, columns=["customer_id", "date", "amount", "store_id"])
    asg = pd.DataFrame({"customer_id": range(20), "group": ["pilot"] * 10 + ["control"] * 10})
    return log, asg, start, str((s + pd.Timedelta(days=27)).date())


def test_mean_ticket_without_an_estimate_is_warned_once():
    log, asg, start, end = _tiny_log(buyers_in_window=(0, 1, 2, 3, 4, 5, 6))
    # only one pilot customer bought in both periods once the others' pilot rows go
    log = log[~(log["customer_id"].between(1, 6) & (log["date"] < pd.Timestamp(start)))]
    asg = asg[~asg["customer_id"].between(1, 6)]
    r = review_trial(log, asg, start=start, end=end, margin=0.3, programme_cost=10)
    ticket = [w for w in r.warnings if w.startswith("mean ticket")]
    assert len(ticket) == 1 and "no estimate" in ticket[0]
    assert "mean_ticket" not in r.estimates


def test_a_zero_variance_metric_has_no_interval_rather_than_p_zero():
    """Every purchase at one price: each customer's mean ticket is that price in both periods."""
    log, asg, start, end = _tiny_log(buyers_in_window=tuple(range(10)), price=4.5)
    r = review_trial(log, asg, start=start, end=end, margin=0.3, programme_cost=10)
    e = r.estimates["mean_ticket"]
    assert e.estimate == pytest.approx(0.0) and np.isnan(e.p_value) and np.isnan(e.ci_low) and np.isnan(e.ci_high)
    assert any("mean ticket: no interval or p-value" in w for w in r.warnings)
    json.dumps(r.to_dict(), allow_nan=False)
    assert "cannot say how sure" in r.summary_text()
    from loyalty_sim.trial.review_cli import effects_text

    assert "n/a (zero standard error)" in effects_text(r)


def test_verdict_without_costs_is_uncertain_not_pays(sim, pilot_case):
    log, asg, _ = pilot_case
    pid = asg.loc[asg["group"] == "pilot", "customer_id"]
    r = _review(sim, _boost(sim, log, pid), asg, margin=0.3)
    assert r.money_item("incremental_profit")[1] > 0                 # certain gain, but nothing was costed
    assert r.verdict.startswith("uncertain: no costs given") and r.verdict_word == "uncertain"
    costed = _review(sim, _boost(sim, log, pid), asg, margin=0.3, reward_cost_share=0.01)
    assert costed.verdict_word == "pays"


def test_failed_checks_are_named_in_the_verdict_and_downgrade_pays(sim, pilot_case):
    log, asg, _ = pilot_case
    pid = asg.loc[asg["group"] == "pilot", "customer_id"]
    control = asg.loc[asg["group"] == "control", "customer_id"]
    lost = control.iloc[: len(control) // 3]
    boosted = _boost(sim, log, pid)
    r = _review(sim, boosted[~boosted["customer_id"].isin(lost)], asg, margin=0.3, reward_cost_share=0.01)
    assert r.checks["srm"]["mismatch"] and r.checks["failed"] == ["sample-ratio mismatch"]
    assert r.money_item("incremental_profit")[1] > 0
    assert r.verdict.startswith("uncertain: checks failed (sample-ratio mismatch)")
    dear = _review(sim, log[~log["customer_id"].isin(lost)], asg, margin=0.3, programme_cost=1e6)
    assert dear.verdict.startswith("reconsider") and "checks failed (sample-ratio mismatch)" in dear.verdict


def test_before_after_figures_and_the_effect_share_one_definition(sim, pilot_case):
    """'X during the pilot against Y expected': X - Y is the effect, for every metric (mean ticket included)."""
    log, asg, _ = pilot_case
    r = _review(sim, log, asg, margin=0.3, programme_cost=100)
    ba = r.before_after.set_index(["metric", "group"])
    for metric, e in r.estimates.items():
        x = ba.loc[(metric, "pilot"), "post"]
        assert x - e.counterfactual == pytest.approx(e.estimate, rel=1e-9, abs=1e-12), metric
    # the mean ticket is each customer's spend / purchases, averaged over customers who bought in both periods
    start = pd.Timestamp(sim.start)
    pre = log[(log["date"] < start) & (log["date"] >= start - pd.Timedelta(weeks=8))]
    post = log[log["date"] >= start]

    def ticket(frame):
        g = frame.groupby("customer_id")
        return g["amount"].sum() / g["amount"].apply(lambda a: (a > 0).sum())

    tp, tq = ticket(pre), ticket(post)
    pilots = set(asg.loc[asg["group"] == "pilot", "customer_id"])
    both = [c for c in tp.index.intersection(tq.index) if c in pilots and tq[c] == tq[c]]
    assert ba.loc[("mean_ticket", "pilot"), "pre"] == pytest.approx(tp[both].mean(), rel=1e-9)
    assert ba.loc[("mean_ticket", "pilot"), "post"] == pytest.approx(tq[both].mean(), rel=1e-9)
    text = r.summary_text()
    line = [ln for ln in text.splitlines() if ln.startswith("- Mean ticket")][0]
    assert f"{ba.loc[('mean_ticket', 'pilot'), 'post']:,.2f} during the pilot" in line


def test_store_pilot_costs_are_on_all_spend_in_pilot_stores(store_sim):
    sim = store_sim
    stores = sorted(sim.customers["store_id"].unique())
    asg = mk.random_stores(stores, pilots=6, seed=11)
    pilot_stores = set(asg.loc[asg["group"] == "pilot", "store_id"])
    ids = sim.customers.loc[sim.customers["store_id"].isin(pilot_stores), "customer_id"]
    log = sim.log(ids)
    # walk-ins first seen during the pilot, buying in pilot stores: not analysed, but they earned rewards
    walk = pd.DataFrame({"customer_id": [8_000_001, 8_000_002, 8_000_002], "date": pd.Timestamp(sim.start),
                         "amount": [30.0, 20.0, 25.0], "store_id": sorted(pilot_stores)[0]})
    log = pd.concat([log, walk], ignore_index=True)
    r = review_trial(log, asg, start=sim.start, end=sim.end, margin=0.3, reward_cost_share=0.05,
                     cost_per_pilot_customer=2.0)
    window = log[(log["date"] >= pd.Timestamp(sim.start)) & (log["date"] <= pd.Timestamp(sim.end))]
    in_pilot = window[window["store_id"].isin(pilot_stores)]
    buyers = in_pilot.loc[in_pilot["amount"] > 0, "customer_id"].nunique()
    assert r.money_item("cost_base_spend")[0] == pytest.approx(in_pilot["amount"].sum())
    assert r.money_item("costed_customers")[0] == buyers
    assert {8_000_001, 8_000_002} <= set(in_pilot["customer_id"])          # the walk-ins are costed
    assert r.money_item("reward_cost")[0] == pytest.approx(0.05 * in_pilot["amount"].sum())
    assert r.money_item("programme_cost")[0] == pytest.approx(2.0 * buyers)
    assert "pilot stores" in r.settings["cost_basis"]


def test_store_pilot_naive_enrolment_interval_respects_clustering(store_sim):
    from loyalty_sim.trial.estimators import unit_effect

    sim = store_sim
    stores = sorted(sim.customers["store_id"].unique())
    asg = mk.random_stores(stores, pilots=6, seed=12)
    pilot_stores = sorted(asg.loc[asg["group"] == "pilot", "store_id"])
    ids = sim.customers.loc[sim.customers["store_id"].isin(pilot_stores), "customer_id"]
    log = sim.log(ids)
    asg = asg.assign(enrolled=asg["store_id"].isin(pilot_stores[:3]))     # half the pilot stores signed up
    r = review_trial(log, asg, start=sim.start, end=sim.end, margin=0.3, programme_cost=100)
    naive = r.checks["self_selection"]["naive"]["spend_per_week"]
    assert "cluster-robust by store" in naive["definition"]
    # the customer-level (Welch) interval of the same comparison is far narrower
    pre_end = pd.Timestamp(sim.start)
    pre = log[(log["date"] < pre_end) & (log["date"] >= pre_end - pd.Timedelta(weeks=8))]
    home = pre.groupby("customer_id")["store_id"].agg(lambda s: s.value_counts().index[0])
    post = log[log["date"] >= pre_end].groupby("customer_id")["amount"].sum().reindex(home.index, fill_value=0) / 6
    y, flag = post.to_numpy(), home.isin(pilot_stores[:3]).to_numpy()
    welch = unit_effect(None, y, flag)
    assert naive["estimate"] == pytest.approx(welch.estimate, rel=1e-9)
    # oracle: linearised cluster-robust variance of the difference of means, G / (G - 1), t on G - 1 df
    u = np.where(flag, (y - y[flag].mean()) / flag.sum(), -(y - y[~flag].mean()) / (~flag).sum())
    totals = pd.Series(u).groupby(home.to_numpy()).sum().to_numpy()
    g = totals.size
    half = stats.t.ppf(0.975, g - 1) * np.sqrt(g / (g - 1) * (totals ** 2).sum())
    assert (naive["ci_low"], naive["ci_high"]) == pytest.approx((welch.estimate - half, welch.estimate + half))
    assert naive["ci_high"] - naive["ci_low"] > 1.3 * (welch.ci_high - welch.ci_low)


def test_ids_are_matched_as_read_log_keeps_them(sim, pilot_case, tmp_path):
    """'007' is not customer 7, '1_000' is not 1000 and huge float ids do not overflow."""
    from loyalty_sim.ids import normalise_ids as _norm_ids
    from loyalty_sim.trial.review import read_assignment

    log, asg, _ = pilot_case
    padded = asg.assign(customer_id=asg["customer_id"].map(lambda v: f"{v:07d}"))
    r = _review(sim, log, pd.concat([asg.iloc[:-40], padded.iloc[-40:]], ignore_index=True))
    cov = r.checks["coverage"]
    assert cov["assigned_not_in_log"] == 40
    warning = [w for w in r.warnings if "are not in the log" in w][0]
    assert "40 of the missing ids match an unmatched log id only if leading zeros" in warning
    assert "0000" not in warning                                       # counts, never ids
    assert list(_norm_ids(np.array(["007", " 7", "+7", "7.0", "1_000"], dtype=object))) == \
        ["007", "7", "+7", "7.0", "1_000"]
    assert list(_norm_ids(np.array([7, 7.0, 1e20, 2**70], dtype=object))) == ["7", "7", "1e+20", str(2**70)]
    # the log read from a file agrees: a mixed column stays text, so 007 and 7 are two customers
    from loyalty_sim.logs import read_log

    path = tmp_path / "log.csv"
    path.write_text("customer_id,date,amount\n007,2026-01-05,5\n7,2026-01-06,6\n1_000,2026-01-07,1\n")
    ids = read_log(path).data["customer_id"]
    assert sorted(_norm_ids(ids.unique())) == sorted(read_assignment(pd.DataFrame(
        {"customer_id": ["007", "7", "1_000"], "group": ["pilot", "control", "pilot"]})).ids)


@pytest.mark.parametrize("ids, rows", [
    ([" 7", "7", "8", "9"], [2, 3]),
    (["'-c7", "-c7", "8", "9"], [2, 3]),
    ([7, "7", "8", "9"], [2, 3]),
])
def test_ids_that_normalise_to_one_are_an_error_naming_the_rows(ids, rows):
    from loyalty_sim.trial.review import read_assignment

    frame = pd.DataFrame({"customer_id": pd.Series(ids, dtype=object), "group": ["pilot", "control"] * 2})
    with pytest.raises(DataError, match="become the same id") as info:
        read_assignment(frame)
    assert info.value.rows == rows and info.value.column == "customer_id"
    with pytest.raises(DataError, match="more than once"):
        read_assignment(pd.DataFrame({"customer_id": ["7", "7", "8"], "group": ["pilot", "control", "pilot"]}))


def test_unassigned_log_customers_are_warned_about_by_count(sim, pilot_case):
    log, asg, _ = pilot_case
    dropped = asg.iloc[::5]
    r = _review(sim, log, asg.drop(index=dropped.index))
    cov = r.checks["coverage"]
    assert cov["log_customers_active_in_pre_not_assigned"] == len(dropped)
    warning = [w for w in r.warnings if "are not in the assignment" in w]
    assert len(warning) == 1 and f"{len(dropped):,} of" in warning[0]
    assert not any(str(v) in warning[0].split("(")[0] for v in dropped["customer_id"].iloc[:5] if v > 999)
    assert not any("not in the assignment" in w for w in _review(sim, log, asg).warnings)


def test_a_refund_alone_is_not_a_purchase_for_retention(sim, pilot_case):
    log, asg, _ = pilot_case
    r = _review(sim, log, asg)
    start = pd.Timestamp(sim.start)
    active = set(log.loc[log["date"] >= start, "customer_id"])
    quiet = [c for c in asg.loc[asg["group"] == "pilot", "customer_id"] if c not in active][:5]
    assert quiet
    refunds = pd.DataFrame({"customer_id": quiet, "date": start + pd.Timedelta(days=3), "amount": -5.0,
                            "store_id": "S01"})
    r2 = _review(sim, pd.concat([log, refunds], ignore_index=True), asg)
    ba, ba2 = (x.before_after.set_index(["metric", "group"]) for x in (r, r2))
    assert ba2.loc[("retention", "pilot"), "post"] == ba.loc[("retention", "pilot"), "post"]
    assert r2.estimates["retention"].estimate == pytest.approx(r.estimates["retention"].estimate)
