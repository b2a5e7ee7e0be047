"""What every command shares: printing text or strict JSON."""

from __future__ import annotations

import argparse
import sys
from typing import Any


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
