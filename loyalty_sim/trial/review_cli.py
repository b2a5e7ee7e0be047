"""Command line of ``loyalty-sim trial review``: arguments and the run.

``add_arguments(parser)`` fills a sub-parser; ``run(args)`` reviews the pilot and prints
the summary and the effects table (or JSON with ``--json``); ``--out DIR`` also writes
``review.json`` and spreadsheet-safe ``effects.csv``, ``before_after.csv``,
``event_study.csv`` and ``money.csv``, each atomically. Errors are raised as
:class:`~loyalty_sim.errors.LoyaltySimError` (the main entry point prints them and exits 2).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..files import check_output_dir, dumps_json, write_csv_safe, write_json_atomic
from .review import TrialReview, review_trial

__all__ = ["add_arguments", "run", "effects_text"]


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
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
    parser.add_argument("--returns", choices=("error", "drop", "net"), default="error",
                        help="negative amounts in the log (default: error)")
    parser.add_argument("--duplicates", choices=("error", "drop", "keep"), default="error",
                        help="exact duplicate rows in the log (default: error)")
    parser.add_argument("--date-format", help="strftime pattern of the log's dates (default: ISO 8601)")
    parser.add_argument("--out", help="folder for review.json, effects.csv, before_after.csv, event_study.csv, "
                        "money.csv")
    parser.add_argument("--json", action="store_true", help="print JSON")
    return parser


def review_from_args(args: argparse.Namespace) -> TrialReview:
    """The :class:`TrialReview` the arguments ask for."""
    read_options = {"returns": args.returns, "duplicates": args.duplicates}
    if args.date_format:
        read_options["date_format"] = args.date_format
    return review_trial(args.log, args.assignment, start=args.start, end=args.end, pre_weeks=args.pre_weeks,
                        margin=args.margin, reward_cost_share=args.reward_cost_share, reward_cost=args.reward_cost,
                        programme_cost=args.programme_cost, cost_per_pilot_customer=args.cost_per_customer,
                        discount_share=args.discount_share, level=args.level, enrolled=args.enrolled,
                        self_selected=args.self_selected, expected_share=args.expected_share, unit=args.unit,
                        read_options=read_options)


def effects_text(review: TrialReview) -> str:
    """The effects table as aligned text (:func:`loyalty_sim.text.trial.effects_table`)."""
    from ..text.trial import effects_table

    return effects_table(review)


def run(args: argparse.Namespace) -> int:
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
        text = review.summary_text() + "\n\n" + effects_text(review)
        if args.out:
            text += f"\n\nwritten to {args.out}: review.json, effects.csv, before_after.csv, event_study.csv, money.csv"
        print(text)
    return 0
