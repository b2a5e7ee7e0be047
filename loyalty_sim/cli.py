"""Command line: ``loyalty-sim COMMAND ...``; every command has ``--json`` for scripting."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable, Sequence

from .errors import LoyaltySimError

_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def _command(name: str) -> Callable[[Callable[[argparse.Namespace], int]], Callable[[argparse.Namespace], int]]:
    def deco(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        _COMMANDS[name] = fn
        return fn
    return deco


def _emit(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(payload, indent=2, default=_json_default))
    else:
        print(text)


def _json_default(obj: Any) -> Any:
    from .io import _json_default as jd

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


# --------------------------------------------------------------------- simulate
@_command("simulate")
def cmd_simulate(args: argparse.Namespace) -> int:
    """Simulate a preset's baseline, or a scenario file's baseline and schemes."""
    from .engine import simulate
    from .io import write_table
    from .population import Population

    if args.scenario:
        return _simulate_scenario(args)
    customers = 10_000 if args.customers is None else args.customers
    weeks = 52 if args.weeks is None else args.weeks
    seed = 0 if args.seed is None else args.seed
    if args.out:
        from .io import check_output_path

        check_output_path(args.out, (".csv", ".parquet"), field="out")
    pop = Population(args.preset, size=customers, weeks=weeks, seed=seed)
    output = "log" if args.out else "aggregate"
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    from . import __version__

    parser = argparse.ArgumentParser(prog="loyalty-sim", description=__doc__)
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``loyalty-sim`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except LoyaltySimError as exc:
        print(f"loyalty-sim {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
