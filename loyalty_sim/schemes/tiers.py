"""Tiered membership: tiers qualified by spend or visits over a rolling window.

Each member holds a tier (the first, with threshold 0, is the base tier). A tier
brings a discount at the till, non-monetary perks and *status*:

* **promotion** comes as soon as the rolling total of qualifying spend (or visits)
  over the last ``window_weeks`` reaches a higher tier's threshold (from the next week);
* **demotion** comes only at re-qualification reviews, every ``review_every_weeks``
  after launch: a member whose rolling total no longer reaches the tier held drops to
  the tier it reaches. A tier is kept for at least one full review period after it was
  reached (status earned is valid until the next qualification period ends, as in
  airline and supermarket tiers), so a late promotion is not undone a week later;
* **status** lowers dropout; the status felt in tier ``l`` of ``K`` is ``l / K`` -- a
  rung's height on the ladder -- so the top tier of a longer ladder feels higher
  (Dreze & Nunes 2009): dropout x ``(1 - status_dropout_cut * l / K)``;
* **demotion** raises dropout above the never-promoted level (Wagner, Hennig-Thurau
  & Rudolph 2009): a demoted member has dropout x ``(1 + demotion_dropout_rise)``
  (on top of the status of the tier it still holds) and purchase rate x
  ``(1 - demotion_rate_cut)`` until it regains the highest
  tier it held -- for the rest of the horizon if it never does;
* **goal gradient** towards the next tier (Kivetz, Urminsky & Zheng 2006): progress is
  the rolling total over the next tier's threshold;
* the tier **discount** moves demand like a flat discount of that depth (elasticity,
  threshold and saturation, devaluation; see :mod:`loyalty_sim.schemes.discount`)
  and retention through the value response; **perks** lower dropout through the
  segment's perk sensitivity (service-sensitive customers most, Kopalle et al. 2012).

Status acts only through tiers that give something (a discount or perks), and a
scheme none of whose tiers gives anything has no effect at all: a ladder of empty
tiers is a label nobody notices, so a tier scheme worth nothing reproduces the
baseline exactly.

References
----------
Dreze, X. & Nunes, J. C. (2009). Feeling superior: the impact of loyalty program
structure on consumers' perceptions of status. J. Consumer Research 35(6).
Wagner, T., Hennig-Thurau, T. & Rudolph, T. (2009). Does customer demotion jeopardize
loyalty? J. Marketing 73(3).
Kivetz, R., Urminsky, O. & Zheng, Y. (2006). The goal-gradient hypothesis resurrected.
J. Marketing Research 43(1).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from numba import njit
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from .base import Effects, Settlement
from .common import MAX_MONEY, MAX_WEEKS, MemberRuntime, SchemeConfig, goal_gradient_of, is_member, value_dropout


class Tier(BaseModel):
    """One tier of a :class:`Tiers` scheme.

    Attributes
    ----------
    name : label (letters, digits, ``_`` or ``-``); the ledger column is ``tier_<name>``
    threshold : rolling qualifying total needed (currency of gross spend, or visits);
        0 for the first (base) tier
    discount : share of the price taken off at the till for members of the tier, 0..0.9
    perk_cost_per_week : cost of the tier's perks per member per week (currency)
    perk_value : intensity of the tier's non-monetary perks, 0..1 (1 = the segment's full
        ``perk_dropout_cut``)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    threshold: float = Field(ge=0.0, le=MAX_MONEY, allow_inf_nan=False)
    discount: float = Field(0.0, ge=0.0, le=0.9)
    perk_cost_per_week: float = Field(0.0, ge=0.0, le=MAX_MONEY, allow_inf_nan=False)
    perk_value: float = Field(0.0, ge=0.0, le=1.0)

    @property
    def has_benefit(self) -> bool:
        """Whether the tier gives members anything (a discount or perks)."""
        return self.discount > 0 or self.perk_value > 0


def _field_error(loc: tuple, value: Any, message: str) -> ValidationError:
    """A validation error located at ``loc`` (so scenario errors name ``tiers[2].threshold``)."""
    return ValidationError.from_exception_data(
        "Tiers", [InitErrorDetails(type=PydanticCustomError("value_error", message), loc=loc, input=value)])


class Tiers(SchemeConfig):
    """Tiered membership.

    Attributes
    ----------
    qualify_by : "spend" (gross spend, currency, before the tier discount) or "visits"
        (purchases) counted over the rolling window
    window_weeks : length of the rolling qualification window (weeks), 1..104
    review_every_weeks : weeks between re-qualification reviews; demotions happen only
        at reviews, at the end of weeks ``launch_week + k * review_every_weeks`` (k >= 1)
    tiers : the tiers from base to top (at least two); thresholds strictly increasing from 0,
        discounts non-decreasing (see :class:`Tier`)
    """

    family: ClassVar[str] = "tiers"
    type: Literal["tiers"] = "tiers"
    qualify_by: Literal["spend", "visits"] = "spend"
    window_weeks: int = Field(26, ge=1, le=104)
    review_every_weeks: int = Field(13, ge=1, le=MAX_WEEKS)
    tiers: list[Tier] = Field(min_length=2, max_length=20)

    @model_validator(mode="after")
    def _check(self) -> "Tiers":
        t = self.tiers
        if t[0].threshold != 0:
            raise _field_error(("tiers", 0, "threshold"), t[0].threshold,
                               f"the first (base) tier must have threshold 0, got {t[0].threshold:g}")
        seen: set[str] = set()
        for i, tier in enumerate(t):
            if tier.name in seen:
                raise _field_error(("tiers", i, "name"), tier.name, f"tier names must differ; {tier.name!r} repeats")
            seen.add(tier.name)
            if i == 0:
                continue
            prev = t[i - 1]
            if tier.threshold <= prev.threshold:
                raise _field_error(("tiers", i, "threshold"), tier.threshold,
                                   f"thresholds must be strictly increasing: {tier.threshold:g} is not above "
                                   f"tiers[{i - 1}].threshold ({prev.threshold:g})")
            if tier.discount < prev.discount:
                raise _field_error(("tiers", i, "discount"), tier.discount,
                                   f"discounts must not fall from tier to tier: {tier.discount:g} is below "
                                   f"tiers[{i - 1}].discount ({prev.discount:g})")
        return self

    @property
    def has_benefit(self) -> bool:
        """Whether any tier gives anything."""
        return any(t.has_benefit for t in self.tiers)



class TiersRuntime(MemberRuntime):
    """Per-block state: a ring buffer of weekly qualifying totals, tier held, highest tier, demotions.

    The ring buffer (``window_weeks`` x customers, float32) holds each member's weekly
    spend or visits; the rolling total is its column sum.

    A member's effects change only when his tier (held, highest, demoted) or his rolling total
    does, so they are kept per customer and recomputed, at settlement, only for the customers
    whose tier or total changed that week (only the dropout effect of a tier discount that draws
    a value response fades week by week). After changing ``level``, ``max_level``, ``demoted`` or
    ``total`` by hand, call :meth:`refresh`.

    Ledger (per week): ``promotions`` and ``demotions`` (members whose tier changed at the
    week's end), ``tier_<name>`` (members alive at the start of the week by the tier whose
    benefits they had that week; they add up to ``members``), ``perk_cost`` (those counts
    times each tier's ``perk_cost_per_week``), ``members`` and ``member_cost``.
    """

    def __init__(self, scheme: Tiers, ctx: Any):
        super().__init__(scheme, ctx)
        s = scheme
        b = self.behaviour
        k = len(s.tiers)
        self.k = k
        self.thresholds = np.array([t.threshold for t in s.tiers], dtype=float)
        self.discounts = np.array([t.discount for t in s.tiers], dtype=float)
        self.perk_value = np.array([t.perk_value for t in s.tiers], dtype=float)
        self.perk_cost = np.array([t.perk_cost_per_week for t in s.tiers], dtype=float)
        self.benefit = np.array([t.has_benefit for t in s.tiers])
        # status felt in tier l of k: l / k (the top of a longer ladder feels higher, Dreze & Nunes 2009)
        self.status_cut = np.where(self.benefit, b.status_dropout_cut * np.arange(k) / k, 0.0)
        self.value_response = np.asarray(b.discount_response(self.discounts), dtype=float)
        self.devalue = np.asarray(b.devaluation(self.discounts), dtype=float)
        # demand response to each tier's discount, split between visits and basket (as a flat discount)
        self.visit_mult = np.ones((k, self.n))
        self.basket_mult = np.ones((k, self.n))
        for lvl, d in enumerate(self.discounts):
            if d > 0:
                demand = b.discount_demand(float(d), ctx.traits.segment, self.price_heaviness)
                self.visit_mult[lvl] = demand ** b.discount_visit_share
                self.basket_mult[lvl] = demand ** (1.0 - b.discount_visit_share)
        # customer-major copies (one customer's tiers side by side): effects read them at (customer, tier)
        self._visit_flat = np.ascontiguousarray(self.visit_mult.T).reshape(-1)
        self._basket_flat = np.ascontiguousarray(self.basket_mult.T).reshape(-1)
        # by tier: the next tier's threshold (the top's own), whether the goal gradient pulls towards it
        nxt = np.minimum(np.arange(k) + 1, k - 1)
        self._goal_threshold = self.thresholds[nxt]
        self._pulls = (np.arange(k) < k - 1) & self.benefit[nxt]
        self._promote_at = np.append(self.thresholds[1:], np.inf)
        #: whether some tier's discount draws a value response (its dropout effect then erodes week by week)
        self._responds = bool((self.value_response > 0).any())
        self.buffer = np.zeros((s.window_weeks, self.n), dtype=np.float32)
        self.total = np.zeros(self.n)
        self.level = np.zeros(self.n, dtype=np.int16)
        self.max_level = np.zeros(self.n, dtype=np.int16)
        self.since = np.zeros(self.n, dtype=np.int32)  # week (end) the current tier was reached
        self.demoted = np.zeros(self.n, dtype=bool)  # demoted and not yet back at the highest tier held
        self.ever_demoted = np.zeros(self.n, dtype=bool)
        #: per customer, as a member: the tier's demand on visits (x devaluation), the effects' rate (that
        #: x goal gradient x demotion), dropout (status x perks x demotion), ticket and till discount
        self._tier_rate = np.ones(self.n)
        self._rate = np.ones(self.n)
        self._dropout = np.ones(self.n)
        self._ticket = np.ones(self.n)
        self._discount = np.zeros(self.n)
        if s.has_benefit:
            self.refresh()

    def refresh(self, pos: np.ndarray | None = None) -> None:
        """Recompute the kept effects of customers ``pos`` (all by default) from their tier and total."""
        pos = np.arange(self.n) if pos is None else pos
        self._retier(pos)
        self._regoal(pos)

    def _retier(self, pos: np.ndarray) -> None:
        """The tier's effects of customers ``pos``, whose tier (held, highest or demoted) changed."""
        lvl = self.level[pos].astype(np.intp)
        top = self.max_level[pos].astype(np.intp)
        # till discount: demand through visits and basket, retention through the value response
        at = pos * self.k + lvl
        self._tier_rate[pos] = self._visit_flat[at] * self.devalue[top]
        self._ticket[pos] = self._basket_flat[at]
        self._discount[pos] = self.discounts[lvl]
        if not self._responds:
            # no value response: its dropout multiplier is exactly 1 and drops out of the product
            self._dropout[pos] = _tier_dropouts(pos, self.level, self.status_cut, self.perk_sens, self.perk_value,
                                                self.demoted, 1.0 + self.behaviour.demotion_dropout_rise)

    def _regoal(self, pos: np.ndarray) -> None:
        """The rate of customers ``pos``, whose rolling total or tier changed: goal gradient towards the next tier.

        A demoted member buys less, not only leaves sooner: it ends below the never-promoted (Wagner et al. 2009).
        """
        b = self.behaviour
        _regoal(pos, self.level, self.total, self._goal_threshold, self._pulls, self._tier_rate, self.demoted,
                1.0 - b.demotion_rate_cut, self._last_progress, self._cycled, self._lightness, float(b.goal_gradient),
                float(self._big_h), self._rate)

    # ------------------------------------------------------------ effects
    def effects(self, week: int, idx: np.ndarray) -> Effects:
        if not self.scheme.has_benefit:
            self.members(week, idx)
            return Effects()
        if self._responds:
            member = self.members(week, idx)
            # value_effects' dropout times _tier_dropout's, and each tier's rate, ticket and discount, in one pass
            return Effects(*_tier_effects(idx, np.broadcast_to(member, idx.shape), self.erosion(week, idx),
                                          self.level, self.value_response, self.dropout_sens, self.status_cut,
                                          self.perk_sens, self.perk_value, self.demoted,
                                          1.0 + self.behaviour.demotion_dropout_rise, self._rate, self._ticket,
                                          self._discount))
        if self.members_by_code(week, idx):
            member, *effects = _kept_effects(idx, self._enrol_code, week, self.members_ever, self._rate,
                                             self._ticket, self._discount, self._dropout)
            self.remember_members(week, idx, member)
            rate, ticket, discount, dropout = effects
            return Effects(rate=rate, dropout=dropout, ticket=ticket, discount=discount)
        member = self.members(week, idx)
        rate, ticket, discount = self._rate[idx], self._ticket[idx], self._discount[idx]
        dropout = self._dropout[idx]
        if not member.all():
            rate, dropout = np.where(member, rate, 1.0), np.where(member, dropout, 1.0)
            ticket, discount = np.where(member, ticket, 1.0), np.where(member, discount, 0.0)
        return Effects(rate=rate, dropout=dropout, ticket=ticket, discount=discount)

    # ------------------------------------------------------------ settle
    def _reach(self, total: np.ndarray) -> np.ndarray:
        """Highest tier whose threshold ``total`` reaches (``searchsorted(thresholds, total, 'right') - 1``)."""
        if self.k > 8 or np.isnan(total).any():
            return (np.searchsorted(self.thresholds, total, side="right") - 1).astype(np.int16)
        reach = np.full(total.shape, -1, dtype=np.int16)
        for th in self.thresholds:  # a handful of tiers: counting thresholds passed beats a binary search
            reach += total >= th
        return reach

    def is_review(self, week: int) -> bool:
        """Whether re-qualification happens at the end of ``week``."""
        since_launch = week - self.ctx.launch_week
        return since_launch > 0 and since_launch % self.scheme.review_every_weeks == 0

    def _granule_count(self, pos: np.ndarray) -> np.ndarray:
        """Customers ``pos`` (positions in the block) per granule."""
        return np.bincount(self.granule_of[pos], minlength=self.ctx.n_granules).astype(float)

    def _tier_counts(self, counts: np.ndarray, members: np.ndarray) -> np.ndarray:
        """Members by tier (k x granules) from the ``counts`` above the base tier (:func:`_counts_above_base`).

        Customers who are not members are all in the base tier; the base tier's count is what the
        others leave of ``members`` per granule (whole numbers: exact).
        """
        counts[0] = members - counts[1:].sum(axis=0)
        return counts

    def settle(self, week: int, idx: np.ndarray, purchases: np.ndarray, gross: np.ndarray,
               bill: np.ndarray | None = None) -> Settlement:
        s = self.scheme
        member = self.members(week, idx)
        every = member.all()
        # customers by the tier whose benefits they had this week (non-members: the base), before it changes
        counts = _counts_above_base(idx, self.level, self.granule_of, self.k, self.ctx.n_granules)
        # this week's qualifying amount overwrites the slot of the week leaving the window
        slot = (week - self.ctx.launch_week) % s.window_weeks
        amount = gross if s.qualify_by == "spend" else purchases
        fresh = amount if every else np.where(member, amount, 0.0)
        if slot == 0:
            # once per window, the exact sum (no drift from the running total)
            self.buffer[slot, idx] = fresh
            self.total[idx] = self.buffer[:, idx].sum(axis=0, dtype=np.float64)
            moved = idx
            cand = idx if every else idx[np.flatnonzero(member)]
            # thresholds increase: a tier above the one held is reached if the next one is (a NaN or infinite
            # total is counted in full, as every other would be)
            cand = cand[np.flatnonzero(~(self.total[cand] < self._promote_at[self.level[cand]]))]
        else:
            # only members' totals change; only a risen total (or NaN) can reach a tier above the one held,
            # and only if it reaches the next tier's threshold
            moved, cand = _roll_window(idx, np.ascontiguousarray(fresh), self.buffer[slot], self.total,
                                       self._promote_at, self.level)
        reach = self._reach(self.total[cand])
        up = reach > self.level[cand]
        promoted = cand[up]
        self.level[promoted] = reach[up]
        self.since[promoted] = week
        self.max_level[promoted] = np.maximum(self.max_level[promoted], reach[up])
        self.demoted[promoted[self.level[promoted] >= self.max_level[promoted]]] = False
        demoted = due = promoted[:0]
        if self.is_review(week):
            # up for re-qualification: above the entry tier and held for a full review period
            m_idx = idx if every else idx[np.flatnonzero(member)]
            reach = self._reach(self.total[m_idx])
            is_due = (self.level[m_idx] > 0) & (week - self.since[m_idx] >= s.review_every_weeks)
            down = (reach < self.level[m_idx]) & is_due
            due, demoted = m_idx[is_due], m_idx[down]
            self.level[demoted] = reach[down]
            self.since[demoted] = week
            self.demoted[demoted] = True
            self.ever_demoted[demoted] = True
        if s.has_benefit:
            # the effects of the customers whose tier or total changed (a demotion may leave the total as it was)
            for changed in (promoted, demoted):
                if changed.size:
                    self._retier(changed)
            self._regoal(moved)
            if demoted.size:
                self._regoal(demoted)
        count = self._granule_count
        ledger = {"promotions": count(promoted), "demotions": count(demoted), "reviews": count(due)}
        members = self.member_ledger(week, idx, member)
        counts = self._tier_counts(counts, members["members"])
        for lvl, tier in enumerate(s.tiers):
            ledger[f"tier_{tier.name}"] = counts[lvl]
        # summed tier by tier, elementwise: a BLAS product (perk_cost @ counts) picks its kernel, FMA use and
        # order by the matrix shape, i.e. by the block's number of granules, so the last bits changed with it
        ng = self.ctx.n_granules
        perk = np.zeros(ng)
        for lvl in range(self.k):
            perk = perk + self.perk_cost[lvl] * counts[lvl]
        costs = {"perk_cost": perk}
        ledger.update(members)
        costs.update(self.member_costs(ledger))
        return Settlement(ledger=ledger, costs=costs)

    def customer_state(self) -> dict[str, np.ndarray]:
        """Adds the final tier index, the highest tier held and whether the customer was ever demoted."""
        out = super().customer_state()
        out["tier"] = self.level.astype(np.int16)
        out["max_tier"] = self.max_level.astype(np.int16)
        out["demoted"] = self.ever_demoted.copy()
        return out

Tiers.runtime = TiersRuntime


# ---------------------------------------------------------------- compiled steps
# Plain IEEE arithmetic compiled by numba without ``fastmath`` (no reordering, no fused multiply-add):
# each step is the one the numpy formulation did, element by element, so the bits are the same.

@njit(cache=True)
def _roll_window(idx: np.ndarray, fresh: np.ndarray, row: np.ndarray, total: np.ndarray, promote_at: np.ndarray,
                 level: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Put the week's amounts ``fresh`` of ``idx`` in the window slot ``row``, updating their rolling ``total``.

    Returns the customers whose total changed and those whose total rose (or is NaN) to the next tier's
    threshold or past it: the candidates for promotion.
    """
    moved = np.empty(idx.size, dtype=np.int64)
    cand = np.empty(idx.size, dtype=np.int64)
    n_moved = n_cand = 0
    for j in range(idx.size):
        i = idx[j]
        change = fresh[j] - np.float64(row[i])
        t = total[i] + change
        total[i] = t
        row[i] = fresh[j]
        if change != 0:
            moved[n_moved] = i
            n_moved += 1
        if not change <= 0 and not t < promote_at[level[i]]:
            cand[n_cand] = i
            n_cand += 1
    return moved[:n_moved], cand[:n_cand]


@njit(cache=True)
def _tier_effects(idx: np.ndarray, member: np.ndarray, fade: np.ndarray, level: np.ndarray, value_response: np.ndarray,
                  dropout_sens: np.ndarray, status_cut: np.ndarray, perk_sens: np.ndarray, perk_value: np.ndarray,
                  demoted: np.ndarray, demoted_factor: float, tier_rate: np.ndarray, tier_ticket: np.ndarray,
                  tier_discount: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rate, dropout, ticket and discount of ``idx``: their tier's for members, none for the others.

    The dropout is :func:`_tier_dropout` of :meth:`MemberRuntime.value_effects`' dropout.
    """
    n = idx.size
    rate, dropout, ticket, discount = np.ones(n), np.ones(n), np.ones(n), np.zeros(n)
    for j in range(n):
        if not member[j]:
            continue
        i = idx[j]
        lvl = level[i]
        value = value_dropout(fade[j] * value_response[lvl], dropout_sens[i])
        dropout[j] = _tier_dropout(value, i, lvl, status_cut, perk_sens, perk_value, demoted, demoted_factor)
        rate[j], ticket[j], discount[j] = tier_rate[i], tier_ticket[i], tier_discount[i]
    return rate, dropout, ticket, discount


@njit(cache=True, inline="always")
def _tier_dropout(value: float, i: int, lvl: int, status_cut: np.ndarray, perk_sens: np.ndarray,
                  perk_value: np.ndarray, demoted: np.ndarray, demoted_factor: float) -> float:
    """Dropout multiplier ``value x status x perks x demotion`` of customer ``i`` in tier ``lvl``."""
    perks = 1.0 - perk_sens[i] * perk_value[lvl]
    return value * (1.0 - status_cut[lvl]) * perks * (demoted_factor if demoted[i] else 1.0)


@njit(cache=True)
def _tier_dropouts(pos: np.ndarray, level: np.ndarray, status_cut: np.ndarray, perk_sens: np.ndarray,
                   perk_value: np.ndarray, demoted: np.ndarray, demoted_factor: float) -> np.ndarray:
    """:func:`_tier_dropout` of customers ``pos`` in their tiers, without a value response (value 1)."""
    out = np.empty(pos.size)
    for j in range(pos.size):
        i = pos[j]
        out[j] = _tier_dropout(1.0, i, level[i], status_cut, perk_sens, perk_value, demoted, demoted_factor)
    return out


@njit(cache=True)
def _counts_above_base(idx: np.ndarray, level: np.ndarray, granule_of: np.ndarray, k: int,
                       n_granules: int) -> np.ndarray:  # pragma: no cover - compiled
    """Customers ``idx`` by tier ``level`` (k x granules), the base tier's row left at 0 (whole numbers: exact)."""
    counts = np.zeros((k, n_granules))
    for j in range(idx.size):
        i = idx[j]
        lvl = level[i]
        if lvl != 0:
            counts[lvl, granule_of[i]] += 1.0
    return counts


@njit(cache=True)
def _regoal(pos, level, total, goal_threshold, pulls, tier_rate, demoted, demoted_factor, last_progress, cycled,
            lightness, g, big_h, rate):  # pragma: no cover - compiled
    """``rate`` of ``pos``: the tier's rate times the goal gradient towards the next tier (where it pulls).

    Times ``demoted_factor`` for the demoted; records the progress (:func:`goal_gradient_of`).
    """
    for j in range(pos.size):
        i = pos[j]
        lvl = level[i]
        gg = goal_gradient_of(i, total[i] / goal_threshold[lvl], last_progress, cycled, lightness, g, big_h)
        r = tier_rate[i] * (gg if pulls[lvl] else 1.0)
        if demoted[i]:
            r *= demoted_factor
        rate[i] = r


@njit(cache=True)
def _kept_effects(idx, code, week, members_ever, rate, ticket, discount, dropout):  # pragma: no cover - compiled
    """Membership of ``idx`` (:func:`is_member`) and the kept effects of the members (none for the others)."""
    n = idx.size
    member = np.empty(n, dtype=np.bool_)
    rate_out, ticket_out, discount_out, dropout_out = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    for j in range(n):
        i = idx[j]
        m = is_member(i, code, week, members_ever)
        member[j] = m
        rate_out[j] = rate[i] if m else 1.0
        ticket_out[j] = ticket[i] if m else 1.0
        discount_out[j] = discount[i] if m else 0.0
        dropout_out[j] = dropout[i] if m else 1.0
    return member, rate_out, ticket_out, discount_out, dropout_out
