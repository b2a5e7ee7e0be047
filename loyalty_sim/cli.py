"""Command line: ``loyalty-sim COMMAND ...``; every command has ``--json`` for scripting."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, NoReturn, Sequence  # noqa: F401

from .errors import LoyaltySimError

_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def _command(name: str) -> Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]:
    def deco(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        _COMMANDS[name] = fn
        return fn
    return deco


def _emit(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    if getattr(args, "json", False):
        from .files import dumps_json

        print(dumps_json(payload))  # strict JSON: undefined values are null, never NaN
    else:
        print(text)


def _json_default(obj: Any) -> Any:
    from .files import _json_default as jd

    return jd(obj)


def _table(rows: dict[str, Any]) -> str:
    width = max(len(k) for k in rows)
    out = []
    for k, v in rows.items():
        if isinstance(v, float):
            v = f"{v:,.4f}" if abs(v) < 100 else f"{v:,.2f}"
        elif isinstance(v, int):
            v = f"{v:,}"
        out.append(f"{k.replace('_', ' '):<{width}}  {v}")
    return "\n".join(out)


@contextlib.contextmanager
def _options_named(args: argparse.Namespace, options: dict[str, str]) -> Iterator[None]:
    """Re-word a ConfigError about a library field (``size``) as one about its option (``--customers -1``)."""
    from .errors import ConfigError

    try:
        yield
    except ConfigError as exc:
        option = options.get(exc.field or "")
        if option is None or exc.source:
            raise
        value = getattr(args, option, None)
        flag = "--" + option.replace("_", "-")
        err = ConfigError(f"{flag} {value if value is not None else '(default)'}: {exc.message}")
        err.field = option
        raise err from None


def _clean_output_folder(command: str, folder: Path) -> None:
    """Remove the temporaries killed runs left in ``folder``; say on stderr what was removed or kept."""
    from .files import clean_partials

    for left in clean_partials(folder):
        print(f"loyalty-sim {command}: note: earlier interrupted run - {left.describe()}", file=sys.stderr)


# --------------------------------------------------------------------- simulate
@_command("simulate")
def cmd_simulate(args: argparse.Namespace) -> int:
    """Simulate a preset's baseline, or a scenario file's baseline and schemes."""
    from .engine import simulate
    from .files import write_table
    from .population import Population

    if args.scenario:
        return _simulate_scenario(args)
    customers = 10_000 if args.customers is None else args.customers
    weeks = 52 if args.weeks is None else args.weeks
    seed = 0 if args.seed is None else args.seed
    if args.out:
        from .files import check_output_path

        check_output_path(args.out, (".csv", ".parquet"), field="out")
        _clean_output_folder("simulate", Path(args.out).parent)
    output = "log" if args.out else "aggregate"
    with _options_named(args, {"size": "customers", "weeks": "weeks", "seed": "seed", "workers": "workers",
                               "preset": "preset"}):
        pop = Population(args.preset, size=customers, weeks=weeks, seed=seed)
        res = simulate(pop, weeks=weeks, seed=seed, output=output, workers=args.workers,
                       progress=not args.json and sys.stderr.isatty())
    summary = res.summary()
    if args.out:
        write_table(res.transactions, args.out)
        summary["log"] = str(args.out)
    _emit(args, summary, _table(summary))
    return 0


def _simulate_scenario(args: argparse.Namespace) -> int:
    from .scenario import load_scenario, run_scenario

    sc = load_scenario(args.scenario, customers=args.customers, weeks=args.weeks, seed=args.seed)
    run = run_scenario(sc, workers=args.workers, progress=not args.json and sys.stderr.isatty())
    summary = run.summary()
    lines = [f"scenario: {sc.name} (launch week {sc.launch_week}, {sc.weeks} weeks, seed {run.seed})", ""]
    keys = ["customers", "active_at_end", "transactions", "revenue", "transactions_change_pct",
            "revenue_change_pct", "reward_cost", "discount"]
    names = list(summary["schemes"])
    width = max(12, *(len(n) for n in names))
    lines.append(f"{'':<26}" + "".join(f"{n:>{width + 2}}" for n in names))
    for k in keys:
        row = []
        for n in names:
            v = summary["schemes"][n].get(k)
            row.append("-" if v is None else (f"{v:,.1f}" if isinstance(v, float) else f"{v:,}"))
        lines.append(f"{k.replace('_', ' '):<26}" + "".join(f"{c:>{width + 2}}" for c in row))
    _emit(args, summary, "\n".join(lines))
    return 0


@_command("compare")
def cmd_compare(args: argparse.Namespace) -> int:
    """Compare a scenario's schemes against the counterfactual, with intervals."""
    from .comparison import compare
    from .files import write_csv_safe, write_json_atomic
    from .scenario import load_scenario

    if args.out:
        from .files import check_output_dir

        check_output_dir(args.out, field="out")  # before the comparison runs, not after
        _clean_output_folder("compare", Path(args.out))
    sc = load_scenario(args.scenario, customers=args.customers, weeks=args.weeks, seed=args.seed)
    survey = None
    if args.survey:
        from .survey import read_survey

        survey = read_survey(args.survey)
    comp = compare(sc, replications=args.replications, level=args.level, workers=args.workers,
                   progress=not args.json and sys.stderr.isatty(), survey=survey)
    payload = comp.to_dict()
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
    _emit(args, payload, _comparison_text(comp))
    return 0


def _comparison_text(comp: "Any") -> str:
    summ = comp.summary()
    lvl = f"{100 * comp.level:.0f}%"
    lines = [f"scenario: {comp.scenario.name} - {len(comp.runs)} paired replication(s), {lvl} intervals, "
             f"launch week {comp.scenario.launch_week} of {comp.scenario.weeks}", ""]
    for name, r in summ.iterrows():
        lo, hi = r["purchases_ci"]
        plo, phi = r["profit_ci"]
        lines += [f"{name}",
                  f"  purchases per customer-week  {r['purchases_per_customer_week_effect']:+.4f} "
                  f"[{lo:+.4f}, {hi:+.4f}]  ({100 * r['purchases_relative_effect']:+.1f}%; naive before/after "
                  f"{_naive_text(r['naive_before_after_purchases'])})",
                  f"  spend per customer-week      {r['spend_per_customer_week_effect']:+.3f}  "
                  f"({100 * r['spend_relative_effect']:+.1f}%)",
                  f"  annual retention             {r['retention_annual_effect']:+.4f}",
                  f"  incremental profit           {r['incremental_profit']:,.0f} [{plo:,.0f}, {phi:,.0f}]   "
                  f"ROI {r['roi']:.2f}",
                  f"  verdict: {r['verdict']}", ""]
    return "\n".join(lines)


def _naive_text(value: float) -> str:
    """The naive before/after change, or why there is none (launch in week 0: no weeks before)."""
    return "n/a, no weeks before launch" if value != value else f"{value:+.4f}"


@_command("profit-impact")
def cmd_profit_impact(args: argparse.Namespace) -> int:
    """Customer value before and after a retention gain (Gupta et al. 2004; Reichheld & Sasser 1990)."""
    from .economics import retention_profit_impact

    res = retention_profit_impact(args.margin, args.retention, args.retention_gain, args.discount_rate,
                                  acquisition_cost=args.acquisition_cost, horizon_years=args.horizon_years,
                                  spend_growth=args.spend_growth, cost_to_serve_decline=args.cost_to_serve_decline,
                                  referral_rate=args.referral_rate, referral_value=args.referral_value,
                                  price_premium=args.price_premium)
    text = (f"retention {res['retention']:.3f} -> {res['retention_after']:.3f} "
            f"({res['retention_gain_points']:+g} points), discount rate {res['discount_rate']:.3f}\n"
            f"profit per customer before   {res['value_before']:,.2f}\n"
            f"profit per customer after    {res['value_after']:,.2f}\n"
            f"profit change per customer   {res['profit_change']:+,.2f}\n"
            + (f"profit change                {res['profit_change_pct']:+.1f}%\n"
               if res["profit_change_pct"] is not None else
               "profit change                undefined (see reason)\n")
            + f"retention alone would give   {res['retention_only_change_pct']:+.1f}%")
    if res["reason"]:
        text += f"\nreason: {res['reason']}"
    _emit(args, res, text)
    return 0


@_command("report")
def cmd_report(args: argparse.Namespace) -> int:
    """Run a report notebook (papermill) and write its HTML, or list the reports."""
    from . import report as rp
    from .files import load_yaml

    if args.list or not args.name:
        reports = {n: {k: p.describe() for k, p in rp.notebook_parameters(n).items() if k != "run_id"}
                   for n in rp.available_reports()}
        text = "\n".join(f"{n}\n" + "\n".join(f"    {d}" for d in ps.values()) for n, ps in reports.items())
        _emit(args, {"reports": reports}, text)
        return 0
    from .files import check_output_dir

    rp.notebook_path(args.name)  # a shipped report's name, never a path
    check_output_dir(args.out if args.out else rp.REPORT_DIR, field="out")
    params: dict[str, Any] = {}
    if args.file:
        loaded = load_yaml(args.file)
        if not isinstance(loaded, dict):
            from .errors import ConfigError

            raise ConfigError("expected a mapping of parameter -> value", source=args.file)
        params.update(loaded)
    for key, value in args.param or []:
        params[key] = value
    if args.batch:
        sets = load_yaml(args.batch)
        if isinstance(sets, dict) and "runs" in sets:
            sets = sets["runs"]
        index, results = rp.run_batch(args.name, [{**params, **s} if isinstance(s, dict) else s for s in sets],
                                      out_dir=args.out)
        _note_leftovers(r for r in results if isinstance(r, rp.ReportOutput))
        failed = [str(r) for r in results if not isinstance(r, rp.ReportOutput)]
        payload = {"index": str(index), "reports": [str(r.html) for r in results if isinstance(r, rp.ReportOutput)],
                   "failed": failed}
        _emit(args, payload, f"index: {index}\n" + "\n".join(payload["reports"])
              + ("\nfailed:\n" + "\n".join(failed) if failed else ""))
        return 1 if failed else 0
    out = rp.run_report(args.name, params, out_dir=args.out)
    _note_leftovers([out])
    payload = {"report": out.name, "run_id": out.run_id, "html": str(out.html), "notebook": str(out.notebook),
               "parameters": out.parameters, "values": out.values}
    _emit(args, payload, f"report written: {out.html}\nexecuted notebook: {out.notebook}")
    return 0


def _note_leftovers(outputs: "Any") -> None:
    """Tell on stderr what killed earlier runs had left in the report folder (each file once)."""
    seen = {}
    for o in outputs:
        for left in o.leftovers:
            seen.setdefault(left.path, left)
    for left in seen.values():
        print(f"loyalty-sim report: note: earlier interrupted run - {left.describe()}", file=sys.stderr)


@_command("trial")
def cmd_trial(args: argparse.Namespace) -> int:
    """Design a pilot or review one (``trial design`` / ``trial review``)."""
    from .trial import design_cli, review_cli

    return (design_cli if args.trial_command == "design" else review_cli).run(args)


@_command("fit")
def cmd_fit(args: argparse.Namespace) -> int:
    """Fit BG/NBD, Pareto/NBD and Gamma-Gamma to a transaction log and report holdout accuracy."""
    from .fit import fit_report

    columns = {k: v for k, v in (("customer_id", args.customer_col), ("timestamp", args.date_col),
                                 ("amount", args.amount_col), ("quantity", args.quantity_col),
                                 ("category", args.category_col), ("store_id", args.store_col)) if v}
    res = fit_report(args.log, model=args.model, calibration_end=args.calibration_end,
                     observation_end=args.observation_end, time_unit=args.time_unit, format=args.format,
                     columns=columns or None, date_format=args.date_format, returns=args.returns,
                     duplicates=args.duplicates)
    lines = [f"log: {args.log}"]
    summ = res.get("summary", {})
    if summ:
        lines.append("  " + ", ".join(f"{k} {v}" for k, v in summ.items()))
    for name, m in res.get("models", {}).items():
        if "error" in m:
            lines.append(f"{name}: FAILED - {m['error']}")
            continue
        ses = m.get("standard_errors", {})
        pars = ", ".join(f"{k} = {v:.4g} (se {ses.get(k) if ses.get(k) is None else f'{ses[k]:.3g}'})"
                         for k, v in m["params"].items())
        lines.append(f"{name}: {pars}; log-likelihood {m['log_likelihood']:.2f}"
                     + ("" if m.get("converged", True) else f"  NOT CONVERGED: {m.get('message')}"))
        hold = m.get("holdout")
        if isinstance(hold, dict):
            lines.append("  holdout: " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                                  for k, v in hold.items() if not isinstance(v, (list, dict))))
    _emit(args, res, "\n".join(lines))
    return 0


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are two lines (the error, where to find the usage), exit code 2.

    argparse's own error prints the whole usage first, four or more wrapped lines for
    ``simulate``; the full usage stays one ``--help`` away.
    """

    def error(self, message: str) -> "NoReturn":  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n(see '{self.prog} --help' for the usage)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    from . import __version__

    parser = _Parser(prog="loyalty-sim", description=__doc__)
    parser.add_argument("--version", action="version", version=f"loyalty-sim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("simulate", help="simulate customers' purchases and print a summary")
    p.add_argument("--preset", default="coffee_shop", help="population preset (default: coffee_shop)")
    p.add_argument("--scenario", help="scenario YAML: run its baseline and every scheme (common random numbers)")
    p.add_argument("--customers", type=int, help="customers at week 0 (default: 10000, or the scenario's)")
    p.add_argument("--weeks", type=int, help="horizon in weeks (default: 52, or the scenario's)")
    p.add_argument("--seed", type=int, help="random seed (default: 0, or the scenario's)")
    p.add_argument("--workers", type=int, default=1, help="parallel processes (default: 1)")
    p.add_argument("--out", help="write the transaction log here (.csv or .parquet)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")

    p = sub.add_parser("compare", help="schemes x metrics against the counterfactual, with intervals")
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--replications", type=int, help="paired replications (default: the scenario's)")
    p.add_argument("--level", type=float, default=0.95, help="interval level (default: 0.95)")
    p.add_argument("--customers", type=int, help="override the scenario's customers")
    p.add_argument("--weeks", type=int, help="override the scenario's horizon")
    p.add_argument("--seed", type=int, help="override the scenario's seed")
    p.add_argument("--workers", type=int, default=1, help="parallel processes per simulation")
    p.add_argument("--survey", help="customer survey CSV: each replication draws the segment mix and opt-in "
                                    "take-up from it, so intervals carry its sampling uncertainty")
    p.add_argument("--out", help="folder for summary.csv, effects.csv, segments.csv, comparison.json")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("fit", help="fit BG/NBD, Pareto/NBD and Gamma-Gamma to a transaction log")
    p.add_argument("log", help="transaction log (CSV, Parquet or the CDNOW text format)")
    p.add_argument("--format", default="auto", choices=["auto", "csv", "parquet", "cdnow"])
    p.add_argument("--customer-col", help="column with the customer id (default: customer_id)")
    p.add_argument("--date-col", help="column with the date or timestamp (default: timestamp)")
    p.add_argument("--amount-col", help="column with the amount (default: amount)")
    p.add_argument("--quantity-col", help="optional quantity column")
    p.add_argument("--category-col", help="optional category column")
    p.add_argument("--store-col", help="optional store column")
    p.add_argument("--date-format", help="strftime format of the dates if not ISO")
    p.add_argument("--calibration-end", help="last day of the calibration period (the rest is holdout)")
    p.add_argument("--observation-end", help="last day observed (default: the log's last day)")
    p.add_argument("--time-unit", default="W", help="time unit of the rates: D, W, M or Y (default W)")
    p.add_argument("--model", default="all", choices=["all", "bgnbd", "pareto_nbd", "gamma_gamma"])
    p.add_argument("--returns", default="error", choices=["error", "drop", "net"],
                   help="what to do with negative amounts (default: stop with an error)")
    p.add_argument("--duplicates", default="error", choices=["error", "drop", "keep"],
                   help="what to do with exact duplicate rows (default: stop with an error)")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("report", help="run a parameterised report notebook and write HTML to reports/")
    p.add_argument("name", nargs="?", help="report name, e.g. 01-scheme-comparison (see --list)")
    p.add_argument("-p", "--param", nargs=2, action="append", metavar=("KEY", "VALUE"), help="set a parameter")
    p.add_argument("-f", "--file", help="YAML file of parameters")
    p.add_argument("-o", "--out", help="output folder (default: reports/)")
    p.add_argument("--batch", help="YAML list of parameter sets: one report each, plus an index page")
    p.add_argument("--list", action="store_true", help="list the reports and their parameters")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("profit-impact", help="retention -> profit calculator (Bain / Gupta et al.)")
    p.add_argument("--margin", type=float, required=True, help="margin per customer per year (currency)")
    p.add_argument("--retention", type=float, required=True, help="yearly retention rate, 0..1")
    p.add_argument("--retention-gain", type=float, required=True, help="gain in percentage points (5 = +0.05)")
    p.add_argument("--discount-rate", type=float, required=True, help="yearly discount rate (0.10 = 10%%)")
    p.add_argument("--acquisition-cost", type=float, default=0.0, help="cost to acquire a customer")
    p.add_argument("--horizon-years", type=float, help="cut customer life at this many years")
    p.add_argument("--spend-growth", type=float, default=0.0, help="tenure effect: yearly spend growth")
    p.add_argument("--cost-to-serve-decline", type=float, default=0.0,
                   help="tenure effect: yearly fall in cost to serve (share of first-year margin)")
    p.add_argument("--referral-rate", type=float, default=0.0, help="tenure effect: referrals per customer-year")
    p.add_argument("--referral-value", type=float, help="value of a referred customer (default: the margin)")
    p.add_argument("--price-premium", type=float, default=0.0, help="tenure effect: yearly price premium")
    p.add_argument("--json", action="store_true", help="print JSON")

    from .trial import design_cli, review_cli

    p = sub.add_parser("trial", help="pilots: design one (power, assignment) or review one from a log")
    trial = p.add_subparsers(dest="trial_command", required=True, metavar="SUBCOMMAND")
    design_cli.add_arguments(trial.add_parser(
        "design", help="power and minimum detectable effect of a pilot, a recommended length, an assignment file"))
    review_cli.add_arguments(trial.add_parser(
        "review", help="did the pilot pay? effects with intervals, checks, money and a verdict from a log"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``loyalty-sim`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except LoyaltySimError as exc:
        name = " ".join(filter(None, (args.command, getattr(args, "trial_command", None))))
        print(f"loyalty-sim {name}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
