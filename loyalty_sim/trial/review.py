"""Review of a pilot from a transaction log and an assignment file, and whether the scheme paid.

A pilot ran from ``start`` to ``end`` (both days included) on some customers (or some
stores); the others are controls. :func:`review_trial` reads the log and the
assignment, checks both, and estimates the scheme's effect on four metrics per
customer, with intervals, then what that is worth.

Analysis population
    The customers of the assignment (customer unit), or the customers whose *home
    store* is in the assignment (store unit), who bought at least once in the
    pre-period. The home store is the store of most of a customer's pre-period rows,
    ties to the store whose id sorts first as text: :func:`loyalty_sim.trial.assignment.home_stores`,
    the same rule as :func:`loyalty_sim.trial.power.store_summary`. Activity before the pilot cannot
    be affected by it, so this choice is the same in both groups; customers first seen
    during the pilot are counted, not analysed (conditioning on activity during the
    pilot would bias the comparison). Outcomes count all of a customer's purchases, in
    any store (intention to treat).
Ids
    Normalised by :func:`loyalty_sim.ids.normalise_ids`, as :func:`loyalty_sim.calibration.logs.read_log` keeps a log's ids (stripped text;
    integers in decimal; ``"007"`` and ``"7"`` stay different), on both sides; two
    different ids of the assignment that normalise to one are an error naming the rows.
    Ids are never printed, only counted.
Metrics
    ``purchases_per_week``: purchases (rows with a positive amount) per customer per
    week; ``spend_per_week``: net amount per customer per week (currency);
    ``mean_ticket``: each customer's own spend divided by purchases, averaged over the
    customers who bought in both periods (the before/after table shows the same
    customer mean, so in "X during the pilot against Y expected" X - Y is the effect;
    it conditions on buying during the pilot, so read it as descriptive); ``retention``:
    share of pre-period-active customers who bought (a positive amount; a refund alone
    is no purchase) at least once in the pilot window.
Estimators
    Difference in differences of means and CUPED (Deng et al. 2013), from
    :mod:`loyalty_sim.trial.estimators`; CUPED is primary for customer-level
    assignment (smallest variance), DiD for store-level assignment (it removes fixed
    store differences), with bias-reduced (CR2) cluster-robust intervals on
    Satterthwaite degrees of freedom (``G - 2`` with equal stores, fewer when a few
    large stores dominate). Retention is 1 for everyone in the pre-period, so its
    effect is CUPED with the pre-period purchase frequency as covariate. An estimate
    whose standard error is zero has no interval or p-value (NaN, with a warning).
Checks
    Pre-trend (the pilot - control difference in the weekly pre-period outcome has no
    slope), an event study (weekly effects relative to each customer's pre-period
    mean), sample-ratio mismatch (chi-square of the analysed units per group against
    the assignment's shares or ``expected_share``), activity (a group with no purchase
    in the pilot window is an error -- its customers probably got new ids; one whose
    purchase frequency falls below ``ACTIVITY_COLLAPSE`` = 20% of its pre-period level
    is flagged), ids missing on either side (counts only: ids are never printed; log
    customers outside the assignment are warned about from ``UNASSIGNED_SHARE`` = 5%),
    self-selection (an ``enrolled`` flag: the naive enrolled-vs-rest comparison, and the
    per-enrolled effect = intention-to-treat effect / difference in take-up between the
    groups, Bloom 1984).
Money (over the pilot window)
    ``incremental sales at full price = (spend effect x analysed pilot customers x
    weeks) + discount given``; ``incremental gross profit = margin x that``; costs =
    discount given (``discount_share`` of the full price, when the log's amounts are
    after a member discount) + rewards (``reward_cost_share`` of the cost base, plus
    ``reward_cost``) + programme (``programme_cost`` + ``cost_per_pilot_customer`` x
    costed customers); ``incremental profit = gross profit - costs``; ``ROI =
    incremental profit / costs``. The cost base and the costed customers are everyone
    the scheme was paid for, not only the analysed customers: for a customer pilot, the
    window spend of every pilot customer found in the log, and every assigned pilot
    customer; for a store pilot, all spend in pilot stores during the window (every
    customer buying there), and every customer who bought in a pilot store in the
    window. The intervals carry the spend effect's interval (the costs are taken as
    known). The verdict is "pays" when the whole interval of the incremental profit is
    above zero, "reconsider" when the estimated return is below the cost, "uncertain"
    otherwise, and "uncertain: no costs given" when every cost is 0. Failed checks
    (sample-ratio mismatch, pre-trend, activity collapse, self-selection) are named in
    the verdict, and turn a "pays" into "uncertain".

References
----------
Deng, A., Xu, Y., Kohavi, R. & Walker, T. (2013). Improving the sensitivity of online
controlled experiments by utilizing pre-experiment data. WSDM '13, 123-132.
Brodersen, K. H. et al. (2015). Inferring causal impact using Bayesian structural
time-series models. Annals of Applied Statistics 9(1), 247-274 (the style of the summary).
Fabijan, A. et al. (2019). Diagnosing sample ratio mismatch in online controlled
experiments. KDD '19, 2156-2164.
Bloom, H. S. (1984). Accounting for no-shows in experimental evaluation designs.
Evaluation Review 8(2), 225-246.

Costs
-----
reward_cost_share : float
    Cost of rewards (free items, cashback) as a share of the spend the scheme ran on
    during the pilot: every pilot customer's (customer pilots) or all spend in pilot
    stores (store pilots).
reward_cost : float
    Fixed cost of rewards over the pilot (currency), added to the share.
programme_cost : float
    Fixed cost of running the pilot (currency).
cost_per_pilot_customer : float
    Cost per pilot customer (cards, mailings), currency: counted over every assigned
    pilot customer (customer pilots) or every customer who bought in a pilot store
    during the window (store pilots), analysed or not.
discount_share : float
    Share of the full price taken off purchases under the scheme during the pilot
    (the same spend as ``reward_cost_share``) *and already deducted from the log's
    amounts* (a member discount); 0 when amounts are full prices or rewards are
    costed through ``reward_cost_share``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..calibration.logs import TransactionLog
from ..errors import ConfigError, DataError
from ..files import to_jsonable
from ..validation import check_money, check_probability
from .assignment import Assignment, home_store_codes, home_stores, read_assignment, store_codes
from .checks import (
    ACTIVITY_COLLAPSE,
    CHECK_ALPHA,
    SRM_ALPHA,
    UNASSIGNED_SHARE,
    activity_check,
    coverage_warning,
    effect,
    failed_checks,
    format_hint,
    self_selection,
    srm_check,
    unassigned_warning,
    weekly_checks,
)
from .estimators import Estimate
from .outcomes import (
    GROUPS,
    MAX_DEFAULT_PRE_WEEKS,
    LogTotals,
    PilotWindow,
    UnitOutcomes,
    day_numbers,
    day_text,
    log_frame,
    log_totals,
    pilot_window,
    unit_outcomes,
)
from .outcomes import REVIEW_METRICS as METRICS

__all__ = ["METRICS", "TrialReview", "review_trial", "read_assignment", "Assignment", "home_stores"]

# still importable from here, as before the split (review.SRM_ALPHA, ...); defined in checks.py and outcomes.py
_REEXPORTED = (ACTIVITY_COLLAPSE, CHECK_ALPHA, SRM_ALPHA, UNASSIGNED_SHARE, GROUPS, MAX_DEFAULT_PRE_WEEKS)


# --------------------------------------------------------------------------- result


@dataclass
class TrialReview:
    """The review of a pilot: effects with intervals, checks, money, verdict.

    Attributes
    ----------
    settings : dict
        Dates, unit, money parameters and level (JSON-able).
    estimates : dict of str -> Estimate
        The primary estimate per metric.
    effects : DataFrame
        Every estimate: ``metric, method, primary, estimate, ci_low, ci_high,
        relative_effect, p_value, std_error, n_pilot, n_control, description``.
    before_after : DataFrame
        Per metric and group: pre-period mean, pilot-window mean, change, customers
        (means of the per-customer outcomes the effects compare).
    event_study : DataFrame
        Weekly effects relative to each customer's pre-period mean, with intervals:
        ``metric, week, week_start, period, estimate, ci_low, ci_high, p_value``.
    checks : dict
        ``pre_trend``, ``balance``, ``srm``, ``coverage``, ``activity``,
        ``self_selection``, ``failed`` (names of the failed checks) and ``passed``.
    money : DataFrame
        ``item, estimate, ci_low, ci_high, unit`` over the pilot window.
    verdict : str
        ``"pays"``, ``"uncertain"`` or ``"reconsider"`` followed by the reason (and the
        failed checks, if any).
    warnings : list of str
        Everything a reader must know before trusting the numbers (counts, never ids).
    """

    settings: dict[str, Any]
    estimates: dict[str, Estimate]
    effects: pd.DataFrame
    before_after: pd.DataFrame
    event_study: pd.DataFrame
    checks: dict[str, Any]
    money: pd.DataFrame
    verdict: str
    warnings: list[str] = field(default_factory=list)

    @property
    def level(self) -> float:
        return float(self.settings["level"])

    @property
    def verdict_word(self) -> str:
        """``pays``, ``uncertain`` or ``reconsider``."""
        return self.verdict.split(":")[0]

    def money_item(self, item: str) -> tuple[float, float, float]:
        """``(estimate, ci_low, ci_high)`` of a row of :attr:`money`."""
        row = self.money.set_index("item").loc[item]
        return float(row["estimate"]), float(row["ci_low"]), float(row["ci_high"])

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table, by name (``effects``, ``before_after``, ``event_study``, ``money``)."""
        return {"effects": self.effects, "before_after": self.before_after, "event_study": self.event_study,
                "money": self.money}

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: per metric ``estimate, ci_low, ci_high, relative_effect, p_value, method``, and the rest."""
        metrics = {}
        for name, est in self.estimates.items():
            d = est.to_dict()
            d["method"] = self.effects.loc[(self.effects["metric"] == name) & self.effects["primary"], "method"].iloc[0]
            d["description"] = est.method
            d["unit"] = METRICS[name][1]
            alts = self.effects[(self.effects["metric"] == name) & ~self.effects["primary"]]
            d["alternatives"] = {r["method"]: {k: to_jsonable(r[k]) for k in ("estimate", "ci_low", "ci_high",
                                                                        "relative_effect", "p_value", "std_error")}
                                 for _, r in alts.iterrows()}
            metrics[name] = d
        return {
            "settings": to_jsonable(self.settings),
            "metrics": metrics,
            "money": {r["item"]: {"estimate": to_jsonable(r["estimate"]), "ci_low": to_jsonable(r["ci_low"]),
                                  "ci_high": to_jsonable(r["ci_high"]), "unit": r["unit"]} for _, r in self.money.iterrows()},
            "verdict": self.verdict,
            "checks": to_jsonable(self.checks),
            "warnings": list(self.warnings),
            "before_after": to_jsonable(self.before_after.to_dict(orient="records")),
            "event_study": to_jsonable(self.event_study.to_dict(orient="records")),
        }

    def summary_text(self) -> str:
        """A short plain-language account: what changed, by how much, how sure, what it is worth, the verdict.

        See :func:`loyalty_sim.text.trial.review_summary`.
        """
        from ..text.trial import review_summary

        return review_summary(self)

    def checks_table(self) -> pd.DataFrame:
        """The checks, one row each, in words (:func:`loyalty_sim.text.trial.checks_table`)."""
        from ..text.trial import checks_table

        return checks_table(self)

    def __repr__(self) -> str:
        return (f"TrialReview(unit={self.settings['unit']!r}, window={self.settings['start']}..{self.settings['end']}, "
                f"verdict={self.verdict_word!r})")


# --------------------------------------------------------------------------- review


def review_trial(log: TransactionLog | pd.DataFrame | str | os.PathLike,
                 assignment: pd.DataFrame | str | os.PathLike, *, start: Any, end: Any, pre_weeks: int | None = None,
                 pre_period: tuple[Any, Any] | None = None, margin: float = 0.3, reward_cost_share: float = 0.0,
                 reward_cost: float = 0.0, programme_cost: float = 0.0, cost_per_pilot_customer: float = 0.0,
                 discount_share: float = 0.0, level: float = 0.95, enrolled: str | None = None,
                 self_selected: bool = False, expected_share: float | None = None, unit: str = "auto",
                 read_options: Mapping[str, Any] | None = None) -> TrialReview:
    """Review a pilot: effects with intervals, checks, money and a verdict.

    Parameters
    ----------
    log : TransactionLog, DataFrame or path-like
        Transactions with ``customer_id``, ``timestamp`` (or ``date``), ``amount`` and,
        for store-level assignment, ``store_id``. A path is read with
        :func:`loyalty_sim.calibration.logs.read_log` (``read_options`` passed on).
    assignment : DataFrame or path-like
        ``customer_id,group`` or ``store_id,group`` (group ``pilot``/``control``),
        optionally an ``enrolled`` column (see :func:`read_assignment`).
    start, end : date-like
        First and last day of the pilot window (both included).
    pre_weeks : int, optional
        Whole weeks right before ``start`` used as the pre-period; default: as many as
        the log holds, up to 52.
    pre_period : (date, date), optional
        An explicit pre-period instead (both days included; must end before ``start``).
    margin : float
        Gross margin: share of full-price sales left after the cost of goods (0..1).
    reward_cost_share, reward_cost, programme_cost, cost_per_pilot_customer, discount_share : float
        What the pilot cost, as defined in the module docstring ("Costs").
    level : float
        Confidence level of every interval.
    enrolled : str, optional
        Assignment column flagging customers who chose to enrol (default ``enrolled``
        if present); the naive enrolled-vs-not comparison is shown beside the
        intention-to-treat figure.
    self_selected : bool
        The pilot group chose to take part (not randomised): the estimates are not causal.
    expected_share : float, optional
        Planned share of pilot units for the sample-ratio check (default: the assignment's).
    unit : {"auto", "customer", "store"}
        The assigned unit (see :func:`read_assignment`).
    read_options : mapping, optional
        Keywords of :func:`~loyalty_sim.calibration.logs.read_log` when ``log`` is a path.

    Returns
    -------
    TrialReview

    Raises
    ------
    ConfigError
        Invalid parameters, reversed or overlapping dates.
    DataError
        An unreadable or inconsistent log or assignment (no assigned id in the log, a window outside it,
        no pre-period, an empty group, store assignment without ``store_id``).
    """
    if not (isinstance(level, (int, float)) and not isinstance(level, bool) and 0 < level < 1):
        raise ConfigError(f"expected a confidence level in (0, 1), got {level!r}", field="level")
    costs = _checked_costs(margin=margin, reward_cost_share=reward_cost_share, discount_share=discount_share,
                           reward_cost=reward_cost, programme_cost=programme_cost,
                           cost_per_pilot_customer=cost_per_pilot_customer)
    if expected_share is not None:
        expected_share = check_probability("expected_share", expected_share, interval="(0, 1)", strict=True)
    asg = read_assignment(assignment, enrolled=enrolled, unit=unit)
    data, source = log_frame(log, read_options)
    if not len(data):
        raise DataError("the log has no transactions", source=source)
    if asg.unit == "store" and "store_id" not in data.columns:
        raise DataError("the assignment is by store but the log has no 'store_id' column", source=source,
                        column="store_id")
    day = day_numbers(data["timestamp"])
    first, last = int(day.min()), int(day.max())
    win = pilot_window(start, end, pre_weeks, pre_period, first, last, source)
    warnings: list[str] = []
    tot = log_totals(data, day, win)
    units = (_customer_units(asg, tot, warnings) if asg.unit == "customer"
             else _store_units(asg, data, tot, warnings, source))
    _check_groups(units, win, asg, warnings)
    m = units.mask
    outs = unit_outcomes(tot.tx_pre[m], tot.tx_post[m], tot.sp_pre[m], tot.sp_post[m], win)
    pilot, cluster = units.pilot, units.cluster
    activity = activity_check(warnings, outs.tx_pre, outs.tx_post, outs.f_pre, outs.f_post, pilot, win, source)
    primary = "did" if cluster is not None else "cuped"
    estimates, effects = _effects(outs, pilot, cluster, primary, level, warnings, asg.source)
    before_after = _before_after(outs, pilot)
    event, trend, bal = weekly_checks(warnings, tot.c, tot.d, tot.a, tot.purchase, np.flatnonzero(m), tot.n, win,
                                      pilot, cluster, outs.f_pre, outs.s_pre, level)
    srm = srm_check(warnings, units.srm_units, expected_share, assigned=(asg.n_pilot, asg.n_control), unit=asg.unit)
    selection = self_selection(warnings, units.enrolled, pilot, cluster, outs.f_post, outs.s_post, estimates, level,
                               self_selected, asg.unit)
    failed = failed_checks(srm, trend, activity, self_selected)
    money, verdict = _money(estimates["spend_per_week"], int(pilot.sum()), win.pilot_weeks, units.cost_spend,
                            units.costed, level=level, **costs)
    settings = _settings(win, asg, units, costs, level=level, expected_share=expected_share,
                         self_selected=self_selected, source=source, first=first, last=last)
    checks = {"pre_trend": trend, "balance": bal, "srm": srm, "coverage": units.coverage, "activity": activity,
              "self_selection": selection, "failed": failed, "passed": not failed}
    return TrialReview(settings=settings, estimates=estimates, effects=effects, before_after=before_after,
                       event_study=event, checks=checks, money=money, verdict=_verdict_with_checks(verdict, failed),
                       warnings=warnings)


def _checked_costs(**kw: Any) -> dict[str, float]:
    """The margin and cost parameters of :func:`review_trial`, checked."""
    out = {k: check_probability(k, kw[k], interval="[0, 1]", strict=True) for k in ("margin", "reward_cost_share")}
    out["discount_share"] = check_probability("discount_share", kw["discount_share"], interval="[0, 1)", strict=True)
    out.update({k: check_money(k, kw[k]) for k in ("reward_cost", "programme_cost", "cost_per_pilot_customer")})
    return out


@dataclass
class _Units:
    """The analysed customers (``mask`` over log customers), their group, store, enrolment, and the cost base."""

    mask: np.ndarray
    pilot: np.ndarray
    enrolled: np.ndarray | None
    cluster: np.ndarray | None
    coverage: dict[str, Any]
    srm_units: tuple[str, int, int, float]
    cost_spend: float
    costed: int
    cost_basis: str


def _customer_units(asg: Assignment, tot: LogTotals, warnings: list[str]) -> _Units:
    """Customers of the assignment who bought in the pre-period; costs over every assigned pilot customer."""
    pos = pd.Index(asg.ids).get_indexer(tot.keys)            # assignment row of each log customer, -1 if none
    found = pos >= 0
    n_found = int(found.sum())
    in_window = tot.active_pre | tot.seen_post
    unassigned = in_window & ~found
    active_pre = tot.active_pre
    coverage: dict[str, Any] = {
        "unit": asg.unit, "assigned": len(asg.ids), "assigned_pilot": asg.n_pilot, "assigned_control": asg.n_control,
        "assigned_in_log": n_found, "assigned_not_in_log": len(asg.ids) - n_found,
        "log_customers_in_window": int(in_window.sum()),
        "log_customers_in_window_not_assigned": int(unassigned.sum()),
        "log_customers_active_in_pre_not_assigned": int((unassigned & active_pre).sum()),
        "log_customers_not_assigned_first_seen_in_pilot": int((unassigned & ~active_pre).sum())}
    hint = format_hint(asg.ids, tot.keys, found, pos)
    if n_found == 0:
        raise DataError(f"none of the {len(asg.ids):,} customers of the assignment appear in the log; check that "
                        f"both use the same customer ids{hint}", source=asg.source, column="customer_id")
    coverage_warning(warnings, "customers", len(asg.ids), n_found, hint)
    unassigned_warning(warnings, int((unassigned & active_pre).sum()), int(active_pre.sum()),
                       f"besides {int((unassigned & ~active_pre).sum()):,} first seen during the pilot, who "
                       "could not have been assigned", what="customers who bought in the pre-period")
    mask = found & active_pre
    row = pos[mask]
    pilot = asg.pilot[row]
    coverage.update(assigned_inactive_in_pre=int((found & ~active_pre).sum()),
                    assigned_in_log_only_during_pilot=int((found & ~active_pre & tot.seen_post).sum()))
    # costs: every assigned pilot customer, and the spend of all of them (analysed or not) in the window
    pilot_cust = np.zeros(tot.n, dtype=bool)
    pilot_cust[found] = asg.pilot[pos[found]]
    return _Units(mask=mask, pilot=pilot, enrolled=None if asg.enrolled is None else asg.enrolled[row], cluster=None,
                  coverage=coverage,
                  srm_units=("customers", int(pilot.sum()), int((~pilot).sum()), asg.n_pilot / len(asg.ids)),
                  cost_spend=float(tot.sp_post[pilot_cust].sum()), costed=asg.n_pilot,
                  cost_basis=("rewards and discount on the window spend of every pilot customer found in the log; "
                              "per-customer costs for every assigned pilot customer"))


def _store_units(asg: Assignment, data: pd.DataFrame, tot: LogTotals, warnings: list[str], source: str) -> _Units:
    """Customers whose home store is assigned and who bought in the pre-period; costs over all pilot-store spend."""
    store_codes_all, store_keys = store_codes(data["store_id"])
    if (store_codes_all < 0).any():
        raise DataError("missing store ids", source=source, column="store_id",
                        rows=[int(v) + 1 for v in np.flatnonzero(store_codes_all < 0)[:5]])
    n_store = len(store_keys)
    sc = store_codes_all[tot.use]
    home, n_used = home_store_codes(tot.c[tot.pre_row], sc[tot.pre_row], tot.n, n_store)
    spos = pd.Index(asg.ids).get_indexer(store_keys)         # assignment row of each log store
    n_found = int((spos >= 0).sum())
    coverage: dict[str, Any] = {
        "unit": asg.unit, "assigned": len(asg.ids), "assigned_pilot": asg.n_pilot, "assigned_control": asg.n_control,
        "assigned_in_log": n_found, "assigned_not_in_log": len(asg.ids) - n_found,
        "log_stores_not_assigned": int((spos < 0).sum())}
    hint = format_hint(asg.ids, store_keys, spos >= 0, spos)
    if n_found == 0:
        raise DataError(f"none of the {len(asg.ids):,} stores of the assignment appear in the log's store_id "
                        f"column; check that both use the same store ids{hint}", source=asg.source,
                        column="store_id")
    coverage_warning(warnings, "stores", len(asg.ids), n_found, hint)
    home_row = np.where(home >= 0, spos[np.maximum(home, 0)], -1)
    mask = tot.active_pre & (home_row >= 0)
    row = home_row[mask]
    n_unassigned_home = int((tot.active_pre & (home_row < 0)).sum())
    coverage.update(customers_with_unassigned_home_store=n_unassigned_home,
                    customers_shopping_in_several_stores=int((n_used[mask] > 1).sum()))
    unassigned_warning(warnings, n_unassigned_home, int(tot.active_pre.sum()),
                       f"their home store is one of {int((spos < 0).sum()):,} stores of the log not in the "
                       "assignment", what="customers who bought in the pre-period")
    stores_seen = np.unique(row)
    # costs: all spend in pilot stores during the window, and every customer who bought there
    pilot_store = np.zeros(n_store, dtype=bool)
    pilot_store[spos >= 0] = asg.pilot[spos[spos >= 0]]
    in_pilot_store = pilot_store[sc] & ~tot.pre_row
    return _Units(mask=mask, pilot=asg.pilot[row], enrolled=None if asg.enrolled is None else asg.enrolled[row],
                  cluster=row, coverage=coverage,
                  srm_units=("stores", int(asg.pilot[stores_seen].sum()), int((~asg.pilot[stores_seen]).sum()),
                             asg.n_pilot / len(asg.ids)),
                  cost_spend=float(tot.a[in_pilot_store].sum()),
                  costed=int(np.unique(tot.c[in_pilot_store & tot.purchase]).size),
                  cost_basis=("rewards and discount on all spend in pilot stores during the window (every customer "
                              "buying there); per-customer costs for every customer who bought in a pilot store "
                              "during the window"))


def _check_groups(units: _Units, win: PilotWindow, asg: Assignment, warnings: list[str]) -> None:
    """At least 2 analysed customers per group (and 2 stores per group); few stores are warned about."""
    pilot, cluster = units.pilot, units.cluster
    units.coverage.update(analysed_pilot=int(pilot.sum()), analysed_control=int((~pilot).sum()))
    for g, n_g in (("pilot", int(pilot.sum())), ("control", int((~pilot).sum()))):
        if n_g < 2:
            raise DataError(f"the {g} group has {n_g} customer(s) who bought in the pre-period "
                            f"({day_text(win.pre_start)} to {day_text(win.pre_end)}); a review needs at least 2 per "
                            "group", source=asg.source, column="group")
    if cluster is not None:
        gp = np.unique(cluster[pilot]).size
        gc = np.unique(cluster[~pilot]).size
        if gp < 2 or gc < 2:
            raise DataError(f"store-level assignment needs at least 2 pilot and 2 control stores with customers; got "
                            f"{gp} pilot and {gc} control", source=asg.source, column="store_id")
        if gp + gc < 6:
            warnings.append(f"only {gp + gc} stores: the intervals use a t reference on at most {gp + gc - 2} "
                            "degrees of freedom and are wide; a few stores cannot show a modest effect")


def _effects(outs: UnitOutcomes, pilot: np.ndarray, cluster: np.ndarray | None, primary: str, level: float,
             warnings: list[str], source: str) -> tuple[dict[str, Estimate], pd.DataFrame]:
    """Every estimate of every metric (the table) and the primary one per metric."""
    rows: list[dict[str, Any]] = []
    estimates: dict[str, Estimate] = {}
    both = outs.both
    plan = [("purchases_per_week", outs.f_pre, outs.f_post, None, ("did", "cuped"), primary),
            ("spend_per_week", outs.s_pre, outs.s_post, None, ("did", "cuped"), primary)]
    if both.any():
        plan.append(("mean_ticket", outs.t_pre[both], outs.t_post[both], both, ("did", "cuped"), primary))
    plan.append(("retention", outs.f_pre, outs.ret_post, None, ("cuped", "diff"), "cuped"))
    for metric, pre, post, mask, methods, main in plan:
        _estimate_metric(rows, estimates, warnings, metric, pre, post, pilot if mask is None else pilot[mask],
                         None if cluster is None else (cluster if mask is None else cluster[mask]), methods, main,
                         level)
    for needed in ("purchases_per_week", "spend_per_week"):
        if needed not in estimates:
            raise DataError(f"no estimate of {METRICS[needed][0]} could be made; see the warnings: {warnings}",
                            source=source)
    return estimates, pd.DataFrame(rows)


def _estimate_metric(rows: list[dict[str, Any]], estimates: dict[str, Estimate], warnings: list[str], metric: str,
                     pre: np.ndarray | None, post: np.ndarray, pl: np.ndarray, cl: np.ndarray | None,
                     methods: tuple[str, ...], main: str, level: float) -> None:
    """Estimate one metric by each method: a row per estimate, the ``main`` one in ``estimates``, warnings once."""
    problems: list[str] = []
    for m in methods:
        try:
            e = effect(pre, post, pl, cluster=cl, method=m, level=level, metric=metric)
        except ConfigError as exc:
            problems.append(exc.message)
            continue
        rows.append({"metric": metric, "method": m, "primary": m == main, **{
            k: getattr(e, k) for k in ("estimate", "ci_low", "ci_high", "relative_effect", "p_value", "std_error",
                                       "n_pilot", "n_control", "df", "theta")}, "description": e.method})
        if m == main:
            estimates[metric] = e
    for message in dict.fromkeys(problems):          # once per metric, not once per estimator
        warnings.append(f"{METRICS[metric][0]}: no estimate ({message})")
    if metric in estimates and not math.isfinite(estimates[metric].p_value):
        warnings.append(f"{METRICS[metric][0]}: no interval or p-value - its standard error is zero (every "
                        "customer of each group has the same value), which is no evidence of a certain effect")


def _before_after(outs: UnitOutcomes, pilot: np.ndarray) -> pd.DataFrame:
    """The group means of the very outcomes the effects compare, before and during the pilot."""
    ba = []
    for metric, pre, post, mask in (("purchases_per_week", outs.f_pre, outs.f_post, None),
                                    ("spend_per_week", outs.s_pre, outs.s_post, None),
                                    ("mean_ticket", outs.t_pre, outs.t_post, outs.both),
                                    ("retention", None, outs.ret_post, None)):
        for g, gmask in (("pilot", pilot), ("control", ~pilot)):
            m = gmask if mask is None else gmask & mask
            if m.any():
                pre_v = 1.0 if pre is None else float(pre[m].mean())
                post_v = float(post[m].mean())
            else:
                pre_v = post_v = math.nan
            ba.append({"metric": metric, "group": g, "pre": pre_v, "post": post_v, "change": post_v - pre_v,
                       "relative_change": (post_v - pre_v) / pre_v if pre_v else math.nan, "customers": int(m.sum())})
    return pd.DataFrame(ba)


def _settings(win: PilotWindow, asg: Assignment, units: _Units, costs: dict[str, float], *, level: float,
              expected_share: float | None, self_selected: bool, source: str, first: int,
              last: int) -> dict[str, Any]:
    """Dates, unit, method, money parameters and level of a review (JSON-able)."""
    return {
        "start": day_text(win.start), "end": day_text(win.end), "pilot_weeks": win.pilot_weeks,
        "pre_start": day_text(win.pre_start), "pre_end": day_text(win.pre_end), "pre_weeks": win.pre_weeks,
        "unit": asg.unit, "primary_method": "did" if units.cluster is not None else "cuped",
        "primary_method_reason": ("stores were assigned: difference in differences removes fixed store differences and "
                                  "the intervals are cluster-robust by store" if units.cluster is not None else
                                  "customers were randomised individually: CUPED has the smallest variance"),
        "margin": costs["margin"], "reward_cost_share": costs["reward_cost_share"], "reward_cost": costs["reward_cost"],
        "programme_cost": costs["programme_cost"], "cost_per_pilot_customer": costs["cost_per_pilot_customer"],
        "discount_share": costs["discount_share"], "cost_basis": units.cost_basis, "level": float(level),
        "expected_share": expected_share, "self_selected": bool(self_selected), "log": source,
        "assignment": asg.source, "log_first_day": day_text(first), "log_last_day": day_text(last),
        "definitions": {k: v[1] for k, v in METRICS.items()},
    }


def _verdict_with_checks(verdict: str, failed: list[str]) -> str:
    """Say in the verdict that checks failed; a "pays" becomes "uncertain"."""
    if not failed:
        return verdict
    what = "; ".join(failed)
    word, _, rest = verdict.partition(": ")
    if word == "pays":
        return (f"uncertain: checks failed ({what}), so the figures cannot be trusted until that is explained; "
                f"taken at face value it pays - {rest}")
    return f"{verdict}; checks failed ({what}), so the figures may be biased"

def _money(spend: Estimate, n_pilot: int, weeks: float, cost_spend: float, costed: int, *, margin: float,
           reward_cost_share: float, reward_cost: float, programme_cost: float, cost_per_pilot_customer: float,
           discount_share: float, level: float) -> tuple[pd.DataFrame, str]:
    """Money over the pilot window and the verdict.

    ``n_pilot`` analysed pilot customers scale the spend effect; ``cost_spend`` (the
    spend the scheme's rewards and discount were paid on) and ``costed`` (customers who
    cost ``cost_per_pilot_customer``) come from :func:`review_trial` (see its Money notes).
    """
    scale = n_pilot * weeks
    d = discount_share
    discount_given = cost_spend * d / (1 - d)
    rewards = reward_cost_share * cost_spend + reward_cost
    programme = programme_cost + cost_per_pilot_customer * costed
    costs = discount_given + rewards + programme

    def tri(x: float, lo: float, hi: float) -> tuple[float, float, float]:
        return (x, min(lo, hi), max(lo, hi)) if math.isfinite(lo) and math.isfinite(hi) else (x, math.nan, math.nan)

    rev = tri(spend.estimate * scale, spend.ci_low * scale, spend.ci_high * scale)
    full = tri(*(v + discount_given for v in rev))
    gp = tri(*(margin * v for v in full))
    profit = tri(*(v - costs for v in gp))
    roi = tri(*(v / costs for v in profit)) if costs > 0 else (math.nan, math.nan, math.nan)
    per_cust = tri(*(v / n_pilot for v in profit))
    break_even = (costs / margin - discount_given) / scale if margin > 0 else math.nan
    rows = [
        ("incremental_revenue", *rev, "currency paid by pilot customers over the pilot"),
        ("incremental_sales_full_price", *full, "currency at full price over the pilot"),
        ("incremental_gross_profit", *gp, "currency (margin x incremental full-price sales)"),
        ("discount_cost", discount_given, discount_given, discount_given, "currency"),
        ("reward_cost", rewards, rewards, rewards, "currency"),
        ("programme_cost", programme, programme, programme, "currency"),
        ("total_cost", costs, costs, costs, "currency"),
        ("incremental_profit", *profit, "currency over the pilot"),
        ("incremental_profit_per_pilot_customer", *per_cust, "currency per analysed pilot customer over the pilot"),
        ("roi", *roi, "incremental profit / total cost"),
        ("break_even_spend_effect", break_even, break_even, break_even, "currency per customer per week"),
        ("pilot_customers", float(n_pilot), float(n_pilot), float(n_pilot), "analysed pilot customers"),
        ("cost_base_spend", cost_spend, cost_spend, cost_spend,
         "currency: the window spend the reward and discount costs are on"),
        ("costed_customers", float(costed), float(costed), float(costed),
         "customers charged cost_per_pilot_customer"),
        ("pilot_weeks", weeks, weeks, weeks, "weeks"),
    ]
    money = pd.DataFrame(rows, columns=["item", "estimate", "ci_low", "ci_high", "unit"])
    pct = f"{100 * level:.0f}%"
    est, lo, hi = profit
    span = f"{est:+,.0f}; {pct} interval {lo:+,.0f} to {hi:+,.0f}"
    if costs == 0:
        g_est, g_lo, g_hi = gp
        verdict = (f"uncertain: no costs given (rewards, discount, programme and per-customer costs are all 0), so "
                   f"whether the pilot pays cannot be judged; incremental gross profit over the pilot {g_est:+,.0f} "
                   f"({pct} interval {g_lo:+,.0f} to {g_hi:+,.0f}) before any cost")
    elif not (math.isfinite(lo) and math.isfinite(hi)):
        verdict = f"uncertain: incremental profit over the pilot {est:+,.0f}, but the spend effect has no interval"
    elif est < 0:
        tail = "the whole interval is below zero" if hi < 0 else "the interval reaches a gain, but the best estimate is a loss"
        verdict = (f"reconsider: the return is below the cost - incremental profit over the pilot {span} ({tail})")
    elif lo > 0:
        verdict = f"pays: incremental profit over the pilot {span}"
    else:
        verdict = f"uncertain: incremental profit over the pilot {span} includes a loss"
    return money, verdict
