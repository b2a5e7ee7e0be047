"""Command line: ``loyalty-sim COMMAND ...``; every command has ``--json`` for scripting.

One module per command, each with ``HELP``, ``add_arguments(parser)`` and ``run(args)``,
doing parsing and printing only: the work is the package's, the words are
:mod:`loyalty_sim.text`'s.

Modules
-------
simulate, compare, fit, report, profit_impact
    ``loyalty-sim simulate`` ... ``loyalty-sim profit-impact``.
trial
    ``loyalty-sim trial design`` and ``loyalty-sim trial review``.

:func:`main` prints a :class:`~loyalty_sim.errors.LoyaltySimError` on stderr and exits 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from types import ModuleType
from typing import NoReturn, Sequence

from ..errors import LoyaltySimError
from . import compare, fit, profit_impact, report, simulate, trial
from ._common import add_quiet, closed_pipe
from ._common import emit as _emit  # noqa: F401 - the shared printer, importable as before

__all__ = ["build_parser", "main"]

#: command name -> its module, in the order ``--help`` lists them
COMMANDS: dict[str, ModuleType] = {"simulate": simulate, "compare": compare, "fit": fit, "report": report,
                                   "profit-impact": profit_impact, "trial": trial}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are two lines (the error, where to find the usage), exit code 2.

    argparse's own error prints the whole usage first, four or more wrapped lines for
    ``simulate``; the full usage stays one ``--help`` away.
    """

    def error(self, message: str) -> NoReturn:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n(see '{self.prog} --help' for the usage)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    from .. import __version__

    parser = _Parser(prog="loyalty-sim", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"loyalty-sim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        cmd = sub.add_parser(name, help=module.HELP)
        module.add_arguments(cmd)
        add_quiet(cmd)
        for action in cmd._actions:  # sub-commands (trial design, trial review) get it too
            if isinstance(action, argparse._SubParsersAction):
                for child in action.choices.values():
                    add_quiet(child)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``loyalty-sim`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    saved = os.environ.get("LOYALTY_SIM_MEMORY_LIMIT")
    try:
        if getattr(args, "memory_limit", None):
            from ..memory import parse_size

            # the limit travels in the environment so worker processes see it too; restored below
            os.environ["LOYALTY_SIM_MEMORY_LIMIT"] = str(parse_size(args.memory_limit, field="--memory-limit"))
        code = COMMANDS[args.command].run(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below, not at exit
        return code
    except BrokenPipeError:
        return closed_pipe()
    except LoyaltySimError as exc:
        name = " ".join(filter(None, (args.command, getattr(args, "trial_command", None))))
        print(f"loyalty-sim {name}: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if saved is None:
            os.environ.pop("LOYALTY_SIM_MEMORY_LIMIT", None)
        else:
            os.environ["LOYALTY_SIM_MEMORY_LIMIT"] = saved
