"""Shared parts of every scheme family: configuration base, enrolment, per-block runtime.

A family module defines a pydantic model (frozen, unknown fields rejected, every
field with its unit) deriving from :class:`SchemeConfig`, and a runtime deriving from
:class:`MemberRuntime`. The runtime gets, per customer of its block, the enrolment
week, the segment sensitivities, a heaviness weight and the expected ticket, and
provides the helpers that turn a perceived value into multipliers.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from numba import njit
from pydantic import BaseModel, ConfigDict, Field
from scipy.special import gammaln

from ..behaviour import BehaviourParams, base_mean_heaviness_weight, base_mean_rate
from .base import Effects, SchemeRuntime, Settlement
from .context import BlockContext

#: Upper bounds of configuration fields: generous but finite, so that no value overflows to
#: infinity or NaN in the simulation or its outputs (``.inf`` and ``1e308`` are refused).
MAX_MONEY = 1e9
"""Any currency amount: reward values and costs, costs per week or member, spend thresholds."""
MAX_UNITS = 1e9
"""Points, stamps or other scheme units: thresholds, bonuses, unit sizes."""
MAX_COUNT = 1_000_000
"""Counts of purchases, gifts, referrals or offers per customer."""
MAX_WEEKS = 5_200
"""Any span or week number, in weeks (100 years)."""
MAX_RATE = 1e6
"""Ratios without a natural ceiling: points per currency unit, factors."""

#: a currency amount in ``[0, MAX_MONEY]``
Money = Annotated[float, Field(ge=0.0, le=MAX_MONEY)]
#: a quantity of scheme units in ``[0, MAX_UNITS]``
Units = Annotated[float, Field(ge=0.0, le=MAX_UNITS)]
#: a week number in ``[0, MAX_WEEKS]``
Week = Annotated[int, Field(ge=0, le=MAX_WEEKS)]


class Enrolment(BaseModel):
    """Who joins, and when.

    Opt-in take-up is defined as a marketer counts it: **of the customers who shop after
    launch, the share who join, at their first visit after launch** (for a customer who
    arrives later, his first visit). A customer who never shops after launch never joins
    and is not counted. Who joins is self-selected: heavier buyers are more likely to
    (``behaviour.take_up_heavy_bias``), with the overall share among those who shop after
    launch equal to ``take_up``.

    Attributes
    ----------
    mode : "automatic" (every customer from launch or acquisition) or "opt_in"
    take_up : share of the customers who shop after launch that join, at their first visit
        after launch (opt-in), 0..1
    weeks_to_enrol : no longer used (joiners sign up at their first visit after launch);
        accepted so that older scenarios still load
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    mode: Literal["automatic", "opt_in"] = "automatic"
    take_up: float = Field(0.5, ge=0.0, le=1.0,
                           description="share of the customers who shop after launch that join, at their first "
                                       "visit after launch (opt-in)")
    weeks_to_enrol: float = Field(6.0, gt=0.0, le=MAX_WEEKS,
                                  description="no longer used: joiners sign up at their first visit after launch")


class SchemeConfig(BaseModel):
    """Fields every scheme has.

    Attributes
    ----------
    name : label in reports
    enrolment : :class:`Enrolment`
    cost_per_member_week : running cost per enrolled, alive member per week (currency)
    fixed_cost_per_week : programme cost per week whatever the membership (currency)
    setup_cost : one-off cost at launch (currency)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    family: ClassVar[str] = "base"
    #: the unit of the scheme's currency ("stamps", "points", "credit"), for the ledger
    unit: ClassVar[str | None] = None
    #: the per-block runtime class, built by :meth:`start` as ``runtime(self, ctx)``
    runtime: ClassVar[type]
    #: whether the engine must give each block a pool of potential referred customers
    uses_referral_pool: ClassVar[bool] = False

    name: str = Field(min_length=1)
    enrolment: Enrolment = Enrolment()
    cost_per_member_week: float = Field(0.0, ge=0.0, le=MAX_MONEY)
    fixed_cost_per_week: float = Field(0.0, ge=0.0, le=MAX_MONEY)
    setup_cost: float = Field(0.0, ge=0.0, le=MAX_MONEY)

    def population_problems(self, params: Any) -> list[tuple[str, str]]:
        """(field, message) for each setting the population cannot serve (none for most families)."""
        return []

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (with the family), written into every output.

        :func:`loyalty_sim.schemes.scheme_from_dict` reads it back (``family`` is informative: the
        ``type`` field says which family).
        """
        return {"family": self.family, **self.model_dump(mode="json")}

    def start(self, ctx: BlockContext) -> SchemeRuntime:
        """The per-block runtime (:attr:`runtime`) of this scheme on ``ctx``."""
        return self.runtime(self, ctx)

    def components(self) -> tuple["SchemeConfig", ...]:
        """``(self,)``; a combination gives its parts."""
        return (self,)


def _mean_power_gamma(r: float, k: float) -> float:
    """E[(lam / E lam)^k] for lam ~ Gamma(r, .)."""
    return float(np.exp(gammaln(r + k) - gammaln(r) - k * np.log(r)))


#: customers of a population's first granules that set the enrolment scale (the same in every block)
TAKE_UP_SAMPLE = 16 * 4096


def _take_up_scale(population: Any, prm: Any, bias: float, take_up: float) -> float:
    """Scale ``c`` with ``mean(min(c * w, 1)) = take_up`` over the population's customers.

    ``w = (lam / E lam)^bias / E[(lam / E lam)^bias]`` weights heavier buyers up; the joining
    probability ``min(c * w, 1)`` is capped at 1 for the heaviest, and an established base
    holds fewer heavy buyers than fresh arrivals (survivors of dropout), so ``c`` is solved
    for (bisection) on the traits of the population's first customers (at most
    :data:`TAKE_UP_SAMPLE`, whatever the block layout) so that the share who join is the
    take-up asked for. Cached on the population.
    """
    if take_up <= 0.0 or bias == 0.0:
        return float(take_up)
    key = (float(bias), float(take_up))
    cache = population.__dict__.setdefault("_take_up_scales", {})
    if key in cache:
        return cache[key]
    t = population.traits(0, min(population.n_customers, TAKE_UP_SAMPLE))
    w = (t.lam / prm.mean_rate) ** bias / _mean_power_gamma(prm.r, bias)
    if take_up >= 1.0:
        c = float(1.0 / max(w.min(), 1e-12))
    else:
        lo, hi = 0.0, 1.0
        while np.minimum(hi * w, 1.0).mean() < take_up:
            hi *= 2.0
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if np.minimum(mid * w, 1.0).mean() < take_up else (lo, mid)
        c = 0.5 * (lo + hi)
    cache[key] = c
    return c


class MemberRuntime:
    """Per-block state every family shares: enrolment, sensitivities, value response helpers.

    Parameters
    ----------
    scheme : SchemeConfig
    ctx : BlockContext
    """

    def __init__(self, scheme: SchemeConfig, ctx: BlockContext):
        self.scheme = scheme
        self.ctx = ctx
        t = ctx.traits
        prm = ctx.params
        self.behaviour: BehaviourParams = ctx.behaviour
        b = self.behaviour
        self.n = ctx.n
        self.granule_of = ctx.granule_of
        self.mean_ticket = prm.spend_p / t.nu
        seg = t.segment.astype(np.intp)
        heavy = b.heaviness_weight(t.lam, base_mean_rate(ctx.population))
        #: responsiveness in (0, 1]: 1 for light buyers, about 0 for heavy ones (Liu 2007)
        self.heaviness = heavy
        self._lightness = 1.0 - heavy
        # heavy buyers barely respond (Liu 2007); normalised so that the average over the customer base
        # is the average response of the segment (light and moderate buyers respond more than it)
        self.gradient_weight = heavy / base_mean_heaviness_weight(ctx.population, b)
        #: weight of the response to price discounts (heavy buyers less, less sharply)
        self.price_heaviness = b.price_heaviness_weight(t.lam, prm.mean_rate)
        self.rate_sens = b.segment_vector("rate_lift")[seg] * self.gradient_weight
        self.dropout_sens = np.minimum(b.segment_vector("dropout_cut")[seg] * self.gradient_weight, 0.95)
        self.perk_sens = b.segment_vector("perk_dropout_cut")[seg]
        #: enrolment week of each customer (inf: not enrolled), and as a whole week capped at the horizon
        #: (``ctx.weeks``: not enrolled within it), valid while ``_whole_weeks`` (every enrolment week whole)
        self.enrol_week = self._enrolment(scheme.enrolment, t, prm, ctx)
        self._enrol_code = np.full(self.n, ctx.weeks, dtype=np.intp)
        self._whole_weeks = True
        self._set_enrolment(np.flatnonzero(np.isfinite(self.enrol_week)))
        self.members_ever = np.zeros(self.n, dtype=bool)
        #: progress towards the reward last week, and whether it has ever gone back (a reward, a review)
        self._last_progress = np.zeros(self.n)
        self._cycled = np.zeros(self.n, dtype=bool)
        g, c = b.goal_gradient, b.post_reward_residual
        #: harmonic mean of the goal-gradient rise over a card (see :meth:`goal_gradient`)
        self._big_h = g * (1.0 - c) / np.log((1.0 + g) / (1.0 + g * c)) if g > 0 and c < 1 else 1.0
        #: (week, positions, membership, enrolment codes) of the last :meth:`members` answer; a join in
        #: :meth:`visited` clears it
        self._members_cache: tuple[int, np.ndarray, np.ndarray, np.ndarray | None] | None = None
        #: erosion after 0, 1, 2... whole weeks of membership (enrolment weeks are whole weeks)
        self._erosion_table = np.asarray(b.erosion(np.arange(ctx.weeks + 1, dtype=float)), dtype=float)
        #: (week, erosion by enrolment code) of the last :meth:`erosion` by codes
        self._erosion_week: tuple[int, np.ndarray] | None = None

    # ------------------------------------------------------------ enrolment
    def _enrolment(self, enr: Enrolment, t: Any, prm: Any, ctx: Any) -> np.ndarray:
        start = np.maximum(t.acquisition_week, ctx.launch_week).astype(float)
        #: whether the customer joins at his first visit after launch (opt-in; all for automatic enrolment)
        self.will_join = np.ones(self.n, dtype=bool)
        if enr.mode == "automatic":
            return start
        bias = self.behaviour.take_up_heavy_bias
        rel = t.lam / prm.mean_rate
        weight = rel ** bias / _mean_power_gamma(prm.r, bias)
        prob = np.minimum(_take_up_scale(ctx.population, prm, bias, enr.take_up) * weight, 1.0)
        u = ctx.uniforms("enrol", 0)
        self.will_join = u < prob
        #: whether the customer has visited since launch (or his arrival): joiners sign up at that visit
        self._visited = np.zeros(self.n, dtype=bool)
        return np.full(self.n, np.inf)

    def _set_enrolment(self, pos: np.ndarray) -> None:
        """Bring the enrolment codes of ``pos`` in line with their (finite) ``enrol_week``."""
        weeks = self.enrol_week[pos]
        if self._whole_weeks and weeks.size and (weeks.min() < 0 or not np.array_equal(weeks, np.floor(weeks))):
            self._whole_weeks = False  # a fractional enrolment week: compared and eroded by the weeks themselves
        self._enrol_code[pos] = np.minimum(weeks, self.ctx.weeks)

    def visited(self, week: int, idx: np.ndarray, purchases: np.ndarray) -> None:
        """Record the week's visits of ``idx`` (before settlement): opt-in joiners sign up at their first.

        Called by the engine once purchases are drawn and before :meth:`settle`, so the purchases of the
        visit at which a customer joins count towards the scheme.
        """
        if self.scheme.enrolment.mode == "automatic":
            return
        shop = idx[(purchases > 0) & ~self._visited[idx]]
        if shop.size:
            self._visited[shop] = True
            join = shop[self.will_join[shop]]
            self.enrol_week[join] = week
            self._set_enrolment(join)
            self.members_ever[join] = True
            self._members_cache = None

    def _enrol_referred(self, idx: np.ndarray) -> None:
        """Automatic enrolment of the referred customers among ``idx``: from their arrival (or launch)."""
        if self.ctx.has_pool and self.scheme.enrolment.mode == "automatic":
            pool = idx[np.searchsorted(idx, self.ctx.n_base):]  # referred customers (idx is sorted)
            if pool.size:
                start = np.maximum(self.ctx.traits.acquisition_week[pool], self.ctx.launch_week)
                self.enrol_week[pool] = np.floor(start)
                self._set_enrolment(pool)

    def _cached_members(self, week: int, idx: np.ndarray) -> np.ndarray | None:
        """The last :meth:`members` answer, if it was for this week and these positions."""
        cached = self._members_cache
        return cached[2] if cached is not None and cached[0] == week and cached[1] is idx else None

    def members(self, week: int, idx: np.ndarray) -> np.ndarray:
        """Which of ``idx`` are members in ``week`` (asked again for the same week and positions: the same answer)."""
        cached = self._cached_members(week, idx)
        if cached is not None:
            return cached
        self._enrol_referred(idx)
        # with whole enrolment weeks, ``code <= week`` is ``enrol_week <= week`` (the cap lies beyond every week)
        code = self._enrol_code[idx] if self._whole_weeks else None
        m = code <= week if code is not None else self.enrol_week[idx] <= week
        if m.all():
            self.members_ever[idx] = True
        else:
            self.members_ever[idx[np.flatnonzero(m)]] = True
        m.flags.writeable = False  # shared by the week's calls: nobody may change it in place
        self._members_cache = (week, idx, m, code)
        return m

    def members_by_code(self, week: int, idx: np.ndarray) -> bool:
        """Whether a compiled pass may find the week's members of ``idx`` itself (``is_member``).

        It may when enrolment weeks are whole and :meth:`members` was not asked yet; it then gives its
        answer to :meth:`remember_members`.
        """
        if self._cached_members(week, idx) is not None:
            return False
        self._enrol_referred(idx)
        return self._whole_weeks

    def remember_members(self, week: int, idx: np.ndarray, member: np.ndarray) -> None:
        """Keep a compiled pass's membership of ``idx`` as the week's :meth:`members` answer."""
        member.flags.writeable = False
        self._members_cache = (week, idx, member, None)

    def member_effects(self, week: int, idx: np.ndarray, response: np.ndarray,
                       pull: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`members`, then :meth:`value_effects` of a response (and pull) held per customer of the block.

        With whole enrolment weeks the two are one compiled pass (the same numbers); returns rate and dropout.
        """
        if self.members_by_code(week, idx):
            m, rate, dropout = _member_value_effects(
                idx, self._enrol_code, week, self._erosion_by_code(week), response, self.rate_sens,
                self.dropout_sens, _NO_PULL if pull is None else pull, pull is not None, self.members_ever)
            self.remember_members(week, idx, m)
            return rate, dropout
        member = self.members(week, idx)
        return self.value_effects(week, idx, response[idx], member, pull=pull)

    def tenure(self, week: int, idx: np.ndarray) -> np.ndarray:
        """Weeks since enrolment (>= 0 for members)."""
        return week - self.enrol_week[idx]

    def erosion(self, week: int, idx: np.ndarray) -> np.ndarray:
        """``behaviour.erosion`` of the weeks since enrolment, looked up by whole weeks (the same numbers)."""
        if self._whole_weeks:
            # every enrolment week is whole: the erosion of each enrolment week this week, read by code
            cached = self._members_cache
            same = cached is not None and cached[0] == week and cached[1] is idx and cached[3] is not None
            return self._erosion_by_code(week)[cached[3] if same else self._enrol_code[idx]]
        age = np.maximum(self.tenure(week, idx), 0.0)
        whole = age.astype(np.int64)
        if age.size and (whole.max() >= self._erosion_table.size or not np.array_equal(whole, age)):
            return self.behaviour.erosion(age)  # a fractional or out-of-horizon age: computed directly
        return self._erosion_table[whole]

    def _erosion_by_code(self, week: int) -> np.ndarray:
        """Erosion this week of a member of each enrolment code (whole enrolment weeks)."""
        if self._erosion_week is None or self._erosion_week[0] != week:
            age = np.maximum(week - np.arange(self.ctx.weeks + 1), 0)  # code ctx.weeks: not enrolled, age 0
            self._erosion_week = (week, self._erosion_table[age])
        return self._erosion_week[1]

    # ---------------------------------------------------------- responses
    def value_effects(self, week: int, idx: np.ndarray, response: np.ndarray, member: np.ndarray,
                      pull: np.ndarray | None = None, pull_by_customer: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Rate and dropout multipliers from a response in [0, 1], with erosion and sensitivities.

        ``pull``, if given, multiplies the members' rate (a goal gradient): one value per customer of the
        block (``pull_by_customer``) or per element of ``idx``.
        """
        # ``(1 + rate_sens * (response * fade)) * pull`` and ``1 - dropout_sens * (...)`` in one compiled pass
        g = self.erosion(week, idx)
        response = np.broadcast_to(response, idx.shape)
        member = np.broadcast_to(member, idx.shape)
        has_pull = pull is not None
        return _value_effects(idx, g, response, member, self.rate_sens, self.dropout_sens,
                              pull if has_pull else _NO_PULL, has_pull, pull_by_customer)

    def goal_gradient(self, progress: np.ndarray, idx: np.ndarray | None = None) -> np.ndarray:
        """Rate multiplier ``(1 + goal_gradient * progress) / D`` (progress in [0, 1]).

        Every card holder speeds up towards the reward by the published gradient (Kivetz et al. 2006).
        For a heavy buyer (responsiveness ``h`` about 0, Liu 2007) this only moves purchases in time:
        the divisor ``D = 1 + (1 - h) (H - 1)``, ``H = g (1 - c) / ln((1 + g) / (1 + g c))`` (the
        harmonic mean of ``1 + g p`` over a card, progress from the post-reward residual ``c`` to 1),
        keeps his purchases per week over a card at his usual rate. On his first card the divisor grows
        with progress (``1 + p (D - 1)``), from 1 when the card is empty: every card starts empty at
        launch, and a slow-down then would dip the whole base below the counterfactual at once. Once his
        progress has gone back (a reward, a review) the divisor is whole, so the slow-down falls after
        the reward (the post-reward reset Kivetz et al. observed). Light buyers
        (``h`` = 1) get the full rise. Called once a week per customer (it records the progress).
        """
        g = self.behaviour.goal_gradient
        big_h = self._big_h
        if idx is None:
            return 1.0 + g * np.clip(progress, 0.0, 1.0)
        p = np.asarray(progress, dtype=float)
        if p.shape != idx.shape:
            p = np.broadcast_to(p, idx.shape)
        return _goal_gradient(idx, p, self._last_progress, self._cycled, self._lightness, float(g), float(big_h))

    def member_ledger(self, week: int, idx: np.ndarray, member: np.ndarray) -> dict[str, np.ndarray]:
        """``members`` of the week, per granule (their cost: :meth:`member_costs`)."""
        if member.all():
            return {"members": self.ctx.granule_sum(idx, 1.0)}  # each granule's customers of the week
        return {"members": self.ctx.granule_count(idx, member)}

    def member_costs(self, ledger: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``member_cost`` of the week, per granule, from the ledger's ``members``."""
        return {"member_cost": ledger["members"] * self.scheme.cost_per_member_week}

    def customer_state(self) -> dict[str, np.ndarray]:
        """Per-customer quantities: ``member`` (ever enrolled) and ``enrol_week`` (-1 = never)."""
        return {"member": self.members_ever.copy(),
                "enrol_week": np.where(np.isfinite(self.enrol_week), self.enrol_week, -1).astype(np.int32)}

    def balances(self) -> dict[str, np.ndarray]:
        """Outstanding balances by unit; none by default."""
        return {}

    def components(self) -> tuple["MemberRuntime", ...]:
        return (self,)


def empty_effects() -> Effects:
    """No effect."""
    return Effects()


def empty_settlement(ledger: dict[str, np.ndarray] | None = None,
                     costs: dict[str, np.ndarray] | None = None) -> Settlement:
    """Nothing settled (but a ledger and costs may still be booked)."""
    return Settlement(ledger=ledger or {}, costs=costs or {})


# ---------------------------------------------------------------- compiled steps
# Plain IEEE arithmetic compiled by numba without ``fastmath`` (no reordering, no fused multiply-add):
# each step is the one the numpy formulation did, element by element, so the bits are the same.

_NO_PULL = np.ones(0)


@njit(cache=True)
def _value_effects(idx: np.ndarray, fade: np.ndarray, response: np.ndarray, member: np.ndarray,
                   rate_sens: np.ndarray, dropout_sens: np.ndarray, pull: np.ndarray, has_pull: bool,
                   pull_by_customer: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(1 + rate_sens * x) * pull`` and ``1 - dropout_sens * x``, ``x = fade * response``, for members.

    Non-members get ``x = 0`` and no pull (a rate times 1.0 is that rate).
    """
    rate = np.empty(idx.size)
    dropout = np.empty(idx.size)
    for j in range(idx.size):
        i = idx[j]
        x = fade[j] * response[j] if member[j] else 0.0
        r = value_rate(x, rate_sens[i])
        rate[j] = r * pull[i if pull_by_customer else j] if (has_pull and member[j]) else r
        dropout[j] = value_dropout(x, dropout_sens[i])
    return rate, dropout


@njit(cache=True, inline="always")
def value_rate(x: float, rate_sens: float) -> float:
    """Rate multiplier ``1 + rate_sens * x`` of an eroded value response ``x`` (compiled steps share it)."""
    return rate_sens * x + 1.0


@njit(cache=True, inline="always")
def value_dropout(x: float, dropout_sens: float) -> float:
    """Dropout multiplier ``1 - dropout_sens * x`` of an eroded value response ``x`` (compiled steps share it)."""
    return 1.0 - dropout_sens * x


@njit(cache=True)
def _goal_gradient(idx: np.ndarray, progress: np.ndarray, last_progress: np.ndarray, cycled: np.ndarray,
                   lightness: np.ndarray, g: float, big_h: float) -> np.ndarray:
    """:meth:`MemberRuntime.goal_gradient` of ``idx``; records their progress and whether it went back."""
    out = np.empty(idx.size)
    for j in range(idx.size):
        out[j] = goal_gradient_of(idx[j], progress[j], last_progress, cycled, lightness, g, big_h)
    return out


@njit(cache=True, inline="always")
def goal_gradient_of(i: int, p: float, last_progress: np.ndarray, cycled: np.ndarray, lightness: np.ndarray,
                     g: float, big_h: float) -> float:
    """:func:`_goal_gradient` of block position ``i`` at progress ``p`` (compiled steps call it per customer)."""
    if p < 0.0:  # np.clip(p, 0, 1): NaN and -0.0 pass through
        p = 0.0
    if p > 1.0:
        p = 1.0
    went_back = cycled[i] or p < last_progress[i] - 1e-12
    cycled[i] = went_back
    last_progress[i] = p
    den = 1.0 if went_back else p
    den *= lightness[i]
    den *= big_h - 1.0
    den += 1.0
    return (g * p + 1.0) / den


@njit(cache=True)
def _member_value_effects(idx: np.ndarray, code: np.ndarray, week: int, erosion: np.ndarray, response: np.ndarray,
                          rate_sens: np.ndarray, dropout_sens: np.ndarray, pull: np.ndarray, has_pull: bool,
                          members_ever: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Membership (``code <= week``, recorded in ``members_ever``) and :func:`_value_effects` of ``idx``.

    ``erosion`` is indexed by enrolment code; ``response`` and ``pull`` by block position.
    """
    member = np.empty(idx.size, dtype=np.bool_)
    rate = np.empty(idx.size)
    dropout = np.empty(idx.size)
    for j in range(idx.size):
        i = idx[j]
        m = is_member(i, code, week, members_ever)
        member[j] = m
        x = erosion[code[i]] * response[i] if m else 0.0
        r = value_rate(x, rate_sens[i])
        rate[j] = r * pull[i] if (has_pull and m) else r
        dropout[j] = value_dropout(x, dropout_sens[i])
    return member, rate, dropout


@njit(cache=True, inline="always")
def np_min(a: float, b: float) -> float:
    """``np.minimum`` of two floats in compiled steps: NaN passes through."""
    return a if (a <= b or a != a) else b


@njit(cache=True, inline="always")
def np_max(a: float, b: float) -> float:
    """``np.maximum`` of two floats in compiled steps: NaN passes through."""
    return a if (a >= b or a != a) else b


@njit(cache=True, inline="always")
def is_member(i: int, code: np.ndarray, week: int, members_ever: np.ndarray) -> bool:
    """Whether block position ``i`` is a member in ``week`` (enrolment code at most the week); recorded."""
    m = code[i] <= week
    members_ever[i] |= m  # a store either way: no branch on who is a member
    return m
