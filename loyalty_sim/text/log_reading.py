"""The words of reading a log: what the reader found and did, and the customers reconciled to the fit.

:func:`reading_text` takes a :class:`~loyalty_sim.calibration.logs.LogReport` (or its
dict); :func:`reconciliation_text` the counts of
:func:`~loyalty_sim.calibration.reconcile.reconcile`. Every decision the reader took
(duplicates kept, zero-amount purchases as visits, a day/month order the data settled)
is said, with the flag that changes it.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .format import number

__all__ = ["failed_fits_text", "reading_text", "reconciliation_text"]


def _n(v: Any) -> str:
    return number(v, 0)


def _plural(v: int, one: str, many: str | None = None) -> str:
    return f"{_n(v)} {one if v == 1 else (many or one + 's')}"


def reading_text(report: Any) -> str:
    """What reading found: rows, duplicates, zero-amount purchases, returns, customers, the date format."""
    r = report if isinstance(report, Mapping) else report.to_dict()
    dup, dropped = r.get("n_duplicates", 0), r.get("n_duplicates_dropped", 0)
    lines = [f"read {_plural(r.get('n_rows_read', 0), 'row')} from {r.get('source')} ({r.get('format')}"
             + (f", separated by {r['separator']}" if r.get("separator") else "")
             + ("" if r.get("header") is None else (", header line" if r["header"] else ", no header line"))
             + f"): {_plural(r.get('n_rows', 0), 'row')} kept, {_plural(r.get('n_customers') or 0, 'customer')}"]
    if r.get("duplicates") == "drop":
        lines.append(f"  exact duplicate rows: {_n(dup)} dropped (--duplicates drop)")
    else:
        lines.append(f"  exact duplicate rows: {_n(dup - dropped)} kept as repeat purchases"
                     + (" (--duplicates drop leaves them out)" if dup else ""))
    zeros = r.get("n_zero_amounts", 0)
    lines.append(f"  zero-amount purchases: {_n(zeros)}"
                 + (" - counted as visits (frequency), left out of the spend model (Gamma-Gamma)" if zeros else ""))
    ret = r.get("n_returns", 0)
    if ret:
        how = {"drop": "dropped (--returns drop)", "net": "netted against purchases (--returns net)"}
        lines.append(f"  returns (negative amounts): {_n(ret)} {how.get(r.get('returns'), '')}".rstrip())
    if r.get("n_blank_lines"):
        lines.append(f"  blank lines skipped: {_n(r['n_blank_lines'])}")
    if r.get("date_format_settled_by"):
        lines.append(f"  dates read as {r['date_format']}: {r['date_format_settled_by']} "
                     f"(--date-format overrides)")
    return "\n".join(lines)


def reconciliation_text(c: Mapping[str, Any]) -> str:
    """Customers in the log -> summarised -> fitted, each step with why customers were left out."""
    steps = [f"customers: {_n(c['in_log'])} in the log"]
    why = []
    if c.get("only_returns"):
        why.append(f"{_plural(c['only_returns'], 'customer')} with only returns (no purchase)")
    if c.get("first_purchase_after_calibration"):
        why.append(f"{_plural(c['first_purchase_after_calibration'], 'customer')} whose first purchase is after "
                   f"the calibration end {c.get('calibration_end')} (holdout only)")
    gap = c["in_log"] - c["summarised"] - c.get("only_returns", 0) - c.get("first_purchase_after_calibration", 0)
    if gap > 0:
        why.append(f"{_plural(gap, 'customer')} with no purchase up to the observation end")
    steps.append(f"{_n(c['summarised'])} summarised" + (f" (left out: {'; '.join(why)})" if why else ""))
    steps.append(f"{_n(c['fitted'])} fitted" + (
        f" (left out: {_plural(c['observed_for_no_time'], 'customer')} first seen on the calibration's last day, "
        f"observed for no time)" if c.get("observed_for_no_time") else ""))
    text = " -> ".join(steps)
    spend = (f"\n  spend model (Gamma-Gamma): {_n(c['spend_fitted'])} of {_n(c['repeat_customers'])} repeat "
             f"customers")
    if c.get("zero_spend_repeat_customers"):
        spend += (f" ({_plural(c['zero_spend_repeat_customers'], 'customer')} whose repeat purchases were all "
                  f"0.00 left out: visits without spend)")
    return text + spend


def failed_fits_text(res: Mapping[str, Any], failed: Sequence[str]) -> str:
    """One line naming the models that failed and why."""
    return (f"{', '.join(failed)} failed to fit (the reason is printed after FAILED above); "
            f"a failed model is not usable (--strict makes this exit 2)")
