"""Example data shipped with the package (read with :mod:`importlib.resources`).

Files
-----
``CDNOW_sample.txt``
    The CDNOW sample log (2,357 customers, 1997-01 to 1998-06); see ``CDNOW_sample.md``.
``trial/``
    Two simulated pilots with a known effect (customer- and store-level logs and
    assignments, ``truth.json``); see ``trial/README.md``. Notebook 07 reviews them.

Examples
--------
>>> from loyalty_sim import datasets
>>> datasets.path("CDNOW_sample.txt").name
'CDNOW_sample.txt'
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..errors import ConfigError

__all__ = ["available", "path"]


def _root() -> Path:
    # a regular (unzipped) install, editable or not, is a folder on disk: the readers take paths
    return Path(str(resources.files(__name__)))


def available() -> list[str]:
    """Shipped data files, relative to this package (``"trial/pilot_customers.csv"``)."""
    root = _root()
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and p.suffix in (".txt", ".csv", ".json", ".md"))


def path(name: str) -> Path:
    """Path of shipped data file ``name`` (``"CDNOW_sample.txt"``, ``"trial/pilot_stores.csv"``).

    Raises
    ------
    ConfigError
        ``name`` is not a shipped file (the message lists them).
    """
    if name in available():
        return _root() / name
    raise ConfigError(f"no shipped data file '{name}'; available: {', '.join(available())}", field="dataset")
