"""Cashback (store credit usable on later purchases) and gifts at a spend threshold.

**Cashback** credits a share of what a member pays to a balance that is money off
later purchases -- never more than the customer pays in a week, the rest stays on the
balance. Credit can be held back until the balance reaches a minimum, used
automatically at the next purchase or when the customer chooses to, and lapse after
weeks without credit activity. Its perceived value rate is the credit rate, discounted
for the time until the credit can be spent; the value response follows
:meth:`~loyalty_sim.behaviour.BehaviourParams.reward_response` (modest 1% cash-back
rewards still move sales a little, Nastasoiu et al. 2021).

**Gift** hands a member a free item each time the spend since the last gift passes a
threshold. Its value rate is the gift's retail value per unit of spend; progress to
the threshold drives the goal gradient (Kivetz, Urminsky & Zheng 2006), partly
reset after each gift.

References
----------
Kivetz, R., Urminsky, O. & Zheng, Y. (2006). The goal-gradient hypothesis resurrected.
J. Marketing Research 43(1).
Nastasoiu, A., et al. (2021). Cash-back rewards and sales. J. Academy of Marketing
Science 49(6).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from .base import Effects, Settlement
from .common import MAX_COUNT, MAX_MONEY, MAX_WEEKS, MemberRuntime, SchemeConfig


class Cashback(SchemeConfig):
    """Cashback paid as store credit.

    Attributes
    ----------
    rate : share of the amount paid (gross spend less credit used) credited, 0..0.5
    min_balance_to_use : credit can be spent only once the balance reaches this (currency;
        0 = from the first cent, e.g. 5 for credit paid out in 5-unit vouchers)
    use : "auto" -- usable credit is spent on the next purchase; "choose" -- a member who
        buys in a week with usable credit spends it with probability ``use_probability``
    use_probability : weekly probability of spending usable credit at a purchase (``use: choose``)
    expiry_weeks : the whole balance lapses after this many weeks without credit activity
        (earning or spending credit); None = never
    """

    family: ClassVar[str] = "cashback"
    unit: ClassVar[str] = "credit"
    type: Literal["cashback"] = "cashback"
    rate: float = Field(0.02, ge=0.0, le=0.5)
    min_balance_to_use: float = Field(0.0, ge=0.0, le=MAX_MONEY, allow_inf_nan=False)
    use: Literal["auto", "choose"] = "auto"
    use_probability: float = Field(0.3, gt=0.0, le=1.0)
    expiry_weeks: int | None = Field(None, ge=1, le=MAX_WEEKS)

    @model_validator(mode="after")
    def _check(self) -> "Cashback":
        # the default value is what ``to_dict`` writes for an auto scheme: it reads back
        default = type(self).model_fields["use_probability"].default
        if self.use == "auto" and "use_probability" in self.model_fields_set and self.use_probability != default:
            raise ValueError("use_probability applies to use: choose (with use: auto credit is always used)")
        return self



class CashbackRuntime(MemberRuntime):
    """Per-block state: each customer's credit balance and the week of the last credit activity.

    Ledger (per week, currency): ``credit_issued``, ``credit_redeemed`` (used as money off,
    also in the run's ``discount``), ``credit_expired`` (lapsed balances of every customer of
    the block, gone ones included), ``credit_outstanding`` (all balances at the week's end)
    and ``liability_retail`` = ``liability_cost`` = outstanding (credit is money), ``members``,
    ``member_cost``.
    """

    def __init__(self, scheme: Cashback, ctx: Any):
        super().__init__(scheme, ctx)
        self.credit = np.zeros(self.n)
        self.last_activity = np.full(self.n, -1, dtype=np.int64)
        self.value_response = float(self.behaviour.reward_response(scheme.rate))
        self.use_share = 1.0 if scheme.use == "auto" else scheme.use_probability

    def effects(self, week: int, idx: np.ndarray) -> Effects:
        s = self.scheme
        member = self.members(week, idx)
        if self.value_response == 0:
            return Effects()
        # weeks until credit earned now can be spent: the balance still missing, then a purchase
        # at which the customer uses it
        lam = np.maximum(self.ctx.traits.lam[idx], 1e-6)
        weekly_credit = np.maximum(s.rate * lam * self.mean_ticket[idx], 1e-9)
        missing = np.maximum(s.min_balance_to_use - self.credit[idx], 0.0)
        weeks_to = missing / weekly_credit + 1.0 / (self.use_share * lam)
        resp = self.value_response * self.behaviour.distance_discount(weeks_to)
        rate, dropout = self.value_effects(week, idx, resp, member)
        return Effects(rate=rate, dropout=dropout)

    def settle(self, week: int, idx: np.ndarray, purchases: np.ndarray, gross: np.ndarray,
               bill: np.ndarray | None = None) -> Settlement:
        s = self.scheme
        ng = self.ctx.n_granules
        gsum = self.ctx.granule_sum
        member = self.members(week, idx)
        m_idx = idx[member]
        expired_g = np.zeros(ng)
        if s.expiry_weeks is not None:
            # every customer of the block, gone ones included: their credit lapses too
            # lapse once `expiry_weeks` whole weeks have passed without credit activity (checked before
            # this week's bill, so credit earned last week is usable this week whatever the expiry)
            stale = (self.credit > 0) & (week - self.last_activity > s.expiry_weeks)
            if stale.any():
                expired_g = np.bincount(self.granule_of[stale], weights=self.credit[stale], minlength=ng)
                self.credit[stale] = 0.0
        spend = (gross if bill is None else bill)[member]  # what is still to pay
        bal = self.credit[m_idx]
        go = (purchases[member] > 0) & (bal > 0) & (bal >= s.min_balance_to_use)
        if s.use == "choose":
            go &= self.ctx.uniforms("cashback_use", week)[m_idx] < s.use_probability
        # credit is money off this week's bill, never more than the bill; the rest stays
        used = np.where(go, np.minimum(bal, spend), 0.0)
        earned = s.rate * (spend - used)
        self.credit[m_idx] = bal - used + earned
        self.last_activity[m_idx[(used > 0) | (earned > 0)]] = week
        outstanding = self.ctx.block_sum(self.credit)
        used_all = np.zeros(idx.size)
        used_all[member] = used
        earned_all = np.zeros(idx.size)
        earned_all[member] = earned
        ledger = {
            "credit_issued": gsum(m_idx, earned), "credit_redeemed": gsum(m_idx, used),
            "credit_expired": expired_g, "credit_outstanding": outstanding,
            # credit is money: it is worth, and costs, its face value
            "liability_retail": outstanding, "liability_cost": outstanding.copy(),
            **self.member_ledger(week, idx, member),
        }
        return Settlement(discount=used_all, points_earned=earned_all, points_redeemed=used_all, ledger=ledger,
                          costs=self.member_costs(ledger))

    def customer_state(self) -> dict[str, np.ndarray]:
        """Adds the credit balance at the horizon."""
        out = super().customer_state()
        return out

    def balances(self) -> dict[str, np.ndarray]:
        """Credit held."""
        return {"credit": self.credit.copy()}


class Gift(SchemeConfig):
    """A free gift each time a member's spend since the last gift passes a threshold.

    Attributes
    ----------
    spend_threshold : gross spend that earns a gift (currency); spend beyond it carries over
    gift_value : retail value of the gift (currency)
    gift_cost : cost price of the gift (currency), at most ``gift_value``
    max_gifts : most gifts per member over the horizon (None = no limit); spend towards
        gifts stops counting once a member has them all (progress left then lapses)
    """

    family: ClassVar[str] = "gift"
    unit: ClassVar[str] = "gift_spend"
    type: Literal["gift"] = "gift"
    spend_threshold: float = Field(100.0, gt=0.0, le=MAX_MONEY, allow_inf_nan=False)
    gift_value: float = Field(5.0, ge=0.0, le=MAX_MONEY, allow_inf_nan=False)
    gift_cost: float = Field(2.0, ge=0.0, le=MAX_MONEY, allow_inf_nan=False)
    max_gifts: int | None = Field(None, ge=1, le=MAX_COUNT)

    @model_validator(mode="after")
    def _check(self) -> "Gift":
        if self.gift_cost > self.gift_value and self.gift_value > 0:
            raise ValueError(f"gift_cost ({self.gift_cost}) above gift_value ({self.gift_value}): "
                             "cost is the cost price of the gift")
        return self



class GiftRuntime(MemberRuntime):
    """Per-block state: spend since the last gift and gifts received.

    The ledger counts spend towards gifts as a unit (``gift_spend_*``): issued as members
    spend, redeemed ``spend_threshold`` per gift, expired when ``max_gifts`` is reached.
    """

    def __init__(self, scheme: Gift, ctx: Any):
        super().__init__(scheme, ctx)
        self.progress = np.zeros(self.n)
        self.gifts = np.zeros(self.n, dtype=np.int64)
        self.value_rate = scheme.gift_value / scheme.spend_threshold
        self.value_response = float(self.behaviour.reward_response(self.value_rate))

    def _eligible(self, idx: np.ndarray) -> np.ndarray:
        if self.scheme.max_gifts is None:
            return np.ones(idx.size, dtype=bool)
        return self.gifts[idx] < self.scheme.max_gifts

    def effects(self, week: int, idx: np.ndarray) -> Effects:
        s = self.scheme
        b = self.behaviour
        member = self.members(week, idx)
        if self.value_response == 0:
            return Effects()
        on = member & self._eligible(idx)
        weekly_spend = np.maximum(self.ctx.traits.lam[idx] * self.mean_ticket[idx], 1e-9)
        weeks_to = (s.spend_threshold - self.progress[idx]) / weekly_spend
        resp = np.where(on, self.value_response * b.distance_discount(weeks_to), 0.0)
        rate, dropout = self.value_effects(week, idx, resp, on)
        # goal gradient on progress to the gift, partly reset after each gift
        progress = self.progress[idx] / s.spend_threshold
        progress = np.maximum(progress, np.where(self.gifts[idx] > 0, b.post_reward_residual, 0.0))
        gg = np.where(on, self.goal_gradient(progress, idx), 1.0)
        return Effects(rate=rate * gg, dropout=dropout)

    def settle(self, week: int, idx: np.ndarray, purchases: np.ndarray, gross: np.ndarray,
               bill: np.ndarray | None = None) -> Settlement:
        s = self.scheme
        gsum = self.ctx.granule_sum
        member = self.members(week, idx)
        on = member & self._eligible(idx)
        e_idx = idx[on]
        add = gross[on]
        cum = self.progress[e_idx] + add
        n_gifts = np.floor(cum / s.spend_threshold).astype(np.int64)
        # floating point: never take more than was spent
        n_gifts -= (n_gifts * s.spend_threshold > cum).astype(np.int64)
        if s.max_gifts is not None:
            n_gifts = np.minimum(n_gifts, s.max_gifts - self.gifts[e_idx])
        left = cum - n_gifts * s.spend_threshold
        self.gifts[e_idx] += n_gifts
        lapsed = np.zeros(e_idx.size)
        if s.max_gifts is not None:
            done = self.gifts[e_idx] >= s.max_gifts
            lapsed[done] = left[done]
            left[done] = 0.0
        self.progress[e_idx] = left
        gifts_all = np.zeros(idx.size)
        gifts_all[on] = n_gifts
        outstanding = self.ctx.block_sum(self.progress)
        per_unit = outstanding / s.spend_threshold
        ledger = {
            "gift_spend_issued": gsum(e_idx, add), "gift_spend_redeemed": gsum(e_idx, n_gifts * s.spend_threshold),
            "gift_spend_expired": gsum(e_idx, lapsed), "gift_spend_outstanding": outstanding,
            "gifts": gsum(idx, gifts_all),
            "liability_retail": per_unit * s.gift_value, "liability_cost": per_unit * s.gift_cost,
            **self.member_ledger(week, idx, member),
        }
        return Settlement(reward_retail=gifts_all * s.gift_value, reward_cost=gifts_all * s.gift_cost, ledger=ledger,
                          costs=self.member_costs(ledger))

    def customer_state(self) -> dict[str, np.ndarray]:
        """Adds the gifts received."""
        out = super().customer_state()
        out["gifts"] = self.gifts.copy()
        return out

Cashback.runtime = CashbackRuntime

Gift.runtime = GiftRuntime
