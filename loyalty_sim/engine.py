"""The simulation loop: customers' purchases played forward week by week.

For each customer alive in week ``w`` (vectorised over a block of customers):

0. a customer new to the business arrives with a trial purchase at the start of the week
   (BG/NBD's time 0: dropout comes only after repeat purchases); customers of an
   established week-0 base have bought before and have none;
1. the scheme (if launched) gives multipliers on rate, dropout and ticket;
2. potential purchases ``K = F^{-1}_Poisson(u1; lam * rate)``;
3. dropout: the customer leaves at the first purchase where the summed hazards
   ``-log(1 - p * dropout / rate)`` pass his Exp(1) *hazard budget* -- with constant
   ``p`` this is exactly "drop out with probability ``p`` after each purchase" (BG/NBD),
   and it lets a scheme change ``p`` from week to week. Dividing by the rate
   multiplier keeps the calendar-time churn hazard ``lam * p`` unchanged when a scheme
   only makes people buy more often (in plain BG/NBD, more purchases would mean
   earlier dropout); only the dropout multiplier moves it;
4. spend of the purchases made: ``Gamma(n * spend_p, rate=nu) * ticket`` by inversion
   of ``u2`` (the sum of ``n`` Gamma-Gamma tickets);
5. the scheme settles discounts, rewards and its ledger.

Blocks are independent, so they run in any order or in parallel; every random
number is keyed by (seed, purpose, granule, week, slot) (see
:mod:`loyalty_sim.streams`) and sums are formed per granule, so the result is
identical whatever the block size or number of workers.
"""

from __future__ import annotations

import copy
import dataclasses
import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from numba import njit
from scipy.special import ndtri

from .errors import ConfigError
from .granules import bounds as granule_bounds
from .granules import counts as granule_counts
from .granules import sums as granule_sums
from .inversion import gamma_sum_quantile
from .memory import LAUNCH_UNIFORMS_LIMIT, check_memory, estimate_memory, launch_uniform_bytes
from .population import SEGMENTS, Population, Traits
from .purchases import purchases_and_dropouts, scheme_rates
from .result import (  # noqa: F401 - SimulationConfig, SimulationResult re-exported
    DEFAULT_BLOCK,
    DEFAULT_START_DATE,
    SimulationConfig,
    SimulationResult,
    customer_columns,
    window_column,
)
from .schemes.base import Settlement
from .schemes.context import BlockContext
from .streams import GRANULE, WeeklyUniforms
from .till import net_of_discounts, per_customer, ticket_and_discount
from .transaction_log import LOG_COLUMNS, empty_log, week_log  # noqa: F401 - LOG_COLUMNS re-exported

#: Weekly totals every run records (per granule, then summed in granule order).
BASE_METRICS: tuple[str, ...] = (
    "alive_start", "new_customers", "purchasers", "transactions", "gross_sales",
    "discount", "revenue", "reward_retail", "reward_cost", "dropouts",
)




def simulate(population: Population, scheme: Any = None, *, weeks: int | None = None, seed: int = 0,
             launch_week: int = 0, output: str = "aggregate", block_size: int = DEFAULT_BLOCK,
             workers: int = 1, windows: Sequence[int] | None = None, progress: bool = False,
             start_date: str = DEFAULT_START_DATE, behaviour: Any = None, keep_launch_state: bool = False,
             resume: "LaunchState | None" = None) -> SimulationResult:
    """Simulate a population over a horizon, with or without a scheme.

    Parameters
    ----------
    population : Population
        The customers (their traits and arrival schedule).
    scheme : Scheme, optional
        The scheme (or combination) to apply from ``launch_week``; None = baseline.
    weeks : int, optional
        Horizon; defaults to the population's.
    seed : int
        Seed of the weekly random numbers; use the same seed for a scheme and its
        baseline (common random numbers).
    launch_week, output, block_size, workers, windows, start_date
        See :class:`SimulationConfig`.
    progress : bool
        Show a progress bar over blocks.
    behaviour : BehaviourParams, optional
        How customers respond to schemes (defaults: :mod:`loyalty_sim.behaviour`).
    keep_launch_state : bool
        Keep every block as it stood at the start of the launch week in the result's
        ``launch_state`` (a run without a scheme only), for scheme runs to ``resume`` from.
    resume : LaunchState, optional
        The ``launch_state`` of a run without a scheme on the same population and settings: the
        run starts at the launch week from there, with the same numbers as a run from week 0
        (a scheme with a referral pool, whose blocks hold more customers, runs from week 0).

    Returns
    -------
    SimulationResult
    """
    if not isinstance(population, Population):
        raise ConfigError(f"expected a Population, got {type(population).__name__}", field="population")
    weeks = population.weeks if weeks is None else weeks
    cfg = SimulationConfig(weeks=weeks, seed=seed, launch_week=launch_week, output=output,
                           block_size=block_size, workers=workers,
                           windows=tuple(windows) if windows is not None else None, start_date=start_date)
    if cfg.weeks > population.weeks:
        raise ConfigError(f"the population covers {population.weeks} weeks, cannot simulate {cfg.weeks}",
                          field="weeks")
    if keep_launch_state and scheme is not None:
        raise ConfigError("only a run without a scheme can keep its launch state", field="keep_launch_state")
    keep = bool(keep_launch_state) and 0 < cfg.launch_week < cfg.weeks
    # the weeks after launch draw the same uniforms in every scheme run: a kept launch state holds them if they fit
    after = cfg.weeks - cfg.launch_week
    keep_uniforms = keep and launch_uniform_bytes(population.n_customers, after, cfg.block_size) <= LAUNCH_UNIFORMS_LIMIT
    check_memory(estimate_memory(population.n_customers, cfg.weeks, params=population.params, output=cfg.output,
                                 block_size=cfg.block_size, workers=cfg.workers, scheme=scheme is not None,
                                 n_windows=len(cfg.windows) - 1, size=population.size, launch_state=keep,
                                 launch_uniform_weeks=after if keep_uniforms else 0))
    starts = list(range(0, population.n_customers, cfg.block_size))
    from .behaviour import BehaviourParams

    behaviour = behaviour if behaviour is not None else BehaviourParams()
    if scheme is not None:
        from .behaviour import base_mean_heaviness_weight

        base_mean_heaviness_weight(population, behaviour)  # computed (and cached) once, before workers fork
    blocks: dict[int, Any] = {}
    if resume is not None:
        if not isinstance(resume, LaunchState) or resume.key != _resume_key(population, cfg):
            raise ConfigError("resume: not the launch state of a run on these customers with these settings "
                              "(seed, horizon, launch week, output, block size, windows, start date)", field="resume")
        if scheme is None or not scheme.uses_referral_pool:
            blocks = resume.blocks
    tasks = [(population, scheme, cfg, s, min(s + cfg.block_size, population.n_customers), behaviour,
              blocks.get(s), keep, keep_uniforms) for s in starts]
    results = _run_blocks(tasks, cfg.workers, progress)
    out = _assemble(population, scheme, cfg, results, behaviour)
    if keep:
        out.launch_state = LaunchState(key=_resume_key(population, cfg), population=population,
                                       blocks={r.start: r.launch_state for r in results})
    return out


def _run_blocks(tasks: list[tuple], workers: int, progress: bool) -> list["_BlockResult"]:
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(tasks), desc="simulating", unit="block")
    out: list[_BlockResult] = []
    if workers == 1 or len(tasks) == 1:
        for t in tasks:
            out.append(_simulate_block(*t))
            if bar is not None:
                bar.update()
    else:
        forked = "fork" in mp.get_all_start_methods()
        ctx = mp.get_context("fork") if forked else None
        if forked:
            _compile_here(*tasks[0][:3], tasks[0][5])
            # blocks to resume from stay in this process's memory, which forked workers share: a task names its
            # block by position instead of carrying it (a block holds hundreds of bytes per customer)
            _FORK_INHERITED["resume"] = [t[6] for t in tasks]
            tasks = [(*t[:6], _Inherited(i), *t[7:]) if t[6] is not None else t for i, t in enumerate(tasks)]
        try:
            with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=ctx) as pool:
                for r in pool.map(_simulate_block_star, tasks):
                    out.append(r)
                    if bar is not None:
                        bar.update()
        finally:
            _FORK_INHERITED.pop("resume", None)
    if bar is not None:
        bar.close()
    return out


#: what forked block workers inherit from the process that started them (see :func:`_run_blocks`)
_FORK_INHERITED: dict[str, Any] = {}

#: the schemes (by type) whose compiled steps this process has loaded (see :func:`_compile_here`)
_COMPILED_FOR: set[str] = set()


def _compile_here(population: Population, scheme: Any, cfg: SimulationConfig, behaviour: Any) -> None:
    """Load the compiled steps a run uses into this process, once, before workers are forked from it.

    A forked worker inherits what its parent has loaded; otherwise every worker of every run would load
    them again (a few tenths of a second each). A few weeks of the first granule of customers are run and
    thrown away: the steps are then compiled for the argument types the run passes them.
    """
    key = type(scheme).__name__ + "/".join(type(p).__name__ for p in getattr(scheme, "parts", []))
    if key in _COMPILED_FOR:
        return
    weeks = min(cfg.weeks, cfg.launch_week + 2)
    small = SimulationConfig(weeks=weeks, seed=cfg.seed, launch_week=min(cfg.launch_week, weeks - 1),
                             start_date=cfg.start_date)
    _simulate_block(population, scheme, small, 0, min(GRANULE, population.n_customers), behaviour)
    _COMPILED_FOR.add(key)


@dataclass(frozen=True)
class _Inherited:
    """The resume block at ``position`` of the tasks, inherited by a forked worker."""

    position: int


def _simulate_block_star(task: tuple) -> "_BlockResult":
    if isinstance(task[6], _Inherited):
        task = (*task[:6], _FORK_INHERITED["resume"][task[6].position], *task[7:])
    return _simulate_block(*task)


@dataclass
class _BlockResult:
    start: int
    granules: list[int]  # global granule id of each row of the weekly arrays
    weekly: dict[str, np.ndarray]  # metric -> (n_granules, weeks)
    customers: dict[str, np.ndarray]  # only customers who exist (referred ones once brought in)
    log: list[pd.DataFrame] | None
    launch_state: "_Block | None" = None  # the block at the start of the launch week (if asked)


@dataclass
class LaunchState:
    """Every block of a run without a scheme as it stood at the start of the launch week.

    Before the launch week a scheme run *is* its counterfactual (the scheme is not yet there, and
    every random number is keyed by what it is for, not by the run), so a scheme run on the same
    customers and seed can start from here instead of replaying those weeks (:func:`simulate`'s
    ``resume``), and read the uniforms of the weeks after it (and the normal quantiles of the spend
    uniforms) instead of drawing them again
    (:attr:`holds_uniforms`). ``key`` is what a run must share with the one that made it.
    """

    key: tuple
    population: Population
    blocks: dict[int, "_Block"]  # by the block's first customer

    @property
    def holds_uniforms(self) -> bool:
        """Whether the blocks hold the uniforms of the weeks after launch, for the scheme runs to read.

        They are held when they fit in :data:`loyalty_sim.memory.LAUNCH_UNIFORMS_LIMIT`.
        """
        return bool(self.blocks) and all(b.uniform_cache is not None for b in self.blocks.values())


def _resume_key(population: Population, cfg: SimulationConfig) -> tuple:
    return (repr(population.params.to_dict()), population.seed, population.size, population.n_customers,
            cfg.weeks, cfg.seed, cfg.launch_week, cfg.output, cfg.block_size, cfg.windows, cfg.start_date)


class _Block:
    """A block of customers being simulated: its context and everything the week loop updates."""

    def __init__(self, population: Population, scheme: Any, cfg: SimulationConfig, start: int, stop: int,
                 behaviour: Any):
        base_traits = population.traits(start, stop)
        pool = None
        if scheme is not None and scheme.uses_referral_pool:
            g0, g1 = start // GRANULE, -(-stop // GRANULE)
            pool = Traits.concat([population.referral_pool(g) for g in range(g0, g1)])
        self.ctx = ctx = BlockContext(population, base_traits, start, cfg, behaviour=behaviour, pool=pool)
        self.cfg = cfg
        traits = ctx.traits
        prm = population.params
        n, weeks, ng = ctx.n, cfg.weeks, ctx.n_granules
        self.alive = np.zeros(n, dtype=bool)
        h0 = -np.log1p(-np.minimum(traits.p, 1 - 1e-12))
        inv_nu = 1.0 / traits.nu
        # exp(-lam) of every customer, once: the Poisson search starts from it whenever the rate is unchanged
        q0 = np.exp(-traits.lam)
        acq = traits.acquisition_week
        # customers of an established week-0 base have bought before: no trial purchase for them
        self.established = np.zeros(n, dtype=bool)
        if prm.established:
            self.established[: ctx.n_base] = traits.customer_id[: ctx.n_base] < population.size
        self.order = np.argsort(acq, kind="stable")
        self.arrive_edges = np.searchsorted(acq[self.order], np.arange(weeks + 1))
        # horizon totals are the sums of the per-window totals (added up once, at the end)
        self.cust = {
            "discount": np.zeros(n), "reward_retail": np.zeros(n), "reward_cost": np.zeros(n),
            "first_purchase_week": np.full(n, -1, dtype=np.int32),
            "last_purchase_week": np.full(n, -1, dtype=np.int32),
            "dropout_week": np.full(n, -1, dtype=np.int32),
        }
        n_win = len(cfg.windows) - 1
        self.win_tx = np.zeros((n_win, n), dtype=np.int64)
        self.win_rev = np.zeros((n_win, n))
        self.week_window = np.searchsorted(np.asarray(cfg.windows), np.arange(weeks), side="right") - 1
        self.weekly: dict[str, np.ndarray] = {m: np.zeros((ng, weeks)) for m in BASE_METRICS}
        self.ledger: dict[str, np.ndarray] = {}
        self.logs: list[pd.DataFrame] | None = [] if cfg.output == "log" else None
        gran = ctx.granule_of
        # position of (granule, row 0, slot) in the week's uniforms for every customer
        u_pos = gran.astype(np.int64) * (2 * GRANULE) + ctx.slot_of
        u_flat = np.empty(ng * 2 * GRANULE)  # per granule: a row of count uniforms, a row of spend uniforms
        self.state = _BlockState(traits, h0, q0, inv_nu, traits.hazard_budget.copy(), prm.spend_p, u_flat, u_pos)
        self._own_uniforms = u_flat  # the block's own buffer (the state may point at a cached week's instead)
        #: the week's uniforms by week (which granules were drawn, the draws, the spend draws' normal quantiles):
        #: recorded by a run that keeps its launch state (``uniform_log``), read back by the runs that resume
        #: from it (``uniform_cache``)
        self.uniform_log: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
        self.uniform_cache: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None

    def resumed(self, behaviour: Any) -> "_Block":
        """A copy to go on from (what the week loop updates is copied; the context gets ``behaviour``)."""
        out = copy.copy(self)
        out.ctx = self.ctx.resumed(behaviour)
        out.alive = self.alive.copy()
        out.cust = {k: v.copy() for k, v in self.cust.items()}
        out.win_tx, out.win_rev = self.win_tx.copy(), self.win_rev.copy()
        out.weekly = {k: v.copy() for k, v in self.weekly.items()}
        out.ledger = {}
        out.logs = None if self.logs is None else list(self.logs)
        out.uniform_log = None  # the copy reads what this block recorded, it records nothing itself
        out.state = dataclasses.replace(self.state, remaining=self.state.remaining.copy(),
                                        u_flat=np.empty_like(self._own_uniforms), z_flat=None)
        out._own_uniforms = out.state.u_flat
        return out

    def run(self, runtime: Any, first: int, stop: int) -> None:
        """Weeks ``first`` to ``stop - 1``; ``runtime`` (None: no scheme) acts from the launch week."""
        ctx, cfg, state, weekly, ledger = self.ctx, self.cfg, self.state, self.weekly, self.ledger
        ng, weeks, gran = ctx.n_granules, cfg.weeks, ctx.granule_of
        own_u = self._own_uniforms  # the block's own buffers, for the weeks it draws (some of) its numbers itself
        own_z = np.empty(ng * GRANULE) if self.uniform_cache is not None else None
        u_buf = own_u.reshape(ng, 2, GRANULE)
        z_buf = None if own_z is None else own_z.reshape(ng, GRANULE)
        streams = [WeeklyUniforms(cfg.seed, "purchases", g, width=2) for g in ctx.global_granules]
        alive, order, edges_in = self.alive, self.order, self.arrive_edges
        for w in range(first, stop):
            new = order[edges_in[w]:edges_in[w + 1]]
            if ctx.has_pool:
                referred = ctx.pop_arrivals(w)
                if referred.size:
                    new = np.concatenate([new, referred])
            newcomers = new[:0]
            if new.size:
                alive[new] = True
                weekly["new_customers"][:, w] = np.bincount(gran[new], minlength=ng)
                # a new customer arrives by buying: a trial purchase at the start of the week, after
                # which no dropout can happen (BG/NBD counts repeat purchases from the trial)
                newcomers = new[~self.established[new]]
            idx = np.flatnonzero(alive)
            launched = runtime is not None and w >= cfg.launch_week
            if idx.size == 0:
                if launched:
                    _book_ledger(ledger, runtime.settle(w, idx, np.zeros(0, np.int64), np.zeros(0)), w, ng, weeks)
                continue
            gi = gran[idx]
            edges = granule_bounds(gi, ng)
            ctx.prime_granule_sums(idx, gi, edges)
            per_granule = np.diff(edges)
            weekly["alive_start"][:, w] = per_granule
            drawn = self.uniform_cache.get(w) if self.uniform_cache is not None else None
            present = np.flatnonzero(per_granule)
            if drawn is not None and drawn[0][present].all():
                # the counterfactual drew every granule of the week, keyed the same way: read its numbers in place
                state.u_flat, state.z_flat = drawn[1].reshape(-1), drawn[2].reshape(-1)
            else:
                state.u_flat, state.z_flat = own_u, own_z
                for g in present:
                    if drawn is not None and drawn[0][g]:
                        u_buf[g], z_buf[g] = drawn[1][g], drawn[2][g]
                    else:
                        streams[g].get(w, out=u_buf[g])
                        if z_buf is not None:
                            ndtri(u_buf[g, 1], out=z_buf[g])
            if self.uniform_log is not None:
                self.uniform_log[w] = _read_only(per_granule > 0, u_buf.copy(), ndtri(u_buf[:, 1]))

            eff, k, made, buyers, died, gross, trial, settle, discount, revenue = _draw_week(
                runtime if launched else None, w, idx, state, newcomers)

            win = self.week_window[w]
            _record_week(weekly, ledger, self.cust, self.win_tx[win], self.win_rev[win], w, idx, edges, ng,
                         weeks, buyers, made, gross, discount, revenue, died, settle, eff)
            alive[idx[died]] = False

            if self.logs is not None and buyers.size:
                is_buyer = np.zeros(idx.size, dtype=bool)
                is_buyer[buyers] = True
                self.logs.append(week_log(ctx, cfg, w, idx, k, made, gross, discount, settle, is_buyer, trial))

    def result(self, scheme: Any, runtime: Any) -> "_BlockResult":
        cust = _block_customers(self.cust, self.win_tx, self.win_rev, self.cfg, scheme, runtime, self.ctx)
        self.weekly.update(self.ledger)
        return _BlockResult(start=self.ctx.start, granules=self.ctx.global_granules, weekly=self.weekly,
                            customers=cust, log=self.logs)


def _simulate_block(population: Population, scheme: Any, cfg: SimulationConfig,
                    start: int, stop: int, behaviour: Any, resume: "_Block | None" = None,
                    keep_launch_state: bool = False, keep_uniforms: bool = False) -> _BlockResult:
    """One block of customers over the horizon (from ``resume``, a block at the launch week, if given).

    ``keep_uniforms``: the kept launch state also holds the uniforms of the weeks after launch.
    """
    if resume is not None:
        block, first = resume.resumed(behaviour), cfg.launch_week
    else:
        block, first = _Block(population, scheme, cfg, start, stop, behaviour), 0
    runtime = scheme.start(block.ctx) if scheme is not None else None
    launch = cfg.launch_week if keep_launch_state else first
    block.run(runtime, first, launch)
    kept = block.resumed(behaviour) if keep_launch_state else None
    if kept is not None and keep_uniforms:
        kept.uniform_cache = block.uniform_log = {}
    block.run(runtime, launch, cfg.weeks)
    out = block.result(scheme, runtime)
    out.launch_state = kept
    return out


@dataclass
class _BlockState:
    """What the week loop of a block reads per customer (``remaining`` is updated in place)."""

    traits: Traits
    h0: np.ndarray  # per-purchase dropout hazard without a scheme
    q0: np.ndarray  # exp(-lam): Poisson probability of no purchase without a scheme
    inv_nu: np.ndarray
    remaining: np.ndarray  # dropout hazard budget left
    spend_p: float
    u_flat: np.ndarray  # the week's uniforms, (granule, count/spend row, slot) flattened
    u_pos: np.ndarray  # position of each customer's count uniform in u_flat
    #: the week's spend uniforms' standard normal quantiles, (granule, slot) flattened, where a run reads
    #: them with the uniforms the counterfactual drew (None: computed from the uniforms)
    z_flat: np.ndarray | None = None


def _draw_week(runtime: Any, w: int, idx: np.ndarray, st: _BlockState, newcomers: np.ndarray) -> tuple:
    """One week of the alive customers ``idx``: the scheme's effects, purchases and dropouts by inversion, spend.

    ``runtime`` is None before launch (or without a scheme); ``newcomers`` (positions, a subset of
    ``idx``) make a trial purchase. Updates ``st.remaining`` (dropout budget) in place; returns the
    effects, counts, buyer and dropout positions (into ``idx``), gross spend, trial flags (None without
    newcomers), the scheme's settlement, the discount and the revenue.
    """
    traits = st.traits
    eff = runtime.effects(w, idx) if runtime is not None else None
    # lam * 1.0 is lam and p * 1.0 / 1.0 is p: without multipliers exp(-lam) and the hazard are known
    mu, prob0, mu_full = traits.lam, st.q0, True
    h, h_full = st.h0, True
    if eff is not None and not _is_one(eff.rate):
        mu, prob0, h = scheme_rates(idx, traits.lam, traits.p, eff.rate, eff.dropout)
        mu_full = h_full = False
    elif eff is not None and not _is_one(eff.dropout):
        _, _, h = scheme_rates(idx, traits.lam, traits.p, 1.0, eff.dropout)
        h_full = False
    k, made, died = purchases_and_dropouts(idx, st.u_pos, st.u_flat, st.remaining, mu, prob0, mu_full, h, h_full)

    trial = None
    if newcomers.size:
        at = np.searchsorted(idx, newcomers)
        trial = np.zeros(idx.size, dtype=bool)
        trial[at] = True
        made[at] += 1
        k[at] += 1
    buyers = np.flatnonzero(made != 0)
    gross = np.zeros(idx.size)
    if buyers.size:
        pos = st.u_pos[idx[buyers]]
        u_spend = st.u_flat[pos + GRANULE]
        # the spend uniforms' normal quantiles, read where the counterfactual's were kept (the same numbers)
        z = None if st.z_flat is None else st.z_flat[pos - (pos // (2 * GRANULE)) * GRANULE]
        gross[buyers] = gamma_sum_quantile(made[buyers], st.spend_p, u_spend, z=z) * st.inv_nu[idx[buyers]]
    till_discount, bill = 0.0, gross  # gross - 0.0 is gross, to the bit: without a till discount the bill is the gross
    if eff is not None:
        # the ticket multiplies what the buyers spend (no buyers: nothing to multiply)
        has_ticket, has_discount = buyers.size > 0 and not _is_one(eff.ticket), not _is_zero(eff.discount)
        if has_ticket and has_discount:  # one pass: the ticket, then the discount on it and what is left to pay
            till_discount, bill = ticket_and_discount(gross, per_customer(eff.ticket, idx), per_customer(eff.discount, idx))
        elif has_ticket:
            gross *= eff.ticket
        elif has_discount:
            till_discount = gross * eff.discount
            bill = gross - till_discount
    settle = None
    if runtime is not None:
        runtime.visited(w, idx, made)  # opt-in joiners sign up at their first visit after launch
        settle = runtime.settle(w, idx, made, gross, bill=bill)
    settle_discount = settle.discount if settle is not None else 0.0
    if _is_zero(till_discount) and _is_zero(settle_discount):
        return eff, k, made, buyers, died, gross, trial, settle, 0.0, gross  # gross - 0.0 is gross, to the bit
    if _is_zero(till_discount) or _is_zero(settle_discount):
        discount = till_discount + settle_discount
        revenue = gross - discount
    else:
        discount, revenue = net_of_discounts(gross, till_discount, per_customer(settle_discount, idx))
    return eff, k, made, buyers, died, gross, trial, settle, discount, revenue


def _record_week(weekly: dict[str, np.ndarray], ledger: dict[str, np.ndarray], cust: dict[str, np.ndarray],
                 win_tx: np.ndarray, win_rev: np.ndarray, w: int, idx: np.ndarray, edges: np.ndarray, ng: int,
                 weeks: int, buyers: np.ndarray, made: np.ndarray, gross: np.ndarray, discount: Any,
                 revenue: np.ndarray, died: np.ndarray, settle: Any, eff: Any) -> None:
    """Book one week's purchases: per-granule weekly series, the scheme's ledger, per-customer totals.

    ``edges`` are the granule runs of ``idx`` (:func:`loyalty_sim.granules.bounds`); ``buyers`` and
    ``died`` are positions into ``idx``. Per-customer totals skip customers whose amount is zero
    (adding 0 changes no total).
    """
    # buyers and dropouts are sorted positions into idx: each granule's count is how many fall in its run
    weekly["purchasers"][:, w] = np.diff(np.searchsorted(buyers, edges))
    weekly["transactions"][:, w] = granule_counts(made, edges)
    weekly["gross_sales"][:, w] = granule_sums(gross, edges)
    weekly["dropouts"][:, w] = np.diff(np.searchsorted(died, edges))
    if np.isscalar(discount):
        weekly["revenue"][:, w] = weekly["gross_sales"][:, w]
        _add_nonzero(win_rev, idx, revenue)
    else:
        weekly["discount"][:, w] = _sum_and_add(discount, idx, edges, cust["discount"])
        weekly["revenue"][:, w] = _sum_and_add(revenue, idx, edges, win_rev)
    if settle is not None:
        for key in ("reward_retail", "reward_cost"):
            val = getattr(settle, key)
            if not _is_zero(val):
                val = np.ascontiguousarray(np.broadcast_to(np.asarray(val, dtype=float), idx.shape))
                weekly[key][:, w] = _sum_and_add(val, idx, edges, cust[key])
        _book_ledger(ledger, settle, w, ng, weeks)
    cust["dropout_week"][idx[died]] = w
    _book_buyers(idx, buyers, made, w, cust["first_purchase_week"], cust["last_purchase_week"], win_tx)


def _read_only(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """``arrays``, no longer writeable (what every resumed run reads in place)."""
    for a in arrays:
        a.flags.writeable = False
    return arrays


@njit(cache=True)
def _add_nonzero(total: np.ndarray, idx: np.ndarray, values: np.ndarray) -> None:
    """``total[idx] += values``, touching only the non-zero values (x + 0.0 is x for every total here)."""
    for j in range(idx.size):
        v = values[j]
        if v != 0:
            total[idx[j]] += v


@njit(cache=True)
def _sum_and_add(values: np.ndarray, idx: np.ndarray, edges: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Each granule's sum of ``values`` (:func:`loyalty_sim.granules.sums`, to the bit) and ``total[idx] += values``.

    One pass: a run's sum adds every value left to right from +0.0; the total touches only the non-zero
    values (x + 0.0 is x for every total here).
    """
    out = np.empty(edges.size - 1)
    for g in range(edges.size - 1):
        run = 0.0
        for j in range(edges[g], edges[g + 1]):
            v = values[j]
            run += v
            if v != 0:
                total[idx[j]] += v
        out[g] = run
    return out


@njit(cache=True)
def _book_buyers(idx: np.ndarray, buyers: np.ndarray, made: np.ndarray, w: int, first: np.ndarray, last: np.ndarray,
                 win_tx: np.ndarray) -> None:
    """The week's buyers (positions into ``idx``): first and last purchase week, purchases in the window."""
    for b in range(buyers.size):
        j = buyers[b]
        i = idx[j]
        if first[i] < 0:
            first[i] = w
        last[i] = w
        win_tx[i] += made[j]


def _block_customers(cust: dict[str, np.ndarray], win_tx: np.ndarray, win_rev: np.ndarray, cfg: SimulationConfig,
                     scheme: Any, runtime: Any, ctx: BlockContext) -> dict[str, np.ndarray]:
    """The block's per-customer columns at the end of the run (horizon totals are window sums)."""
    traits, n, weeks = ctx.traits, ctx.n, cfg.weeks
    n_win = len(cfg.windows) - 1
    cust["transactions"] = win_tx.sum(axis=0)
    cust["revenue"] = win_rev.sum(axis=0)
    cust["gross_sales"] = cust["revenue"] + cust["discount"]
    if n_win > 1:
        for j in range(n_win):
            lo, hi = cfg.windows[j], cfg.windows[j + 1]
            cust[window_column("transactions", lo, hi)] = win_tx[j]
            cust[window_column("revenue", lo, hi)] = win_rev[j]
    if runtime is not None:
        cust.update(customer_columns(scheme, runtime))
    cust["customer_id"] = traits.customer_id
    cust["acquisition_week"] = traits.acquisition_week.copy()
    cust["segment"] = traits.segment
    cust["referred"] = np.arange(n) >= ctx.n_base
    exists = traits.acquisition_week < weeks
    if not exists.all():
        cust = {k: v[exists] for k, v in cust.items()}
    return cust


def _is_one(x: Any) -> bool:
    return np.isscalar(x) and float(x) == 1.0


def _is_zero(x: Any) -> bool:
    return np.isscalar(x) and float(x) == 0.0


def _book_ledger(ledger: dict[str, np.ndarray], settle: Settlement, w: int, ng: int, weeks: int) -> None:
    for key, per_granule in (*settle.ledger.items(), *settle.costs.items()):
        arr = ledger.get(key)
        if arr is None:
            arr = ledger[key] = np.zeros((ng, weeks))
        arr[:, w] = per_granule


def _assemble(population: Population, scheme: Any, cfg: SimulationConfig,
              results: list[_BlockResult], tasks_behaviour: Any = None) -> SimulationResult:
    results = sorted(results, key=lambda r: r.start)
    keys = list(dict.fromkeys(k for r in results for k in r.weekly))
    n_rows = 1 + max(g for r in results for g in r.granules)
    weekly = {}
    for key in keys:
        # scatter per-granule rows into global granule order, so the sums do not depend on blocking
        full = np.zeros((n_rows, cfg.weeks))
        for r in results:
            if key in r.weekly:
                full[r.granules] = r.weekly[key]
        # added granule after granule in global order (explicitly, not by a reduction whose grouping
        # numpy may choose), so every weekly series has the same bits whatever the blocks and workers
        total = np.zeros(cfg.weeks)
        for row in full:
            total += row
        weekly[key] = total
    weekly_df = pd.DataFrame(weekly, index=pd.RangeIndex(cfg.weeks, name="week"))
    for col in ("alive_start", "new_customers", "purchasers", "transactions", "dropouts"):
        weekly_df[col] = weekly_df[col].round().astype(np.int64)
    cust_keys = list(dict.fromkeys(k for r in results for k in r.customers))
    first = ["customer_id", "acquisition_week", "segment", "referred"]
    cust = {}
    for k in first + [k for k in cust_keys if k not in first]:
        cust[k] = np.concatenate([r.customers[k] for r in results if k in r.customers])
        for r in results:  # free each block's copy as soon as it is joined (peak memory)
            r.customers.pop(k, None)
    cust["segment"] = pd.Categorical.from_codes(cust["segment"], SEGMENTS)
    customers = pd.DataFrame(cust, copy=False)
    del cust
    if customers["referred"].any():
        customers = customers.sort_values("customer_id", kind="stable").reset_index(drop=True)
    else:
        customers = customers.drop(columns="referred")
    log = None
    if cfg.output == "log":
        frames = [f for r in results for f in (r.log or [])]
        log = (pd.concat(frames, ignore_index=True) if frames else empty_log(population))
        log = log.sort_values(["week", "customer_id", "time"], kind="stable").reset_index(drop=True)
    config = {
        "population": population.params.to_dict(),
        "size": population.size,
        "population_seed": population.seed,
        "scheme": _scheme_config(scheme),
        "behaviour": tasks_behaviour.to_dict() if tasks_behaviour is not None else None,
        **{k: v for k, v in dataclasses.asdict(cfg).items() if k not in ("workers", "block_size")},
    }
    return SimulationResult(weekly=weekly_df, customers=customers, transactions=log, config=config)


def _scheme_config(scheme: Any) -> dict[str, Any]:
    if scheme is None:
        return {"name": "baseline"}
    return scheme.to_dict()
