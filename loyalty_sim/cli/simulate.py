"""``loyalty-sim simulate``: a preset's baseline, or a scenario file's baseline and schemes; ``--log``: on your customers."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..text.simulation import key_value_table, scenario_table
from ._common import clean_output_folder, emit, options_named, show_progress
from .population_options import statements_text

HELP = "simulate customers' purchases and print a summary"


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the options of ``simulate`` to ``p`` (and return it)."""
    p.add_argument("--preset", default="coffee_shop", help="population preset (default: coffee_shop)")
    p.add_argument("--scenario", help="scenario YAML: run its baseline and every scheme (common random numbers)")
    p.add_argument("--customers", type=int, help="customers at week 0 (default: 10000, or the scenario's)")
    p.add_argument("--weeks", type=int, help="horizon in weeks (default: 52, or the scenario's)")
    p.add_argument("--seed", type=int, help="random seed (default: 0, or the scenario's)")
    p.add_argument("--workers", type=int, default=1, help="parallel processes (default: 1)")
    p.add_argument("--memory-limit", help="memory a run may use, e.g. 64GiB (default: the machine's memory, or LOYALTY_SIM_MEMORY_LIMIT)")
    p.add_argument("--out", help="write the transaction log here (.csv or .parquet)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    from .population_options import add_population_options

    add_population_options(p)
    return p


def run(args: argparse.Namespace) -> int:
    """Simulate a preset's baseline, or a scenario file's baseline and schemes."""
    from ..engine import simulate
    from ..files import write_table
    from ..population import Population

    if args.scenario:
        return _run_scenario(args)
    cal = None
    if args.log:
        from .population_options import calibrated_from_args

        cal = calibrated_from_args(args, fill_default=args.preset)
    customers = (cal.shop.default_size if cal is not None else 10_000) if args.customers is None else args.customers
    weeks = 52 if args.weeks is None else args.weeks
    seed = 0 if args.seed is None else args.seed
    if args.out:
        from ..files import check_output_path

        check_output_path(args.out, (".csv", ".parquet"), field="out")
        clean_output_folder("simulate", Path(args.out).parent)
    output = "log" if args.out else "aggregate"
    with options_named(args, {"size": "customers", "weeks": "weeks", "seed": "seed", "workers": "workers",
                              "preset": "preset"}):
        pop = (cal.population(customers, weeks=weeks, seed=seed) if cal is not None
               else Population(args.preset, size=customers, weeks=weeks, seed=seed))
        res = simulate(pop, weeks=weeks, seed=seed, output=output, workers=args.workers,
                       progress=show_progress(args))
    summary = res.summary()
    if args.out:
        write_table(res.transactions, args.out)
        summary["log"] = str(args.out)
    text = key_value_table(summary)
    if cal is not None:
        summary["calibrated_from"] = cal.describe(customers)
        text = statements_text(summary["calibrated_from"]["statements"]) + "\n" + text
    emit(args, summary, text)
    return 0


def _run_scenario(args: argparse.Namespace) -> int:
    from ..scenario import load_scenario, run_scenario

    sc = load_scenario(args.scenario, customers=args.customers, weeks=args.weeks, seed=args.seed)
    if args.log:
        from ..scenario import with_log
        from .population_options import calibrated_from_args

        sc = with_log(sc, calibrated_from_args(args, fill_default=sc.preset or "coffee_shop"),
                      customers=args.customers)
    run = run_scenario(sc, workers=args.workers, progress=show_progress(args))
    summary = run.summary()
    text = scenario_table(sc.name, sc.launch_week, sc.weeks, run.seed, summary)
    if sc.calibration is not None:
        summary["calibrated_from"] = sc.calibrated_from()
        text = statements_text(sc.statements()) + "\n" + text
    emit(args, summary, text)
    return 0
