"""Where a sweep's tasks run: in this process, in local processes, or on a Dask cluster.

Every sweep of the package (a comparison's replications, a discount sweep, a batch of
reports, a trial design's re-randomisations) is a list of independent tasks, each
carrying its own key and its own seeds, so the same sweep gives the same bits on any
executor and any number of workers. One interface::

    results = executor.map(fn, tasks, desc="replications", keys=labels, shared=big_input)

runs ``fn(task)`` (or ``fn(task, shared)``) for every task and returns the results in
task order. ``shared`` is an input every task needs (a scenario, a calibrated
population, the outcomes of a design): it is shipped to each worker once, not with
every task (a Dask cluster gets it by ``client.scatter(..., broadcast=True)``).

Executors
---------
:class:`InProcess`
    One task after the other, here.
:class:`LocalProcesses`
    A pool of ``workers`` local processes (the default executor; one worker runs here).
:class:`DaskExecutor`
    A ``dask.distributed.Client``: tasks are submitted with unique keys (never relying on
    Dask's purity cache) and gathered as they finish; a worker that dies has its tasks
    rerun elsewhere by the scheduler, with the same result, since a task's numbers come
    from its own seeds and never from the worker's state.

A task that raises is reported with its key (``replication 3 of scenario 'coffee'``).
Dask is an optional extra: ``pip install "loyalty-sim[dask]"``.
"""

from __future__ import annotations

import copy
import multiprocessing as mp
import os
import uuid
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from typing import Any, Callable, Sequence

from .errors import ConfigError, LoyaltySimError

__all__ = ["DaskExecutor", "Executor", "InProcess", "LocalProcesses", "TaskError", "as_executor", "dask_client",
           "SCHEDULER_ENV"]

#: Environment variable naming a Dask scheduler to join (what ``--scheduler`` sets).
SCHEDULER_ENV = "LOYALTY_SIM_SCHEDULER"

_EXTRA_MESSAGE = 'Dask is not installed; install the optional extra: pip install "loyalty-sim[dask]"'


class TaskError(LoyaltySimError, RuntimeError):
    """A task of a sweep raised an error that is not loyalty-sim's own; the message names the task."""


def _failed(exc: BaseException, label: str) -> BaseException:
    """The error of a failed task, its message led by the task's key.

    loyalty-sim's own errors keep their class (a ConfigError stays a ConfigError); any
    other becomes a :class:`TaskError` naming the original exception.
    """
    if isinstance(exc, LoyaltySimError):
        err = copy.copy(exc)
        err.args = (f"{label}: {exc}",)
        if isinstance(getattr(err, "message", None), str):
            err.message = f"{label}: {err.message}"  # type: ignore[attr-defined]
        return err
    return TaskError(f"{label} failed: {type(exc).__name__}: {exc}")


def _labels(tasks: Sequence[Any], keys: Sequence[str] | None, desc: str) -> list[str]:
    if keys is None:
        return [f"{desc} task {i}" for i in range(len(tasks))]
    keys = [str(k) for k in keys]
    if len(keys) != len(tasks):
        raise ConfigError(f"{len(keys)} keys for {len(tasks)} tasks", field="keys")
    return keys


def _bar(total: int, desc: str, show: bool) -> Any:
    """The sweep's progress bar (one for the whole sweep, whichever executor), or None."""
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="task")


def _call(fn: Callable[..., Any], task: Any, shared: Any, with_shared: bool) -> Any:
    return fn(task, shared) if with_shared else fn(task)


class Executor:
    """Runs a sweep's tasks; see the module docstring.

    Parameters
    ----------
    progress : bool
        Show a progress bar over the tasks of every sweep (``map(progress=...)`` overrides it).
    """

    #: how many tasks run at once (1 for :class:`InProcess`)
    workers: int = 1

    def __init__(self, *, progress: bool = False) -> None:
        self.progress = bool(progress)

    def runs_here(self, n_tasks: int) -> bool:
        """True when ``n_tasks`` tasks would run one after the other in this process."""
        return True

    def map(self, fn: Callable[..., Any], tasks: Sequence[Any], *, desc: str = "tasks", keys: Sequence[str] | None = None,
            shared: Any = None, progress: bool | None = None) -> list[Any]:
        """``[fn(task) for task in tasks]`` (``fn(task, shared)`` with ``shared``), in task order.

        Parameters
        ----------
        fn : callable
            A module-level function (it is pickled by reference for other processes).
        tasks : sequence
            The tasks, each carrying what makes it reproducible (its seeds, its key).
        desc : str
            What the tasks are, for the progress bar and error messages.
        keys : sequence of str, optional
            Each task's key in words (``"replication 3 of scenario 'coffee'"``), named by
            the error if it fails.
        shared : object, optional
            Input every task needs, shipped to each worker once.
        progress : bool, optional
            Show a progress bar (default: the executor's setting).
        """
        tasks = list(tasks)
        labels = _labels(tasks, keys, desc)
        if not tasks:
            return []
        bar = _bar(len(tasks), desc, self.progress if progress is None else progress)
        try:
            return self._map(fn, tasks, labels, shared, shared is not None, bar)
        finally:
            if bar is not None:
                bar.close()

    def _map(self, fn: Callable[..., Any], tasks: list[Any], labels: list[str], shared: Any, with_shared: bool,
             bar: Any) -> list[Any]:
        out = []
        for task, label in zip(tasks, labels):
            try:
                out.append(_call(fn, task, shared, with_shared))
            except Exception as exc:
                raise _failed(exc, label) from exc
            if bar is not None:
                bar.update()
        return out

    def close(self) -> None:
        """Release what the executor started (processes, a local cluster)."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(workers={self.workers})"


class InProcess(Executor):
    """Every task in this process, one after the other."""


# the shared input of a local worker process, set once by the pool's initializer
_PROCESS_SHARED: dict[str, Any] = {}


def _init_process(shared: Any) -> None:
    _PROCESS_SHARED["value"] = shared


def _call_in_process(fn: Callable[..., Any], task: Any, with_shared: bool) -> Any:
    return _call(fn, task, _PROCESS_SHARED.get("value"), with_shared)


class LocalProcesses(Executor):
    """A pool of ``workers`` local processes, started for each sweep (fork where the system has it).

    With one worker, or a sweep of one task, the tasks run in this process.
    """

    def __init__(self, workers: int | None = None, *, progress: bool = False) -> None:
        super().__init__(progress=progress)
        from .validation import check_count

        self.workers = check_count("workers", (os.cpu_count() or 1) if workers is None else workers, minimum=1)

    def runs_here(self, n_tasks: int) -> bool:
        return self.workers == 1 or n_tasks <= 1

    def _map(self, fn: Callable[..., Any], tasks: list[Any], labels: list[str], shared: Any, with_shared: bool,
             bar: Any) -> list[Any]:
        if self.runs_here(len(tasks)):
            return super()._map(fn, tasks, labels, shared, with_shared, bar)
        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
        out: list[Any] = [None] * len(tasks)
        with ProcessPoolExecutor(max_workers=min(self.workers, len(tasks)), mp_context=ctx,
                                 initializer=_init_process, initargs=(shared,)) as pool:
            futures = {pool.submit(_call_in_process, fn, t, with_shared): i for i, t in enumerate(tasks)}
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for f in done:
                    i = futures[f]
                    exc = f.exception()
                    if exc is not None:
                        for p in pending:
                            p.cancel()
                        raise _failed(exc, labels[i]) from exc
                    out[i] = f.result()
                    if bar is not None:
                        bar.update()
        return out


def _distributed() -> Any:
    """The ``distributed`` module, or a ConfigError naming the extra to install."""
    try:
        import distributed
    except ImportError:
        raise ConfigError(_EXTRA_MESSAGE, field="dask") from None
    return distributed


class DaskExecutor(Executor):
    """Tasks on a Dask cluster through a ``dask.distributed.Client``.

    Parameters
    ----------
    client : distributed.Client
        The client of the cluster (``Client(LocalCluster(n_workers=4))``, ``Client("tcp://host:8786")``).
    own : bool
        Close the client (and its local cluster) on :meth:`close`; False for a client the caller made.
    """

    def __init__(self, client: Any, *, progress: bool = False, own: bool = False) -> None:
        super().__init__(progress=progress)
        self.client = client
        self._own = own

    @property
    def workers(self) -> int:  # type: ignore[override]
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def runs_here(self, n_tasks: int) -> bool:
        return False

    def _map(self, fn: Callable[..., Any], tasks: list[Any], labels: list[str], shared: Any, with_shared: bool,
             bar: Any) -> list[Any]:
        distributed = _distributed()
        client = self.client
        handle = client.scatter(shared, broadcast=True, hash=False) if with_shared else None
        sweep = uuid.uuid4().hex[:12]  # unique keys: nothing is taken from an earlier sweep's results
        futures = [client.submit(_call, fn, t, handle, with_shared, key=f"loyalty-sim-{sweep}-{i}", pure=False)
                   for i, t in enumerate(tasks)]
        index = {f.key: i for i, f in enumerate(futures)}
        out: list[Any] = [None] * len(tasks)
        try:
            for f in distributed.as_completed(futures):
                i = index[f.key]
                try:
                    out[i] = f.result()
                except Exception as exc:
                    raise _failed(exc, labels[i]) from exc
                f.release()
                if bar is not None:
                    bar.update()
        finally:
            client.cancel([f for f in futures if not f.done()])
            if handle is not None:
                client.cancel([handle])
        return out

    def close(self) -> None:
        if self._own:
            cluster = getattr(self.client, "cluster", None)
            self.client.close()
            if cluster is not None:
                cluster.close()

    def __repr__(self) -> str:
        return f"DaskExecutor({self.client.scheduler.address if self.client.scheduler else '?'})"


def dask_client(workers: int | None = None, scheduler: str | None = None) -> Any:
    """A Dask client: on a new ``LocalCluster`` of ``workers`` processes, or joining ``scheduler``.

    Without either, the scheduler named by the environment variable ``LOYALTY_SIM_SCHEDULER``.
    Each local worker is one process with one thread (a task runs the engine in it).
    """
    distributed = _distributed()
    scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if scheduler:
        try:
            return distributed.Client(scheduler, timeout="30s")
        except OSError as exc:
            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler}: {exc}", field="scheduler") from None
    from .validation import check_count

    n = check_count("dask", 1 if workers is None else workers, minimum=1)
    import logging

    # dashboard on a free port: two clusters on one machine (parallel tests) never clash on 8787
    cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                                       silence_logs=logging.ERROR)
    return distributed.Client(cluster)


def as_executor(spec: Any = None, *, progress: bool = False) -> Executor:
    """An executor from what a caller passed: None (in this process), a worker count, an Executor or a Dask Client."""
    if spec is None:
        return InProcess(progress=progress)
    if isinstance(spec, Executor):
        return spec
    if isinstance(spec, bool) or not isinstance(spec, int):
        if type(spec).__name__ == "Client" and hasattr(spec, "submit") and hasattr(spec, "scatter"):
            return DaskExecutor(spec, progress=progress)
        raise ConfigError(f"expected None, a number of processes, an Executor or a dask.distributed.Client, "
                          f"got {type(spec).__name__}", field="executor")
    return LocalProcesses(spec, progress=progress)
