"""How much memory a run needs, estimated before anything is allocated, and the limit it must fit.

The per-customer costs are read off the engine's arrays (each constant names them), so
``customers: 1000000000000`` is refused with the estimate and the limit instead of
dying in an allocation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import ConfigError
from .streams import GRANULE

if TYPE_CHECKING:
    from .population import PopulationParams

#: Bytes per customer of a block's engine state besides its traits (engine.py ``_simulate_block``):
#: remaining, h0, inv_nu, order (float64/int64: 4 x 8), alive, established, trial_due (3 x 1),
#: the per-customer totals discount, reward_retail, reward_cost (3 x 8) and first/last/dropout
#: week (3 x 4), the per-window transactions and revenue (2 x 8 per window), BlockContext's
#: granule_of, slot_of and flat position (4 + 8 + 8).
BLOCK_STATE_BYTES = 4 * 8 + 3 + 3 * 8 + 3 * 4 + 4 + 8 + 8
#: Bytes per customer-window of the per-window totals (transactions int64, revenue float64).
WINDOW_BYTES = 16
#: Bytes per alive customer of one simulated week's temporaries (idx, gi, flat, u_count, u_spend,
#: lam, h, k, rem, k_death, made, gross, discount, revenue and the gathers feeding them: 17 x 8,
#: plus died and buyers) -- the week's working set.
WEEK_TEMP_BYTES = 17 * 8 + 2
#: Bytes per customer a scheme runtime keeps (schemes/common.py ``MemberRuntime``: mean_ticket,
#: heaviness, gradient_weight, rate_sens, dropout_sens, perk_sens, enrol_week, _enrol_delay: 8 x 8,
#: members_ever and _enrol_yes) plus a family's own state (points, stamps, tiers: about 10 x 8).
SCHEME_BYTES = 8 * 8 + 2 + 10 * 8
#: Bytes per customer of a result's ``customers`` frame (engine.py ``_assemble``): customer_id,
#: transactions, revenue, gross_sales, discount, reward_retail, reward_cost (7 x 8), first/last/
#: dropout week and acquisition week (4 x 4), segment (1); per extra window 16.
RESULT_BYTES = 7 * 8 + 4 * 4 + 1
#: Bytes per row of the transaction log (transaction_log.py ``LOG_COLUMNS``): customer_id, time, timestamp,
#: amount, discount, points_earned, points_redeemed, reward_cost (8 x 8), week (4), category (1).
LOG_ROW_BYTES = 8 * 8 + 4 + 1
#: Copies of the log alive at once at the end of a run (block frames, their concatenation, the sort).
LOG_COPIES = 3
#: Per customer of a kept launch state beyond traits and block state: arrival order, granule and slot,
#: stream position, exp(-lam), dropout hazard, 1/nu.
LAUNCH_STATE_BYTES = 8 + 4 + 8 + 8 + 8 + 3 * 8
#: The weekly uniforms after launch a kept launch state holds for the scheme runs (bytes, at most).
LAUNCH_UNIFORMS_LIMIT = 256 << 20
#: Interpreter, numpy, pandas and scipy once imported (bytes).
BASE_BYTES = 200 << 20


def _trait_bytes(n_categories: int) -> int:
    """Bytes per customer of :class:`Traits` (from the dtypes :meth:`Population._granule_traits` uses)."""
    # customer_id i8, acquisition_week i4, lam/p/hazard_budget/nu f8, segment i1, affinity f4 x categories,
    # life_event i1, life_event_week i4, email_opt_in bool, email_open/email_click f4
    return 8 + 4 + 4 * 8 + 1 + 4 * n_categories + 1 + 4 + 1 + 2 * 4


def estimate_memory(n_customers: int, weeks: int, *, params: PopulationParams | None = None,
                    output: str = "aggregate", block_size: int = 16 * GRANULE, workers: int = 1,
                    scheme: bool = False, n_windows: int = 1, results_held: int = 1,
                    size: int | None = None, launch_state: bool = False, launch_uniform_weeks: int = 0) -> int:
    """Bytes of memory a simulation needs at its peak (an estimate, before anything is allocated).

    Parameters
    ----------
    n_customers : int
        Customers including arrivals (:attr:`Population.n_customers`).
    weeks : int
        Horizon.
    params : PopulationParams, optional
        For the number of categories and the mean purchase rate (log size); defaults used when None.
    output : {"aggregate", "log"}
    block_size, workers : int
        Customers per block and blocks in memory at once (one per worker).
    scheme : bool
        Whether a scheme runs (its per-customer state; with referrals, a pool per granule too).
    n_windows : int
        Per-customer windows of the run.
    results_held : int
        Results kept at once (a scenario keeps the baseline and every scheme's).
    size : int, optional
        Customers alive at week 0; arrivals at most replace dropouts, so at most ``size``
        customers are alive in a week (default: ``n_customers``, an upper bound).
    launch_state : bool
        Whether the baseline keeps every block at the launch week for the schemes to resume from
        (``simulate(..., keep_launch_state=True)``): a block's traits and state per customer.
    launch_uniform_weeks : int
        Weeks of uniforms the kept launch state holds (:func:`launch_uniform_bytes`).

    Returns
    -------
    int
        Bytes: the results held (customers frames, logs) plus every worker's block working set.
    """
    n = int(n_customers)
    n_cat = len(params.catalogue) if params is not None else 1
    rate = params.mean_rate if params is not None else 1.0
    block = min(int(block_size), -(-n // GRANULE) * GRANULE)
    # a referral scheme carries a pool as large as its block
    per_block_customer = (_trait_bytes(n_cat) + BLOCK_STATE_BYTES + WINDOW_BYTES * n_windows + WEEK_TEMP_BYTES
                          + (SCHEME_BYTES + _trait_bytes(n_cat) if scheme else 0))
    blocks = block * per_block_customer * max(1, min(int(workers), -(-n // max(block, 1))))
    result = n * (RESULT_BYTES + (WINDOW_BYTES * n_windows if n_windows > 1 else 0) + (16 if scheme else 0))
    # the parent holds every block's customers and their concatenation while assembling
    held = 2 * result + (results_held - 1) * result
    if output == "log":
        # transactions: the mean rate per alive customer-week (at most `size` alive a week), plus trials
        alive = n if size is None else min(int(size), n)
        rows = alive * rate * weeks + n
        held += results_held * rows * LOG_ROW_BYTES * LOG_COPIES
    weekly = 20 * (-(-n // GRANULE)) * weeks * 8 * 3   # per-granule weekly series (blocks, scatter, sum)
    if launch_state:
        held += n * (_trait_bytes(n_cat) + BLOCK_STATE_BYTES + WINDOW_BYTES * n_windows + LAUNCH_STATE_BYTES)
        held += launch_uniform_bytes(n, launch_uniform_weeks, block_size)
    return int(BASE_BYTES + blocks + held + weekly)


def launch_uniform_bytes(n_customers: int, weeks: int, block_size: int = 16 * GRANULE) -> int:
    """Bytes of ``weeks`` weeks of the engine's uniforms and the spend uniforms' normal quantiles.

    Three numbers per customer slot of every granule of every block.
    """
    n = int(n_customers)
    granules = -(-n // GRANULE) + -(-n // max(int(block_size), 1))  # a block's last granule may be part-full
    return granules * 3 * GRANULE * 8 * max(int(weeks), 0)


def memory_limit() -> tuple[int, str]:
    """The memory a run may use (bytes) and where that limit comes from.

    ``LOYALTY_SIM_MEMORY_LIMIT`` (e.g. ``64GiB``, ``500MB``, a number of bytes) overrides the
    machine's physical memory (``os.sysconf`` or ``/proc/meminfo``).
    """
    import os

    env = os.environ.get("LOYALTY_SIM_MEMORY_LIMIT", "").strip()
    if env:
        return parse_size(env, field="LOYALTY_SIM_MEMORY_LIMIT"), "the limit is"
    total = 0
    try:
        total = int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        try:
            with open("/proc/meminfo") as fh:
                for line in fh:
                    if line.startswith("MemTotal:"):
                        total = int(line.split()[1]) * 1024
        except OSError:
            pass
    if total <= 0:
        return 1 << 62, "no limit is known:"
    return total, "this machine has"


_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000 ** 2, "mb": 1000 ** 2, "g": 1000 ** 3,
          "gb": 1000 ** 3, "t": 1000 ** 4, "tb": 1000 ** 4, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
          "tib": 1 << 40}


def parse_size(text: str, *, field: str = "memory_limit") -> int:
    """Bytes from ``"64GiB"``, ``"500 MB"``, ``"2e9"`` (decimal and binary units)."""
    import re

    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][0-9]+)?)\s*([A-Za-z]*)\s*", str(text))
    if not m or m.group(2).lower() not in _UNITS or float(m.group(1)) <= 0:
        raise ConfigError(f"expected a size like 16GiB, 500MB or a number of bytes, got {text!r}", field=field)
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def format_size(n: float) -> str:
    """``5.8 TiB``, ``23 GiB``, ``640 MiB`` (binary units, two or three significant digits)."""
    for unit, scale in (("PiB", 1 << 50), ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            v = n / scale
            return f"{v:.1f} {unit}" if v < 10 else f"{v:.0f} {unit}"
    return f"{int(n)} B"


def check_memory(needed: int, *, what: str = "this run") -> None:
    """Raise ConfigError if ``needed`` bytes exceed :func:`memory_limit` (with both numbers)."""
    limit, how = memory_limit()
    if needed > limit:
        raise ConfigError(
            f"{what} needs about {format_size(needed)} of memory; {how} {format_size(limit)} (set "
            "LOYALTY_SIM_MEMORY_LIMIT or --memory-limit to change the limit).\nFewer --customers or --weeks, "
            "or aggregate output instead of a transaction log, need less", field="customers")
