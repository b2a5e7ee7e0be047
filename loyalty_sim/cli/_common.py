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
    """Progress bars on stderr: only for a person at a terminal, never with ``--json``."""
    return not getattr(args, "json", False) and sys.stderr.isatty()


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
