"""The words of a comparison: its verdicts, headline, tables and sentences a marketer reads.

Text only: the numbers come from :mod:`loyalty_sim.comparison`, :mod:`loyalty_sim.economics`,
:mod:`loyalty_sim.rewards` and :mod:`loyalty_sim.offers`; every number is written by
:mod:`loyalty_sim.text.format` and every user string (scheme, segment, category names)
is escaped with :func:`loyalty_sim.text.escape.escape_markdown` in Markdown.

Functions
---------
verdict(word, effect, low, high)
    The verdict sentence of a scheme (the word is :func:`loyalty_sim.economics.verdict_word`).
with_interval(est, lo, hi)
    ``"+12 (+8 to +16)"``.
summary_table, headline, comparison_text
    The comparison as a table, as the Markdown verdict of a report, as console text.
bias_sentence, discount_sentence, points_tradeoffs, breakage_sentence, segment_sentence, targeting_sentence
    One paragraph each for the report notebooks.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

from .escape import escape_markdown as _md
from .format import finite, interval, money, number, percent, points, roi_words

__all__ = ["bias_sentence", "breakage_sentence", "comparison_text", "discount_sentence", "headline",
           "points_tradeoffs", "segment_sentence", "summary_table", "targeting_sentence", "verdict",
           "with_interval"]


def verdict(word: str, effect: float, low: float, high: float, *, level: float = 0.95,
            what: str = "incremental profit", currency: str | None = None) -> str:
    """The verdict sentence: ``word`` (``pays``, ``uncertain``, ``reconsider``) with the effect and its interval.

    Amounts carry ``currency`` when given (``EUR 1,234``). Without an interval (one replication) the
    sentence says so, whatever the word.
    """
    def amount(x: float) -> str:
        return money(x, 0, currency=currency)

    if finite(low) is None:
        return f"one replication only: {what} {amount(effect)}, no interval (use 3+ replications)"
    pct = percent(level, 0)
    span = interval(low, high, money, digits=0, currency=currency)
    if word == "reconsider":
        return (f"reconsider: {what} is negative ({amount(effect)}; {pct} interval {span}) - the scheme costs "
                "more than it returns")
    if word == "pays":
        return f"pays: {what} {amount(effect)} ({pct} interval {span})"
    return f"uncertain: {what} {amount(effect)} ({pct} interval {span}) includes zero"


def with_interval(est: float, lo: float, hi: float, *, digits: int = 0, pct: bool = False) -> str:
    """``"+12.3 (+8.1 to +16.0)"``, signed; without an interval just the estimate."""
    fmt: Callable[..., str] = percent if pct else number
    if finite(lo) is None or finite(hi) is None:
        return fmt(est, digits, sign=True)
    return f"{fmt(est, digits, sign=True)} ({interval(lo, hi, fmt, digits=digits, sign=True)})"


def summary_table(comp: Any, currency: str | None = None) -> pd.DataFrame:
    """One row per scheme, every number with its interval, in words a marketer reads.

    Money is in ``currency`` (default: the scenario's), named once in the column header so
    the cells stay short; retention is in percentage points, as the figures show it; ROI is
    the profit per unit of money spent.
    """
    currency = currency or getattr(comp.scenario, "currency", None)
    eff = comp.effects().set_index(["scheme", "metric"])
    summ = comp.summary()
    rows = {}
    for name in comp.schemes:
        def e(metric: str, name: str = name) -> tuple[float, float, float, float]:
            r = eff.loc[(name, metric)]
            return float(r["effect"]), float(r["ci_low"]), float(r["ci_high"]), float(r["baseline"])
        f, flo, fhi, fb = e("purchases_per_customer_week")
        s, slo, shi, sb = e("spend_per_customer_week")
        rt, rlo, rhi, _ = e("retention_annual")
        p, plo, phi, _ = e("incremental_profit")
        roi, rolo, rohi, _ = e("roi")
        profit = with_interval(p, plo, phi, digits=0)
        rows[name] = {
            "purchase frequency": with_interval(f / fb, flo / fb, fhi / fb, digits=1, pct=True),
            "spend per customer": with_interval(s / sb, slo / sb, shi / sb, digits=1, pct=True),
            "annual retention (points)": with_interval(100 * rt, 100 * rlo, 100 * rhi, digits=1),
            f"incremental profit ({currency or 'money'})" if currency else "incremental profit": profit,
            f"profit per {money(1, 0, currency=currency)} spent": with_interval(roi, rolo, rohi, digits=2),
            "payback": payback_words(summ.loc[name, "payback_week"]).replace("has not paid back by the end of the "
                                                                              "horizon", "not by the horizon"),
            "verdict": summ.loc[name, "verdict"].split(":")[0],
        }
    out = pd.DataFrame(rows).T
    out.index.name = "scheme"
    return out


#: Below this share a change in purchase frequency is reported as no change.
NO_CHANGE = 0.001


def coverage_note(replications: int, level: float) -> str:
    """What the intervals cover, said beside them."""
    if replications < 2:
        return "one replication: no interval, so simulation noise is not measured either"
    return (f"{percent(level, 0)} intervals over {replications} replications cover simulation noise only, "
            "not uncertainty in the assumptions behind the model")


def payback_words(week: Any) -> str:
    """``pays back 12 weeks after launch`` or why it does not."""
    w = finite(week)
    if w is None:
        return "has not paid back by the end of the horizon"
    if w < 1:
        return "is in profit from its launch week on"
    n = number(w, 0)
    return f"pays back {n} {'week' if n == '1' else 'weeks'} after launch"


def zero_effect_reason(scheme: Any, behaviour: Any) -> str | None:
    """Why a scheme moved nothing, when its configuration says (a discount below the noticed depth)."""
    depth = getattr(scheme, "depth", None)
    threshold = getattr(behaviour, "discount_threshold", None)
    if getattr(scheme, "family", "") == "discount" and depth is not None and threshold is not None \
            and depth <= threshold:
        return (f"a {percent(depth, 0)} discount is at or below the depth customers notice "
                f"({percent(threshold, 0)} in this model), so it changes no purchases and only gives margin away")
    return None


def verdict_lines(summ: pd.DataFrame, *, weeks_after: int, replications: int, level: float,
                  currency: str | None = None, reasons: dict[str, str] | None = None,
                  tie: tuple[str, float, float, float] | None = None) -> list[str]:
    """The verdict of a comparison in Markdown lines, true in words.

    Parameters
    ----------
    summ : DataFrame
        ``Comparison.summary()``: ``incremental_profit``, ``profit_ci``, ``roi``,
        ``payback_week``, ``purchases_relative_effect``, ``verdict``; indexed by scheme.
    weeks_after : int
        Weeks from launch to the horizon end.
    reasons : dict, optional
        scheme -> why it changed nothing (:func:`zero_effect_reason`).
    tie : (runner-up, difference, low, high), optional
        The paired difference between the leader and the runner-up.

    A loss is never called best: when no scheme adds profit the verdict says so and
    names the least costly one.
    """
    reasons = reasons or {}
    profit = summ["incremental_profit"].astype(float)
    best = str(profit.idxmax())
    b = summ.loc[best]
    lo, hi = b["profit_ci"]
    span = "" if finite(lo) is None else f" ({percent(level, 0)} interval {interval(lo, hi, money, currency=currency)})"
    m = money(b["incremental_profit"], 0, currency=currency)
    word = str(b["verdict"]).split(":")[0]
    if profit.max() <= 0:
        first = (f"**No scheme pays.** Over the {weeks_after} weeks after launch every candidate costs more than it "
                 f"brings in. The least costly is **{_md(best)}**: {m} of profit against doing nothing{span}.")
    elif word == "pays":
        first = (f"**Leading candidate: {_md(best)}.** Over the {weeks_after} weeks after launch it adds {m} of "
                 f"profit against doing nothing{span}; {roi_words(b['roi'], currency)}; it "
                 f"{payback_words(b['payback_week'])}.")
    else:
        first = (f"**Leading candidate, not yet proven: {_md(best)}.** Over the {weeks_after} weeks after launch it "
                 f"adds {m} of profit against doing nothing{span}, but the interval includes zero; "
                 f"{roi_words(b['roi'], currency)}; it {payback_words(b['payback_week'])}.")
    if tie is not None and profit.max() > 0:
        runner, d, dlo, dhi = tie
        paired = interval(dlo, dhi, money, currency=currency)
        if finite(dlo) is not None and dlo <= 0 <= dhi:
            first += (f" Its lead over **{_md(runner)}** ({money(d, 0, currency=currency)}; paired interval "
                      f"{paired}) is within the simulation noise: these runs cannot tell the two apart on profit.")
        elif finite(dlo) is not None:
            first += f" It beats **{_md(runner)}** by {money(d, 0, currency=currency)} (paired interval {paired})."
    lines = [first, f"*{coverage_note(replications, level).capitalize()}.*", ""]
    for name, r in summ.iterrows():
        w = str(r["verdict"]).split(":")[0]
        label = {"pays": "pays", "uncertain": "uncertain (interval includes zero)",
                 "reconsider": "loses money"}.get(w, w)
        rel = finite(r["purchases_relative_effect"])
        freq = (f"purchase frequency {percent(rel, 1, sign=True)}" if rel is not None and abs(rel) >= NO_CHANGE
                else "no change in purchase frequency" + (f" ({reasons[name]})" if name in reasons else ""))
        lines.append(f"- **{_md(name)}**: {label}. Profit {money(r['incremental_profit'], 0, currency=currency)}; "
                     f"{freq}; {roi_words(r['roi'], currency)}.")
    return lines


def headline(comp: Any, currency: str | None = None) -> str:
    """The verdict at the top of a comparison report (Markdown; see :func:`verdict_lines`)."""
    summ = comp.summary()
    currency = currency or getattr(comp.scenario, "currency", None)
    tie = None
    if len(summ) > 1:
        profit = summ["incremental_profit"].astype(float)
        best = profit.idxmax()
        runner = profit.drop(best).idxmax()
        tie = (str(runner), *comp.difference(best, runner))
    reasons = {s.name: r for s in comp.scenario.schemes
               if (r := zero_effect_reason(s, comp.scenario.behaviour)) is not None}
    return "\n".join(verdict_lines(summ, weeks_after=comp.scenario.weeks - comp.scenario.launch_week,
                                   replications=len(comp.runs), level=comp.level, currency=currency,
                                   reasons=reasons, tie=tie))


def comparison_text(comp: Any) -> str:
    """The comparison as console text (``loyalty-sim compare``): per scheme its effects, intervals and verdict."""
    summ = comp.summary()
    cur = getattr(comp.scenario, "currency", None)
    lines = [f"scenario: {comp.scenario.name} - {len(comp.runs)} paired replication(s), {percent(comp.level, 0)} "
             f"intervals, launch week {comp.scenario.launch_week} of {comp.scenario.weeks}", ""]
    for name, r in summ.iterrows():
        lo, hi = r["purchases_ci"]
        plo, phi = r["profit_ci"]
        lines += [f"{name}",
                  f"  purchases per customer-week  {number(r['purchases_per_customer_week_effect'], 4, sign=True)} "
                  f"({interval(lo, hi, number, digits=4, sign=True)})  "
                  f"({percent(r['purchases_relative_effect'], 1, sign=True)}; naive before/after "
                  f"{_naive(r['naive_before_after_purchases'])})",
                  f"  spend per customer-week      {number(r['spend_per_customer_week_effect'], 3, sign=True)}  "
                  f"({percent(r['spend_relative_effect'], 1, sign=True)})",
                  f"  annual retention             {points(r['retention_annual_effect'], 1)}",
                  f"  incremental profit           {money(r['incremental_profit'], 0, currency=cur)} "
                  f"({interval(plo, phi, money, currency=cur)}); {roi_words(r['roi'], cur)}",
                  f"  verdict: {r['verdict']}", ""]
    return "\n".join(lines)


def bias_sentence(comp: Any, metric: str = "purchases_per_customer_week") -> str:
    """Explain the naive before/after bias in one sentence per scheme (markdown)."""
    eff = comp.effects()
    d = eff[eff["metric"] == metric]
    if "naive_before_after" not in d:
        return "No launch inside the horizon: no before/after comparison."
    parts = []
    for _, r in d.iterrows():
        parts.append(f"{_md(r['scheme'])}: naive {number(r['naive_before_after'], 3, sign=True)} vs causal "
                     f"{number(r['effect'], 3, sign=True)}")
    return ("A before/after comparison of the scheme's own customers mixes the scheme's effect with the drift "
            "of a customer base (the most frequent buyers also lapse first) - " + "; ".join(parts) + ".")


def discount_sentence(sweep: pd.DataFrame, margin: float, *, currency: str | None = None,
                      noticed: float | None = None, weeks_after: int | None = None) -> str:
    """The discount verdict (Markdown): the best depth that pays, or that none does and the least costly.

    The 0% row is the counterfactual itself (no discount, profit 0 by construction) and
    is never a candidate. ``noticed`` is the depth customers notice
    (``BehaviourParams.discount_threshold``): depths up to it are explained as giving
    margin away without moving demand.
    """
    cand = sweep[sweep["depth"] > 0].reset_index(drop=True)
    if cand.empty:
        return "Only 0% was tested: no discount to judge. Add depths with `-p depths \"[0.1, 0.2]\"`."
    profit = cand["incremental_profit"].to_numpy(dtype=float)
    i = int(np.nanargmax(profit))
    best = cand.iloc[i]
    span = ""
    if {"incremental_profit_low", "incremental_profit_high"} <= set(cand.columns) and \
            finite(best["incremental_profit_low"]) is not None:
        span = (f"; interval {interval(best['incremental_profit_low'], best['incremental_profit_high'], money, currency=currency)}, "
                "simulation noise only")
    when = f" over the {weeks_after} weeks after launch" if weeks_after else ""
    m = money(best["incremental_profit"], 0, currency=currency)
    if best["incremental_profit"] > 0:
        text = f"The most profitable depth tested is **{percent(best['depth'], 0)}**: {m} of incremental profit{when}{span}. "
    else:
        text = (f"**No discount depth tested pays**{when} at a gross margin of {percent(margin, 0)}: the discount is given "
                "on every purchase, including those that would have happened anyway, so the extra sales must exceed "
                f"margin/(margin - depth) - 1 to break even. The least costly depth is **{percent(best['depth'], 0)}** "
                f"({m}{span}). ")
    if noticed is not None:
        quiet = cand[cand["depth"] <= noticed + 1e-12]
        if len(quiet):
            worst = quiet.iloc[-1]
            text += (f"Depths up to {percent(noticed, 0)} are below the level customers notice, so they change no "
                     f"purchases and only give margin away ({percent(worst['depth'], 0)}: "
                     f"{money(worst['incremental_profit'], 0, currency=currency)}). ")
    deep = cand.iloc[-1]
    if len(cand) > 1 and deep["depth"] != best["depth"]:
        text += (f"The deepest tested ({percent(deep['depth'], 0)}: {money(deep['incremental_profit'], 0, currency=currency)}) "
                 "costs more than the saturated extra demand brings and lowers the reference price.")
    return text.strip()


def points_tradeoffs(table: pd.DataFrame) -> str:
    """Who each points design rewards and who responds (markdown bullets).

    Parameters
    ----------
    table : DataFrame
        ``rewards.distribution_table``: ``scheme``, ``heaviness`` (light,
        middle, heavy), ``value_back_share``, ``purchases_uplift``.
    """
    lines = []
    for name, d in table.groupby("scheme", sort=False):
        d = d.set_index(d["heaviness"].astype(str))
        share = d["value_back_share"]
        most, least = str(share.idxmax()), str(share.idxmin())
        spread = share.max() - share.min()
        even = spread < 0.005
        who = ("about the same share of their spend to every group" if even else
               f"most to **{_md(most)}** customers ({percent(share[most], 1)} of their spend) and least to "
               f"{_md(least)} ones ({percent(share[least], 1)})")
        up = d["purchases_uplift"]
        lines.append(f"- **{_md(str(name).replace('_', ' '))}** hands back {who}; purchases move "
                     f"{percent(up.get('light', float('nan')), 1, sign=True)} (light), "
                     f"{percent(up.get('middle', float('nan')), 1, sign=True)} (middle) and "
                     f"{percent(up.get('heavy', float('nan')), 1, sign=True)} (heavy).")
    return "\n".join(lines)


def breakage_sentence(ledger: pd.DataFrame, currency: str | None = None) -> str:
    """Breakage and end liability (in ``currency``) per design, in one paragraph (``rewards.ledger_table``)."""
    if ledger.empty:
        return "None of these designs keeps a balance, so there is no breakage or liability."
    last = ledger.groupby("scheme", sort=False).tail(1).set_index("scheme")
    parts = [f"{_md(str(n).replace('_', ' '))} {percent(r['breakage_rate'], 1)} (liability at cost "
             f"{money(r['liability_cost'], 0, currency=currency)})" for n, r in last.iterrows()]
    return ("Breakage (units expired / issued so far) at the horizon: " + "; ".join(parts) + ". Breakage here "
            "emerges from behaviour: members who stop buying, or never reach a reward, leave balances that expire; "
            "without expiry they stay on the books as liability.")


def segment_sentence(segments: pd.DataFrame) -> str:
    """Which segment each scheme moves most, in frequency and in retention (markdown bullets).

    Parameters
    ----------
    segments : DataFrame
        ``Comparison.segments``: ``scheme``, ``segment``, ``purchases_effect`` with
        ``purchases_baseline`` and ``retention_effect``.
    """
    if segments.empty:
        return "No segment effects in this comparison."
    lines = []
    for name, d in segments.groupby("scheme", sort=False):
        d = d.set_index(d["segment"].astype(str))
        rel = d["purchases_effect"] / d["purchases_baseline"]
        ret = d["retention_effect"] if "retention_effect" in d else pd.Series(dtype=float)
        top = str(rel.idxmax()).replace("_", " ")
        text = (f"- **{_md(str(name).replace('_', ' '))}**: purchase frequency moves most among {_md(top)} customers "
                f"({percent(rel.max(), 1, sign=True)})")
        if len(ret) and np.isfinite(ret.to_numpy(dtype=float)).any():
            rtop = str(ret.idxmax()).replace("_", " ")
            text += (f"; retention most among {_md(rtop)} customers ({number(100 * ret.max(), 1, sign=True)} percentage points of the "
                     "customers at launch still customers at the horizon)")
        lines.append(text + ".")
    return "\n".join(lines)


def targeting_sentence(outcomes: pd.DataFrame) -> str:
    """Affinity-targeted against untargeted offers, from ``offers.offer_outcomes`` (markdown)."""
    if outcomes.empty:
        return "No targeted offers in this scenario."
    # offers run on their own (a part of a combination shares its uplift with the other parts)
    everyone = outcomes
    alone = outcomes[outcomes.index == outcomes["scheme"]]
    outcomes = alone if len(alone) else outcomes
    best = outcomes["purchases_uplift_audience"].idxmax()
    r = outcomes.loc[best]
    text = (f"The offer that moved its audience most is **{_md(str(best).replace('_', ' '))}**: "
            f"{number(r['purchases_uplift_audience'], 2, sign=True)} purchases per customer reached "
            f"({number(r['audience'], 0)} customers, {percent(r['conversion_rate'], 1)} of offers used). ")
    if "purchases_uplift_per_offer" in outcomes:
        eff = outcomes["purchases_uplift_per_offer"].idxmax()
        text += (f"Per offer delivered, **{_md(str(eff).replace('_', ' '))}** works best "
                 f"({number(outcomes.loc[eff, 'purchases_uplift_per_offer'], 3, sign=True)} purchases per offer). ")
    others = everyone["purchases_uplift_others"].abs().max()  # over every row of the offers table
    reached = everyone["purchases_uplift_audience"].abs().max()
    if np.isfinite(others) and others <= 0.25 * reached:
        text += (f"Customers outside each audience barely changed (largest difference {number(others, 4)} purchases "
                 "per customer, as in the table), so the uplift is the offer's own. ")
    elif np.isfinite(others):
        text += (f"Customers outside the audiences changed too (largest difference {number(others, 4)} purchases "
                 "per customer, as in the table): part of an audience's uplift may come from the scheme around the "
                 "offer, not the offer itself. ")
    return text + ("Offer discounts are given on purchases that would have happened anyway too: an offer pays only "
                   "where the extra margin exceeds that discount.")


def _naive(value: float) -> str:
    """The naive before/after change, or why there is none (launch in week 0: no weeks before)."""
    return "n/a, no weeks before launch" if value != value else number(value, 4, sign=True)
