"""``loyalty-sim trial design`` and ``loyalty-sim trial review``: plan a pilot, and judge one from its log.

``trial design``: how to run a pilot so that it can answer the question. Usage::

    loyalty-sim trial design --preset coffee_shop --scheme stamp10 --weeks 8 --share 0.5
    loyalty-sim trial design --log my_log.csv --scheme my_scheme.yaml --assignment-out assignment.csv
    loyalty-sim trial design --log my_log.csv --store-col shop --unit store --scheme gift --json

With ``--log`` the log is read (never modified) with the log options every command shares
and calibrated on the one path (:func:`loyalty_sim.calibration.calibrate.calibrate`): the
customers simulated are the shop's, what a log cannot show comes from ``--fill-from`` (and
is stated), and the assignment written is for the log's own customers (or stores); the
pre-period is the last ``--pre-weeks`` weeks of the log and the pilot is assumed to start
the day after it ends.

:func:`add_design_arguments` adds the options to a parser; :func:`run_design` runs the
command and returns the exit status. Invalid options raise
:class:`~loyalty_sim.errors.ConfigError` naming the option's field before any work is done.

``trial review``: :func:`add_review_arguments` and :func:`run_review` review the pilot and
print the summary and the effects table (or JSON with ``--json``); ``--out DIR`` also
writes ``review.json`` and spreadsheet-safe ``effects.csv``, ``before_after.csv``,
``event_study.csv`` and ``money.csv``, each atomically.

Errors are raised as :class:`~loyalty_sim.errors.LoyaltySimError` (the main entry point
prints them and exits 2).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ConfigError
from ..files import check_output_dir, dumps_json, write_csv_safe, write_json_atomic
from ..text.format import number
from ..text.trial import design_summary, effects_table, review_summary
from ..trial import design as dz
from ..trial.review import TrialReview, review_trial
from ..validation import check_choice, check_count, check_positive, check_probability
from .executor_options import add_executor_options, executor_from_args

__all__ = ["HELP", "add_arguments", "add_design_arguments", "add_review_arguments", "run", "run_design", "run_review"]

HELP = "pilots: design one (power, assignment) or review one from a log"


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the two subcommands of ``trial`` (``design``, ``review``) to ``parser`` (and return it)."""
    trial = parser.add_subparsers(dest="trial_command", required=True, metavar="SUBCOMMAND")
    add_design_arguments(trial.add_parser(
        "design", help="power and minimum detectable effect of a pilot, a recommended length, an assignment file"))
    add_review_arguments(trial.add_parser(
        "review", help="did the pilot pay? effects with intervals, checks, money and a verdict from a log"))
    return parser


def run(args: argparse.Namespace) -> int:
    """Design a pilot or review one (``trial design`` / ``trial review``)."""
    return (run_design if args.trial_command == "design" else run_review)(args)


# --------------------------------------------------------------------------- design


def add_design_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the options of ``trial design`` to ``parser`` (and return it)."""
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--preset", help="population preset (default: the scheme file's preset, else coffee_shop)")
    src.add_argument("--log", help="your transaction log (CSV, Parquet or CDNOW): fit it and design for your customers")
    parser.add_argument("--scheme", required=True,
                        help="scheme or scenario YAML (a path or a shipped scenario name), or a scheme's name there")
    parser.add_argument("--scheme-name", help="which scheme of a scenario file (default: its first)")
    parser.add_argument("--unit", default="customer", help="unit of assignment: customer or store (default customer)")
    parser.add_argument("--stores", type=int, help="number of stores for --unit store (default 20; with --log, the log's)")
    parser.add_argument("--store-col", help="column of the log holding the store (default: store_id)")
    parser.add_argument("--icc", type=float,
                        help="intra-store correlation of the outcomes (store assignment; default: estimated from "
                             "the log, else from --store-effect-sd)")
    parser.add_argument("--store-effect-sd", type=float,
                        help="store-level shocks as a share of the outcome's mean (default 0.05, an assumption)")
    parser.add_argument("--share", type=float, default=0.5, help="share of units in the pilot (default 0.5)")
    parser.add_argument("--weeks", type=int, default=8, help="pilot length in weeks (default 8)")
    parser.add_argument("--pre-weeks", type=int, default=8, help="pre-period in weeks (default 8)")
    parser.add_argument("--customers", type=int,
                        help="customers to simulate (default 10000; with --log, those expected active at the log's end)")
    parser.add_argument("--target-power", type=float, default=0.8, help="power to reach (default 0.8)")
    parser.add_argument("--alpha", type=float, default=0.05, help="two-sided significance level (default 0.05)")
    parser.add_argument("--primary", default="spend", help="outcome to size the pilot for: spend, frequency or retention")
    parser.add_argument("--method", default="auto",
                        help="estimator: auto (CUPED for customers, DiD for stores), cuped, did or diff")
    parser.add_argument("--candidate-weeks", default=",".join(str(w) for w in dz.DEFAULT_WEEKS),
                        help="pilot lengths to compare, comma-separated (default %(default)s)")
    parser.add_argument("--rerandomisations", type=int, default=200,
                        help="re-randomised assignments for the simulated power (default 200; 0 = analytic only)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    add_executor_options(parser, workers_help="local processes running the re-randomisations (default 1: this process)")
    parser.add_argument("--assignment-out", help="write the stratified random assignment here (.csv)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    from .population_options import add_population_options

    add_population_options(parser, log_flag=False, exclude=("--store-col",))
    return parser


def _check_args(args: argparse.Namespace) -> dict[str, Any]:
    """Validate the options before any work; returns the parsed ones."""
    check_choice("unit", args.unit, dz.UNITS)
    check_probability("share", args.share)
    check_count("weeks", args.weeks, minimum=1)
    check_count("pre_weeks", args.pre_weeks, minimum=1)
    check_probability("alpha", args.alpha)
    check_probability("target_power", args.target_power)
    check_count("seed", args.seed, minimum=0)
    check_count("rerandomisations", args.rerandomisations, minimum=0)
    if args.customers is not None:
        check_count("customers", args.customers, minimum=10)
    if args.stores is not None:
        check_count("stores", args.stores, minimum=4)
    if args.icc is not None:
        check_probability("icc", args.icc, interval="[0, 1)")
    if args.store_effect_sd is not None:
        check_positive("store_effect_sd", args.store_effect_sd, allow_zero=True)
    if args.primary not in dz.METRICS:
        raise ConfigError(f"expected one of {list(dz.METRICS)}, got {args.primary!r}", field="primary")
    try:
        weeks = [int(w) for w in str(args.candidate_weeks).split(",") if w.strip()]
    except ValueError:
        raise ConfigError(f"expected comma-separated whole weeks like 2,4,8, got {args.candidate_weeks!r}",
                          field="candidate_weeks") from None
    for w in weeks:
        check_count("candidate_weeks", w, minimum=1)
    if args.assignment_out:
        from ..files import check_output_path

        check_output_path(args.assignment_out, (".csv",), field="assignment_out")
    if args.log and args.unit == "store" and args.stores is not None:
        raise ConfigError("with --log the stores are the log's; leave out --stores", field="stores")
    return {"candidate_weeks": weeks or list(dz.DEFAULT_WEEKS)}


def run_design(args: argparse.Namespace) -> int:
    """Run ``trial design`` and print the design (text or JSON); returns the exit status.

    Raises
    ------
    ConfigError, DataError
        Invalid options or log, naming the field or file.
    """
    parsed = _check_args(args)
    scheme, info = dz.resolve_scheme(args.scheme, name=args.scheme_name)
    common = dict(unit=args.unit, share=args.share, pilot_weeks=args.weeks, pre_weeks=args.pre_weeks, alpha=args.alpha,
                  target_power=args.target_power, primary=args.primary, method=args.method,
                  candidate_weeks=parsed["candidate_weeks"], rerandomisations=args.rerandomisations, seed=args.seed,
                  behaviour=info.get("behaviour"))
    extra: dict[str, Any] = {}
    with executor_from_args(args) as common["executor"]:
        if args.log:
            design, assignment, extra = _design_from_log(args, scheme, info, common)
        else:
            design, assignment = _design_from_preset(args, scheme, info, common)
    payload = design.to_dict()
    payload.update(extra)
    text = design_summary(design)
    if assignment is not None:
        if args.assignment_out:
            path = dz.write_assignment(assignment, args.assignment_out)
            payload["assignment"] = _assignment_info(assignment, str(path))
            info_a = payload["assignment"]
            text += (f"\n\nAssignment written to {path}: {number(info_a['pilot'], 0)} pilot and "
                     f"{number(info_a['control'], 0)} control {info_a['unit']}s, {info_a['strata']} strata, seed {args.seed}.")
        else:
            payload["assignment"] = _assignment_info(assignment, None)
    if extra.get("notes"):
        text += "\n\nNotes:\n" + "\n".join(f"- {n}" for n in extra["notes"])
    if args.json:
        print(dumps_json(payload))
    else:
        print(text)
    return 0


def _assignment_info(frame: pd.DataFrame, path: str | None) -> dict[str, Any]:
    unit = "customer" if "customer_id" in frame.columns else "store"
    return {"path": path, "unit": unit, "pilot": int((frame["group"] == "pilot").sum()),
            "control": int((frame["group"] == "control").sum()), "strata": int(frame["stratum"].nunique())}


# --------------------------------------------------------------------------- from a preset


def _design_from_preset(args: argparse.Namespace, scheme: Any, info: dict[str, Any],
                        common: dict[str, Any]) -> tuple[dz.TrialDesign, pd.DataFrame | None]:
    preset = args.preset or info.get("preset") or "coffee_shop"
    design = dz.design_trial(preset, scheme, customers=args.customers, stores=args.stores, icc=args.icc,
                             store_effect_sd=args.store_effect_sd, **common)
    assignment = None
    if args.assignment_out:
        assignment = dz.simulated_assignment(design, preset, unit=args.unit, share=args.share, seed=args.seed)
    return design, assignment



# --------------------------------------------------------------------------- from a log


def _design_from_log(args: argparse.Namespace, scheme: Any, info: dict[str, Any],
                     common: dict[str, Any]) -> tuple[dz.TrialDesign, pd.DataFrame, dict[str, Any]]:
    """:func:`~loyalty_sim.trial.design.design_trial_from_log` with the options of the command line."""
    from .population_options import calibrated_from_args

    cal = calibrated_from_args(args, fill_default=info.get("preset") or "coffee_shop")
    return dz.design_trial_from_log(cal, scheme, customers=args.customers, icc=args.icc,
                                    store_effect_sd=args.store_effect_sd, **common)


# --------------------------------------------------------------------------- review


def add_review_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the arguments of ``trial review`` to ``parser`` and return it."""
    parser.add_argument("--log", required=True, help="transaction log (.csv, .parquet): customer_id, date or "
                        "timestamp, amount[, store_id]")
    parser.add_argument("--assignment", required=True, help="CSV with customer_id,group or store_id,group "
                        "(group: pilot or control), optionally an enrolled column")
    parser.add_argument("--start", required=True, help="first day of the pilot (YYYY-MM-DD)")
    parser.add_argument("--end", required=True, help="last day of the pilot, included (YYYY-MM-DD)")
    parser.add_argument("--pre-weeks", type=int, help="weeks before the start used as the pre-period "
                        "(default: all the log has, up to 52)")
    parser.add_argument("--margin", type=float, default=0.3, help="gross margin, share of full-price sales "
                        "(default: 0.3)")
    parser.add_argument("--reward-cost-share", type=float, default=0.0, help="cost of rewards as a share of the "
                        "spend the scheme ran on during the pilot: every pilot customer's (customer pilots) or all "
                        "spend in pilot stores (store pilots) (default: 0)")
    parser.add_argument("--reward-cost", type=float, default=0.0, help="fixed cost of rewards over the pilot "
                        "(currency, default: 0)")
    parser.add_argument("--programme-cost", type=float, default=0.0, help="fixed cost of running the pilot "
                        "(currency, default: 0)")
    parser.add_argument("--cost-per-customer", type=float, default=0.0, help="cost per pilot customer, over every "
                        "assigned pilot customer (customer pilots) or every customer who bought in a pilot store "
                        "during the pilot (store pilots) (currency, default: 0)")
    parser.add_argument("--discount-share", type=float, default=0.0, help="member discount already deducted "
                        "from the amounts under the scheme (the same spend as --reward-cost-share), share of the "
                        "full price (default: 0)")
    parser.add_argument("--expected-share", type=float, help="planned share of pilot units, for the "
                        "sample-ratio check (default: the assignment's share)")
    parser.add_argument("--level", type=float, default=0.95, help="confidence level (default: 0.95)")
    parser.add_argument("--unit", choices=("auto", "customer", "store"), default="auto",
                        help="assigned unit (default: customer if the assignment has customer_id)")
    parser.add_argument("--enrolled", metavar="COLUMN", help="assignment column flagging customers who chose to "
                        "enrol (default: 'enrolled' if present)")
    parser.add_argument("--self-selected", action="store_true", help="the pilot group chose to take part "
                        "(not randomised)")
    parser.add_argument("--out", help="folder for review.json, effects.csv, before_after.csv, event_study.csv, "
                        "money.csv")
    parser.add_argument("--json", action="store_true", help="print JSON")
    from .log_options import add_log_options

    add_log_options(parser)
    return parser


def review_from_args(args: argparse.Namespace) -> TrialReview:
    """The :class:`TrialReview` the arguments ask for."""
    from ..dates import parse_iso_date
    from .log_options import read_options_from_args

    read_options = read_options_from_args(args)
    start, end = parse_iso_date(args.start, option="--start"), parse_iso_date(args.end, option="--end")
    return review_trial(args.log, args.assignment, start=start, end=end, pre_weeks=args.pre_weeks,
                        margin=args.margin, reward_cost_share=args.reward_cost_share, reward_cost=args.reward_cost,
                        programme_cost=args.programme_cost, cost_per_pilot_customer=args.cost_per_customer,
                        discount_share=args.discount_share, level=args.level, enrolled=args.enrolled,
                        self_selected=args.self_selected, expected_share=args.expected_share, unit=args.unit,
                        read_options=read_options)


def run_review(args: argparse.Namespace) -> int:
    """Run ``trial review``; returns the exit status (0). Bad input raises a LoyaltySimError."""
    if args.out:
        check_output_dir(args.out, field="out")  # before the review, not after
    review = review_from_args(args)
    payload = review.to_dict()
    if args.out:
        out = Path(args.out)
        for name, table in review.tables().items():
            write_csv_safe(table, out / f"{name}.csv")
        write_json_atomic(out / "review.json", payload)
        payload["written"] = str(out)
    if args.json:
        print(dumps_json(payload))
    else:
        text = review_summary(review) + "\n\n" + effects_table(review)
        if args.out:
            text += f"\n\nwritten to {args.out}: review.json, effects.csv, before_after.csv, event_study.csv, money.csv"
        print(text)
    return 0
