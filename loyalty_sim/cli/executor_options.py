"""The options every sweeping command shares: where its tasks run (``--workers``, ``--dask``, ``--scheduler``)."""

from __future__ import annotations

import argparse
import contextlib
from typing import Any, Iterator


def add_executor_options(p: argparse.ArgumentParser, *, workers_help: str | None = None) -> argparse.ArgumentParser:
    """Add ``--workers N``, ``--dask N`` and ``--scheduler ADDRESS`` to ``p`` (and return it)."""
    from ..executor import SCHEDULER_ENV

    p.add_argument("--workers", type=int, default=1,
                   help=workers_help or "local processes running the sweep's tasks (default 1: this process)")
    p.add_argument("--dask", type=int, metavar="N",
                   help='run the sweep on a local Dask cluster of N worker processes (pip install "loyalty-sim[dask]")')
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help=f"run the sweep on the Dask cluster of this scheduler, e.g. tcp://10.0.0.5:8786 "
                        f"(default: ${SCHEDULER_ENV} if set)")
    return p


@contextlib.contextmanager
def executor_from_args(args: argparse.Namespace, *, progress: bool = False) -> Iterator[Any]:
    """The executor the options name, closed (with any local cluster it started) on leaving.

    ``--scheduler`` (or ``$LOYALTY_SIM_SCHEDULER``) joins a cluster, ``--dask N`` starts one,
    otherwise ``--workers`` local processes. ``--dask`` and ``--scheduler`` together, or
    either with ``--workers`` above 1, is an error naming the options.
    """
    import os

    from ..errors import ConfigError
    from ..executor import SCHEDULER_ENV, DaskExecutor, LocalProcesses, dask_client

    workers, n_dask = getattr(args, "workers", 1), getattr(args, "dask", None)
    scheduler = getattr(args, "scheduler", None)
    if n_dask is not None and scheduler:
        raise ConfigError(f"--dask {n_dask} starts a cluster and --scheduler {scheduler} joins one: give one of them")
    most = 4 * (os.cpu_count() or 1)  # processes on this machine; a bigger sweep wants a cluster (--scheduler)
    for flag, value in (("--dask", n_dask), ("--workers", workers)):
        if value is not None and not 1 <= value <= most:
            raise ConfigError(f"{flag} {value}: expected 1 to {most} local processes (4 per core of this machine); "
                              "for more, join a cluster with --scheduler")
    if n_dask is None and not scheduler:
        scheduler = os.environ.get(SCHEDULER_ENV) or None
    if (n_dask is not None or scheduler) and workers not in (None, 1):
        raise ConfigError(f"--workers {workers} is for local processes; on Dask the cluster's workers run the sweep")
    if n_dask is None and not scheduler:
        ex: Any = LocalProcesses(workers, progress=progress)
    else:
        ex = DaskExecutor(dask_client(n_dask, scheduler), progress=progress, own=True)
    try:
        yield ex
    finally:
        ex.close()
