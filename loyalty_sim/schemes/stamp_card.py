"""Stamp card: N qualifying purchases earn a free item.

Behaviour: the card's value rate (reward retail value per unit of spend) drives the
value response; progress towards the free item drives the goal gradient (Kivetz,
Urminsky & Zheng 2006), with head-start stamps counted as progress (endowed progress,
Nunes & Dreze 2006) and a partial reset after each reward.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from numba import njit
from pydantic import Field, model_validator
from scipy.special import gammaincc

from ..inversion import binomial_quantile
from .base import Effects, Settlement
from .common import MAX_MONEY, MAX_WEEKS, MemberRuntime, SchemeConfig, goal_gradient_of, np_max


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
    """Per-block state: stamps on the current card, card start week, completed cards.

    A customer's response to his card (its value, discounted by the distance to the reward, and
    the goal-gradient multiplier) changes only when his card does: both are kept per customer,
    computed for every customer's empty card at the start and again whenever a card changes (a
    purchase, an expiry); every week only the erosion of the response is applied afresh.
    """

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
        # stamps per week at the base rate, for the distance to the reward
        rate = ctx.traits.lam if self.qualify is None else ctx.traits.lam * self.qualify
        self._stamp_rate = np.maximum(rate, 1e-6)
        # the goal gradient acts only with some value to pull towards
        self._pull = self.value_response > 0
        self._pull_all = bool(self._pull.all())
        #: per customer: response to his card and goal-gradient multiplier (1 where none acts, members or not)
        self._card_response = np.zeros(self.n)
        self._card_pull = np.ones(self.n)
        #: stamps on the block's cards per granule, kept by the week's issues, redemptions and expiries
        self._outstanding = np.zeros(ctx.n_granules)
        # every card starts empty; the goal gradient records that progress, as at a customer's first week
        self._card_effects(np.arange(self.n), holds=False)

    def _card_effects(self, pos: np.ndarray, holds: bool) -> None:
        """Compute the card response and goal-gradient multiplier of customers ``pos`` from their cards.

        ``holds``: whether they hold a card (all of them, or none). Called whenever a card changes, so the
        goal gradient records every change of progress (an unchanged progress would record nothing).
        """
        s, b = self.scheme, self.behaviour
        endowed = self._endowed()
        _card_effects(pos, holds, self.stamps, s.head_start, s.stamps_required, self._stamp_rate,
                      b.distance_discount_per_week, self.value_response, self.completed, b.post_reward_residual,
                      self._last_progress, self._cycled, self._lightness, float(b.goal_gradient), float(self._big_h),
                      endowed, self._pull, self._pull_all, self._card_response, self._card_pull)

    def _endowed(self) -> float:
        """The endowed-progress lift of the pull: a card that starts part-filled feels under way (Nunes & Dreze 2006).

        The study measured it on every customer handed a card, so it is not scaled by heaviness.
        """
        s = self.scheme
        return 1.0 + self.behaviour.endowed_progress_lift * s.head_start / s.stamps_required if s.head_start else 1.0

    def effects(self, week: int, idx: np.ndarray) -> Effects:
        rate, dropout = self.member_effects(week, idx, self._card_response, pull=self._card_pull)
        return Effects(rate=rate, dropout=dropout)

    def _expire(self, week: int, b_idx: np.ndarray, head: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Expire the cards left too long; a buyer (of ``b_idx``) gets a new card at once.

        Every card of the block expires, gone customers' included, so their stamps lapse too instead
        of staying outstanding for ever. Adds the new cards' head starts to ``head`` (aligned with
        ``b_idx``). Returns the stamps expired per granule and the customers left without a card.
        """
        s = self.scheme
        ng = self.ctx.n_granules
        stale = np.flatnonzero((self.card_start >= 0) & (week - self.card_start >= s.expiry_weeks))
        if not stale.size:
            return np.zeros(ng), stale
        expired_g = np.bincount(self.granule_of[stale], weights=self.stamps[stale].astype(float), minlength=ng)
        # the expired card is replaced by a new one (with its head start) at the next visit
        self.stamps[stale] = 0
        self.card_start[stale] = -1
        # a purchase this week opens the new card at once
        gone = np.zeros(self.n, dtype=bool)
        gone[stale] = True
        old = gone[b_idx]
        reopen = b_idx[old]
        self.card_start[reopen] = week
        self.stamps[reopen] = s.head_start
        if head is not None:
            head[old] = s.head_start
        return expired_g, stale[~np.isin(stale, reopen, assume_unique=True)]

    def settle(self, week: int, idx: np.ndarray, purchases: np.ndarray, gross: np.ndarray,
               bill: np.ndarray | None = None) -> Settlement:
        s = self.scheme
        ng = self.ctx.n_granules
        hs = s.head_start
        member = self.members(week, idx)
        members = self.member_ledger(week, idx, member)  # first, while the engine's sums over idx are primed
        # only members who buy open, fill or complete a card (a card never stays full after settlement)
        bpos = np.flatnonzero(purchases > 0)
        if not member.all():
            bpos = bpos[member[bpos]]
        b_idx = idx[bpos]
        buys = purchases[bpos]
        head = np.zeros(b_idx.size) if hs else None  # head-start stamps of the cards each buyer is given
        # a member's first visit opens a card (head-start stamps are issued then)
        new_card = self.card_start[b_idx] < 0
        opened = b_idx[np.flatnonzero(new_card)]
        self.card_start[opened] = week
        self.stamps[opened] = hs
        self.issued_cards[opened] = True
        if hs:
            head[new_card] = hs
        expired_g, lapsed = np.zeros(ng), b_idx[:0]
        if s.expiry_weeks is not None:
            expired_g, lapsed = self._expire(week, b_idx, head)
        # stamps earned this week
        if self.qualify is not None:
            u = self.ctx.uniforms("stamp_qualify", week)[b_idx]
            earned = binomial_quantile(u, buys, self.qualify[b_idx])
        else:
            earned = buys
        # an expired card is gone (its effects first); then, in one compiled pass, each buying member's stamps
        # go on his card, full cards are redeemed (booked this week) and his card's effects are computed
        if lapsed.size:
            self._card_effects(lapsed, holds=False)
        b = self.behaviour
        retail, cost, rewards, issued_b, rewards_g, issued_g, rewarded = _fill_cards(
            bpos, b_idx, earned, head if hs else _NO_HEAD, bool(hs), idx.size, week, float(s.reward_value),
            float(s.reward_cost), self.completed, self.card_start, self.granule_of, ng, self.stamps, hs,
            s.stamps_required, self._stamp_rate, b.distance_discount_per_week, self.value_response,
            b.post_reward_residual, self._last_progress, self._cycled, self._lightness, float(b.goal_gradient),
            float(self._big_h), self._endowed(), self._pull, self._pull_all, self._card_response, self._card_pull)
        # rewards are settled where there are any (0.0 otherwise: the engine skips them)
        reward_retail, reward_cost = (retail, cost) if rewarded else (0.0, 0.0)
        redeemed_g = rewards_g * s.stamps_required
        self._outstanding = self._outstanding + issued_g - redeemed_g - expired_g
        outstanding = self._outstanding
        ledger = {
            "stamps_issued": issued_g, "stamps_redeemed": redeemed_g,
            "stamps_expired": expired_g, "stamps_outstanding": outstanding,
            "rewards": rewards_g,
            "liability_retail": outstanding / s.stamps_required * s.reward_value,
            "liability_cost": outstanding / s.stamps_required * s.reward_cost,
            **members,
        }
        issued = redeemed = 0.0
        if self.ctx.writes_log:  # stamps moved per customer: only the transaction log reads them
            issued, redeemed = np.zeros(idx.size), np.zeros(idx.size)
            issued[bpos] = issued_b
            redeemed[bpos] = rewards * s.stamps_required
        return Settlement(reward_retail=reward_retail, reward_cost=reward_cost, points_earned=issued,
                          points_redeemed=redeemed, ledger=ledger, costs=self.member_costs(ledger))

    def customer_state(self) -> dict[str, np.ndarray]:
        out = super().customer_state()
        out["rewards"] = self.completed.copy()
        return out

    def balances(self) -> dict[str, np.ndarray]:
        """Stamps on the current cards."""
        return {"stamps": self.stamps.copy()}

StampCard.runtime = StampCardRuntime

#: a placeholder for the head starts when cards have none
_NO_HEAD = np.zeros(1)


# ---------------------------------------------------------------- compiled steps
# Plain IEEE arithmetic compiled by numba without ``fastmath`` (no reordering, no fused multiply-add):
# each step is the one the numpy formulation did, element by element, so the bits are the same.

@njit(cache=True)
def _card_effects(pos, holds, stamps, head_start, required, stamp_rate, per_week, value_response, completed,
                  residual, last_progress, cycled, lightness, g, big_h, endowed, pull, pull_all, card_response,
                  card_pull):  # pragma: no cover - compiled
    """Card response and goal-gradient pull of customers ``pos`` (see :meth:`StampCardRuntime._card_effects`).

    The response is the card's value response discounted by the weeks to the reward at the customer's
    stamp rate; the progress runs from the first to the last stamp, floored at the post-reward residual
    once a card was completed; the pull acts only on card holders with some value to pull towards.
    """
    per_card = max(required - 1, 1)
    for j in range(pos.size):
        i = pos[j]
        card = stamps[i] if holds else head_start  # stamps on the card (head start before one)
        weeks_to = (required - card) / stamp_rate[i]
        card_response[i] = 1.0 / (1.0 + per_week * np_max(weeks_to, 0.0)) * value_response[i]
        floor = residual if completed[i] > 0 else 0.0 * residual
        gg = goal_gradient_of(i, np_max(card / per_card, floor), last_progress, cycled, lightness, g, big_h)
        if not holds:
            card_pull[i] = 1.0
            continue
        if head_start:
            gg = gg * endowed
        card_pull[i] = gg if (pull_all or pull[i]) else 1.0


@njit(cache=True)
def _fill_cards(bpos, b_idx, earned, head, has_head, n_idx, week, reward_value, reward_cost, completed, card_start,
                granule_of, n_granules, stamps, head_start, required, stamp_rate, per_week, value_response, residual,
                last_progress, cycled, lightness, g, big_h, endowed, pull, pull_all, card_response,
                card_pull):  # pragma: no cover - compiled
    """The buying members' stamps (``b_idx``, at ``bpos`` of the week's customers), in one pass.

    Per buyer: the stamps ``earned`` go on his card; a full card is redeemed, and after the first
    completion every further card needs ``required - head_start`` stamps; the head starts of his new
    cards are added to ``head`` (his head-start stamps so far, if ``has_head``); then every buyer's
    card effects (:func:`_card_effects`, holding a card). Returns the rewards at retail and at cost
    (aligned with the week's ``n_idx`` customers), the rewards and stamps issued per buyer, their
    per-granule sums (whole numbers: exact in any order) and the number of buyers rewarded.
    """
    step = required - head_start
    nb = b_idx.size
    retail, cost = np.zeros(n_idx), np.zeros(n_idx)
    rewards, issued = np.zeros(nb), np.empty(nb)
    rewards_g, issued_g = np.zeros(n_granules), np.zeros(n_granules)
    rewarded = 0
    for t in range(nb):
        i = b_idx[t]
        st = stamps[i] + earned[t]
        h = head[t] if has_head else 0.0
        if st >= required:
            over = st - required
            full = 1 + over // step
            stamps[i] = head_start + over % step
            completed[i] += full
            card_start[i] = week
            h += full * head_start  # the head starts of the new cards, issued now
            r = float(full)
            rewards[t] = r
            retail[bpos[t]] = r * reward_value
            cost[bpos[t]] = r * reward_cost
            rewards_g[granule_of[i]] += r
            rewarded += 1
        else:
            stamps[i] = st
        issued[t] = earned[t] + h
        issued_g[granule_of[i]] += issued[t]
    _card_effects(b_idx, True, stamps, head_start, required, stamp_rate, per_week, value_response, completed,
                  residual, last_progress, cycled, lightness, g, big_h, endowed, pull, pull_all, card_response, card_pull)
    return retail, cost, rewards, issued, rewards_g, issued_g, rewarded
