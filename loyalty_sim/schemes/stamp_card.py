"""Stamp card: N qualifying purchases earn a free item.

Behaviour: the card's value rate (reward retail value per unit of spend) drives the
value response; progress towards the free item drives the goal gradient (Kivetz,
Urminsky & Zheng 2006), with head-start stamps counted as progress (endowed progress,
Nunes & Dreze 2006) and a partial reset after each reward.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator
from scipy.special import gammaincc

from ..inversion import binomial_quantile
from .base import Effects, Settlement
from .common import MAX_MONEY, MAX_WEEKS, MemberRuntime, SchemeConfig


class StampCard(SchemeConfig):
    """A stamp card.

    Attributes
    ----------
    stamps_required : stamps on a full card (the reward comes with the last one)
    head_start : stamps already on a new card (endowed progress), < stamps_required
    reward_value : retail price of the free item (currency)
    reward_cost : cost price of the free item (currency); a free coffee costs its ingredients
    min_ticket : a purchase earns a stamp only if it is at least this (currency)
    expiry_weeks : a card not completed this many weeks after it was started expires
        (its stamps are lost); None = never
    """

    family: ClassVar[str] = "stamp_card"
    unit: ClassVar[str] = "stamps"
    type: Literal["stamp_card"] = "stamp_card"
    stamps_required: int = Field(10, ge=1, le=100)
    head_start: int = Field(0, ge=0, le=100)
    reward_value: float = Field(4.5, ge=0.0, le=MAX_MONEY)
    reward_cost: float = Field(1.2, ge=0.0, le=MAX_MONEY)
    min_ticket: float = Field(0.0, ge=0.0, le=MAX_MONEY)
    expiry_weeks: int | None = Field(None, ge=1, le=MAX_WEEKS)

    @model_validator(mode="after")
    def _check(self) -> "StampCard":
        if self.head_start >= self.stamps_required:
            raise ValueError(f"head_start ({self.head_start}) must be less than stamps_required "
                             f"({self.stamps_required})")
        if self.reward_cost > self.reward_value and self.reward_value > 0:
            raise ValueError(f"reward_cost ({self.reward_cost}) above reward_value ({self.reward_value}): "
                             "cost is the cost price of the free item")
        return self



class StampCardRuntime(MemberRuntime):
    """Per-block state: stamps on the current card, card start week, completed cards."""

    def __init__(self, scheme: StampCard, ctx: Any):
        super().__init__(scheme, ctx)
        s = scheme
        self.stamps = np.zeros(self.n, dtype=np.int64)
        self.card_start = np.full(self.n, -1, dtype=np.int64)
        self.completed = np.zeros(self.n, dtype=np.int64)
        self.issued_cards = np.zeros(self.n, dtype=bool)
        # share of a customer's tickets that qualify (Gamma(spend_p, nu) tail above min_ticket)
        if s.min_ticket > 0:
            self.qualify = gammaincc(ctx.params.spend_p, s.min_ticket * ctx.traits.nu)
        else:
            self.qualify = None
        needed = s.stamps_required - s.head_start
        # reward value per unit of spend if every purchase qualifies
        q = self.qualify if self.qualify is not None else 1.0
        self.value_rate = s.reward_value * q / (needed * self.mean_ticket)
        self.value_response = self.behaviour.reward_response(self.value_rate)
        self._needed = needed

    def effects(self, week: int, idx: np.ndarray) -> Effects:
        s = self.scheme
        member = self.members(week, idx)
        holds = self.card_start[idx] >= 0
        card = np.where(holds, self.stamps[idx], s.head_start)  # stamps on the card (head start before one)
        # weeks to the reward at the customer's base rate, for the distance discount
        stamps_left = s.stamps_required - card
        rate_i = self.ctx.traits.lam[idx]
        if self.qualify is not None:
            rate_i = rate_i * self.qualify[idx]
        weeks_to = stamps_left / np.maximum(rate_i, 1e-6)
        value_response = self.value_response[idx]
        resp = value_response * self.behaviour.distance_discount(weeks_to)
        rate, dropout = self.value_effects(week, idx, resp, member)
        # goal gradient: progress from the first to the last stamp, partial reset after a reward; it acts
        # only on customers holding a card, from the visit that opened it (before that there is no
        # progress to feel, head start or not)
        progress = card / max(s.stamps_required - 1, 1)
        residual = np.where(self.completed[idx] > 0, self.behaviour.post_reward_residual, 0.0)
        progress = np.maximum(progress, residual)
        pull = value_response > 0
        gg = self.goal_gradient(progress, idx)
        if s.head_start:
            # endowed progress: a card that starts part-filled feels under way (Nunes & Dreze 2006); the
            # study measured it on every customer handed a card, so it is not scaled by heaviness
            gg = gg * (1.0 + self.behaviour.endowed_progress_lift * s.head_start / s.stamps_required)
        gg = np.where(member & pull & holds, gg, 1.0)
        return Effects(rate=rate * gg, dropout=dropout)

    def settle(self, week: int, idx: np.ndarray, purchases: np.ndarray, gross: np.ndarray,
               bill: np.ndarray | None = None) -> Settlement:
        s = self.scheme
        ng = self.ctx.n_granules
        member = self.members(week, idx)
        mpos = np.flatnonzero(member)
        m_idx = idx[mpos]
        issued = np.zeros(idx.size)
        redeemed = np.zeros(idx.size)
        expired_g = np.zeros(ng)
        # a member's first visit opens a card (head-start stamps are issued then)
        buys = purchases[mpos]
        new_card = (self.card_start[m_idx] < 0) & (buys > 0)
        opened = m_idx[np.flatnonzero(new_card)]
        self.card_start[opened] = week
        self.stamps[opened] = s.head_start
        self.issued_cards[opened] = True
        head = np.zeros(m_idx.size)
        head[new_card] = s.head_start
        # expiry of cards left too long: every card of the block, gone customers' included,
        # so their stamps lapse too instead of staying outstanding for ever
        if s.expiry_weeks is not None:
            stale = np.flatnonzero((self.card_start >= 0) & (week - self.card_start >= s.expiry_weeks))
            if stale.size:
                expired_g = np.bincount(self.granule_of[stale], weights=self.stamps[stale].astype(float),
                                        minlength=ng)
                # the expired card is replaced by a new one (with its head start) at the next visit
                self.stamps[stale] = 0
                self.card_start[stale] = -1
                # a purchase this week opens the new card at once
                gone = np.zeros(self.n, dtype=bool)
                gone[stale] = True
                old = gone[m_idx] & (buys > 0)
                reopen = m_idx[old]
                self.card_start[reopen] = week
                self.stamps[reopen] = s.head_start
                head[old] = s.head_start
        # stamps earned this week
        if self.qualify is not None:
            u = self.ctx.uniforms("stamp_qualify", week)[m_idx]
            earned = binomial_quantile(u, buys, self.qualify[m_idx])
        else:
            earned = buys
        st = self.stamps[m_idx] + earned
        self.stamps[m_idx] = st
        # full cards are redeemed (booked this week); each new card starts with the head start, so
        # after the first completion every further one needs ``stamps_required - head_start`` stamps
        step = s.stamps_required - s.head_start
        rewards = np.zeros(m_idx.size)
        has = np.flatnonzero(st >= s.stamps_required)
        if has.size:
            over = st[has] - s.stamps_required
            full = 1 + over // step
            rewards[has] = full
            r_idx = m_idx[has]
            self.stamps[r_idx] = s.head_start + over % step
            self.completed[r_idx] += full
            self.card_start[r_idx] = week
            head[has] += full * s.head_start  # the head starts of the new cards, issued now
        issued[mpos] = earned + head
        redeemed[mpos] = rewards * s.stamps_required
        reward_retail = np.zeros(idx.size)
        reward_cost = np.zeros(idx.size)
        reward_retail[mpos] = rewards * s.reward_value
        reward_cost[mpos] = rewards * s.reward_cost
        outstanding = self.ctx.block_count(self.stamps)
        count = self.ctx.granule_count  # stamps and rewards are whole numbers: exact sums
        ledger = {
            "stamps_issued": count(idx, issued), "stamps_redeemed": count(idx, redeemed),
            "stamps_expired": expired_g, "stamps_outstanding": outstanding,
            "rewards": count(m_idx, rewards),
            "liability_retail": outstanding / s.stamps_required * s.reward_value,
            "liability_cost": outstanding / s.stamps_required * s.reward_cost,
            **self.member_ledger(week, idx, member),
        }
        return Settlement(reward_retail=reward_retail, reward_cost=reward_cost,
                          points_earned=issued, points_redeemed=redeemed, ledger=ledger,
                          costs=self.member_costs(ledger))

    def customer_state(self) -> dict[str, np.ndarray]:
        out = super().customer_state()
        out["rewards"] = self.completed.copy()
        return out

    def balances(self) -> dict[str, np.ndarray]:
        """Stamps on the current cards."""
        return {"stamps": self.stamps.copy()}

StampCard.runtime = StampCardRuntime
