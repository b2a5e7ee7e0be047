"""``compare --uncertainty N``: the comparison's verdicts over draws of the behavioural assumptions."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._common import options_named

#: most draws and most replications per draw the options accept
MAX_DRAWS, MAX_REPLICATIONS = 65_536, 1_000


def _count(most: int) -> Any:
    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not 1 <= n <= most:
            raise argparse.ArgumentTypeError(f"must be between 1 and {most:,}, got {n}")
        return n
    return parse


def add_uncertainty_arguments(p: argparse.ArgumentParser) -> None:
    """Add ``--uncertainty`` and ``--uncertainty-replications`` to ``p``."""
    p.add_argument("--uncertainty", type=_count(MAX_DRAWS), metavar="N",
                   help="also run N draws of the behavioural assumptions (Sobol' points over their priors; a power "
                        "of 2, e.g. 64) and report intervals that include them, P(pays), P(best), what decides the "
                        "verdict and what a pilot is worth")
    p.add_argument("--uncertainty-replications", type=_count(MAX_REPLICATIONS), default=2, metavar="R",
                   help="paired replications per draw (default 2; 1 takes the noise from the plain comparison)")


def run_uncertainty(args: argparse.Namespace, scenario: Any, comp: Any, payload: dict[str, Any],
                    executor: Any = None) -> str:
    """Run the PSA if asked: add it to ``payload`` (and ``--out``), return its text (empty if not asked)."""
    if args.uncertainty is None:
        return ""
    from ..files import write_csv_safe
    from ..text.uncertainty import uncertainty_text
    from ..uncertainty.analysis import for_comparison

    with options_named(args, {"uncertainty": "uncertainty", "uncertainty_replications": "uncertainty_replications"}):
        a = for_comparison(scenario, comp, args.uncertainty, replications=args.uncertainty_replications,
                           workers=executor if executor is not None else args.workers)
    payload["uncertainty"] = a.to_dict()
    if args.out:
        out = Path(args.out)
        write_csv_safe(a.table.reset_index(), out / "uncertainty_decision.csv")
        write_csv_safe(a.voi.reset_index(), out / "uncertainty_value_of_information.csv")
        if a.sensitivity is not None:
            write_csv_safe(a.sensitivity.reset_index(), out / "uncertainty_sensitivity.csv")
    return "\n" + uncertainty_text(a, args.scenario, getattr(scenario, "currency", None))
