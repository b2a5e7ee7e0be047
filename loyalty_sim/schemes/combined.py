"""Several schemes in one scenario (e.g. points plus targeted offers).

Effects combine multiplicatively (rates, dropout, ticket); discounts combine as
successive price reductions ``1 - prod(1 - d_i)``; settlements and ledgers add up,
each part's ledger columns prefixed with its name.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from .base import Effects, Settlement
from .common import SchemeConfig


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
    def uses_referral_pool(self) -> bool:
        """True if any part brings referred customers."""
        return any(getattr(p, "uses_referral_pool", False) for p in self.parts)

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, "name": self.name, "fixed_cost_per_week": self.fixed_cost_per_week,
                "setup_cost": self.setup_cost, "parts": [p.to_dict() for p in self.parts]}

    def start(self, ctx: Any) -> "CombinedRuntime":
        return CombinedRuntime(self, ctx)


class CombinedRuntime:
    """Runs every part's runtime and merges their effects and settlements."""

    def __init__(self, scheme: Combined, ctx: Any):
        self.scheme = scheme
        self.parts = [p.start(ctx) for p in scheme.parts]

    def effects(self, week: int, idx: np.ndarray) -> Effects:
        rate, dropout, ticket, keep = 1.0, 1.0, 1.0, 1.0
        for rt in self.parts:
            e = rt.effects(week, idx)
            rate = rate * e.rate
            dropout = dropout * e.dropout
            ticket = ticket * e.ticket
            keep = keep * (1.0 - np.asarray(e.discount, dtype=float))
        return Effects(rate=rate, dropout=dropout, ticket=ticket, discount=1.0 - keep)

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
                out.ledger[f"{part.name}.{key}"] = val
        return out

    def customer_state(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for rt in self.parts:
            if hasattr(rt, "customer_state"):
                out.update(rt.customer_state())
        return out
