"""Targeted offers built from the data collected: a category offer sent to the right customers.

Audience: customers whose *recorded* purchases show a high share in the offer's category
(what the shop can see: their category purchases over up to ``HISTORY_WEEKS`` before
launch and every member purchase since, each purchase in the category with the
customer's own affinity, so customers with few purchases are classified with noise),
customers going through a life event that leads to it (prenatal buyers before the
switch to baby products), or an untargeted random share. Channel: e-mail (only opted-in customers;
each opens with their own propensity and clicks with their own propensity) or the till
(shown at a purchase). Timing: periodic, post-hoc (a reward after K purchases since the
last offer) or pre-emptive (to customers whose activity is falling: weeks since their
last purchase exceed ``at_risk_factor`` times their own average inter-purchase time, an
observable proxy of a falling rate).

While an offer is live (``valid_weeks`` after delivery), the recipient's purchase rate
rises with the offer's relevance (their affinity for the category relative to its
catalogue share, capped at 1), at-risk recipients' dropout falls, and the offer's
discount applies to the category's share of their spend. All random decisions use
seeded uniforms (common random numbers).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from ..errors import ConfigError, shown
from ..inversion import binomial_quantile, poisson_quantile
from .base import Effects, Settlement
from .common import MAX_COUNT, MAX_MONEY, MAX_RATE, MAX_WEEKS, MemberRuntime, SchemeConfig

#: weeks before a life-event switch at which its customers become an audience
LIFE_EVENT_LEAD_WEEKS = 8
#: weeks of purchase history before launch the shop can target on (affinity audiences)
HISTORY_WEEKS = 26
#: recorded purchases needed before a customer's category share is trusted
MIN_RECORDED_PURCHASES = 3


class TargetedOffers(SchemeConfig):
    """Targeted category offers.

    Attributes
    ----------
    category : catalogue category of the offer
    offer_value : discount on the category's purchases while live, 0..0.9
    valid_weeks : weeks an offer stays live after delivery
    audience : affinity | life_event | untargeted
    min_affinity : affinity (share of the customer's purchases) needed to be targeted
    audience_share : share of customers reached by an untargeted offer
    channel : email | till
    email_cost : cost per e-mail sent (currency)
    timing : periodic | post_hoc | pre_emptive
    every_weeks : periodic: weeks between offers
    post_hoc_purchases : post_hoc: purchases since the last offer that earn one
    at_risk_factor : pre_emptive: weeks since the last purchase / own mean inter-purchase time
    max_offers_per_customer : over the horizon (None = no limit)
    """

    family: ClassVar[str] = "targeted_offers"
    type: Literal["targeted_offers"] = "targeted_offers"
    category: str = Field(min_length=1)
    offer_value: float = Field(0.15, ge=0.0, le=0.9)
    valid_weeks: int = Field(2, ge=1, le=MAX_WEEKS)
    audience: Literal["affinity", "life_event", "untargeted"] = "affinity"
    min_affinity: float = Field(0.2, ge=0.0, le=1.0)
    audience_share: float = Field(0.2, ge=0.0, le=1.0)
    channel: Literal["email", "till"] = "email"
    email_cost: float = Field(0.002, ge=0.0, le=MAX_MONEY)
    timing: Literal["periodic", "post_hoc", "pre_emptive"] = "periodic"
    every_weeks: int = Field(4, ge=1, le=MAX_WEEKS)
    post_hoc_purchases: int = Field(5, ge=1, le=MAX_COUNT)
    at_risk_factor: float = Field(3.0, gt=1.0, le=MAX_RATE)
    max_offers_per_customer: int | None = Field(None, ge=0, le=MAX_COUNT)

    @model_validator(mode="after")
    def _check(self) -> "TargetedOffers":
        if self.channel == "till" and self.email_cost:
            raise ValueError("email_cost applies to the e-mail channel; set it to 0 for offers at the till")
        return self

    def population_problems(self, params: Any) -> list[tuple[str, str]]:
        """(field, message) for a category the population's catalogue lacks, or a life event none leads to."""
        cats = params.categories
        if self.category not in cats:
            return [("category", f"category {shown(self.category)} is not in the catalogue {list(cats)}")]
        if self.audience == "life_event" and not any(e.to_category == self.category for e in params.life_events):
            return [("audience", f"no life event of this population leads to {shown(self.category)}")]
        return []

    def start(self, ctx: Any) -> "OffersRuntime":
        for field, msg in self.population_problems(ctx.params):
            raise ConfigError(msg, field=f"{self.name}.{field}")
        return super().start(ctx)


class OffersRuntime(MemberRuntime):
    """Per-block state: offer windows, counts, the observable purchase history."""

    def __init__(self, scheme: TargetedOffers, ctx: Any):
        super().__init__(scheme, ctx)
        t = ctx.traits
        prm = ctx.params
        j = prm.categories.index(scheme.category)
        share = prm.catalogue[scheme.category]
        self.cat_share = t.affinity[:, j].astype(float)
        self.opt_in = t.email_opt_in
        self.relevance = np.minimum(self.cat_share / max(share, 1e-9), 1.0)
        if scheme.audience == "affinity":
            # the shop's record: category purchases over the history before launch (counts drawn
            # from each customer's own rate and affinity), updated with every member purchase
            weeks_seen = np.clip(ctx.launch_week - t.acquisition_week, 0, HISTORY_WEEKS).astype(float)
            self.seen_n = poisson_quantile(ctx.uniforms("history", 0), t.lam * weeks_seen)
            self.seen_cat = binomial_quantile(ctx.uniforms("history", 1), self.seen_n, self.cat_share)
            self.audience = self._recorded_affinity(np.arange(self.n))
        elif scheme.audience == "untargeted":
            self.audience = ctx.uniforms("audience", 0) < scheme.audience_share
        else:
            events = [k for k, e in enumerate(prm.life_events) if e.to_category == scheme.category]
            self.audience = np.isin(t.life_event, events)
            self.relevance = np.where(self.audience, 1.0, self.relevance)
        if scheme.channel == "email":
            self.audience &= t.email_opt_in
        self.live_until = np.full(self.n, -1, dtype=np.int64)
        self.converted = np.zeros(self.n, dtype=bool)
        self.at_risk_live = np.zeros(self.n, dtype=bool)
        self.offers = np.zeros(self.n, dtype=np.int64)
        self.since_offer = np.zeros(self.n, dtype=np.int64)
        self.first_buy = np.full(self.n, -1, dtype=np.int64)
        self.last_buy = np.full(self.n, -1, dtype=np.int64)
        self.buys = np.zeros(self.n, dtype=np.int64)
        self.mean_ipt = 1.0 / max(prm.mean_rate, 1e-6)
        self.ever_audience = self.audience.copy() if scheme.audience != "affinity" else np.zeros(self.n, dtype=bool)
        self._week_ledger: dict[str, np.ndarray] = {}

    def _recorded_affinity(self, pos: np.ndarray) -> np.ndarray:
        """Customers at ``pos`` whose recorded purchases show the category at ``min_affinity`` or more."""
        n = self.seen_n[pos]
        ok = (n >= MIN_RECORDED_PURCHASES) & (self.seen_cat[pos] >= self.scheme.min_affinity * np.maximum(n, 1))
        return ok & self.opt_in[pos] if self.scheme.channel == "email" else ok

    def _deliver(self, week: int, idx: np.ndarray, member: np.ndarray, start: int) -> None:
        """Send this week's offers to the eligible ``member`` customers of ``idx``, live from ``start``.

        E-mail offers go out at the start of a week (live at once); till offers are handed
        to members who buy this week (``member`` is then members who bought) and are live
        from the next week.
        """
        s = self.scheme
        t = self.ctx.traits
        ng = self.ctx.n_granules
        gsum = self.ctx.granule_sum
        if s.audience == "affinity":  # the record as it stands now
            self.audience[idx] = self._recorded_affinity(idx)
        cand = member & self.audience[idx] & (self.live_until[idx] < start)
        if s.max_offers_per_customer is not None:
            cand &= self.offers[idx] < s.max_offers_per_customer
        at_risk = np.zeros(idx.size, dtype=bool)
        if s.timing == "periodic":
            cand &= (week - self.ctx.launch_week) % s.every_weeks == 0
        elif s.timing == "post_hoc":
            cand &= self.since_offer[idx] >= s.post_hoc_purchases
        else:
            nb = self.buys[idx]
            own_ipt = np.where(nb >= 2, (self.last_buy[idx] - self.first_buy[idx]) / np.maximum(nb - 1, 1), self.mean_ipt)
            own_ipt = np.maximum(own_ipt, 1.0)
            at_risk = (self.last_buy[idx] >= 0) & (week - self.last_buy[idx] > s.at_risk_factor * own_ipt)
            cand &= at_risk
        if s.audience == "life_event":
            ev_week = t.life_event_week[idx]
            cand &= (ev_week >= 0) & (week >= ev_week - LIFE_EVENT_LEAD_WEEKS)
        c_idx = idx[cand]
        self.ever_audience[c_idx] = True
        zeros = np.zeros(ng)
        if s.channel == "email":
            u = self.ctx.uniforms("email", week)
            u2 = self.ctx.uniforms("click", week)
            opened = u[c_idx] < t.email_open[c_idx]
            clicked = opened & (u2[c_idx] < t.email_click[c_idx])
            got = c_idx[clicked]
            self._week_ledger = {"emails_sent": gsum(c_idx, 1.0), "emails_opened": gsum(c_idx[opened], 1.0),
                                 "emails_clicked": gsum(got, 1.0), "offers_shown": zeros,
                                 "email_cost": gsum(c_idx, s.email_cost)}
        else:
            got = c_idx
            self._week_ledger = {"emails_sent": zeros, "emails_opened": zeros, "emails_clicked": zeros,
                                 "offers_shown": gsum(c_idx, 1.0), "email_cost": zeros}
        self.offers[c_idx] += 1
        self.since_offer[c_idx] = 0
        self.live_until[got] = start + s.valid_weeks - 1
        self.converted[got] = False
        self.at_risk_live[got] = at_risk[cand][np.isin(c_idx, got)] if at_risk.any() else False

    def effects(self, week: int, idx: np.ndarray) -> Effects:
        b = self.behaviour
        member = self.members(week, idx)
        if self.scheme.channel == "email":
            self._deliver(week, idx, member, start=week)
        live = member & (self.live_until[idx] >= week) & (self.scheme.offer_value > 0)
        # the offer is a price cut on a category: no response below the noticeable depth, saturation above
        g = float(b.discount_response(self.scheme.offer_value))
        rate = np.where(live, 1.0 + b.offer_rate_lift * g * self.relevance[idx] * self.rate_sens_norm(idx), 1.0)
        dropout = np.where(live & self.at_risk_live[idx], 1.0 - b.offer_dropout_cut * g, 1.0)
        return Effects(rate=rate, dropout=dropout)

    def rate_sens_norm(self, idx: np.ndarray) -> np.ndarray:
        """Segment weight of the offer response: price-sensitive customers respond most."""
        top = max(self.behaviour.rate_lift_price, 1e-9)
        return self.rate_sens[idx] / top

    def settle(self, week: int, idx: np.ndarray, purchases: np.ndarray, gross: np.ndarray,
               bill: np.ndarray | None = None) -> Settlement:
        s = self.scheme
        gsum = self.ctx.granule_sum
        member = self.members(week, idx)
        live = member & (self.live_until[idx] >= week)
        bought = purchases > 0
        disc = np.where(live & bought, s.offer_value * self.cat_share[idx] * gross, 0.0)
        if bill is not None:
            disc = np.minimum(disc, bill)
        new_conv = live & bought & ~self.converted[idx]
        self.converted[idx[new_conv]] = True
        b_idx = idx[bought & member]
        self.since_offer[b_idx] += purchases[bought & member]  # a post-hoc reward counts this visit
        if s.audience == "affinity":  # the record grows with every member purchase
            k = purchases[bought & member]
            u = self.ctx.uniforms("record", week)[b_idx]
            self.seen_n[b_idx] += k
            self.seen_cat[b_idx] += binomial_quantile(u, k, self.cat_share[b_idx])
        if s.channel == "till":  # handed over at the till to this week's buyers, live from next week
            self._deliver(week, idx, member & bought, start=week + 1)
        # the purchase history (after delivery: an at-risk test looks at the gap before this visit)
        first = self.first_buy[b_idx] < 0
        self.first_buy[b_idx[first]] = week
        self.last_buy[b_idx] = week
        self.buys[b_idx] += purchases[bought & member]
        ledger = {**self._week_ledger, "offers_live": gsum(idx[live], 1.0), "offers_converted": gsum(idx[new_conv], 1.0),
                  "offer_discount": gsum(idx, disc), **self.member_ledger(week, idx, member)}
        self._week_ledger = {}
        costs = self.member_costs(ledger)
        if "email_cost" in ledger:
            costs["email_cost"] = ledger.pop("email_cost")
        return Settlement(discount=disc, ledger=ledger, costs=costs)

    def customer_state(self) -> dict[str, np.ndarray]:
        out = super().customer_state()
        out["offers"] = self.offers.copy()
        # the audience: customers who were eligible at some delivery (the record changes over time)
        out["in_audience"] = self.ever_audience.copy()
        return out

TargetedOffers.runtime = OffersRuntime
