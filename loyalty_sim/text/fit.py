"""The words of a calibration: the console report of ``loyalty-sim fit`` (:func:`loyalty_sim.calibration.calibrate.fit_report`).

Parameters and fit statistics keep four (standard errors three) significant digits: a
BTYD rate can be 0.0003 or 30, and fixed decimals would hide one or the other.
"""

from __future__ import annotations

from typing import Any

from .format import number

__all__ = ["fit_report_text"]


def _sig(v: Any, digits: int) -> str:
    """``v`` with ``digits`` significant digits (``None`` as is)."""
    return "None" if v is None else f"{v:.{digits}g}"


def fit_report_text(log: str, res: dict[str, Any]) -> str:
    """The fitted models of a log: parameters with standard errors, log-likelihood, holdout accuracy."""
    lines = [f"log: {log}"]
    summ = res.get("summary", {})
    if summ:
        lines.append("  " + ", ".join(f"{k} {v}" for k, v in summ.items()))
    for name, m in res.get("models", {}).items():
        if "error" in m:
            lines.append(f"{name}: FAILED - {m['error']}")
            continue
        ses = m.get("standard_errors", {})
        pars = ", ".join(f"{k} = {_sig(v, 4)} (se {_sig(ses.get(k), 3)})" for k, v in m["params"].items())
        lines.append(f"{name}: {pars}; log-likelihood {number(m['log_likelihood'], 2)}"
                     + ("" if m.get("converged", True) else f"  NOT CONVERGED: {m.get('message')}"))
        hold = m.get("holdout")
        if isinstance(hold, dict):
            lines.append("  holdout: " + ", ".join(f"{k} {_sig(v, 4)}" if isinstance(v, float) else f"{k} {v}"
                                                  for k, v in hold.items() if not isinstance(v, (list, dict))))
    return "\n".join(lines)
