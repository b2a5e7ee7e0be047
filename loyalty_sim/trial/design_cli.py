"""``loyalty-sim trial design``: how to run a pilot so that it can answer the question.

Usage::

    loyalty-sim trial design --preset coffee_shop --scheme stamp10 --weeks 8 --share 0.5
    loyalty-sim trial design --log my_log.csv --scheme my_scheme.yaml --assignment-out assignment.csv
    loyalty-sim trial design --log my_log.csv --store-col shop --unit store --scheme gift --json

With ``--log`` the log is read (never modified), BG/NBD and Gamma-Gamma are fitted to
it, the population is built from the fit (:meth:`~loyalty_sim.population.Population.from_fit`),
and the assignment written is for the log's own customers (or stores); the pre-period is
the last ``--pre-weeks`` weeks of the log and the pilot is assumed to start the day
after it ends.

:func:`add_arguments` adds the options to a parser; :func:`run` runs the command and
returns the exit status. Invalid options raise :class:`~loyalty_sim.errors.ConfigError`
naming the option's field before any work is done.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import pandas as pd

from ..errors import ConfigError
from ..files import dumps_json
from ..validation import check_choice, check_count, check_positive, check_probability
from . import design as dz

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the options of ``trial design`` to ``parser`` (and return it)."""
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--preset", help="population preset (default: the scheme file's preset, else coffee_shop)")
    src.add_argument("--log", help="your transaction log (CSV, Parquet or CDNOW): fit it and design for your customers")
    parser.add_argument("--scheme", required=True,
                        help="scheme or scenario YAML (a path or a name in data/schemes), or a scheme's name there")
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
                        help="customers to simulate (default 10000; with --log, sized to the log's active customers)")
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
    parser.add_argument("--assignment-out", help="write the stratified random assignment here (.csv)")
    parser.add_argument("--format", default="auto", help="log format: auto, csv, parquet or cdnow")
    parser.add_argument("--customer-col", help="log column with the customer id (default customer_id)")
    parser.add_argument("--date-col", help="log column with the date (default timestamp)")
    parser.add_argument("--amount-col", help="log column with the amount (default amount)")
    parser.add_argument("--date-format", help="strftime format of the log's dates if not ISO")
    parser.add_argument("--returns", default="error", help="negative amounts in the log: error, drop or net")
    parser.add_argument("--duplicates", default="error", help="exact duplicate rows in the log: error, drop or keep")
    parser.add_argument("--json", action="store_true", help="print JSON")
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


def run(args: argparse.Namespace) -> int:
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
    if args.log:
        design, assignment, extra = _design_from_log(args, scheme, info, common)
    else:
        design, assignment = _design_from_preset(args, scheme, info, common)
    payload = design.to_dict()
    payload.update(extra)
    text = design.summary_text()
    if assignment is not None:
        if args.assignment_out:
            path = dz.write_assignment(assignment, args.assignment_out)
            payload["assignment"] = _assignment_info(assignment, str(path))
            info_a = payload["assignment"]
            text += (f"\n\nAssignment written to {path}: {info_a['pilot']:,} pilot and {info_a['control']:,} control "
                     f"{info_a['unit']}s, {info_a['strata']} strata, seed {args.seed}.")
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
        assignment = _simulated_assignment(preset, scheme, args, design)
    return design, assignment


def _simulated_assignment(preset: str, scheme: Any, args: argparse.Namespace, design: dz.TrialDesign) -> pd.DataFrame:
    """Assignment of the simulated customers (or stores) the design was computed for."""
    from ..engine import simulate
    from ..population import Population

    s = design.settings
    pop = Population(preset, size=s["population_size"], weeks=s["pre_weeks"], seed=s["population_seed"])
    cust = simulate(pop, None, weeks=s["pre_weeks"], seed=args.seed).customers
    units = pd.DataFrame({"customer_id": cust["customer_id"], "spend": cust["revenue"]})
    units = units[cust["transactions"].to_numpy() > 0]
    if args.unit == "customer":
        return dz.assign(units, unit="customer", share=args.share, seed=args.seed)
    stores = s["stores"]
    store_ids = [f"store_{i + 1:03d}" for i in range(stores)]
    return dz.assign(pd.DataFrame({"store_id": store_ids}), unit="store", share=args.share, strata=None,
                     seed=args.seed)


# --------------------------------------------------------------------------- from a log


def _design_from_log(args: argparse.Namespace, scheme: Any, info: dict[str, Any],
                     common: dict[str, Any]) -> tuple[dz.TrialDesign, pd.DataFrame, dict[str, Any]]:
    """:func:`~loyalty_sim.trial.design.design_trial_from_log` with the options of the command line."""
    columns = {k: v for k, v in (("customer_id", args.customer_col), ("timestamp", args.date_col),
                                 ("amount", args.amount_col), ("store_id", args.store_col)) if v}
    read_options = dict(format=args.format, columns=columns or None, date_format=args.date_format,
                        returns=args.returns, duplicates=args.duplicates)
    return dz.design_trial_from_log(args.log, scheme, customers=args.customers, icc=args.icc,
                                    store_effect_sd=args.store_effect_sd, read_options=read_options,
                                    assumptions=info.get("preset"), **common)


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - for ``python -m``
    """Run ``trial design`` alone: ``python -m loyalty_sim.trial.design_cli --scheme stamp10``."""
    from ..errors import LoyaltySimError

    parser = add_arguments(argparse.ArgumentParser(prog="loyalty-sim trial design", description=__doc__))
    args = parser.parse_args(argv)
    try:
        return run(args)
    except LoyaltySimError as exc:
        print(f"loyalty-sim trial design: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())



