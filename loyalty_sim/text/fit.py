"""The words of a calibration: the console report of ``loyalty-sim fit`` (:func:`loyalty_sim.calibration.calibrate.fit_report`).

Parameters and fit statistics keep four (standard errors three) significant digits: a
BTYD rate can be 0.0003 or 30, and fixed decimals would hide one or the other.
"""

from __future__ import annotations

from typing import Any

from .format import number

__all__ = ["customer_overview", "fit_quality_sentence", "fit_report_text", "fits_sentence"]


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


#: A holdout prediction within this share of the actual count is called good enough to simulate with.
GOOD_FIT = 0.10

_RFM_ROWS = {"frequency": "repeat purchases", "recency": "weeks from first to last purchase",
             "T": "weeks observed", "monetary_value": "mean spend of repeat purchases"}
_STATS = {"count": "customers", "mean": "mean", "25%": "a quarter below", "50%": "median",
          "75%": "a quarter above", "max": "most"}


def customer_overview(described: Any, *, currency: str | None = None) -> Any:
    """The customer summary (``rfm[...].describe()``) as a table a reader reads: one row per measure, words for columns."""
    import pandas as pd

    from .format import money

    rows = []
    for col, label in _RFM_ROWS.items():
        if col not in described.columns:
            continue
        d = described[col]
        fmt = (lambda v: money(v, 2, currency=currency)) if col == "monetary_value" else (lambda v: number(v, 1))
        rows.append({"measure": label, **{_STATS[s]: (number(d[s], 0) if s == "count" else fmt(d[s]))
                                         for s in _STATS if s in d.index}})
    return pd.DataFrame(rows)


def fit_quality_sentence(track: Any, model: str = "BG/NBD") -> str:
    """Whether the fit predicts the holdout well enough to simulate with (Markdown), from ``holdout_tracking``."""
    hold = track[track["holdout"]] if "holdout" in track else track.iloc[0:0]
    if hold.empty:
        return f"No holdout period after the calibration end, so the {model} fit is not checked on unseen data."
    first = track[~track["holdout"]]
    base_a = float(first["actual"].iloc[-1]) if len(first) else 0.0
    base_p = float(first["predicted"].iloc[-1]) if len(first) else 0.0
    actual = float(hold["actual"].iloc[-1]) - base_a
    predicted = float(hold["predicted"].iloc[-1]) - base_p
    if actual <= 0:
        return f"The holdout period has no repeat purchases, so the {model} fit cannot be checked on it."
    err = predicted / actual - 1
    verdict = ("good enough to simulate with" if abs(err) <= GOOD_FIT else
               "off by more than 10%: treat the simulated customers with care, or refit on a longer log")
    return (f"**Is the fit good enough?** Over the holdout the {model} model predicts {number(predicted, 0)} repeat "
            f"purchases against {number(actual, 0)} actual ({'+' if err >= 0 else ''}{number(100 * err, 1)}%): {verdict}.")


def fits_sentence(fits: Any) -> str:
    """One line per model: converged or not, and its log-likelihood (Markdown)."""
    parts = []
    for name, f in fits.items():
        if not hasattr(f, "log_likelihood"):
            parts.append(f"{name}: not fitted ({getattr(f, 'reason', 'no reason given')})")
        else:
            state = "converged" if f.converged else "did NOT converge"
            parts.append(f"{name}: {state}, log-likelihood {number(f.log_likelihood, 1)}")
    return "; ".join(parts) + "."
