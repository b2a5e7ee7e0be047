"""``loyalty-sim compare``: a scenario's schemes against the counterfactual, with intervals."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import clean_output_folder, emit, show_progress
from ._uncertainty import add_uncertainty_arguments, run_uncertainty
from .executor_options import add_executor_options, executor_from_args

HELP = "schemes x metrics against the counterfactual, with intervals"


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the options of ``compare`` to ``p`` (and return it)."""
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--replications", type=int, help="paired replications (default: the scenario's)")
    p.add_argument("--level", type=float, default=0.95, help="interval level (default: 0.95)")
    p.add_argument("--customers", type=int, help="override the scenario's customers")
    p.add_argument("--weeks", type=int, help="override the scenario's horizon")
    p.add_argument("--seed", type=int, help="override the scenario's seed")
    add_executor_options(p, workers_help="local processes running the replications (default 1: this process)")
    p.add_argument("--memory-limit", help="memory a run may use, e.g. 64GiB (default: the machine's memory, or LOYALTY_SIM_MEMORY_LIMIT)")
    p.add_argument("--survey", help="customer survey CSV: each replication draws the segment mix and opt-in "
                                    "take-up from it, so intervals carry its sampling uncertainty")
    p.add_argument("--out", help="folder for summary.csv, effects.csv, segments.csv, comparison.json")
    p.add_argument("--json", action="store_true", help="print JSON")
    from .population_options import add_population_options

    add_population_options(p)
    add_uncertainty_arguments(p)
    return p


def run(args: argparse.Namespace) -> int:
    """Compare a scenario's schemes against the counterfactual, with intervals."""
    from ..comparison import compare
    from ..files import write_csv_safe, write_json_atomic
    from ..scenario import load_scenario
    from ..text.comparison import comparison_text

    if args.out:
        from ..files import check_output_dir

        check_output_dir(args.out, field="out")  # before the comparison runs, not after
        clean_output_folder("compare", Path(args.out))
    sc = load_scenario(args.scenario, customers=args.customers, weeks=args.weeks, seed=args.seed)
    if args.log:
        from ..scenario import with_log
        from .population_options import calibrated_from_args

        sc = with_log(sc, calibrated_from_args(args, fill_default=sc.preset or "coffee_shop"),
                      customers=args.customers)
    survey = None
    if args.survey:
        from ..calibration.survey import read_survey

        survey = read_survey(args.survey)
    with executor_from_args(args) as executor:
        comp = compare(sc, replications=args.replications, level=args.level, workers=args.workers,
                       progress=show_progress(args), survey=survey, executor=executor)
        payload = comp.to_dict()
        more = run_uncertainty(args, sc, comp, payload, executor)  # before --out: comparison.json carries it
    if args.out:
        out = Path(args.out)
        write_csv_safe(comp.summary().reset_index(), out / "summary.csv")
        write_csv_safe(comp.effects(), out / "effects.csv")
        if len(comp.segments):
            write_csv_safe(comp.segments, out / "segments.csv")
        if len(comp.member_gaps):
            write_csv_safe(comp.member_gaps.reset_index(), out / "member_gaps.csv")
        write_json_atomic(out / "comparison.json", payload)
        payload["written"] = str(out)
    text = comparison_text(comp)
    if sc.calibration is not None:
        from .population_options import statements_text

        text = statements_text(sc.statements()) + "\n" + text
    emit(args, payload, text + more)
    return 0
