"""What next: the pilot that would test a report's leading scheme in the shop, and its command.

:func:`recommend_pilot` runs :func:`loyalty_sim.trial.design.design_trial` for one scheme
of a scenario (analytic power, no re-randomisations, so it takes seconds) and returns the
design with the exact ``loyalty-sim trial design`` command that reproduces it in full.
The words are :func:`loyalty_sim.text.next_step.next_step_markdown`'s.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

__all__ = ["PilotAdvice", "recommend_pilot"]


@dataclass(frozen=True)
class PilotAdvice:
    """The recommended pilot of one scheme: share, length, what it can detect, and the command."""

    scheme: str
    share: float
    weeks: int
    reached: bool
    mde_relative: float
    metric: str
    statement: str
    customers: int
    command: str


def recommend_pilot(scenario_arg: str | None, scenario: Any, scheme: Any, *, customers: int | None = None,
                    seed: int = 0, primary: str = "spend") -> PilotAdvice:
    """Design a pilot of ``scheme`` (a name in ``scenario``, or a scheme configuration).

    ``scenario_arg`` is the scenario as typed on the command line; with None (a scheme
    the report made itself, e.g. a discount depth) the command first writes the scheme
    to ``NAME.yaml``. The recommended share and length are the smallest candidates
    reaching 80% power for ``primary``; when none does, the default design (50% for 8
    weeks) is shown with what it can detect and how many customers would be needed.
    """
    from .scenario import scheme_named
    from .trial.design import design_trial

    if isinstance(scheme, str):
        scheme = scheme_named(scenario, scheme)
    scheme_name = scheme.name
    n = int(customers or scenario.customers)
    design = design_trial(scenario.params, scheme, customers=n, rerandomisations=0, seed=seed, primary=primary,
                          behaviour=scenario.behaviour)
    rec = design.recommendation
    share = float(rec.get("share") or design.settings["share"])
    weeks = int(rec.get("weeks") or design.settings["weeks"])
    if rec.get("reached") and (rec.get("share"), rec.get("weeks")) != (design.settings["share"], design.settings["weeks"]):
        design = design_trial(scenario.params, scheme, customers=n, rerandomisations=0, seed=seed, primary=primary,
                              share=share, pilot_weeks=weeks, behaviour=scenario.behaviour)
    row = design.metrics.set_index("metric").loc[primary]
    prefix = ""
    if scenario_arg is None:
        import json

        scenario_arg = f"{scheme_name}.yaml"
        config = json.dumps(scheme.model_dump(mode="json", exclude_defaults=True) | {"type": scheme.type})
        prefix = f"printf '%s\\n' {shlex.quote(config)} > {shlex.quote(scenario_arg)} && "
    argv = ["loyalty-sim", "trial", "design", "--preset", scenario.params.name, "--scheme", scenario_arg,
            "--scheme-name", scheme_name, "--customers", str(n), "--share", f"{share:g}", "--weeks", str(weeks),
            "--primary", primary, "--seed", str(seed)]
    return PilotAdvice(scheme=scheme_name, share=share, weeks=weeks, reached=bool(rec.get("reached")),
                       mde_relative=float(row["analytic_mde_relative"]), metric=primary,
                       statement=str(rec.get("statement", "")), customers=n,
                       command=prefix + " ".join(shlex.quote(a) for a in argv))
