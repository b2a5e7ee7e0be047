"""The words of a pilot: the design's summary, the review's summary, its effects and checks tables.

Every number goes through :mod:`loyalty_sim.text.format`. The functions read the
result objects (:class:`~loyalty_sim.trial.design.TrialDesign`,
:class:`~loyalty_sim.trial.review.TrialReview`) and compute nothing.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import pandas as pd

from .format import not_available, number, p_value, percent, points

__all__ = ["checks_table", "design_summary", "effects_table", "how_sure", "review_summary"]

# plain names and units of the outcomes (kept here so that text needs no import of the computation)
_DESIGN_LABELS = {"frequency": "purchase frequency", "spend": "spend per customer", "retention": "retention"}
_REVIEW_LABELS = {"purchases_per_week": ("purchase frequency", "purchases per customer per week"),
                  "spend_per_week": ("spend per customer", "currency per customer per week"),
                  "mean_ticket": ("mean ticket", "currency per purchase"),
                  "retention": ("retention", "share of pre-period-active customers who bought during the pilot")}


# --------------------------------------------------------------------------- design


def _design_formatter(metric: str) -> Callable[..., str]:
    """Values of a design metric: retention as percent (effects in points), frequency 3 and spend 2 decimals."""
    def fmt(v: float, sign: bool = False) -> str:
        if metric == "retention":
            return points(v, 1) if sign else percent(v, 1)
        return number(v, 3 if metric == "frequency" else 2, sign=sign)
    return fmt


def _design_metric_lines(r: Any, s: dict[str, Any], lvl: str) -> list[str]:
    name = _DESIGN_LABELS.get(r["metric"], r["metric"])
    fmt = _design_formatter(r["metric"])
    rel, mde_rel, sim_mde, sim_p = (r["true_relative_effect"], r["analytic_mde_relative"], r["simulated_mde"],
                                    r["simulated_power"])
    lines = [f"{name.capitalize()} ({r['unit']}):",
             f"  the scheme's simulated effect is {fmt(r['true_effect'], sign=True)}"
             f"{'' if not math.isfinite(rel) else f' ({percent(rel, 1, sign=True)})'} "
             f"on a baseline of {fmt(r['baseline_mean'])}.",
             f"  smallest effect detectable with {lvl} power: {fmt(r['analytic_mde'])}"
             f"{'' if not math.isfinite(mde_rel) else f' ({percent(mde_rel, 1)})'} analytic"
             f"{'' if not math.isfinite(sim_mde) else f', {fmt(sim_mde)} simulated'}.",
             f"  power to detect the simulated effect: "
             f"{'' if not math.isfinite(sim_p) else f'{percent(sim_p, 0)} simulated, '}"
             f"{percent(r['analytic_power'], 0)} analytic."]
    if math.isfinite(r["null_rejection"]):
        lines.append(f"  check without a scheme: an effect was wrongly found in {percent(r['null_rejection'], 1)} "
                     f"of {s['rerandomisations']} re-randomisations (expected about {100 * s['alpha']:g}%).")
    return lines


def design_summary(design: Any) -> str:
    """The design of a pilot in plain language (:class:`~loyalty_sim.trial.design.TrialDesign`)."""
    s = design.settings
    lvl = percent(s["target_power"], 0)
    who = (f"{number(s['n_units'], 0)} customers" if s["unit"] == "customer"
           else f"{s['stores']} stores ({number(s['n_units'], 0)} customers)")
    lines = [
        f"Pilot design for scheme '{s['scheme']}' on population '{s['population']}'",
        f"{who} active in the {s['pre_weeks']} weeks before the pilot; {percent(s['share'], 0)} of "
        f"{'customers' if s['unit'] == 'customer' else 'stores'} in the pilot, assigned at random by "
        f"{s['unit']} ({s['strata_text']}); pilot of {s['weeks']} weeks; {100 * s['alpha']:g}% significance, "
        f"target power {lvl}.",
        "",
    ]
    for _, r in design.metrics.iterrows():
        lines += _design_metric_lines(r, s, lvl)
    lines += ["", f"Recommendation: {design.recommendation.get('statement', '')}"]
    lines += ["", f"Review the pilot with the estimator these figures are for (method '{s['resolved_method']}', "
                  f"as loyalty-sim trial review does), on the customers active in the {s['pre_weeks']} weeks "
                  f"before it: {s['method_description']}."]
    if s["unit"] == "store":
        lines.append(f"Store-level shocks: {s['store_text']}.")
    return "\n".join(lines)


# --------------------------------------------------------------------------- review


def how_sure(p: float) -> str:
    """How sure an effect is not chance, in words, from its p-value."""
    if p is None or not math.isfinite(p):
        return "cannot say how sure"
    if p < 0.001:
        return "very unlikely to be chance (p < 0.001)"
    if p < 0.05:
        return f"unlikely to be chance (p = {number(p, 3)})"
    return f"could well be chance (p = {number(p, 2)})"


def unassigned_customers(coverage: dict[str, Any]) -> int:
    """Customers who bought in the review windows but are not in the assignment (customer or store pilots)."""
    return int(coverage.get("log_customers_in_window_not_assigned",
                            coverage.get("customers_with_unassigned_home_store", 0)))


def _effect_line(r: Any, metric: str, lvl: str) -> str:
    e = r.estimates[metric]
    label, unit = _REVIEW_LABELS[metric]
    ba = r.before_after[(r.before_after["metric"] == metric) & (r.before_after["group"] == "pilot")].iloc[0]
    if metric == "retention":
        return (f"- {label.capitalize()} (share of pre-period buyers who bought again during the pilot): "
                f"{percent(ba['post'], 1)} of pilot customers did, against "
                f"{percent(e.counterfactual, 1)} expected without it: {points(e.estimate, 1)} "
                f"({lvl} interval {number(100 * e.ci_low, 1, sign=True)} to {number(100 * e.ci_high, 1, sign=True)}); "
                f"{how_sure(e.p_value)}.")
    digits = 3 if metric == "purchases_per_week" else 2
    rel_lo, rel_hi = e.relative_ci
    return (f"- {label.capitalize()} ({unit}): {number(ba['post'], digits)} during the pilot against "
            f"{number(e.counterfactual, digits)} expected without it: {number(e.estimate, digits, sign=True)} "
            f"({percent(e.relative_effect, sign=True)}; {lvl} interval {percent(rel_lo, sign=True)} to "
            f"{percent(rel_hi, sign=True)}); {how_sure(e.p_value)}."
            + (" Read it as descriptive: only customers who bought in both periods." if metric == "mean_ticket" else ""))


def _money_line(r: Any, lvl: str) -> str:
    rev, gp, prof, roi = (r.money_item(k) for k in ("incremental_revenue", "incremental_gross_profit",
                                                     "incremental_profit", "roi"))
    cost = r.money_item("total_cost")[0]
    be = r.money_item("break_even_spend_effect")[0]

    def m(x: float) -> str:
        return number(x, 0, sign=True)

    text = (f"Worth: {m(rev[0])} incremental revenue over the pilot ({lvl} interval {m(rev[1])} to {m(rev[2])}), "
            f"{m(gp[0])} gross profit at a {percent(r.settings['margin'], 0)} margin, against {number(cost, 0)} of "
            f"costs: incremental profit {m(prof[0])} ({m(prof[1])} to {m(prof[2])})")
    if math.isfinite(roi[0]):
        text += (f", ROI {percent(roi[0], 0, sign=True)} ({percent(roi[1], 0, sign=True)} to "
                 f"{percent(roi[2], 0, sign=True)})")
    text += "."
    if cost > 0 and math.isfinite(be):
        text += f" To break even, spend per pilot customer had to rise by {number(be, 2)} a week."
    return text


def review_summary(review: Any) -> str:
    """What changed, by how much, how sure, what it is worth, the verdict (a :class:`TrialReview`)."""
    r, s = review, review.settings
    lvl = percent(r.level, 0)
    cov = r.checks["coverage"]
    unit_txt = "customers" if s["unit"] == "customer" else "stores"
    lines = [f"Trial review: pilot from {s['start']} to {s['end']} ({number(s['pilot_weeks'], 1)} weeks), compared "
             f"with {number(s['pre_weeks'], 1)} weeks before it ({s['pre_start']} to {s['pre_end']}); {unit_txt} were "
             "assigned.",
             f"Analysed: {number(cov['analysed_pilot'], 0)} pilot and {number(cov['analysed_control'], 0)} control "
             "customers who bought in the pre-period."]
    unassigned = unassigned_customers(cov)
    if cov["assigned_not_in_log"] or unassigned:
        lines.append(f"Ids: {number(cov['assigned_not_in_log'], 0)} of {number(cov['assigned'], 0)} assigned "
                     f"{unit_txt} are not in the log; {number(unassigned, 0)} customers who bought in the review "
                     "windows are not in the assignment (neither is analysed).")
    lines += [_effect_line(r, m, lvl) for m in ("purchases_per_week", "spend_per_week", "retention", "mean_ticket")
              if m in r.estimates]
    primary = r.effects[r.effects["primary"]]["method"].iloc[0]
    lines.append(f"Method: {'CUPED' if primary == 'cuped' else 'difference in differences'} "
                 f"({s['primary_method_reason']}); the other estimator is in the effects table.")
    lines.append(_money_line(r, lvl))
    lines.append(f"Verdict: {r.verdict}." + ("" if r.checks["passed"] else
                                             " Some checks failed (below): treat the figures with caution."))
    if r.warnings:
        lines.append("Before you trust this:")
        lines.extend(f"- {w}" for w in r.warnings)
    else:
        lines.append("Checks: pre-trend, balance and sample ratio passed; every assigned unit was found in the log.")
    return "\n".join(lines)


def effects_table(review: Any) -> str:
    """The effects table as aligned text (every estimator, the primary one marked with ``*``)."""
    lvl = f"{percent(review.level, 0)} interval"
    rows = []
    for _, r in review.effects.iterrows():
        digits = 4 if r["metric"] in ("purchases_per_week", "retention") else 2
        rows.append({"metric": _REVIEW_LABELS[r["metric"]][0], "method": r["method"] + (" *" if r["primary"] else ""),
                     "effect": number(r["estimate"], digits, sign=True),
                     lvl: (not_available("zero standard error") if pd.isna(r["ci_low"]) else
                           f"{number(r['ci_low'], digits, sign=True)} to {number(r['ci_high'], digits, sign=True)}"),
                     "relative": percent(r["relative_effect"], 1, sign=True),
                     "p": p_value(r["p_value"])})
    table = pd.DataFrame(rows).to_string(index=False)
    return f"{table}\n(* primary estimator; relative = effect / counterfactual mean of the pilot group)"


def checks_table(review: Any) -> pd.DataFrame:
    """The review's checks, one row each: ``result`` in words and the ``p-value`` where there is one."""
    checks = {k: (v or {}) for k, v in review.checks.items() if isinstance(v, dict) or v is None}
    pre, srm, bal = checks.get("pre_trend", {}), checks.get("srm", {}), checks.get("balance", {})
    cov, sel = checks.get("coverage", {}), checks.get("self_selection", {})

    def outcome(check: dict[str, Any], failed: bool) -> str:
        return "not checked" if check.get("p_value") is None else ("FAILED" if failed else "passed")

    rows = [
        {"check": "pre-trend: slope of the pilot - control gap before the pilot",
         "result": outcome(pre, bool(pre.get("failed"))), "p-value": pre.get("p_value")},
        {"check": "sample ratio: pilot share as planned", "result": outcome(srm, bool(srm.get("mismatch"))),
         "p-value": srm.get("p_value")},
        {"check": "balance: pre-period purchase frequency of the two groups", "result": "see p-value",
         "p-value": bal.get("p_value")},
        {"check": "assigned ids missing from the log",
         "result": f"{number(cov.get('assigned_not_in_log', 0), 0)} of {number(cov.get('assigned', 0), 0)}",
         "p-value": None},
        {"check": "log customers in the windows who are not in the assignment",
         "result": number(unassigned_customers(cov), 0), "p-value": None},
        {"check": "self-selection into the pilot",
         "result": ("WARNING: pilot customers chose to take part" if sel.get("self_selected") else
                    "enrolment recorded: intention-to-treat shown" if sel else "assigned at random"), "p-value": None},
    ]
    return pd.DataFrame(rows).set_index("check")


_METRIC_WORDS = {"purchases_per_week": "purchases per customer per week", "spend_per_week": "spend per customer per week",
                 "mean_ticket": "mean ticket", "retention": "retention (share still buying)"}
_METHOD_WORDS = {"did": "difference in differences", "cuped": "CUPED (pre-period adjusted)",
                 "diff": "simple difference"}


def effects_frame(review: Any, currency: str | None = None) -> pd.DataFrame:
    """The effects table in words: metric, method, estimate with interval, relative effect, p-value, group sizes."""
    from .format import interval, p_value, percent

    rows = []
    for _, r in review.effects.iterrows():
        digits = 3 if r["metric"] != "retention" else 3
        rows.append({"metric": _METRIC_WORDS.get(r["metric"], str(r["metric"]).replace("_", " ")),
                     "method": _METHOD_WORDS.get(r["method"], r["method"]) + (" (primary)" if r["primary"] else ""),
                     "effect": number(r["estimate"], digits, sign=True),
                     "interval": interval(r["ci_low"], r["ci_high"], number, digits=digits, sign=True,
                                          missing="no interval"),
                     "relative": percent(r["relative_effect"], 1, sign=True, missing="no baseline"),
                     "p-value": p_value(r["p_value"], missing="no test"),
                     "pilot customers": number(r["n_pilot"], 0), "control customers": number(r["n_control"], 0)})
    return pd.DataFrame(rows)


def money_frame(review: Any, currency: str | None = None) -> pd.DataFrame:
    """The money table in words: item, estimate and interval with the currency, and what each item is."""
    from .format import interval, money

    counts = {"pilot_customers", "costed_customers", "pilot_weeks"}
    rows = []
    for _, r in review.money.iterrows():
        item = str(r["item"])
        if item in counts:
            est, span = number(r["estimate"], 0), ""
        elif item == "roi":
            est = number(r["estimate"], 2)
            span = interval(r["ci_low"], r["ci_high"], number, digits=2, missing="")
        else:
            digits = 2 if abs(float(r["estimate"]) if r["estimate"] == r["estimate"] else 0) < 100 else 0
            est = money(r["estimate"], digits, currency=currency)
            span = interval(r["ci_low"], r["ci_high"], money, digits=digits, currency=currency, missing="")
            if r["ci_low"] == r["ci_high"]:
                span = "fixed (no uncertainty)"
        unit = str(r["unit"]).replace("currency", currency or "currency").replace("cost_per_pilot_customer",
                                                                                 "the cost per pilot customer")
        rows.append({"item": item.replace("_", " ").replace("roi", "profit per unit of cost"), "estimate": est,
                     "interval": span, "what it is": unit})
    return pd.DataFrame(rows)


def programme_cost_sentence(review: Any, fixed: float, per_customer: float, currency: str | None = None) -> str:
    """Why the programme cost is more than the fixed cost typed: the per-customer cost is in it."""
    from .format import money

    m = review.money.set_index("item")["estimate"]
    if "programme_cost" not in m:
        return ""
    n = m.get("costed_customers", float("nan"))
    return (f"The programme cost of {money(m['programme_cost'], 2, currency=currency)} is the fixed "
            f"{money(fixed, 2, currency=currency)} plus {money(per_customer, 2, currency=currency)} for each of "
            f"{number(n, 0)} pilot customers charged (cards, mailings).")
