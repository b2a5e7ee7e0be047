"""The protocol between the engine and a loyalty scheme.

A scheme is a frozen, validated configuration. For each block of customers the
engine calls :meth:`Scheme.start` with a :class:`BlockContext` and gets back a
runtime object holding that block's per-customer state (stamps, points, tier...).
Every simulated week the runtime is asked, for the customers alive that week,

1. :meth:`SchemeRuntime.effects` -- multipliers on purchase rate, dropout and
   ticket, and the discount rate at the till (before purchases are drawn);
2. :meth:`SchemeRuntime.settle` -- given each customer's purchases and gross spend,
   what was discounted, what rewards were handed out (at retail and at cost) and
   the scheme's own ledger totals for the week.

Nothing here draws random numbers from global state: a runtime that needs
randomness asks ``ctx.uniforms(purpose, week)``, which is seeded, random-access
and common to every scenario run on the same seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass
class Effects:
    """What a scheme does to the customers alive this week (arrays aligned with ``idx``).

    Attributes
    ----------
    rate : multiplier on the purchase rate (1 = no change)
    dropout : multiplier on the per-purchase dropout probability
    ticket : multiplier on the quantity bought per purchase (gross spend)
    discount : fraction of gross spend taken off at the till (0..0.9)
    """

    rate: np.ndarray | float = 1.0
    dropout: np.ndarray | float = 1.0
    ticket: np.ndarray | float = 1.0
    discount: np.ndarray | float = 0.0


@dataclass
class Settlement:
    """Money and rewards of one week for the customers alive (arrays aligned with ``idx``).

    Attributes
    ----------
    discount : currency taken off at the till (price discounts, points or credit used as money)
    reward_retail : retail value of free goods handed out (currency)
    reward_cost : cost price of those goods (currency)
    points_earned, points_redeemed : scheme units (stamps or points) for the log
    ledger : per-granule weekly totals of the scheme's own quantities
        (``ctx.granule_sum`` builds them), e.g. ``points_issued``, ``points_expired``,
        ``points_outstanding``, ``members``, ``perk_cost``.
    """

    discount: np.ndarray | float = 0.0
    reward_retail: np.ndarray | float = 0.0
    reward_cost: np.ndarray | float = 0.0
    points_earned: np.ndarray | float = 0.0
    points_redeemed: np.ndarray | float = 0.0
    ledger: dict[str, np.ndarray] = field(default_factory=dict)


@runtime_checkable
class SchemeRuntime(Protocol):
    """Per-block state of a scheme."""

    def effects(self, week: int, idx: np.ndarray) -> Effects:
        """Effects for the alive customers at positions ``idx`` of the block."""

    def settle(self, week: int, idx: np.ndarray, purchases: np.ndarray, gross: np.ndarray,
               bill: np.ndarray | None = None) -> Settlement:
        """Book the week's ``purchases`` (counts) and ``gross`` spend (currency) of ``idx``.

        ``bill`` is what is still to pay after discounts at the till and after other parts
        of a combination took money off (currency; None = ``gross``). Money taken off at
        settlement (credit, points, offers) never exceeds it.
        """


@runtime_checkable
class Scheme(Protocol):
    """A loyalty scheme: a name and a factory of per-block runtimes."""

    name: str

    def start(self, ctx: "BlockContext") -> SchemeRuntime:  # noqa: F821 - schemes.context
        """Create the per-block state."""
