"""Every scheme in one plain sentence, written from its configuration.

``describe(scheme, currency="EUR")`` reads the fields of any scheme family
(:mod:`loyalty_sim.schemes`) and returns a sentence a marketer reads, e.g.
"Stamp card: a free item worth EUR 4.50, costing EUR 1.20, after 10 purchases; cards
never expire; every customer takes part." Names are not escaped here: a report
escapes the sentence where it lands (:func:`describe_markdown`).
"""

from __future__ import annotations

from typing import Any

from .escape import escape_markdown
from .format import money, number, percent

__all__ = ["describe", "describe_markdown", "scheme_list"]


def _m(x: float, currency: str | None) -> str:
    """Whole amounts without decimals (EUR 150), others with cents (EUR 4.50)."""
    return money(x, 0 if float(x).is_integer() else 2, currency=currency)


def _weeks(n: Any) -> str:
    return f"{int(n)} week" + ("" if int(n) == 1 else "s")


def _stamp_card(s: Any, cur: str | None) -> str:
    text = (f"Stamp card: a free item worth {_m(s.reward_value, cur)}, costing {_m(s.reward_cost, cur)}, after "
            f"{s.stamps_required} purchases")
    if s.head_start:
        text += f" (cards start with {s.head_start} stamps)"
    if s.min_ticket:
        text += f"; a stamp needs a purchase of {_m(s.min_ticket, cur)} or more"
    text += f"; cards expire after {_weeks(s.expiry_weeks)}" if s.expiry_weeks else "; stamps never expire"
    return text


_ACCRUAL = {"linear": "the same rate on every purchase", "diminishing": "more points on the first purchases",
            "increasing": "more points as spend grows", "compound": "points growing with the balance"}
_RULES = {"free": "points are spent at their face value", "tiered": "rewards at set point thresholds",
          "minimum_unit": "points are spent in whole blocks", "refill": "the balance is refilled with a bonus"}


def _points(s: Any, cur: str | None) -> str:
    r = s.redemption
    rate = number(s.earn_rate, 2).rstrip("0").rstrip(".")
    text = (f"Points: {rate} point{'' if rate == '1' else 's'} per {money(1, 0, currency=cur)} spent, "
            f"{_ACCRUAL.get(s.accrual.method, s.accrual.method)}")
    if r.rule == "tiered" and r.thresholds:
        pairs = ", ".join(f"{number(t, 0)} points for {_m(v, cur)}" for t, v in zip(r.thresholds, r.rewards))
        text += f"; rewards: {pairs} (costing {percent(r.reward_cost_share, 0)} of their value)"
    else:
        text += f"; {_RULES.get(r.rule, r.rule)}, a point worth {_m(s.point_value, cur)}"
    e = s.expiry
    if getattr(e, "type", "none") == "rolling":
        text += f"; points expire {_weeks(e.weeks)} after the last purchase"
    elif getattr(e, "type", "none") == "calendar":
        text += f"; points expire every {_weeks(e.weeks)}"
    return text


def _tiers(s: Any, cur: str | None) -> str:
    unit = "spend" if s.qualify_by == "spend" else "visits"
    levels = []
    for t in s.tiers:
        start = (_m(t.threshold, cur) if unit == "spend" else number(t.threshold, 0) + " visits") if t.threshold else ""
        bits = [f"{t.name} from {start}" if start else f"{t.name} on joining"]
        if t.discount:
            bits.append(f"{percent(t.discount, 0)} off")
        if t.perk_value:
            bits.append("perks")
        levels.append(" ".join(bits[:1]) + (f" ({', '.join(bits[1:])})" if len(bits) > 1 else ""))
    return (f"Tiers by {unit} over the last {_weeks(s.window_weeks)}, reviewed every {_weeks(s.review_every_weeks)}: "
            + "; ".join(levels))


def _discount(s: Any, cur: str | None) -> str:
    who = "for members" if s.members_only else "for every customer"
    text = f"Discount: {percent(s.depth, 0)} off every purchase {who}"
    return text + (f" for {_weeks(s.duration_weeks)}" if s.duration_weeks else "")


def _cashback(s: Any, cur: str | None) -> str:
    text = f"Cashback: {percent(s.rate, 1)} of spend back as credit"
    if s.min_balance_to_use:
        text += f", usable from {_m(s.min_balance_to_use, cur)}"
    text += ", spent automatically" if s.use == "auto" else ", spent when the customer chooses"
    return text + (f"; credit expires after {_weeks(s.expiry_weeks)}" if s.expiry_weeks else "")


def _gift(s: Any, cur: str | None) -> str:
    text = (f"Gift: a gift worth {_m(s.gift_value, cur)}, costing {_m(s.gift_cost, cur)}, each time spend "
            f"reaches {_m(s.spend_threshold, cur)}")
    return text + (f" (at most {s.max_gifts})" if s.max_gifts else "")


def _perks(s: Any, cur: str | None) -> str:
    kinds = ", ".join(str(p.kind).replace("_", " ") for p in s.perks)
    return f"Perks without money off: {kinds}"


def _referral(s: Any, cur: str | None) -> str:
    text = (f"Referral: {_m(s.referrer_reward, cur)} to a member who brings a new customer and "
            f"{_m(s.referee_reward, cur)} to the newcomer")
    return text + (f", at most {s.max_referrals_per_member} per member" if s.max_referrals_per_member else "")


_AUDIENCE = {"affinity": "to customers who already buy the category", "life_event": "to customers at a life event",
             "untargeted": "to a random share of customers"}
_TIMING = {"periodic": "every {every} weeks", "post_hoc": "after {n} purchases in the category",
           "pre_emptive": "when a customer looks at risk of leaving"}


def _offers(s: Any, cur: str | None) -> str:
    when = _TIMING.get(s.timing, s.timing).format(every=s.every_weeks, n=s.post_hoc_purchases)
    channel = "by e-mail" if s.channel == "email" else "at the till"
    return (f"Targeted offer: {percent(s.offer_value, 0)} off {str(s.category).replace('_', ' ')} "
            f"{_AUDIENCE.get(s.audience, s.audience)}, sent {channel} {when}, valid {_weeks(s.valid_weeks)}")


def _combined(s: Any, cur: str | None) -> str:
    parts = [describe(p, cur, enrolment=False).rstrip(".") for p in s.parts]
    return "Combination of " + " plus ".join(p[0].lower() + p[1:] for p in parts)


_FAMILY = {"stamp_card": _stamp_card, "points": _points, "tiers": _tiers, "discount": _discount,
           "cashback": _cashback, "gift": _gift, "perks": _perks, "referral": _referral,
           "targeted_offers": _offers, "combined": _combined}


def describe(scheme: Any, currency: str | None = None, *, enrolment: bool = True) -> str:
    """One plain sentence: what the customer gets, for what, what it costs, and who takes part.

    Parameters
    ----------
    scheme : SchemeConfig
        Any scheme of :mod:`loyalty_sim.schemes`.
    currency : str, optional
        Shown on every amount (``"EUR"``, ``"€"``).
    enrolment : bool
        Add who takes part (opt-in share or everyone).
    """
    writer = _FAMILY.get(getattr(scheme, "family", ""))
    if writer is None:
        raise ValueError(f"no description for scheme family {getattr(scheme, 'family', None)!r}")
    text = writer(scheme, currency)
    en = getattr(scheme, "enrolment", None)
    if enrolment and en is not None and scheme.family != "combined":
        text += ("; customers opt in (" + percent(en.take_up, 0) + " of those shopping after launch join)"
                 if en.mode == "opt_in" else "; every customer takes part")
    if getattr(scheme, "cost_per_member_week", 0):
        text += f"; running cost {money(scheme.cost_per_member_week, 2, currency=currency)} per member per week"
    return text + "."


def describe_markdown(scheme: Any, currency: str | None = None) -> str:
    """``**name**: sentence`` in Markdown, every user string escaped."""
    return f"**{escape_markdown(scheme.name)}** - {escape_markdown(describe(scheme, currency))}"


def scheme_list(schemes: Any, currency: str | None = None) -> str:
    """A Markdown bullet list: each scheme's name and its sentence."""
    return "\n".join(f"- {describe_markdown(s, currency)}" for s in schemes)
