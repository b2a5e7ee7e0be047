"""The guard checks of a pilot review, each with the warnings a reader must see.

Pre-trend (:func:`pre_trend`) and an event study (:func:`event_study`), balance
(:func:`balance`), sample-ratio mismatch (:func:`srm_check`), activity
(:func:`activity_check`), ids missing on either side (:func:`coverage_warning`,
:func:`unassigned_warning`, :func:`format_hint`; counts only, never ids) and
self-selection (:func:`self_selection`). The thresholds are module constants; see
:mod:`loyalty_sim.trial.review` for what each check means.
"""

from __future__ import annotations

import math
import warnings as _warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import DataError
from .estimators import Estimate, ZeroVarianceWarning, unit_effect, unit_effect_batch
from .outcomes import PilotWindow, day_text

__all__ = ["ACTIVITY_COLLAPSE", "CHECK_ALPHA", "SRM_ALPHA", "UNASSIGNED_SHARE", "activity_check", "balance",
           "coverage_warning", "effect", "event_study", "failed_checks", "format_hint", "pre_trend", "self_selection",
           "srm", "srm_check", "trend_failed", "unassigned_warning", "weekly_checks"]

#: Sample-ratio mismatch is flagged below this p-value (Fabijan et al. 2019 use 0.0005-0.001).
SRM_ALPHA = 0.001

#: Pre-trend and balance checks are flagged below this p-value.
CHECK_ALPHA = 0.05

#: A group whose purchase frequency in the pilot window is below this share of its pre-period one is flagged.
ACTIVITY_COLLAPSE = 0.2

#: Log customers missing from the assignment are warned about from this share on (counts only, never ids).
UNASSIGNED_SHARE = 0.05


def effect(*args: Any, **kwargs: Any) -> Estimate:
    """:func:`unit_effect` without its :class:`ZeroVarianceWarning` (the review reports a missing interval itself)."""
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore", ZeroVarianceWarning)
        return unit_effect(*args, **kwargs)

def _loose(ids: np.ndarray) -> pd.Series:
    """Digit-only ids without leading zeros or a '+': only to *explain* a mismatch, never to match."""
    s = pd.Series(ids, dtype=object).astype(str)
    return s.str.replace(r"^\+?0*(?=\d+$)", "", regex=True)

def format_hint(assigned: np.ndarray, log_keys: np.ndarray, found: np.ndarray, pos: np.ndarray) -> str:
    """A sentence when assigned ids missing from the log match log ids once leading zeros are ignored (counts only)."""
    matched = np.zeros(len(assigned), dtype=bool)
    matched[pos[found]] = True
    missing = np.asarray(assigned, dtype=object)[~matched]
    if not missing.size:
        return ""
    k = int(_loose(missing).isin(set(_loose(np.asarray(log_keys, dtype=object)[~found]))).sum())
    if not k:
        return ""
    return (f"; {k:,} of the missing ids match an unmatched log id only if leading zeros or a '+' are ignored (as "
            "007 and 7): they are kept apart because they can be different customers, so write the ids the same way "
            "in both files")

def coverage_warning(warnings: list[str], what: str, n: int, found: int, hint: str = "") -> None:
    missing = n - found
    if missing == 0:
        return
    share = missing / n
    if found < n / 2:
        warnings.append(f"most {what} of the assignment are not in the log: only {found:,} of {n:,} were found "
                        f"({share:.0%} missing); check the ids before trusting the review{hint}")
    else:
        warnings.append(f"{missing:,} of {n:,} {what} of the assignment ({share:.1%}) are not in the log; they are "
                        f"left out{hint}")

def unassigned_warning(warnings: list[str], k: int, total: int, detail: str, what: str) -> None:
    """Warn (counts only) when log customers outside the assignment are a noticeable share of ``total``.

    Customers first seen during the pilot are expected outside a customer assignment
    (it was drawn before), so the share counts customers who bought in the pre-period.
    """
    if total <= 0 or k / total < UNASSIGNED_SHARE:
        return
    warnings.append(f"{k:,} of {total:,} {what} ({k / total:.1%}) are not in the assignment ({detail}); they are "
                    "counted, not analysed. If they should have been assigned, check the ids and the assignment")

def activity_check(warnings: list[str], tx_pre: np.ndarray, tx_post: np.ndarray, f_pre: np.ndarray,
                    f_post: np.ndarray, pilot: np.ndarray, win: PilotWindow, source: str) -> dict[str, Any]:
    """Each group's purchase frequency in the window against its pre-period one; a vanished group is an error."""
    out: dict[str, Any] = {"threshold": ACTIVITY_COLLAPSE, "groups": {}, "collapsed": [],
                           "definition": "per group, mean purchases per customer per week during the pilot divided "
                                         "by the same in the pre-period (analysed customers)"}
    for g, m in (("pilot", pilot), ("control", ~pilot)):
        if float(tx_post[m].sum()) == 0:
            raise DataError(f"the {g} group's {int(m.sum()):,} analysed customers made no purchase at all in the pilot "
                            f"window ({day_text(win.start)} to {day_text(win.end)}), after {int(tx_pre[m].sum()):,} "
                            f"purchases in the pre-period: the group vanished from the log. Did its customers get new "
                            f"ids (new cards) for the pilot, or is part of the log missing? Its effects would read "
                            f"-100%; fix the ids or the log first", source=source, column="customer_id")
        pre, post = float(f_pre[m].mean()), float(f_post[m].mean())
        ratio = post / pre if pre > 0 else math.nan
        out["groups"][g] = {"pre_purchases_per_week": pre, "pilot_purchases_per_week": post, "ratio": ratio}
        if ratio < ACTIVITY_COLLAPSE:
            out["collapsed"].append(g)
            warnings.append(f"the {g} group's purchase frequency fell to {ratio:.0%} of its pre-period level during "
                            f"the pilot ({post:.3f} against {pre:.3f} purchases per customer per week): more than a "
                            "scheme or a season explains. Did its customers get new ids (new cards), or is part of "
                            "the log missing? The effects compare a group that has largely vanished")
    return out

def event_study(c: np.ndarray, d: np.ndarray, a: np.ndarray, purchase: np.ndarray, units_idx: np.ndarray,
                 n_cust: int, win: PilotWindow, pilot: np.ndarray, cluster: np.ndarray | None, f_pre: np.ndarray,
                 s_pre: np.ndarray, level: float) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Weekly effects relative to each unit's pre-period mean, and the pre-trend slope test."""
    k_min = (win.pre_start - win.start) // 7
    k_max = (win.end - win.start) // 7
    n_bins = k_max - k_min + 1
    days = np.arange(win.pre_start, win.end + 1)
    included = ((days >= win.pre_start) & (days <= win.pre_end)) | ((days >= win.start) & (days <= win.end))
    bin_days = np.bincount((days[included] - win.start) // 7 - k_min, minlength=n_bins).astype(float)
    keep_bins = np.flatnonzero(bin_days > 0)
    # only the analysed customers' rows
    local = np.full(n_cust, -1, dtype=np.int64)
    local[units_idx] = np.arange(units_idx.size)
    lc = local[c]
    m = lc >= 0
    b = (d[m] - win.start) // 7 - k_min
    flat = lc[m] * n_bins + b
    size = units_idx.size * n_bins
    tx = np.bincount(flat, weights=purchase[m], minlength=size).reshape(units_idx.size, n_bins)[:, keep_bins]
    sp = np.bincount(flat, weights=a[m], minlength=size).reshape(units_idx.size, n_bins)[:, keep_bins]
    scale = 7.0 / bin_days[keep_bins]
    weeks = keep_bins + k_min
    rows = []
    for metric, mat, pre in (("purchases_per_week", tx, f_pre), ("spend_per_week", sp, s_pre)):
        mat *= scale
        eb = unit_effect_batch(pre, mat, pilot, cluster=cluster, method="did", level=level)
        mean_p = mat[pilot].mean(axis=0)
        mean_c = mat[~pilot].mean(axis=0)
        for j, w in enumerate(weeks):
            rows.append({"metric": metric, "week": int(w), "week_start": day_text(win.start + 7 * int(w)),
                         "period": "pilot" if w >= 0 else "pre", "estimate": float(eb.estimate[j]),
                         "ci_low": float(eb.ci_low[j]), "ci_high": float(eb.ci_high[j]),
                         "p_value": float(eb.p_value[j]), "pilot_mean": float(mean_p[j]),
                         "control_mean": float(mean_c[j])})
        if metric == "purchases_per_week":
            pre_cols = np.flatnonzero(weeks < 0)
            trend = pre_trend(mat[:, pre_cols], weeks[pre_cols], pilot, cluster, level)
    return pd.DataFrame(rows), trend

def pre_trend(y: np.ndarray, weeks: np.ndarray, pilot: np.ndarray, cluster: np.ndarray | None,
               level: float) -> dict[str, Any]:
    """Slope of the pilot - control difference over the pre-period weeks (purchase frequency)."""
    out: dict[str, Any] = {"metric": "purchases_per_week", "weeks": int(len(weeks)), "slope": None, "ci_low": None,
                           "ci_high": None, "p_value": None, "note": None,
                           "definition": "per customer, the least-squares slope of weekly purchases over the "
                                         "pre-period weeks; pilot mean slope minus control mean slope "
                                         "(0 when the groups moved in parallel)"}
    if len(weeks) < 3:
        out["note"] = f"pre-trend not checked: the pre-period has {len(weeks)} week(s), at least 3 are needed"
        return out
    x = weeks - weeks.mean()
    contrast = x / (x * x).sum()
    slope = y @ contrast
    e = effect(None, slope, pilot, cluster=cluster, method="diff", level=level, metric="pre_trend_slope")
    out.update(slope=e.estimate, ci_low=e.ci_low, ci_high=e.ci_high, p_value=e.p_value, failed=e.p_value < CHECK_ALPHA)
    return out

def balance(f_pre: np.ndarray, s_pre: np.ndarray, pilot: np.ndarray, cluster: np.ndarray | None,
             level: float) -> dict[str, Any]:
    e = effect(None, f_pre, pilot, cluster=cluster, method="diff", level=level, metric="pre_frequency")
    s = effect(None, s_pre, pilot, cluster=cluster, method="diff", level=level, metric="pre_spend")
    return {"metric": "purchases_per_week in the pre-period", "difference": e.estimate, "ci_low": e.ci_low,
            "ci_high": e.ci_high, "p_value": e.p_value, "spend_difference": s.estimate, "spend_p_value": s.p_value}

def srm(n_p: int, n_c: int, share: float, what: str) -> dict[str, Any]:
    n = n_p + n_c
    exp_p, exp_c = n * share, n * (1 - share)
    if n == 0 or exp_p <= 0 or exp_c <= 0:
        return {"units": what, "pilot": n_p, "control": n_c, "expected_share": share, "chi2": None, "p_value": None,
                "mismatch": False}
    chi2 = (n_p - exp_p) ** 2 / exp_p + (n_c - exp_c) ** 2 / exp_c
    p = float(stats.chi2.sf(chi2, 1))
    return {"units": what, "pilot": n_p, "control": n_c, "observed_share": n_p / n, "expected_share": share,
            "chi2": float(chi2), "p_value": p, "mismatch": p < SRM_ALPHA, "threshold": SRM_ALPHA}

def _naive_difference(post: np.ndarray, flag: np.ndarray, cluster: np.ndarray | None,
                      level: float) -> dict[str, float]:
    """Mean of ``post`` where ``flag`` minus where not, with an interval that respects store clustering.

    Customer level: Welch (:func:`unit_effect`). By store, where a store holds both
    enrolled and other customers: the linearised cluster-robust variance of the
    difference of the two means (store totals of each customer's contribution),
    factor ``G / (G - 1)``, t reference on ``G - 1`` degrees of freedom.
    """
    if cluster is None:
        e = effect(None, post, flag, method="diff", level=level)
        return {"estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high}
    n1, n0 = int(flag.sum()), int((~flag).sum())
    m1, m0 = float(post[flag].mean()), float(post[~flag].mean())
    u = np.where(flag, (post - m1) / n1, -(post - m0) / n0)
    codes, _ = pd.factorize(cluster)
    tot = np.bincount(codes, weights=u)
    g = tot.size
    est = m1 - m0
    if g < 2:
        return {"estimate": est, "ci_low": math.nan, "ci_high": math.nan}
    se = math.sqrt(g / (g - 1) * float((tot * tot).sum()))
    if not se > 0:
        return {"estimate": est, "ci_low": math.nan, "ci_high": math.nan}
    q = float(stats.t.ppf(0.5 + level / 2, g - 1))
    return {"estimate": est, "ci_low": est - q * se, "ci_high": est + q * se}

def self_selection(warnings: list[str], enrolled: np.ndarray | None, pilot: np.ndarray, cluster: np.ndarray | None,
                    f_post: np.ndarray, s_post: np.ndarray, estimates: dict[str, Estimate], level: float,
                    self_selected: bool, unit: str) -> dict[str, Any] | None:
    if self_selected and enrolled is None:
        warnings.append("the pilot group chose to take part (self-selected, not randomised): the estimates compare "
                        "volunteers with the rest and are not causal; difference in differences removes only fixed "
                        "differences between them. Treat the figures as an upper bound")
        return {"self_selected": True, "enrolled_column": False}
    if enrolled is None:
        return None
    take_up = float(enrolled[pilot].mean())
    take_up_control = float(enrolled[~pilot].mean())
    complier_share = take_up - take_up_control
    in_control = int((enrolled & ~pilot).sum())
    out: dict[str, Any] = {"self_selected": True, "enrolled_column": True, "take_up": take_up,
                           "take_up_control": take_up_control, "take_up_difference": complier_share,
                           "enrolled_pilot": int((enrolled & pilot).sum()), "enrolled_control": in_control,
                           "naive": {}, "itt": {}, "per_enrolled": {}}
    if in_control:
        warnings.append(f"{in_control:,} control customers are flagged as enrolled: the control group was exposed, so "
                        "the intention-to-treat effect understates the scheme's; the per-enrolled effect divides by "
                        "the difference in take-up between the groups")
    for metric, post in (("purchases_per_week", f_post), ("spend_per_week", s_post)):
        itt = estimates[metric]
        out["itt"][metric] = {"estimate": itt.estimate, "ci_low": itt.ci_low, "ci_high": itt.ci_high}
        if enrolled.all() or not enrolled.any():
            continue
        naive = _naive_difference(post, enrolled, cluster, level)
        out["naive"][metric] = {**naive, "definition": "mean during the pilot of enrolled customers minus everyone "
                                                       "else" + (" (interval cluster-robust by store)"
                                                                 if cluster is not None else "")}
        if complier_share > 0:
            out["per_enrolled"][metric] = {
                "estimate": itt.estimate / complier_share, "ci_low": itt.ci_low / complier_share,
                "ci_high": itt.ci_high / complier_share,
                "definition": "intention-to-treat effect / (take-up in the pilot group - take-up in the control "
                              "group) (Bloom 1984; the Wald estimator): the effect per customer the assignment made "
                              "enrol, valid if the assignment changed nothing for those it did not make enrol; the "
                              "interval treats the take-up difference as known"}
    if complier_share <= 0:
        warnings.append(f"self-selection: take-up is no higher in the pilot group ({take_up:.0%}) than in the control "
                        f"group ({take_up_control:.0%}), so no per-enrolled effect can be derived")
    if "spend_per_week" in out["naive"]:
        nv = out["naive"]["spend_per_week"]["estimate"]
        it = out["itt"]["spend_per_week"]["estimate"]
        warnings.append(f"self-selection: {take_up:.0%} of pilot customers chose to enrol. Enrolled customers spent "
                        f"{nv:+,.2f} a week more than the others during the pilot, but that mixes the scheme's effect "
                        f"with who chooses to join; the intention-to-treat effect (pilot vs control as assigned) is "
                        f"{it:+,.2f} a week per pilot customer")
    return out


def weekly_checks(warnings: list[str], c: np.ndarray, d: np.ndarray, a: np.ndarray, purchase: np.ndarray,
                  units_idx: np.ndarray, n_cust: int, win: PilotWindow, pilot: np.ndarray, cluster: np.ndarray | None,
                  f_pre: np.ndarray, s_pre: np.ndarray, level: float) -> tuple[pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """The event study, the pre-trend and the balance check, with their warnings (weeks without a purchase too)."""
    event, trend = event_study(c, d, a, purchase, units_idx, n_cust, win, pilot, cluster, f_pre, s_pre, level)
    bal = balance(f_pre, s_pre, pilot, cluster, level)
    freq = event[event["metric"] == "purchases_per_week"]
    empty = freq[(freq["pilot_mean"] == 0) & (freq["control_mean"] == 0)]
    if len(empty):
        warnings.append(f"no purchase at all in {len(empty)} week(s) of the review windows (first: week starting "
                        f"{empty['week_start'].iloc[0]}): a gap in the log? The weekly rates there are zeros")
    if trend_failed(trend):
        warnings.append(f"pre-trend check failed: before the pilot the pilot - control difference in purchase frequency "
                        f"was drifting by {trend['slope']:+.4f} per week (p = {trend['p_value']:.3f}); the "
                        "groups were not comparable, so the effects may be biased")
    elif trend.get("note"):
        warnings.append(trend["note"])
    if bal["p_value"] is not None and bal["p_value"] < CHECK_ALPHA:
        warnings.append(f"the groups differed before the pilot (purchase frequency, p = {bal['p_value']:.3f}); "
                        "difference in differences and CUPED correct for a fixed difference, but check the assignment")
    return event, trend, bal


def trend_failed(trend: dict[str, Any]) -> bool:
    """Whether the pre-trend check ran and failed."""
    return trend.get("p_value") is not None and trend["p_value"] < CHECK_ALPHA


def srm_check(warnings: list[str], units: tuple[str, int, int, float], expected_share: float | None, *,
              assigned: tuple[int, int], unit: str) -> dict[str, Any]:
    """Sample-ratio mismatch of the analysed units (and of the assignment file against ``expected_share``)."""
    what, o_p, o_c, file_share = units
    out = srm(o_p, o_c, expected_share if expected_share is not None else file_share, what)
    out["expected_from"] = "expected_share" if expected_share is not None else "assignment file"
    if expected_share is not None:
        n_pilot, n_control = assigned
        out["assignment_file"] = srm(n_pilot, n_control, expected_share, f"assigned {unit}s")
        if out["assignment_file"]["mismatch"]:
            warnings.append(f"sample-ratio mismatch in the assignment file: {n_pilot:,} pilot and "
                            f"{n_control:,} control {unit}s against a planned pilot share of "
                            f"{expected_share:.0%} (p = {out['assignment_file']['p_value']:.2g})")
    if out["mismatch"]:
        warnings.append(f"sample-ratio mismatch: {o_p:,} pilot and {o_c:,} control {what} analysed against an expected "
                        f"pilot share of {out['expected_share']:.1%} (chi-square p = {out['p_value']:.2g}); something "
                        "removed or added units unevenly (id matching, logging, eligibility): find it before trusting "
                        "the effects")
    return out


def failed_checks(srm_result: dict[str, Any], trend: dict[str, Any], activity: dict[str, Any],
                  self_selected: bool) -> list[str]:
    """Names of the failed checks, in the order the verdict lists them."""
    failed = []
    if srm_result["mismatch"]:
        failed.append("sample-ratio mismatch")
    if srm_result.get("assignment_file", {}).get("mismatch"):
        failed.append("sample-ratio mismatch in the assignment file")
    if trend_failed(trend):
        failed.append("pre-trend")
    if activity["collapsed"]:
        failed.append(f"activity collapse in the {' and '.join(activity['collapsed'])} group")
    if self_selected:
        failed.append("self-selected pilot group")
    return failed
