"""The words of an uncertainty analysis: both intervals, what decides the verdict, what a pilot is worth.

Text only: the numbers come from :mod:`loyalty_sim.uncertainty`; every number is written by
:mod:`loyalty_sim.text.format` and every scheme name is escaped for Markdown.
"""

from __future__ import annotations

import shlex
from typing import Any

import numpy as np

from .escape import escape_markdown as _md
from .format import money, number, percent

#: fewer draws than this give first-order indices that chance inflates by tenths
ROUGH_BELOW = 128
#: trial design's --primary for each pilot group
PRIMARY_OUTCOME = {"frequency lift": "frequency", "retention effect": "retention", "take-up": "spend"}

#: each behavioural assumption (a row of :data:`loyalty_sim.behaviour.PARAMETER_TABLE`) in a marketer's words
PLAIN_NAMES = {
    "discount_threshold": "smallest discount customers notice",
    "discount_saturation": "discount depth of the full response",
    "reward_threshold": "smallest reward value that counts",
    "reward_saturation": "reward value of the full response",
    "reward_response_exponent": "how fast small rewards take effect",
    "rate_lift_price": "purchase lift of price-sensitive buyers",
    "rate_lift_service": "purchase lift of service-minded buyers",
    "rate_lift_habitual": "purchase lift of habitual buyers",
    "dropout_cut_price": "loyalty gain of price-sensitive buyers",
    "dropout_cut_service": "loyalty gain of service-minded buyers",
    "dropout_cut_habitual": "loyalty gain of habitual buyers",
    "perk_dropout_cut_service": "perks' pull on service-minded buyers",
    "perk_dropout_cut_price": "perks' pull on price-sensitive buyers",
    "perk_dropout_cut_habitual": "perks' pull on habitual buyers",
    "heavy_rate_multiple": "how heavy a buyer must be to ignore it",
    "price_heavy_rate_multiple": "how heavy a buyer must be to ignore prices",
    "heavy_response_steepness": "how sharply heavy buyers stop responding",
    "erosion_half_life_weeks": "weeks until half the effect wears off",
    "erosion_floor": "share of the effect that never wears off",
    "goal_gradient": "speed-up close to a reward",
    "endowed_progress_lift": "pull of a card that starts part-filled",
    "post_reward_residual": "speed-up kept after a reward",
    "distance_discount_per_week": "how much a distant reward is worth less",
    "price_elasticity_price": "price response of price-sensitive buyers",
    "price_elasticity_service": "price response of service-minded buyers",
    "price_elasticity_habitual": "price response of habitual buyers",
    "max_demand_lift": "largest rise in demand from a discount",
    "discount_visit_share": "share of a discount's effect on visits",
    "devaluation_depth": "discount depth that cheapens the brand",
    "devaluation_strength": "sales lost after deep discounts end",
    "devaluation_half_life_weeks": "weeks to recover from deep discounts",
    "status_dropout_cut": "loyalty from tier status",
    "demotion_dropout_rise": "customers lost after a demotion",
    "demotion_rate_cut": "purchases lost after a demotion",
    "referral_max_rate": "most referrals a member makes",
    "referral_half_reward": "referral reward for half the referrals",
    "referred_value_premium": "extra spend of referred customers",
    "referred_premium_half_life_weeks": "weeks until that extra spend halves",
    "referred_dropout_factor": "how much longer referred customers stay",
    "offer_rate_lift": "purchase lift from a targeted offer",
    "offer_dropout_cut": "loyalty gain from a targeted offer",
    "take_up_heavy_bias": "how much more heavy buyers join",
}


def plain_name(name: str) -> str:
    """An assumption in plain words (``goal_gradient`` -> ``speed-up close to a reward``); others as written."""
    return PLAIN_NAMES.get(name, name.replace("_", " "))


def _lvl(a: Any) -> str:
    return percent(a.psa.level, 0)


def scheme_sentence(a: Any, name: str, currency: str | None = None) -> str:
    """``stamp10 adds EUR 20,049 (95% interval EUR 3,939 to EUR 36,160: ±EUR 16,106 from the assumptions, ...)``."""
    r = a.table.loc[name]
    m = lambda x: money(x, currency=currency)  # noqa: E731
    noise = m(r["noise_half_width"]) if np.isfinite(r["noise_half_width"]) else "not separated (1 replication)"
    return (f"**{_md(name)}** adds {m(r['expected'])} on average over what we don't know "
            f"({_lvl(a)} interval {m(r['low'])} to {m(r['high'])}: ±{m(r['assumption_half_width'])} "
            f"from the assumptions, ±{noise} from simulation noise). It pays in {percent(r['p_pays'], 0)} of the "
            f"draws, is the best choice in {percent(r['p_best'], 0)}, and choosing it loses {m(r['expected_loss'])} "
            "on average against the best choice in each draw.")


def switch_sentence(s: Any) -> str:
    """``points_tiered beats stamp10 unless the speed-up close to a reward (`goal_gradient`) is below 0.12``."""
    side = "below" if s.below else "above"
    return (f"{_md(s.ahead)} beats {_md(s.behind)} unless the {_md(plain_name(s.parameter))} "
            f"(`{_md(s.parameter)}`) is {side} {number(s.value, 3)} (on average over the other assumptions).")


def decides_sentence(a: Any, top: int = 3) -> str:
    """Which assumptions decide the verdict, with the switching values."""
    if a.sensitivity is None:
        return (f"With {a.psa.n_draws} draws there are too few to say which assumption decides the verdict "
                "(16 or more are needed; 64 or more for stable answers).")
    col = a.tornado_output
    s = a.sensitivity[col].sort_values(ascending=False)
    parts = [f"the {_md(plain_name(k))} (`{_md(k)}`, {percent(v, 0)})" for k, v in s.head(top).items()]
    what = f"the lead of {_md(col)}" if " - " in str(col) else f"the profit of {_md(col)}"
    text = (f"What decides {what}: of how much it moves from one run to the next, knowing one assumption "
            f"alone would settle {', '.join(parts)}.")
    if a.psa.n_draws < ROUGH_BELOW:
        text += (f" With only {a.psa.n_draws} runs these shares are rough (chance alone can add a few tenths); "
                 f"use {ROUGH_BELOW} or more before acting on them.")
    if a.switches:
        text += " " + " ".join(switch_sentence(s) for s in a.switches)
    elif a.leaders:
        text += (f" No single assumption in its plausible range reverses the order of {_md(a.leaders[0])} "
                 f"and {_md(a.leaders[1])} on average.")
    return text


def pilot_sentence(a: Any, scenario_ref: str | None = None, currency: str | None = None) -> str:
    """What a pilot is worth, and the ``trial design`` command that sizes it."""
    voi = a.voi
    total = float(voi.loc["all assumptions", "evppi"])
    best = a.table["expected"].idxmax()
    if total <= 0:
        return (f"No pilot can change the choice: {_md(best)} is the best option in every draw, so knowing the "
                "assumptions better is worth nothing for this decision.")
    groups = voi.drop(index="all assumptions")
    lines = [f"Perfect knowledge of every assumption would be worth up to {money(total, currency=currency)} for this decision."]
    if len(groups) and groups["evppi"].isna().all():
        lines.append(f"With {a.psa.n_draws} draws there are too few to price a pilot of one group of assumptions "
                     "(16 or more are needed).")
        return " ".join(lines)
    top = groups["evppi"].idxmax() if len(groups) else None
    for g, r in groups.iterrows():
        if r["parameters"]:
            lines.append(f"A pilot that measured the {_md(g)} would be worth up to {money(r['evppi'], currency=currency)}.")
    if top is not None and groups.loc[top, "evppi"] > 0:
        lead = a.leaders[0] if a.leaders else best
        cmd = (f"loyalty-sim trial design --scheme {shlex.quote(scenario_ref or 'SCENARIO')} --scheme-name "
               f"{shlex.quote(lead)} --primary {PRIMARY_OUTCOME.get(top, 'spend')}")
        lines.append(f"A pilot costing more than {money(groups.loc[top, 'evppi'], currency=currency)} is not worth running for "
                     f"this choice. Next: size a pilot of {_md(lead)} that measures the {_md(top)} with "
                     f"*{_md(cmd)}*.")
    return " ".join(lines)


def uncertainty_markdown(a: Any, scenario_ref: str | None = None, currency: str | None = None) -> str:
    """The report section: both intervals per scheme, what decides the verdict, what a pilot is worth."""
    p = a.psa
    head = (f"We ran the comparison {p.n_draws} times, each time with other values of the {len(p.names)} "
            "assumptions about how customers respond, spread over the range the research allows (values near "
            f"our defaults most often), and each with {p.replications} paired "
            f"{'run' if p.replications == 1 else 'runs'} of every scheme against the same customers without a "
            "scheme.")
    lines = [head, ""] + [f"- {scheme_sentence(a, n, currency)}" for n in p.schemes]
    lines += ["", decides_sentence(a), "", pilot_sentence(a, scenario_ref, currency)]
    return "\n".join(lines)


def uncertainty_text(a: Any, scenario_ref: str | None = None, currency: str | None = None) -> str:
    """Console text for ``compare --uncertainty``."""
    from .escape import plain_text

    return plain_text(uncertainty_markdown(a, scenario_ref, currency))
