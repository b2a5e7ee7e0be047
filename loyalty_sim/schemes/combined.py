"""Several schemes in one scenario (e.g. points plus targeted offers).

Effects combine multiplicatively (rates, dropout, ticket); discounts combine as
successive price reductions ``1 - prod(1 - d_i)``; settlements and ledgers add up,
each part's ledger and cost columns kept apart under its name.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from ..result import part_ledger_key
from .base import Effects, Settlement
from .common import SchemeConfig
from .context import BlockContext


class Combined(SchemeConfig):
    """A combination of schemes running together.

    Attributes
    ----------
    parts : the schemes (each a full scheme configuration)
    """

    family: ClassVar[str] = "combined"
    type: Literal["combined"] = "combined"
    parts: list[Any] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> "Combined":
        names = [p.name for p in self.parts]
        if len(set(names)) != len(names):
            raise ValueError(f"part names must differ, got {names}")
        if self.cost_per_member_week:
            raise ValueError("cost_per_member_week belongs on the parts (each has its own members)")
        if self.enrolment.mode != "automatic":
            raise ValueError("enrolment belongs on the parts")
        return self

    @property
    def uses_referral_pool(self) -> bool:  # type: ignore[override]
        """True if any part brings referred customers."""
        return any(p.uses_referral_pool for p in self.parts)

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, "type": self.type, "name": self.name,
                "fixed_cost_per_week": self.fixed_cost_per_week, "setup_cost": self.setup_cost,
                "parts": [p.to_dict() for p in self.parts]}

    def components(self) -> tuple[SchemeConfig, ...]:
        """The parts."""
        return tuple(self.parts)


class CombinedRuntime:
    """Runs every part's runtime and merges their effects and settlements."""

    def __init__(self, scheme: Combined, ctx: BlockContext):
        self.scheme = scheme
        # each part draws its own numbers, keyed by its position (never by its name)
        self.parts = [p.start(ctx.part(i)) for i, p in enumerate(scheme.parts)]

    def effects(self, week: int, idx: np.ndarray) -> Effects:
        rate, dropout, ticket, keep = 1.0, 1.0, 1.0, 1.0
        for rt in self.parts:
            e = rt.effects(week, idx)
            rate = rate * e.rate
            dropout = dropout * e.dropout
            ticket = ticket * e.ticket
            keep = keep * (1.0 - np.asarray(e.discount, dtype=float))
        return Effects(rate=rate, dropout=dropout, ticket=ticket, discount=1.0 - keep)

    def visited(self, week: int, idx: np.ndarray, purchases: np.ndarray) -> None:
        """Pass the week's visits on to every part."""
        for rt in self.parts:
            visit = getattr(rt, "visited", None)
            if visit is not None:
                visit(week, idx, purchases)

    def settle(self, week: int, idx: np.ndarray, purchases: np.ndarray, gross: np.ndarray,
               bill: np.ndarray | None = None) -> Settlement:
        out = Settlement(discount=0.0, reward_retail=0.0, reward_cost=0.0, points_earned=0.0, points_redeemed=0.0)
        left = gross if bill is None else bill
        for part, rt in zip(self.scheme.parts, self.parts):
            s = rt.settle(week, idx, purchases, gross, bill=left)
            left = left - s.discount  # a later part takes money off what is still to pay
            out.discount = out.discount + s.discount
            out.reward_retail = out.reward_retail + s.reward_retail
            out.reward_cost = out.reward_cost + s.reward_cost
            out.points_earned = out.points_earned + s.points_earned
            out.points_redeemed = out.points_redeemed + s.points_redeemed
            for key, val in s.ledger.items():
                out.ledger[part_ledger_key(part.name, key)] = val
            for key, val in s.costs.items():  # each part's costs were checked when it booked them
                out.costs[part_ledger_key(part.name, key)] = val
        return out

    def customer_state(self) -> dict[str, np.ndarray]:
        """Nothing of its own: the parts report (:meth:`components`)."""
        return {}

    def balances(self) -> dict[str, np.ndarray]:
        """Nothing of its own: the parts report (:meth:`components`)."""
        return {}

    def components(self) -> list:
        """The parts' runtimes, in the order of the parts."""
        return list(self.parts)

Combined.runtime = CombinedRuntime
