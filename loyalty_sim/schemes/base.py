"""The protocol between the engine and a loyalty scheme.

A scheme is a frozen, validated configuration (:class:`Scheme`). For each block of
customers the engine calls :meth:`Scheme.start` with a
:class:`~loyalty_sim.schemes.context.BlockContext` and gets back a runtime
(:class:`SchemeRuntime`) holding that block's per-customer state (stamps, points, tier...).
Every simulated week the runtime is asked, for the customers alive that week,

1. :meth:`SchemeRuntime.effects` -- multipliers on purchase rate, dropout and
   ticket, and the discount rate at the till (before purchases are drawn);
2. :meth:`SchemeRuntime.settle` -- given each customer's purchases and gross spend,
   what was discounted, what rewards were handed out (at retail and at cost), the
   programme costs booked (:data:`PROGRAMME_COSTS`, named) and the scheme's own ledger
   totals for the week;

and at the end of the horizon

3. :meth:`SchemeRuntime.customer_state` -- per-customer quantities (membership,
   enrolment week, rewards, tier...) and :meth:`SchemeRuntime.balances` -- outstanding
   balances by unit (points, stamps, credit).

A scheme declares whether it needs a pool of potential referred customers
(:attr:`Scheme.uses_referral_pool`) and what it is made of (:meth:`Scheme.components`:
itself, or the parts of a combination, matched one to one by the runtime's).

Nothing here draws random numbers from global state: a runtime that needs
randomness asks ``ctx.uniforms(purpose, week)``, which is seeded, random-access
and common to every scenario run on the same seed. A purpose says what the draw is
for (``"enrol"``, ``"redeem"``...), qualified by ``ctx.stream_key`` -- never by a
scheme's display name, so renaming a scheme changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, Sequence, runtime_checkable

import numpy as np

from ..errors import LoyaltySimError

if TYPE_CHECKING:
    from .context import BlockContext

#: Programme costs a scheme may book (currency per week, per granule), summed into
#: ``programme_cost`` by :mod:`loyalty_sim.ledger`. Discounts given by offers or points
#: are not here: they already lower revenue. A cost not declared here is an error.
PROGRAMME_COSTS: tuple[str, ...] = ("member_cost", "perk_cost", "email_cost", "referral_reward_cost")

#: ledger keys that end in ``_cost`` but are valuations, not costs booked
_VALUATIONS = ("liability_cost",)


class ProtocolError(LoyaltySimError, TypeError):
    """A scheme family broke the scheme protocol (e.g. booked a cost that is not declared)."""


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

    Each per-customer field is an array aligned with ``idx`` or one number for all of them:
    a week that settled none of it gives 0.0, which the engine skips.

    Attributes
    ----------
    discount : currency taken off at the till (price discounts, points or credit used as money)
    reward_retail : retail value of free goods handed out (currency)
    reward_cost : cost price of those goods (currency)
    points_earned, points_redeemed : scheme units (stamps or points) for the transaction log; only
        it reads them, so a runtime may leave them at 0.0 when ``ctx.writes_log`` is false (the
        ledger carries the per-granule totals)
    ledger : per-granule weekly totals of the scheme's own quantities
        (``ctx.granule_sum`` builds them), e.g. ``points_issued``, ``points_expired``,
        ``points_outstanding``, ``members``, ``liability_cost``; no costs
    costs : per-granule programme costs of the week (currency), keyed by one of
        :data:`PROGRAMME_COSTS` (``member_cost``, ``perk_cost``...); every cost booked
        here counts in profit

    Raises
    ------
    ProtocolError
        A cost that is not in :data:`PROGRAMME_COSTS`, or a ``*_cost`` key in ``ledger``
        (it would silently not count in profit).
    """

    discount: np.ndarray | float = 0.0
    reward_retail: np.ndarray | float = 0.0
    reward_cost: np.ndarray | float = 0.0
    points_earned: np.ndarray | float = 0.0
    points_redeemed: np.ndarray | float = 0.0
    ledger: dict[str, np.ndarray] = field(default_factory=dict)
    costs: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = [k for k in self.costs if k not in PROGRAMME_COSTS]
        if unknown:
            raise ProtocolError(f"cost(s) {unknown} are not declared; a scheme books only {list(PROGRAMME_COSTS)} "
                                "(declare a new cost in schemes.base.PROGRAMME_COSTS)")
        hidden = [k for k in self.ledger if k.endswith("_cost") and k not in _VALUATIONS]
        if hidden:
            raise ProtocolError(f"ledger key(s) {hidden} look like costs: book them in Settlement.costs "
                                f"(one of {list(PROGRAMME_COSTS)}) so that they count in profit")


@runtime_checkable
class SchemeRuntime(Protocol):
    """Per-block state of a scheme."""

    def effects(self, week: int, idx: np.ndarray) -> Effects:
        """Effects for the alive customers at positions ``idx`` of the block."""

    def visited(self, week: int, idx: np.ndarray, purchases: np.ndarray) -> None:
        """The week's purchase counts of ``idx``, before settlement (opt-in customers join at a visit)."""

    def settle(self, week: int, idx: np.ndarray, purchases: np.ndarray, gross: np.ndarray,
               bill: np.ndarray | None = None) -> Settlement:
        """Book the week's ``purchases`` (counts) and ``gross`` spend (currency) of ``idx``.

        ``bill`` is what is still to pay after discounts at the till and after other parts
        of a combination took money off (currency; None = ``gross``). Money taken off at
        settlement (credit, points, offers) never exceeds it.
        """

    def customer_state(self) -> dict[str, np.ndarray]:
        """Per-customer quantities at the horizon, by plain key (``member``, ``enrol_week``, ``tier``...).

        Arrays over every customer of the block. A combination reports nothing here: its
        parts do (see :meth:`components`).
        """

    def balances(self) -> dict[str, np.ndarray]:
        """Outstanding balance of each customer at the horizon, by unit (``{"points": ...}``); {} if none."""

    def components(self) -> Sequence["SchemeRuntime"]:
        """The runtimes that report customer state: ``(self,)``, or the parts' runtimes of a combination."""


@runtime_checkable
class Scheme(Protocol):
    """A loyalty scheme: a name, its declared needs and a factory of per-block runtimes."""

    name: str
    #: the unit of the scheme's own currency ("stamps", "points", "credit"), or None
    unit: str | None
    #: whether the engine must give its blocks a pool of potential referred customers
    uses_referral_pool: bool

    def start(self, ctx: "BlockContext") -> SchemeRuntime:
        """Create the per-block state."""

    def components(self) -> Sequence["Scheme"]:
        """``(self,)``, or the parts of a combination (matched with :meth:`SchemeRuntime.components`)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form, read back by :func:`loyalty_sim.schemes.scheme_from_dict`."""
