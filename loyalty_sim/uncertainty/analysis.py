"""Everything a reader needs from a PSA, computed once: the decision table, sensitivity, tornado, switches, VOI."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .decision import decision_table, leaders
from .draws import PSA
from .sensitivity import MIN_DRAWS, Switch, outputs, sensitivity, switching_values, tornado
from .value_of_information import evppi


@dataclass
class UncertaintyAnalysis:
    """The analysis of a :class:`~loyalty_sim.uncertainty.draws.PSA`.

    Attributes
    ----------
    psa : PSA
    table : DataFrame
        :func:`~loyalty_sim.uncertainty.decision.decision_table` (one row per option).
    sensitivity : DataFrame or None
        First-order indices (parameters x outputs); None with fewer than :data:`MIN_DRAWS` draws.
    tornado : DataFrame or None
        Of the leaders' difference (or the only scheme's profit).
    tornado_output : str or None
    switches : list of Switch
    voi : DataFrame
        EVPPI per pilot group and EVPI (:func:`~loyalty_sim.uncertainty.value_of_information.evppi`).
    """

    psa: PSA
    table: pd.DataFrame
    sensitivity: pd.DataFrame | None
    tornado: pd.DataFrame | None
    tornado_output: str | None
    switches: list[Switch]
    voi: pd.DataFrame

    @property
    def leaders(self) -> tuple[str, str] | None:
        return leaders(self.psa)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: settings, decision table, indices, tornado, switching values, VOI (NaN as None)."""
        def clean(df: pd.DataFrame | None) -> Any:
            if df is None:
                return None
            recs = df.reset_index().to_dict(orient="records")
            return [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()} for r in recs]

        p = self.psa
        return {"draws": p.n_draws, "replications": p.replications, "level": p.level,
                "uncertain_parameters": p.names,
                "priors": {n: pr.describe() for n, pr in p.priors.items()},
                "reused": p.reused, "decision": clean(self.table), "sensitivity": clean(self.sensitivity),
                "tornado_output": self.tornado_output, "tornado": clean(self.tornado),
                "switching_values": [s.__dict__ for s in self.switches], "value_of_information": clean(self.voi)}


def analyse(psa: PSA, noise: dict[str, float] | None = None) -> UncertaintyAnalysis:
    """Analyse a PSA (``noise``: per-scheme noise variance when the PSA has one replication per draw)."""
    table = decision_table(psa, noise=noise)
    enough = psa.n_draws >= MIN_DRAWS and bool(psa.names)
    out = outputs(psa)
    target = out.columns[-1] if len(out.columns) else None
    return UncertaintyAnalysis(psa=psa, table=table, sensitivity=sensitivity(psa) if enough else None,
                               tornado=tornado(psa, target) if enough and target is not None else None,
                               tornado_output=target if enough else None,
                               switches=switching_values(psa) if enough else [], voi=evppi(psa))


def for_comparison(scenario: Any, comparison: Any, draws: int, *, replications: int = 1,
                   workers: Any = 1) -> UncertaintyAnalysis:
    """The PSA of a plain comparison's scenario, on its economics and level (report 01, ``compare --uncertainty``).

    With one replication per draw, the noise part of each interval is the variance over the
    comparison's replications (:func:`~loyalty_sim.uncertainty.decision.noise_from_comparison`).
    """
    from .decision import noise_from_comparison
    from .draws import psa

    p = psa(scenario, draws, replications=replications, economics=comparison.economics, workers=workers,
            level=comparison.level)
    noise = noise_from_comparison(comparison) if p.replications < 2 and len(comparison.runs) >= 2 else None
    return analyse(p, noise=noise)
