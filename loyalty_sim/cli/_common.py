"""What every command shares: printing text or strict JSON."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any, Iterator


def emit(args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    """Print ``payload`` as strict JSON with ``--json`` (undefined values are null, never NaN), else ``text``."""
    if getattr(args, "json", False):
        from ..files import dumps_json

        print(dumps_json(payload))
    else:
        print(text)


def show_progress(args: argparse.Namespace) -> bool:
    """Progress bars on stderr: only for a person at a terminal, never with ``--json`` or ``--quiet``."""
    return not getattr(args, "json", False) and not getattr(args, "quiet", False) and sys.stderr.isatty()


def add_quiet(p: argparse.ArgumentParser) -> None:
    """``--quiet``: no progress bar (added to every command that does not define it)."""
    if not any("--quiet" in a.option_strings for a in p._actions):
        p.add_argument("-q", "--quiet", action="store_true", help="no progress bar on stderr")


def closed_pipe() -> int:
    """End quietly when the reader of stdout went away (``loyalty-sim report --list | head -1``).

    Python would print a BrokenPipeError when it flushes stdout at exit; stdout is
    pointed at the null device instead. Returns 0: the reader had all it wanted.
    """
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (captured in tests)
        pass
    return 0


@contextlib.contextmanager
def options_named(args: argparse.Namespace, options: dict[str, str]) -> Iterator[None]:
    """Re-word a ConfigError about a library field (``size``) as one about its option (``--customers -1``)."""
    from ..errors import ConfigError

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


def clean_output_folder(command: str, folder: Path) -> None:
    """Remove the temporaries killed runs left in ``folder``; say on stderr what was removed or kept."""
    from ..files import clean_partials

    for left in clean_partials(folder):
        print(f"loyalty-sim {command}: note: earlier interrupted run - {left.describe()}", file=sys.stderr)
