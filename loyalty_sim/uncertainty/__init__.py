"""What we don't know: priors over the assumptions, PSA, what decides the verdict, what a pilot is worth.

* :mod:`.priors`: a Beta-PERT prior per row of the parameter table;
* :mod:`.draws`: the draws (Sobol' points), each with paired runs of every scheme and the counterfactual;
* :mod:`.decision`: expected profit, intervals split into assumption and noise, P(pays), P(best), expected loss;
* :mod:`.sensitivity`: global sensitivity (RBD-FAST, via SALib), tornado, switching values;
* :mod:`.value_of_information`: EVPI and EVPPI of the parameter groups a pilot measures.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_WHERE = {"Prior": "priors", "priors": "priors", "psa": "draws", "PSA": "draws"}
__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)
