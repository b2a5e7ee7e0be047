"""Flat discount at any depth, for every customer or for members only.

Behaviour: no response below the discount threshold, S-shaped above it (Gupta &
Cooper 1992), with demand moving by the meta-analytic price elasticity (Bijmolt et al.
2005) through visits and basket size, and retention through the value response; past the devaluation depth the reference price falls, lowering
full-price demand during the discount and after it ends (DelVecchio, Krishnan &
Smith 2007).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from .base import Effects, Settlement
from .common import MAX_WEEKS, MemberRuntime, SchemeConfig


class FlatDiscount(SchemeConfig):
    """A price discount at the till.

    Attributes
    ----------
    depth : share of the price taken off, 0..0.9
    members_only : if True only enrolled members get it (see ``enrolment``);
        if False every customer does from launch (enrolment is ignored)
    duration_weeks : weeks the discount runs after launch (None = to the horizon);
        devaluation persists after it ends
    """

    family: ClassVar[str] = "discount"
    type: Literal["discount"] = "discount"
    depth: float = Field(0.1, ge=0.0, le=0.9)
    members_only: bool = False
    duration_weeks: int | None = Field(None, ge=1, le=MAX_WEEKS)

    @model_validator(mode="after")
    def _check(self) -> "FlatDiscount":
        if not self.members_only and self.enrolment.mode != "automatic":
            raise ValueError("enrolment applies to members-only discounts; set members_only: true")
        return self

    def start(self, ctx: Any) -> "DiscountRuntime":
        return DiscountRuntime(self, ctx)


class DiscountRuntime(MemberRuntime):
    """Per-block state: who has seen the discount (for devaluation after it ends)."""

    def __init__(self, scheme: FlatDiscount, ctx: Any):
        super().__init__(scheme, ctx)
        b = self.behaviour
        self.response = float(b.discount_response(scheme.depth))
        self.devalue = float(b.devaluation(scheme.depth))
        demand = b.discount_demand(scheme.depth, ctx.traits.segment, self.heaviness)
        self.visit_mult = demand ** b.discount_visit_share
        self.basket_mult = demand ** (1.0 - b.discount_visit_share)
        self.exposed = np.zeros(self.n, dtype=bool)
        self.end = None if scheme.duration_weeks is None else ctx.launch_week + scheme.duration_weeks

    def _active(self, week: int) -> bool:
        return self.end is None or week < self.end

    def effects(self, week: int, idx: np.ndarray) -> Effects:
        s = self.scheme
        member = self.members(week, idx)
        if not self._active(week):
            # after the discount: devalued reference price for those who had it
            rate = np.where(self.exposed[idx], self.devalue, 1.0)
            return Effects(rate=rate)
        _, dropout = self.value_effects(week, idx, np.full(idx.size, self.response), member)
        rate = np.where(member, self.visit_mult[idx] * self.devalue, 1.0)
        ticket = np.where(member, self.basket_mult[idx], 1.0)
        self.exposed[idx[member]] = True
        return Effects(rate=rate, dropout=dropout, ticket=ticket, discount=np.where(member, s.depth, 0.0))

    def settle(self, week: int, idx: np.ndarray, purchases: np.ndarray, gross: np.ndarray,
               bill: np.ndarray | None = None) -> Settlement:
        member = self.members(week, idx) & self._active(week)
        return Settlement(ledger=self.member_ledger(week, idx, member))
