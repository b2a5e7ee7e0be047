"""The transaction log of a run: each week's purchases as rows (``output="log"``).

Times within the week, the split of a customer's week spend into tickets and the category of
each ticket are drawn from their own stream per granule and week, so the log does not depend on
the block size or the number of workers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .population import Population
from .result import SimulationConfig
from .schemes.base import Settlement
from .schemes.context import BlockContext
from .streams import stream

#: Columns of the transaction log (DESIGN.md section 6).
LOG_COLUMNS: tuple[str, ...] = (
    "customer_id", "week", "time", "timestamp", "amount", "discount", "category",
    "points_earned", "points_redeemed", "reward_cost",
)


def week_log(ctx: BlockContext, cfg: SimulationConfig, w: int, idx: np.ndarray, k: np.ndarray,
             made: np.ndarray, gross: np.ndarray, discount: np.ndarray, settle: Settlement | None,
             buyers: np.ndarray, trial: np.ndarray | None = None) -> pd.DataFrame:
    """Transactions of one week: times within the week, ticket split, categories."""
    traits, prm = ctx.traits, ctx.params
    b_pos = np.flatnonzero(buyers)
    b_idx = idx[b_pos]
    n_pot = k[b_pos]
    n_made = made[b_pos]
    rows_pot = np.repeat(np.arange(b_pos.size), n_pot)
    # one generator per granule-week, so the log does not depend on the block size
    g_of = ctx.granule_of[b_idx]
    times = np.empty(rows_pot.size)
    cat_u = np.empty(int(n_made.sum()))
    tick = np.empty(int(n_made.sum()))
    starts_pot = np.concatenate([[0], np.cumsum(n_pot)[:-1]])
    starts_made = np.concatenate([[0], np.cumsum(n_made)[:-1]])
    # idx is sorted, so each granule's buyers (and their rows) are contiguous
    g_bounds = np.searchsorted(g_of, np.arange(ctx.n_granules + 1))
    end_pot = starts_pot + n_pot
    end_made = starts_made + n_made
    for g in range(ctx.n_granules):
        lo, hi = g_bounds[g], g_bounds[g + 1]
        if lo == hi:
            continue
        rng = np.random.Generator(stream(cfg.seed, "log", ctx.global_granules[g], w))
        p0, p1 = starts_pot[lo], end_pot[hi - 1]
        m0, m1 = starts_made[lo], end_made[hi - 1]
        times[p0:p1] = rng.random(p1 - p0)
        cat_u[m0:m1] = rng.random(m1 - m0)
        tick[m0:m1] = rng.standard_gamma(prm.spend_p, size=m1 - m0)
    if trial is not None:  # the trial purchase opens the week
        t_b = trial[b_pos]
        times[starts_pot[t_b]] = 0.0
    # sort arrival times within each customer; keep the first `made` (a dropout ends the week early)
    order = np.lexsort((times, rows_pot))
    times = times[order]
    rank = np.arange(rows_pot.size) - starts_pot[rows_pot]
    keep = rank < n_made[rows_pot]
    t_in_week = times[keep]
    rows = rows_pot[keep]
    # split the week's gross spend into tickets with Dirichlet(spend_p) weights (exact Gamma-Gamma tickets)
    tot = np.bincount(rows, weights=tick, minlength=b_pos.size)
    share = tick / tot[rows]
    gross_b = gross[b_pos][rows] * share
    disc_b = np.broadcast_to(discount, idx.shape)[b_pos][rows] * share
    amount = gross_b - disc_b
    # categories from affinities, after a life event the old category is replaced by the new one
    aff = traits.affinity[b_idx][rows]
    cum = np.cumsum(aff, axis=1)
    cat = (cat_u[:, None] * cum[:, -1:] > cum).sum(axis=1)
    cat = np.minimum(cat, len(prm.categories) - 1)
    if prm.life_events:
        ev = traits.life_event[b_idx][rows]
        ev_week = traits.life_event_week[b_idx][rows]
        cats = prm.categories
        for e_i, ev_def in enumerate(prm.life_events):
            switch = (ev == e_i) & (ev_week >= 0) & (w >= ev_week) & (cat == cats.index(ev_def.from_category))
            cat[switch] = cats.index(ev_def.to_category)
    last_of_customer = np.r_[rows[1:] != rows[:-1], True]

    def per_tx(val: Any, *, split: bool) -> np.ndarray:
        if settle is None or (np.isscalar(val) and float(val) == 0.0):
            return np.zeros(rows.size)
        v = np.broadcast_to(val, idx.shape)[b_pos][rows]
        return v * share if split else np.where(last_of_customer, v, 0.0)

    time = w + t_in_week
    return pd.DataFrame({
        "customer_id": traits.customer_id[b_idx][rows],
        "week": np.full(rows.size, w, dtype=np.int32),
        "time": time,
        "timestamp": pd.Timestamp(cfg.start_date) + pd.to_timedelta(time * 7, unit="D"),
        "amount": amount,
        "discount": disc_b,
        "category": pd.Categorical.from_codes(cat, prm.categories),
        "points_earned": per_tx(settle.points_earned if settle else 0.0, split=True),
        "points_redeemed": per_tx(settle.points_redeemed if settle else 0.0, split=False),
        "reward_cost": per_tx(settle.reward_cost if settle else 0.0, split=False),
    })


def empty_log(population: Population) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float) for c in LOG_COLUMNS}).assign(
        customer_id=pd.Series(dtype=np.int64), week=pd.Series(dtype=np.int32),
        timestamp=pd.Series(dtype="datetime64[ns]"),
        category=pd.Categorical([], categories=population.params.categories))
