"""Referral: members bring new customers, rewarded on the referred customer's first purchase.

Referrals per member-week follow a Poisson law whose mean rises with the rewards to
referrer and referee (relative to the mean ticket); with no reward the programme brings
no one beyond the word of mouth already in the baseline's arrivals. Referred customers are drawn
from a seeded pool attached to the referrer's granule (see
:meth:`loyalty_sim.population.Population.referral_pool`); they are more valuable and
churn less (Schmitt, Skiera & Van den Bulte 2011), with the value gap fading
(Van den Bulte et al. 2018) while the churn gap persists.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from ..inversion import poisson_quantile
from .base import Effects, Settlement
from .common import MAX_COUNT, MAX_MONEY, MemberRuntime, SchemeConfig

#: Weeks over which referred customers' ticket premium halves (Van den Bulte et al. 2018: the margin gap fades).
PREMIUM_HALF_LIFE_WEEKS = 26.0


class Referral(SchemeConfig):
    """A refer-a-friend scheme.

    Attributes
    ----------
    referrer_reward : paid to the member when the referred customer first buys (currency)
    referee_reward : paid to the referred customer on the first purchase (currency)
    reward_cost_share : cost of a reward as a share of its face value (1 = cash, less for vouchers)
    max_referrals_per_member : cap over the horizon (None = none)
    """

    family: ClassVar[str] = "referral"
    uses_referral_pool: ClassVar[bool] = True
    type: Literal["referral"] = "referral"
    referrer_reward: float = Field(10.0, ge=0.0, le=MAX_MONEY)
    referee_reward: float = Field(10.0, ge=0.0, le=MAX_MONEY)
    reward_cost_share: float = Field(1.0, ge=0.0, le=1.0)
    max_referrals_per_member: int | None = Field(None, ge=0, le=MAX_COUNT)

    def start(self, ctx: Any) -> "ReferralRuntime":
        return ReferralRuntime(self, ctx)


class ReferralRuntime(MemberRuntime):
    """Per-block state: referrals made, who referred whom, first purchases rewarded."""

    def __init__(self, scheme: Referral, ctx: Any):
        super().__init__(scheme, ctx)
        b = self.behaviour
        pull = (scheme.referrer_reward + scheme.referee_reward) / self.mean_ticket
        # word of mouth without a programme is already in the baseline's arrivals: a programme with
        # no reward brings no one extra, any reward brings the base rate plus a reward-driven part
        self.rate = b.referral_max_rate * pull / (pull + b.referral_half_reward)
        self.made = np.zeros(self.n, dtype=np.int64)
        self.referred = np.arange(self.n) >= ctx.n_base
        self.referrer_of = np.full(self.n, -1, dtype=np.int64)
        self.rewarded = np.zeros(self.n, dtype=bool)

    def effects(self, week: int, idx: np.ndarray) -> Effects:
        ref = self.referred[idx]
        if not ref.any():
            return Effects()
        b = self.behaviour
        age = week - self.ctx.traits.acquisition_week[idx]
        premium = b.referred_value_premium * 0.5 ** (np.maximum(age, 0) / PREMIUM_HALF_LIFE_WEEKS)
        return Effects(dropout=np.where(ref, b.referred_dropout_factor, 1.0),
                       ticket=np.where(ref, 1.0 + premium, 1.0))

    def settle(self, week: int, idx: np.ndarray, purchases: np.ndarray, gross: np.ndarray,
               bill: np.ndarray | None = None) -> Settlement:
        s = self.scheme
        member = self.members(week, idx) & ~self.referred[idx]
        m_idx = idx[member]
        u = self.ctx.uniforms(f"referral:{s.name}", week)[m_idx]
        counts = poisson_quantile(u, self.rate[m_idx])
        if s.max_referrals_per_member is not None:
            counts = np.minimum(counts, s.max_referrals_per_member - self.made[m_idx])
        ng = self.ctx.n_granules
        lost = np.zeros(ng)
        made_g = self.ctx.granule_sum(m_idx, counts.astype(float))
        if counts.any():
            has = counts > 0
            referrers = m_idx[has]
            new, lost = self.ctx.refer(referrers, counts[has], week)
            self.made[referrers] += counts[has]
            # who referred whom, in pool order (the pool is filled in referrer order)
            self.referrer_of[new] = np.repeat(referrers, counts[has])[: new.size]
        # rewards on a referred customer's first purchase
        first = self.referred[idx] & (purchases > 0) & ~self.rewarded[idx]
        f_idx = idx[first]
        self.rewarded[f_idx] = True
        reward = (s.referrer_reward + s.referee_reward) * s.reward_cost_share
        ledger = {
            "referrals": made_g,
            "referrals_lost": lost,
            "referred_first_purchases": self.ctx.granule_sum(f_idx, 1.0),
            "referral_reward_cost": self.ctx.granule_sum(f_idx, reward),
            "referred_alive": self.ctx.granule_sum(idx[self.referred[idx]], 1.0),
            **self.member_ledger(week, idx, member),
        }
        return Settlement(ledger=ledger)

    def customer_state(self) -> dict[str, np.ndarray]:
        out = super().customer_state()
        out[f"referrals:{self.scheme.name}"] = self.made.copy()
        return out
