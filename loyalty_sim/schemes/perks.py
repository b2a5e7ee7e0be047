"""Non-monetary perks and relationship marketing beyond the sale.

Perks cost money per member and work mainly on service-sensitive customers' dropout
(Kopalle et al. 2012): the combined intensity ``I = 1 - prod(1 - intensity_k)`` lowers
dropout by ``perk_sensitivity * I`` (sensitivities per segment in the behaviour table),
fading like every programme effect. Perks delivered by e-mail reach only customers who
accepted marketing e-mail. The relationship levels follow Kotler's ladder: reactive
(asking for feedback after a purchase), accountable (an after-sales check), proactive
(regular follow-ups), each more effective and more costly than the one before.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .base import Effects, Settlement
from .common import MAX_MONEY, MemberRuntime, SchemeConfig

PerkKind = Literal["personal_email", "personal_page", "thank_you_note", "congratulation_note", "dedicated_contact",
                   "community", "partner_discounts", "repair_service", "product_panel", "reactive_feedback",
                   "accountable_check", "proactive_followup"]

#: kind -> (default intensity 0..1, default cost per member per week, delivered by e-mail, rationale).
#: All are assumptions (no published effect sizes per perk were found); they order perks by how
#: personal and effortful they are, and can be overridden per perk.
PERK_DEFAULTS: dict[str, tuple[float, float, bool, str]] = {
    "personal_email": (0.05, 0.002, True, "assumption: cheap, impersonal at scale"),
    "personal_page": (0.05, 0.005, False, "assumption: self-service account page"),
    "thank_you_note": (0.10, 0.02, False, "assumption: a handwritten note now and then"),
    "congratulation_note": (0.08, 0.01, False, "assumption: birthdays and anniversaries"),
    "dedicated_contact": (0.30, 0.50, False, "assumption: a named person to call; costly"),
    "community": (0.15, 0.05, False, "assumption: events or an online group"),
    "partner_discounts": (0.10, 0.03, False, "assumption: partner offers, partly funded by partners"),
    "repair_service": (0.20, 0.10, False, "assumption: care for what was bought"),
    "product_panel": (0.12, 0.03, True, "assumption: invitations to evaluate new products"),
    "reactive_feedback": (0.05, 0.01, True, "assumption: relationship level 'reactive' (feedback request)"),
    "accountable_check": (0.12, 0.05, False, "assumption: relationship level 'accountable' (after-sales check)"),
    "proactive_followup": (0.25, 0.20, False, "assumption: relationship level 'proactive' (regular follow-ups)"),
}


class Perk(BaseModel):
    """One perk: its kind and, optionally, its own intensity and cost.

    Attributes
    ----------
    kind : one of :data:`PERK_DEFAULTS`
    intensity : 0..1 (default: the kind's)
    cost_per_member_week : currency per member reached per week (default: the kind's)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: PerkKind
    intensity: float | None = Field(None, ge=0.0, le=1.0)
    cost_per_member_week: float | None = Field(None, ge=0.0, le=MAX_MONEY)

    @property
    def resolved(self) -> tuple[float, float, bool]:
        d = PERK_DEFAULTS[self.kind]
        return (d[0] if self.intensity is None else self.intensity,
                d[1] if self.cost_per_member_week is None else self.cost_per_member_week, d[2])


class Perks(SchemeConfig):
    """A programme of non-monetary perks.

    Attributes
    ----------
    perks : the perks offered to members
    """

    family: ClassVar[str] = "perks"
    type: Literal["perks"] = "perks"
    perks: list[Perk] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> "Perks":
        kinds = [p.kind for p in self.perks]
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"each perk kind once, got {kinds}")
        return self

    def start(self, ctx: Any) -> "PerksRuntime":
        return PerksRuntime(self, ctx)


class PerksRuntime(MemberRuntime):
    """Per-block state: which perks reach each customer and the combined intensity."""

    def __init__(self, scheme: Perks, ctx: Any):
        super().__init__(scheme, ctx)
        opt_in = ctx.traits.email_opt_in
        keep = np.ones(self.n)
        self.reach = []
        for p in scheme.perks:
            intensity, cost, by_email = p.resolved
            reached = opt_in if by_email else np.ones(self.n, dtype=bool)
            keep = keep * np.where(reached, 1.0 - intensity, 1.0)
            self.reach.append((p.kind, reached, cost))
        self.intensity = 1.0 - keep

    def effects(self, week: int, idx: np.ndarray) -> Effects:
        member = self.members(week, idx)
        fade = self.behaviour.erosion(self.tenure(week, idx))
        cut = self.perk_sens[idx] * self.intensity[idx] * fade
        return Effects(dropout=np.where(member, 1.0 - cut, 1.0))

    def settle(self, week: int, idx: np.ndarray, purchases: np.ndarray, gross: np.ndarray,
               bill: np.ndarray | None = None) -> Settlement:
        member = self.members(week, idx)
        m_idx = idx[member]
        ledger = dict(self.member_ledger(week, idx, member))
        total = np.zeros(self.ctx.n_granules)
        for kind, reached, cost in self.reach:
            r_idx = m_idx[reached[m_idx]]
            c = self.ctx.granule_sum(r_idx, cost)
            ledger[f"perk_cost:{kind}"] = c
            total = total + c
        ledger["perk_cost"] = total
        return Settlement(ledger=ledger)
