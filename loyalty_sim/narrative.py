"""Plain-language text for reports: headlines and tables a marketer reads.

Text only: numbers come from :mod:`loyalty_sim.comparison` and :mod:`loyalty_sim.economics`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .text_safety import escape_markdown as _md


def _fmt(x: float, digits: int = 0, pct: bool = False, sign: bool = False) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if pct:
        return f"{100 * x:+.{digits}f}%" if sign else f"{100 * x:.{digits}f}%"
    return f"{x:+,.{digits}f}" if sign else f"{x:,.{digits}f}"


def with_interval(est: float, lo: float, hi: float, *, digits: int = 0, pct: bool = False) -> str:
    """``"12.3 (8.1 to 16.0)"``; without an interval just the estimate."""
    if not (isinstance(lo, float) and math.isfinite(lo)):
        return _fmt(est, digits, pct, sign=True)
    return f"{_fmt(est, digits, pct, sign=True)} ({_fmt(lo, digits, pct, sign=True)} to {_fmt(hi, digits, pct, sign=True)})"


def summary_table(comp: Any) -> pd.DataFrame:
    """One row per scheme, every number with its interval, in words a marketer reads."""
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
        rows[name] = {
            "purchase frequency": with_interval(f / fb, flo / fb, fhi / fb, digits=1, pct=True),
            "spend per customer": with_interval(s / sb, slo / sb, shi / sb, digits=1, pct=True),
            "annual retention (points)": with_interval(100 * rt, 100 * rlo, 100 * rhi, digits=1),
            "incremental profit": with_interval(p, plo, phi),
            "ROI": with_interval(roi, rolo, rohi, digits=2),
            "verdict": summ.loc[name, "verdict"].split(":")[0],
        }
    out = pd.DataFrame(rows).T
    out.index.name = "scheme"
    return out


def headline(comp: Any) -> str:
    """The verdict at the top of the comparison report (markdown)."""
    summ = comp.summary()
    lvl = f"{100 * comp.level:.0f}%"
    best = summ["incremental_profit"].astype(float).idxmax()
    b = summ.loc[best]
    lo, hi = b["profit_ci"]
    lines = [f"**Best candidate: {_md(best)}.** Over the {comp.scenario.weeks - comp.scenario.launch_week} weeks after "
             f"launch it adds {_fmt(b['incremental_profit'])} of profit against doing nothing "
             f"({lvl} interval {_fmt(lo)} to {_fmt(hi)}, {len(comp.runs)} replications), "
             f"ROI {_fmt(b['roi'], 2)}."]
    if len(summ) > 1:
        runner = summ["incremental_profit"].astype(float).drop(best).idxmax()
        d, dlo, dhi = comp.difference(best, runner)
        if np.isfinite(dlo) and dlo <= 0 <= dhi:
            lines[0] += (f" Its lead over **{_md(runner)}** ({_fmt(d)}; paired {lvl} interval {_fmt(dlo)} to "
                         f"{_fmt(dhi)}) is within the noise of the replications: treat the two as tied.")
        elif np.isfinite(dlo):
            lines[0] += f" It beats **{_md(runner)}** by {_fmt(d)} (paired {lvl} interval {_fmt(dlo)} to {_fmt(dhi)})."
    for name, r in summ.iterrows():
        word = r["verdict"].split(":")[0]
        lines.append(f"- **{_md(name)}**: {_md(word)}. Purchase frequency {_fmt(r['purchases_relative_effect'], 1, pct=True, sign=True)}, "
                     f"profit {_fmt(r['incremental_profit'])}, ROI {_fmt(r['roi'], 2)}.")
    losers = [n for n, r in summ.iterrows() if r["verdict"].startswith("reconsider")]
    if losers:
        lines.append(f"\n*Reconsider {', '.join(_md(n) for n in losers)}: the return is below the cost.*")
    return "\n".join(lines)


def bias_sentence(comp: Any, metric: str = "purchases_per_customer_week") -> str:
    """Explain the naive before/after bias in one sentence per scheme (markdown)."""
    eff = comp.effects()
    d = eff[eff["metric"] == metric]
    if "naive_before_after" not in d:
        return "No launch inside the horizon: no before/after comparison."
    parts = []
    for _, r in d.iterrows():
        parts.append(f"{_md(r['scheme'])}: naive {_fmt(r['naive_before_after'], 3, sign=True)} vs causal "
                     f"{_fmt(r['effect'], 3, sign=True)}")
    return ("A before/after comparison of the scheme's own customers mixes the scheme's effect with the drift "
            "of a customer base (the most frequent buyers also lapse first) - " + "; ".join(parts) + ".")


def discount_sentence(sweep: pd.DataFrame, margin: float) -> str:
    """Where the best discount lies and why tiny and deep ones lose (markdown)."""
    i = int(np.nanargmax(sweep["incremental_profit"].to_numpy(dtype=float)))
    best = sweep.iloc[i]
    tiny, deep = sweep.iloc[0], sweep.iloc[-1]
    pays = best["incremental_profit"] > 0
    text = (f"The most profitable depth tested is **{100 * best['depth']:.0f}%** "
            f"({_fmt(best['incremental_profit'])} incremental profit). ")
    if not pays:
        text += ("**No depth pays for itself** at a gross margin of "
                 f"{100 * margin:.0f}%: the discount is given on every purchase, including those that would have "
                 "happened anyway, so the extra sales must exceed margin/(margin - depth) - 1 to break even. ")
    text += (f"A tiny discount ({100 * tiny['depth']:.0f}%) is below the level customers notice, so it only gives "
             f"margin away ({_fmt(tiny['incremental_profit'])}); a deep one ({100 * deep['depth']:.0f}%) costs more than "
             f"the saturated extra demand brings and lowers the reference price ({_fmt(deep['incremental_profit'])}).")
    return text


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
               f"most to **{_md(most)}** customers ({_fmt(share[most], 1, pct=True)} of their spend) and least to "
               f"{_md(least)} ones ({_fmt(share[least], 1, pct=True)})")
        up = d["purchases_uplift"]
        lines.append(f"- **{_md(str(name).replace('_', ' '))}** hands back {who}; purchases move "
                     f"{_fmt(up.get('light', float('nan')), 1, pct=True, sign=True)} (light), "
                     f"{_fmt(up.get('middle', float('nan')), 1, pct=True, sign=True)} (middle) and "
                     f"{_fmt(up.get('heavy', float('nan')), 1, pct=True, sign=True)} (heavy).")
    return "\n".join(lines)


def breakage_sentence(ledger: pd.DataFrame) -> str:
    """Breakage and end liability per design, in one paragraph (``rewards.ledger_table``)."""
    if ledger.empty:
        return "None of these designs keeps a balance, so there is no breakage or liability."
    last = ledger.groupby("scheme", sort=False).tail(1).set_index("scheme")
    parts = [f"{_md(str(n).replace('_', ' '))} {_fmt(r['breakage_rate'], 1, pct=True)} (liability at cost "
             f"{_fmt(r['liability_cost'])})" for n, r in last.iterrows()]
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
                f"({_fmt(rel.max(), 1, pct=True, sign=True)})")
        if len(ret) and np.isfinite(ret.to_numpy(dtype=float)).any():
            rtop = str(ret.idxmax()).replace("_", " ")
            text += (f"; retention most among {_md(rtop)} customers ({100 * ret.max():+.1f} percentage points of the "
                     "customers at launch still customers at the horizon)")
        lines.append(text + ".")
    return "\n".join(lines)


def targeting_sentence(outcomes: pd.DataFrame) -> str:
    """Affinity-targeted against untargeted offers, from ``offers.offer_outcomes`` (markdown)."""
    if outcomes.empty:
        return "No targeted offers in this scenario."
    # offers run on their own (a part of a combination shares its uplift with the other parts)
    alone = outcomes[outcomes.index == outcomes["scheme"]]
    outcomes = alone if len(alone) else outcomes
    best = outcomes["purchases_uplift_audience"].idxmax()
    r = outcomes.loc[best]
    text = (f"The offer that moved its audience most is **{_md(str(best).replace('_', ' '))}**: "
            f"{_fmt(r['purchases_uplift_audience'], 2, sign=True)} purchases per customer reached "
            f"({int(r['audience']):,} customers, {_fmt(r['conversion_rate'], 1, pct=True)} of offers used). ")
    if "purchases_uplift_per_offer" in outcomes:
        eff = outcomes["purchases_uplift_per_offer"].idxmax()
        text += (f"Per offer delivered, **{_md(str(eff).replace('_', ' '))}** works best "
                 f"({_fmt(outcomes.loc[eff, 'purchases_uplift_per_offer'], 3, sign=True)} purchases per offer). ")
    others = outcomes["purchases_uplift_others"].abs().max()
    if np.isfinite(others):
        text += (f"Customers outside each audience did not change (largest difference {_fmt(others, 3)} purchases "
                 "per customer), so the uplift is the offer's own. ")
    return text + ("Offer discounts are given on purchases that would have happened anyway too: an offer pays only "
                   "where the extra margin exceeds that discount.")


def profit_impact_sentence(res: dict[str, Any], band: tuple[float, float] = (25.0, 125.0)) -> str:
    """The retention -> profit answer for one set of inputs (markdown), from :func:`~loyalty_sim.economics.retention_profit_impact`.

    Gives the absolute change in profit per customer always, and the % change only where
    profit per customer before the gain is positive; otherwise says why it is undefined.
    """
    pct = res.get("profit_change_pct")
    text = (f"## The answer for your inputs\n\nRaising retention from **{100 * res['retention']:.0f}%** to "
            f"**{100 * res['retention_after']:.0f}%** changes profit per customer from {_fmt(res['value_before'])} "
            f"to {_fmt(res['value_after'])}: **{_fmt(res['profit_change'], sign=True)} per customer**")
    if pct is None or not math.isfinite(pct):
        text += (f". The percentage change is undefined: {res['reason']}. A percentage of a profit at or below "
                 "zero has no meaning (near zero it explodes, below zero its sign turns round), so read the "
                 "absolute change.")
    else:
        where = "inside" if band[0] <= pct <= band[1] else "outside"
        text += f" (**{pct:+.0f}%**), {where} the {band[0]:g}-{band[1]:g}% range."
    only = res.get("retention_only_change_pct")
    text += (f" Retention alone (no acquisition cost, no tenure effects) would give {_fmt(only, sign=True)}%."
             if only is not None and math.isfinite(only) else "")
    return text


def sensitivity_sentence(grid: pd.DataFrame, *, vmax: float = 200.0, acquisition_cost: float = 0.0) -> str:
    """What the retention x discount-rate heat map shows and hides (markdown), from ``retention_sensitivity``."""
    from .economics import sensitivity_counts

    c = sensitivity_counts(grid, vmax=vmax)
    parts = [f"Of the {c['cells']} cells, {c['on_scale']} are on the colour scale"]
    if c["beyond_scale"]:
        top = float(np.nanmax(grid["profit_change_pct"].to_numpy(dtype=float)))
        parts.append(f"{c['beyond_scale']} lie beyond it (above {vmax:g}%, up to {top:,.0f}%: hatched and "
                     f"labelled \"> {vmax:g}%\")")
    if c["undefined"]:
        parts.append(f"{c['undefined']} have no percentage (grey)")
    text = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1] + ". "
    if c["undefined_nonpositive_profit"]:
        cost = f" of {_fmt(acquisition_cost)}" if acquisition_cost else ""
        text += (f"In {c['undefined_nonpositive_profit']} of them the baseline profit per customer is zero or "
                 f"negative - a customer's value does not cover the acquisition cost{cost} - so the percentage "
                 "change is undefined and only the absolute change, shown in every cell (per customer), means "
                 "anything. ")
    if c["undefined_not_converging"]:
        text += (f"In {c['undefined_not_converging']} (\"n/a\") a customer's value does not converge: tenure "
                 "growth outpaces discounting once retention is that high, so neither change is finite. ")
    if c["undefined_retention_above_100"]:
        text += f"In {c['undefined_retention_above_100']} retention after the gain would pass 100%. "
    if c["beyond_scale"]:
        text += (f"A percentage above {vmax:g}% means the change is large next to the profit before the gain - "
                 "because that profit is close to zero (beside the grey cells) or because retention after the gain "
                 "nears 100% and a customer's value runs away - not that those customers are the ones to keep: "
                 "compare the absolute changes.")
    return text.strip()


def profit_impact_headline(res: dict[str, Any]) -> str:
    """One line for a report index: the % change in profit, or the absolute change when the % is undefined."""
    gain = f"+{res['retention_gain_points']:g} points of retention"
    pct = res.get("profit_change_pct")
    if pct is None or not math.isfinite(pct):
        return f"{_fmt(res['profit_change'], sign=True)} profit per customer from {gain} (% undefined: profit before <= 0)"
    return f"{pct:+.0f}% profit ({_fmt(res['profit_change'], sign=True)} per customer) from {gain}"
