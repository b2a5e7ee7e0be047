"""Points: earn on spend with one of four accrual methods, redeem under one of four rules.

Accrual (points per currency unit of gross spend, times a multiplier):

* **linear**: the same rate on every purchase;
* **diminishing** (front-loaded): a higher multiplier on a member's first purchases,
  or in the first weeks after launch or after the member's first purchase, and/or on
  event weeks;
* **increasing** (progressive): higher multipliers once the member's cumulative spend
  passes thresholds;
* **compound**: both (the multipliers multiply).

Redemption: **free** (any balance, the member chooses when: a weekly probability at a
purchase), **tiered** (only at set balances for rising rewards; a member saves towards
the highest tier they can reach within ``goal_weeks``), **minimum_unit** (whole
multiples of a unit) and **refill** (free use, plus bonus points each time a
redemption empties the balance). Expiry is **rolling** (all points lapse after
``weeks`` without earning) or **calendar** (every ``weeks`` weeks from launch, points
earned before the previous boundary lapse). Breakage emerges: members who stop buying
leave balances that expire or stay outstanding.

Behaviour: the perceived value rate (reward value per unit of spend at the current
multiplier, discounted by the weeks to the next reward) drives the value response;
progress to the next reward drives the goal gradient, with a partial reset after a
redemption (Kivetz, Urminsky & Zheng 2006).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from numba import njit
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .base import Effects, Settlement
from .common import (
    MAX_COUNT,
    MAX_MONEY,
    MAX_RATE,
    MAX_UNITS,
    MAX_WEEKS,
    MemberRuntime,
    Money,
    SchemeConfig,
    Units,
    Week,
    goal_gradient_of,
    np_max,
    np_min,
)


class Accrual(BaseModel):
    """How points are earned.

    Attributes
    ----------
    method : linear | diminishing | increasing | compound
    front_multiplier : multiplier of the front-loaded period (diminishing, compound)
    front_purchases : a member's first purchases (after joining) that get it (0 = not used)
    front_weeks : weeks that get it, counted from ``front_from`` (0 = not used)
    front_from : launch | first_purchase
    event_weeks : weeks (simulation weeks) with an event multiplier
    event_multiplier : multiplier in event weeks
    spend_thresholds : cumulative spend (currency, since joining) at which multipliers step up
    threshold_multipliers : multiplier from each threshold on (rising)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    method: Literal["linear", "diminishing", "increasing", "compound"] = "linear"
    front_multiplier: float = Field(2.0, ge=0.0, le=20.0)
    front_purchases: int = Field(0, ge=0, le=MAX_COUNT)
    front_weeks: int = Field(0, ge=0, le=MAX_WEEKS)
    front_from: Literal["launch", "first_purchase"] = "first_purchase"
    event_weeks: list[Week] = Field(default_factory=list, max_length=MAX_WEEKS)
    event_multiplier: float = Field(1.0, ge=0.0, le=20.0)
    spend_thresholds: list[Money] = Field(default_factory=list, max_length=100)
    threshold_multipliers: list[Annotated[float, Field(ge=0.0, le=20.0)]] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _check(self) -> "Accrual":
        front = self.front_purchases > 0 or self.front_weeks > 0 or bool(self.event_weeks)
        steps = bool(self.spend_thresholds)
        if self.method in ("diminishing", "compound") and not front:
            raise ValueError(f"method '{self.method}' needs front_purchases, front_weeks or event_weeks")
        if self.method in ("increasing", "compound") and not steps:
            raise ValueError(f"method '{self.method}' needs spend_thresholds and threshold_multipliers")
        if self.method == "linear" and (front or steps):
            raise ValueError("method 'linear' takes no front-loading or thresholds; use diminishing/increasing/compound")
        if len(self.spend_thresholds) != len(self.threshold_multipliers):
            raise ValueError(f"{len(self.spend_thresholds)} spend_thresholds but "
                             f"{len(self.threshold_multipliers)} threshold_multipliers")
        th = self.spend_thresholds
        if any(t <= 0 for t in th) or any(b <= a for a, b in zip(th, th[1:])):
            raise ValueError(f"spend_thresholds must be positive and strictly increasing, got {th}")
        if any(m < 0 for m in self.threshold_multipliers):
            raise ValueError("threshold_multipliers must be >= 0")
        if any(w < 0 for w in self.event_weeks):
            raise ValueError("event_weeks must be >= 0")
        return self


class Redemption(BaseModel):
    """How points are used.

    Attributes
    ----------
    rule : free | tiered | minimum_unit | refill
    thresholds : balances at which tiered rewards are available (points, increasing)
    rewards : retail value of each tiered reward (currency, rising)
    reward_cost_share : cost of a tiered reward as a share of its retail value
    unit : redemption unit in points (minimum_unit; refill: the balance below which it counts as empty)
    refill_bonus : points granted each time a redemption empties the balance (refill)
    redeem_probability : weekly probability that a member with a usable balance redeems at a purchase
        (free, minimum_unit, refill)
    goal_weeks : tiered: members aim at the highest reward they can reach within this many weeks
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    rule: Literal["free", "tiered", "minimum_unit", "refill"] = "free"
    thresholds: list[Units] = Field(default_factory=list, max_length=100)
    rewards: list[Money] = Field(default_factory=list, max_length=100)
    reward_cost_share: float = Field(0.5, ge=0.0, le=1.0)
    unit: float = Field(1.0, gt=0.0, le=MAX_UNITS)
    refill_bonus: float = Field(0.0, ge=0.0, le=MAX_UNITS)
    redeem_probability: float = Field(0.3, gt=0.0, le=1.0)
    goal_weeks: float = Field(26.0, gt=0.0, le=MAX_WEEKS)

    @model_validator(mode="after")
    def _check(self) -> "Redemption":
        if self.rule == "tiered":
            th, rw = self.thresholds, self.rewards
            if not th or len(th) != len(rw):
                raise ValueError(f"tiered redemption needs as many thresholds as rewards, got {len(th)} and {len(rw)}")
            if any(t <= 0 for t in th) or any(b <= a for a, b in zip(th, th[1:])):
                raise ValueError(f"thresholds must be positive and strictly increasing, got {th}")
            if any(r < 0 for r in rw) or any(b < a for a, b in zip(rw, rw[1:])):
                raise ValueError(f"rewards must be >= 0 and rising with the thresholds, got {rw}")
        elif self.thresholds or self.rewards:
            raise ValueError(f"thresholds/rewards apply to the tiered rule, not '{self.rule}'")
        if self.rule == "refill" and self.refill_bonus <= 0:
            raise ValueError("the refill rule needs a refill_bonus > 0")
        return self


class Expiry(BaseModel):
    """When points lapse: none, rolling (``weeks`` without earning) or calendar (every ``weeks`` weeks)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["none", "rolling", "calendar"] = "none"
    weeks: int = Field(52, ge=1, le=MAX_WEEKS)


class Points(SchemeConfig):
    """A points programme.

    Attributes
    ----------
    earn_rate : points per currency unit of gross spend
    point_value : currency a point is worth when redeemed as money off (free, minimum_unit, refill)
    accrual, redemption, expiry : see :class:`Accrual`, :class:`Redemption`, :class:`Expiry`
    """

    family: ClassVar[str] = "points"
    unit: ClassVar[str] = "points"
    type: Literal["points"] = "points"
    earn_rate: float = Field(1.0, ge=0.0, le=MAX_RATE)
    point_value: float = Field(0.01, ge=0.0, le=MAX_MONEY)
    accrual: Accrual = Accrual()
    redemption: Redemption = Redemption()
    expiry: Expiry = Expiry()

    def value_per_point(self) -> float:
        """Retail value of a point at the lowest reward (tiered) or as money off."""
        r = self.redemption
        if r.rule == "tiered":
            return r.rewards[0] / r.thresholds[0]
        return self.point_value



class PointsRuntime(MemberRuntime):
    """Per-block state: balances (two buckets for calendar expiry), spend, purchases, targets."""

    def __init__(self, scheme: Points, ctx: Any):
        super().__init__(scheme, ctx)
        n = self.n
        self.balance_old = np.zeros(n)  # calendar expiry: points earned before the last boundary
        self.balance_new = np.zeros(n)
        self.cum_spend = np.zeros(n)
        self.purchases = np.zeros(n, dtype=np.int64)
        self.first_purchase = np.full(n, -1, dtype=np.int64)
        self.last_earn = np.full(n, -1, dtype=np.int64)
        self.redeemed_ever = np.zeros(n, dtype=bool)
        self.earned_total = np.zeros(n)
        self.redeemed_total = np.zeros(n)
        self.earned_since_refill = np.zeros(n, dtype=bool)
        self._out_prev: np.ndarray | None = None  # points held per granule after the last settlement
        r = scheme.redemption
        # points earned are whole (floored); with whole reward thresholds or units every balance and flow
        # stays a whole number, and their per-granule sums are exact in any order
        self._whole = ((r.rule == "tiered" and all(float(t).is_integer() for t in r.thresholds))
                       or (r.rule == "minimum_unit" and float(r.unit).is_integer()))
        lam = ctx.traits.lam
        self.points_per_week = scheme.earn_rate * lam * self.mean_ticket  # at multiplier 1
        if r.rule == "tiered":
            th = np.asarray(r.thresholds)
            reach = self.points_per_week[:, None] * r.goal_weeks >= th[None, :]
            self.target = np.maximum(reach.sum(axis=1) - 1, 0)  # highest reachable, at least the first
            self.target_points = th[self.target]
            self.target_value = np.asarray(r.rewards)[self.target]
            self.base_value_rate = scheme.earn_rate * self.target_value / self.target_points
        else:
            self.base_value_rate = np.full(n, scheme.earn_rate * scheme.point_value)
            if r.rule == "refill":
                # the bonus adds its value once per cycle of earning and emptying the balance; a cycle
                # is about the points earned between redemptions (weekly points / redemption probability)
                cycle = np.maximum(self.points_per_week / r.redeem_probability, r.unit)
                self.base_value_rate = self.base_value_rate * (1.0 + r.refill_bonus / cycle)
            step = r.unit if r.rule == "minimum_unit" else 0.0
            self.target_points = np.full(n, step)
        self._pull = self.base_value_rate > 0
        # effects' per-customer response cache (linear accrual only: the multiplier is then always 1): marks
        # the positions whose balance may have changed since the last effects (None: no cache); every
        # customer at first, the customers not yet arrived included (their state is still the initial one)
        self._changed: np.ndarray | None = np.ones(n, dtype=bool) if scheme.accrual.method == "linear" else None
        self._response = np.zeros(n)
        #: goal-gradient multiplier where the reward pulls (1 elsewhere), for the rules that have one
        self._gg = np.zeros(n) if r.rule in ("tiered", "minimum_unit") else None
        # what settlement keeps only for the rules that read it
        a = scheme.accrual
        self._keeps_spend = a.method in ("increasing", "compound")
        self._keeps_purchases = a.method in ("diminishing", "compound") and a.front_purchases > 0
        self._keeps_first = (a.method in ("diminishing", "compound") and a.front_weeks > 0
                             and a.front_from == "first_purchase")
        self._keeps_last_earn = scheme.expiry.type == "rolling"

    @property
    def balance(self) -> np.ndarray:
        return self.balance_old + self.balance_new

    def _points_sum(self, idx: np.ndarray | None, values: np.ndarray) -> np.ndarray:
        """Per-granule sum of points ``values`` (over ``idx``; None = the whole block), bincount's bits.

        Whole non-negative points below 2**52 are summed exactly in any (faster) order.
        """
        if self._whole:
            out = self.ctx.block_count(values) if idx is None else self.ctx.granule_count(idx, values)
            if out.size == 0 or out.max() < 2.0 ** 52:
                return out
        return self.ctx.block_sum(values) if idx is None else self.ctx.granule_sum(idx, values)

    # ---------------------------------------------------------------- accrual
    def multiplier(self, week: int, idx: np.ndarray, purchases: np.ndarray | None = None) -> np.ndarray:
        """Accrual multiplier for ``idx`` this week (front share prorated over the week's purchases)."""
        a = self.scheme.accrual
        mult = np.ones(idx.size)
        if a.method in ("diminishing", "compound"):
            front = np.zeros(idx.size, dtype=bool)
            share = np.zeros(idx.size)
            if a.front_weeks:
                start = (np.full(idx.size, self.ctx.launch_week) if a.front_from == "launch"
                         else np.where(self.first_purchase[idx] >= 0, self.first_purchase[idx], week))
                front |= week - start < a.front_weeks
            share = np.where(front, 1.0, share)
            if a.front_purchases:
                done = self.purchases[idx]
                if purchases is None:
                    in_front = (done < a.front_purchases).astype(float)
                else:
                    left = np.clip(a.front_purchases - done, 0, None)
                    in_front = np.where(purchases > 0, np.minimum(left, purchases) / np.maximum(purchases, 1), left > 0)
                share = np.maximum(share, in_front)
            mult = mult * (1.0 + (a.front_multiplier - 1.0) * share)
            if week in a.event_weeks:
                mult = mult * a.event_multiplier
        if a.method in ("increasing", "compound"):
            th = np.asarray(a.spend_thresholds)
            steps = np.concatenate([[1.0], np.asarray(a.threshold_multipliers)])
            mult = mult * steps[np.searchsorted(th, self.cum_spend[idx], side="right")]
        return mult

    # ---------------------------------------------------------------- effects
    def _responses(self, week: int, idx: np.ndarray, mult: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Reward response and goal-gradient progress (None: the rule has none) of ``idx``."""
        r, b = self.scheme.redemption, self.behaviour
        rule = _RULE_CODES.get(r.rule, _NO_PROGRESS)
        z, progress = _reward_terms(idx, self.balance_old, self.balance_new, self.points_per_week,
                                    np.broadcast_to(mult, idx.shape), rule, self.target_points,
                                    float(r.unit or 0.0), self.base_value_rate, b.distance_discount_per_week,
                                    b.reward_threshold, b.reward_saturation - b.reward_threshold,
                                    self.redeemed_ever, b.post_reward_residual)
        return b.reward_curve(z), (None if rule == _NO_PROGRESS else progress)

    def effects(self, week: int, idx: np.ndarray) -> Effects:
        if self._changed is None:
            member = self.members(week, idx)
            response, progress = self._responses(week, idx, self.multiplier(week, idx))
            gg = None if progress is None else np.where(self._pull[idx], self.goal_gradient(progress, idx), 1.0)
        else:
            # linear accrual: a customer's response and progress change only with the balance (settle
            # and expiry list who changed), so only those are recomputed, by the same formulas
            # (goal_gradient too: called again with the same progress it changes nothing and gives the same)
            changed = np.flatnonzero(self._changed)
            self._changed.fill(False)
            if changed.size:
                resp, prog = self._responses(week, changed, np.ones(changed.size))
                has_pull = prog is not None
                _keep_responses(changed, resp, prog if has_pull else resp, has_pull, self._response,
                                self._gg if has_pull else resp, self._pull, self._last_progress, self._cycled,
                                self._lightness, float(self.behaviour.goal_gradient), float(self._big_h))
            rate, dropout = self.member_effects(week, idx, self._response, pull=self._gg)
            return Effects(rate=rate, dropout=dropout)
        rate, dropout = self.value_effects(week, idx, response, member, pull=gg, pull_by_customer=False)
        return Effects(rate=rate, dropout=dropout)

    # ---------------------------------------------------------------- settle
    def _expire(self, week: int, m_idx: np.ndarray) -> np.ndarray | None:
        """Expire points; returns expired points per customer of the block (None: points never expire)."""
        e = self.scheme.expiry
        if e.type == "none":
            return None
        expired = np.zeros(self.n)
        if e.type == "rolling":
            # rolling: lapse once `weeks` whole weeks have passed without earning (checked before this
            # week's purchases, so a customer who earns every week never loses points)
            bal = self.balance
            stale = (self.last_earn >= 0) & (week - self.last_earn > e.weeks) & (bal > 0)
            expired[stale] = bal[stale]
            self.balance_old[stale] = 0.0
            self.balance_new[stale] = 0.0
            if self._changed is not None:
                self._changed |= stale
        elif e.type == "calendar":
            since = week - self.ctx.launch_week
            if since > 0 and since % e.weeks == 0:
                expired = self.balance_old.copy()
                self.balance_old = self.balance_new
                self.balance_new = np.zeros(self.n)
                if self._changed is not None:
                    self._changed.fill(True)
        return expired

    def _outstanding(self, expired: np.ndarray, after: np.ndarray, before: np.ndarray) -> np.ndarray:
        """Points held per granule after this week's settlement.

        With whole points the sums are exact in any order, so last week's total is updated by the
        change of the balances that moved (expiry, and the per-granule sums ``after`` and ``before`` of
        the members who bought) instead of summing the whole block again; otherwise (or near 2**52) the
        block is summed as before.
        """
        prev = self._out_prev
        if self._whole and prev is not None:
            out = prev + after - before
            if self.scheme.expiry.type != "none":
                out = out - self.ctx.block_count(expired)
            if out.size == 0 or out.max() < 2.0 ** 52:
                self._out_prev = out
                return out
        out = self._points_sum(None, self.balance)
        self._out_prev = out if self._whole else None
        return out

    def settle(self, week: int, idx: np.ndarray, purchases: np.ndarray, gross: np.ndarray,
               bill: np.ndarray | None = None) -> Settlement:
        s, r = self.scheme, self.scheme.redemption
        member = self.members(week, idx)
        members = self.member_ledger(week, idx, member)
        expired = self._expire(week, idx)
        # the multiplier of every customer of the week, before this week's purchases count (linear: 1)
        linear = s.accrual.method == "linear"
        mult = _ONE if linear else self.multiplier(week, idx, purchases)
        u = self.ctx.uniforms("redeem", week) if r.rule != "tiered" else _ONE
        # one compiled pass over the members who bought: redemption at the till from the balance held
        # before this week's purchases (points earned on a purchase cannot pay for that same purchase),
        # the refill bonus, accrual on what was paid (money off with points earns no points), the
        # per-customer records and the per-granule sums
        per_sale, sums, bought = _settle_members(
            idx, member, purchases, gross, gross if bill is None else bill, linear, mult, u, week,
            _REDEEM_CODES[r.rule], float(r.unit), float(r.redeem_probability), float(r.reward_cost_share),
            float(r.refill_bonus), float(s.point_value), float(s.earn_rate), self.target_points,
            self.target_value if r.rule == "tiered" else _ONE, self._keeps_spend, self._keeps_first,
            self._keeps_purchases, self._keeps_last_earn, self.balance_old, self.balance_new, self.redeemed_ever,
            self.redeemed_total, self.earned_total, self.earned_since_refill, self.cum_spend, self.first_purchase,
            self.purchases, self.last_earn, self.ctx.granule_of, self.ctx.n_granules, self.ctx.writes_log,
            # those who bought are marked: their balance may have changed, effects recompute their response
            _NO_MARKS if self._changed is None else self._changed)
        money_off, retail, cost, issued, redeem_pts = per_sale
        issued_sum, redeemed_sum, redemptions, refill_sum, after, before = sums
        outstanding = self._outstanding(expired, after, before)
        per_point = s.value_per_point()
        cost_share = r.reward_cost_share if r.rule == "tiered" else 1.0
        ng = self.ctx.n_granules
        ledger = {
            "points_issued": issued_sum, "points_redeemed": redeemed_sum,
            "points_expired": (self.ctx.block_sum(expired) if s.expiry.type != "none" else np.zeros(ng)),
            "points_outstanding": outstanding,
            "refill_points": refill_sum if r.rule == "refill" else np.zeros(ng),
            "redemptions": redemptions,
            "liability_retail": outstanding * per_point, "liability_cost": outstanding * per_point * cost_share,
            **members,
        }
        # a week without redemptions settles no money off and no reward (0.0: the engine skips them); tiered
        # rewards are goods, never money off; points moved are kept only for the transaction log
        redeemed = bool(redemptions.any())
        log = self.ctx.writes_log
        return Settlement(discount=money_off if redeemed and r.rule != "tiered" else 0.0,
                          reward_retail=retail if redeemed and r.rule == "tiered" else 0.0,
                          reward_cost=cost if redeemed and r.rule == "tiered" else 0.0,
                          points_earned=issued if log else 0.0,
                          points_redeemed=redeem_pts if log else 0.0,
                          ledger=ledger, costs=self.member_costs(ledger))

    def customer_state(self) -> dict[str, np.ndarray]:
        out = super().customer_state()
        out["points_earned"] = self.earned_total.copy()
        out["points_redeemed"] = self.redeemed_total.copy()
        return out

    def balances(self) -> dict[str, np.ndarray]:
        """Points held."""
        return {"points": self.balance.copy()}

Points.runtime = PointsRuntime


# ---------------------------------------------------------------- compiled steps
# Plain IEEE arithmetic compiled by numba without ``fastmath`` (no reordering, no fused multiply-add):
# each step is the one the numpy formulation did, element by element, so the bits are the same.

#: redemption rules whose balance gives a goal-gradient progress (any other rule has none)
_RULE_CODES = {"tiered": 0, "minimum_unit": 1}
_NO_PROGRESS = 2


@njit(cache=True)
def _reward_terms(idx: np.ndarray, balance_old: np.ndarray, balance_new: np.ndarray, points_per_week: np.ndarray,
                  mult: np.ndarray, rule: int, target_points: np.ndarray, unit: float, base_value_rate: np.ndarray,
                  per_week: float, threshold: float, span: float, redeemed_ever: np.ndarray,
                  residual: float) -> tuple[np.ndarray, np.ndarray]:
    """Place of the reward's value in [0, 1] (before :meth:`BehaviourParams.reward_curve`) and progress of ``idx``.

    The value rate is discounted by the weeks to the next reward at the customer's points per week
    (:meth:`BehaviourParams.distance_discount`); the progress (``rule`` 0: towards the tier target, 1:
    within a redemption unit) is floored at the post-reward residual once a customer has redeemed.
    """
    n = idx.size
    z = np.empty(n)
    progress = np.zeros(n)
    for j in range(n):
        i = idx[j]
        bal = balance_old[i] + balance_new[i]
        rate_pts = points_per_week[i] * mult[j]
        if rate_pts < 1e-9:  # np.maximum(x, 1e-9): NaN passes through
            rate_pts = 1e-9
        if rule == 0:
            need = target_points[i] - bal
            prog = bal / target_points[i]
        elif rule == 1:
            part = np.fmod(bal, unit)  # np.mod: fmod, moved to the sign of the unit
            if part != 0:
                if (part < 0) != (unit < 0):
                    part += unit
            else:
                part = np.copysign(0.0, unit)
            need = unit - part
            prog = part / unit
        else:
            need = 0.0
            prog = 0.0
        if need < 0.0:
            need = 0.0
        weeks_to = need / rate_pts
        if weeks_to < 0.0:
            weeks_to = 0.0
        value = base_value_rate[i] * mult[j] * (1.0 / (1.0 + per_week * weeks_to))
        place = (value - threshold) / span
        if place < 0.0:
            place = 0.0
        if place > 1.0:
            place = 1.0
        z[j] = place
        if rule != 2:
            if prog < 0.0:
                prog = 0.0
            if prog > 1.0:
                prog = 1.0
            floor = residual if redeemed_ever[i] else 0.0
            progress[j] = prog if (prog >= floor or prog != prog) else floor
    return z, progress


@njit(cache=True)
def _keep_responses(changed: np.ndarray, response: np.ndarray, progress: np.ndarray, has_pull: bool,
                    kept_response: np.ndarray, kept_pull: np.ndarray, pull: np.ndarray, last_progress: np.ndarray,
                    cycled: np.ndarray, lightness: np.ndarray, g: float, big_h: float) -> None:  # pragma: no cover
    """Keep the recomputed response of the positions ``changed`` and (``has_pull``) their goal gradient.

    The goal gradient is :meth:`MemberRuntime.goal_gradient` of their progress (which it records) where
    the reward pulls, 1 elsewhere.
    """
    for j in range(changed.size):
        i = changed[j]
        kept_response[i] = response[j]
        if has_pull:
            gg = goal_gradient_of(i, progress[j], last_progress, cycled, lightness, g, big_h)
            kept_pull[i] = gg if pull[i] else 1.0


#: redemption rules, as the settle kernel knows them
_REDEEM_CODES = {"tiered": 0, "minimum_unit": 1, "free": 2, "refill": 3}
#: a placeholder for an array the kernel does not read (the linear multiplier, the tiered rule's uniforms)
_ONE = np.ones(1)
#: no positions to mark (the settle kernel marks those who bought only where effects keep responses)
_NO_MARKS = np.zeros(0, dtype=bool)


@njit(cache=True, inline="always")
def _redeem_at_till(rule, bal, at_till, pay, u, target, target_value, unit, redeem_probability, reward_cost_share,
                    point_value):  # pragma: no cover - compiled
    """Points redeemed, money off, reward at retail and at cost of one member holding ``bal`` (see below)."""
    if rule == 0:
        go = at_till and bal >= target
        retail = target_value if go else 0.0
        return (target if go else 0.0), 0.0, retail, retail * reward_cost_share
    step = unit if rule == 1 else 0.0
    usable = np.floor(bal / step) * step if step != 0.0 else bal
    go = at_till and usable > 0 and u < redeem_probability and point_value > 0
    value = np_min(usable * point_value, pay)  # never more than is paid this week
    pts = value / point_value if point_value > 0 else 0.0
    if step != 0.0:
        pts = np.floor(pts / step + 1e-9) * step
    if not go:
        pts = 0.0
    return pts, pts * point_value, 0.0, 0.0  # money off is a discount (less revenue), not goods at cost


@njit(cache=True)
def _settle_members(idx, member, purchases, gross, bill, linear, mult, u, week, rule, unit, redeem_probability,
                    reward_cost_share, refill_bonus, point_value, earn_rate, target_points, target_value,
                    keeps_spend, keeps_first, keeps_purchases, keeps_last_earn, balance_old, balance_new,
                    redeemed_ever, redeemed_total, earned_total, earned_since_refill, cum_spend, first_purchase,
                    bought_count, last_earn, granule_of, n_granules, keeps_log, changed):  # pragma: no cover - compiled
    """One week's settlement of the members of ``idx`` who bought (or paid or spent anything).

    ``rule``: 0 tiered, 1 minimum_unit, 2 free, 3 refill. Per member, in this order: redeem at the till
    from the balance held before the week's purchases (tiered: the target once it is reached; the other
    rules: a usable balance with probability ``redeem_probability``, ``u`` the week's uniforms, never
    more than is paid), oldest bucket first; the refill bonus when a redemption empties a balance that
    held points earned since the last bonus; points earned on what was paid, ``floor(earn_rate *
    max(paid - money off, 0) * mult + 1e-9)``; the records the accrual and expiry rules read. The
    state arrays are updated in place.

    Returns the per-purchase arrays (aligned with ``idx``: money off, empty for the tiered rule;
    reward at retail and at cost, empty for the other rules; points issued and redeemed, empty
    unless ``keeps_log``), the per-granule sums (points issued and redeemed, redemptions, refill
    points, and the balances after and before the week of the members who bought), added in index order
    from 0.0 (bincount's bits), and the block positions of those members, who are also marked in
    ``changed`` (unless it is empty).
    """
    n = idx.size
    money_off_out = np.zeros(n if rule != 0 else 0)
    retail_out = np.zeros(n if rule == 0 else 0)
    cost_out = np.zeros(n if rule == 0 else 0)
    issued_out = np.zeros(n if keeps_log else 0)
    redeemed_out = np.zeros(n if keeps_log else 0)
    marks = changed.size > 0
    issued_sum = np.zeros(n_granules)
    redeemed_sum = np.zeros(n_granules)
    redemptions = np.zeros(n_granules)
    refill_sum = np.zeros(n_granules)
    after_sum = np.zeros(n_granules)
    before_sum = np.zeros(n_granules)
    bought = np.empty(n, dtype=idx.dtype)
    n_bought = 0
    for j in range(n):
        if not member[j]:
            continue
        b = purchases[j]
        spend = gross[j]
        pay = bill[j]
        if not (b > 0 or spend != 0 or pay != 0):
            continue
        i = idx[j]
        bought[n_bought] = i
        n_bought += 1
        if marks:
            changed[i] = True
        bal = balance_old[i] + balance_new[i]
        pts, money_off, retail, cost = _redeem_at_till(
            rule, bal, b > 0, pay, u[i] if rule != 0 else 0.0, target_points[i], target_value[i] if rule == 0 else 0.0,
            unit, redeem_probability, reward_cost_share, point_value)
        done = pts > 0
        if done:
            from_old = np_min(balance_old[i], pts)
            balance_old[i] -= from_old
            balance_new[i] -= pts - from_old
            balance_new[i] = np_max(balance_new[i], 0.0)
            redeemed_ever[i] = True
            redeemed_total[i] += pts
        refill = 0.0
        if rule == 3 and done and balance_old[i] + balance_new[i] < unit and earned_since_refill[i]:
            refill = refill_bonus
            balance_new[i] += refill_bonus
            earned_since_refill[i] = False
        m = 1.0 if linear else mult[j]  # x * 1.0 is x: the linear multiplier of 1, as numpy's ones
        earned = np.floor(earn_rate * np_max(pay - money_off, 0.0) * m + 1e-9)
        balance_new[i] += earned
        if keeps_spend:
            cum_spend[i] += spend
        if keeps_first and first_purchase[i] < 0 and b > 0:
            first_purchase[i] = week
        if keeps_purchases:
            bought_count[i] += b
        if (keeps_last_earn or rule == 3) and earned > 0:
            last_earn[i] = week
            if rule == 3:
                earned_since_refill[i] = True
        issued = earned + refill
        earned_total[i] += issued
        if rule == 0:
            retail_out[j] = retail
            cost_out[j] = cost
        else:
            money_off_out[j] = money_off
        if keeps_log:
            issued_out[j] = issued
            redeemed_out[j] = pts
        g = granule_of[i]
        issued_sum[g] += issued
        redeemed_sum[g] += pts
        redemptions[g] += 1.0 if done else 0.0
        refill_sum[g] += refill
        after_sum[g] += balance_old[i] + balance_new[i]
        before_sum[g] += bal
    return ((money_off_out, retail_out, cost_out, issued_out, redeemed_out),
            (issued_sum, redeemed_sum, redemptions, refill_sum, after_sum, before_sum), bought[:n_bought])
