"""A 20-task sweep on Dask with 1 and 2 workers, and Dask's overhead over local processes.

The sweep is a comparison of a coffee-shop scenario (one scheme against the
counterfactual) over 20 paired replications: 20 independent tasks, each a population
drawn from its own seeds and simulated with and without the scheme. It runs

* in this process (the per-task time ``t``),
* on a Dask LocalCluster of 1 and of 2 worker processes (target: >= 1.7x with 2),
* on 2 local processes (the default executor), the same work (target: Dask <= 10% slower),

checks that every run gave byte-identical JSON, and prints the scaling model the README
quotes: with ``o`` the executor's overhead per task and ``c`` the client's fixed cost of a
sweep, ``T(n) = c + ceil(N / n) * (t + o)`` for ``N`` tasks on ``n`` workers.

Usage: ``python benchmarks/sweep.py [--tasks 20] [--customers 3000] [--weeks 52]``
"""

from __future__ import annotations

import argparse
import math
import os
import time

from loyalty_sim.comparison import compare
from loyalty_sim.executor import DaskExecutor, InProcess, LocalProcesses, dask_client
from loyalty_sim.files import dumps_json
from loyalty_sim.scenario import scenario_from_mapping


def _timed(scenario, tasks: int, executor, repeat: int) -> tuple[float, str]:
    """Best wall time of ``repeat`` runs of the sweep (the machine's other load only slows a run), and its JSON."""
    best, out = math.inf, ""
    for _ in range(repeat):
        t = time.perf_counter()
        comp = compare(scenario, replications=tasks, executor=executor)
        best = min(best, time.perf_counter() - t)
        out = dumps_json(comp.to_dict())
    return best, out


def _nothing(task: int) -> int:
    return task


def _overhead(executor, count: int = 200) -> float:
    """Seconds per task of the executor itself: ``count`` tasks that do nothing."""
    t = time.perf_counter()
    executor.map(_nothing, range(count))
    return (time.perf_counter() - t) / count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", type=int, default=20)
    ap.add_argument("--customers", type=int, default=3000)
    ap.add_argument("--weeks", type=int, default=52)
    ap.add_argument("--repeat", type=int, default=2, help="runs of each configuration; the best counts")
    a = ap.parse_args()
    sc = scenario_from_mapping({"name": "sweep benchmark", "preset": "coffee_shop", "customers": a.customers,
                                "weeks": a.weeks, "launch_week": a.weeks // 4, "seed": 11,
                                "schemes": [{"type": "discount", "name": "d10", "depth": 0.1}]})
    n = a.tasks
    here, want = _timed(sc, n, InProcess(), a.repeat)
    t_task = here / n
    local2, out = _timed(sc, n, LocalProcesses(2), a.repeat)
    assert out == want, "local processes gave other bits"
    times, o_task = {}, 0.0
    for workers in (1, 2):
        start = time.perf_counter()
        with DaskExecutor(dask_client(workers), own=True) as ex:
            started = time.perf_counter() - start
            _timed(sc, 2, ex, 1)  # warm the workers (imports), as a long-lived cluster is
            if workers == 1:
                o_task = _overhead(ex)
            times[workers], out = _timed(sc, n, ex, a.repeat)
        assert out == want, f"Dask with {workers} workers gave other bits"
        print(f"dask LocalCluster of {workers}: started in {started:.1f} s (not counted)")
    speedup = times[1] / times[2]
    overhead = times[2] / local2 - 1
    print(f"sweep: {n} tasks (paired replications), {a.customers:,} customers x {a.weeks} weeks, 1 scheme; "
          f"best of {a.repeat}")
    print(f"in this process      {here:7.2f} s  ({t_task:.3f} s per task)")
    print(f"2 local processes    {local2:7.2f} s")
    print(f"dask, 1 worker       {times[1]:7.2f} s  (Dask's own cost: {o_task * 1000:.1f} ms per task)")
    print(f"dask, 2 workers      {times[2]:7.2f} s")
    print(f"speed-up 2 vs 1 dask worker: {speedup:.2f}x (target >= 1.7x)")
    print(f"dask over local processes, 2 workers: {100 * overhead:+.1f}% (target <= +10%)")
    print("identical JSON on every executor: yes")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(other work on the machine makes the speed-ups smaller than the model's)")
    print("scaling model T(n) = ceil(N / n) * (t + o), t = per-task time, o = Dask's cost per task:")
    for tasks in (n, 10 * n):
        for workers in (10, 100):
            t_n = math.ceil(tasks / workers) * (t_task + o_task)
            print(f"  {tasks:5d} tasks on {workers:3d} workers: {t_n:7.2f} s, speed-up {tasks * t_task / t_n:5.1f}x")


if __name__ == "__main__":
    main()
