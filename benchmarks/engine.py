"""Engine throughput: 1,000,000 customers x 104 weeks of the coffee_shop preset, aggregate mode.

Prints wall time, customer-weeks per second, transactions per second, peak memory and
the ratio of the engine's time to two floors measured in the same run:

* ``model floor``: numpy alone drawing this model's variates for the same
  customer-weeks -- a Poisson count for every alive customer-week and a Gamma spend
  for every customer-week with a purchase (what any simulator of this model draws);
* ``uniform floor``: numpy drawing the uniforms this engine actually consumes.

The engine runs on ``--workers`` processes, so the model floor is measured on as many:
the same draws split evenly over ``--workers`` processes started together, timed from
the first start to the last finish (on a shared machine both suffer the same load). The
ratio of the engine's wall time to that floor is the ratio on the same number of cores;
the per-core ratio against the one-thread floor (engine wall x workers / floor on one
thread) is printed as well.

``--schemes`` runs the baseline and every scheme of ``loyalty_sim/scenarios/benchmark.yaml``
on the same customers ``--repeat`` times (interleaved, so a change in load hits every run)
and prints each run's wall and CPU time (main process and workers), its ratios to the baseline
of the same round, and the median and range over rounds. CPU time is the steadier measure on a
shared machine: a neighbour's load delays a run's wall clock more than its own work. It then
measures the one-thread model floor for the same base and prints the total at the speed of the
machine the targets were set on (whose floor took ``REFERENCE_FLOOR`` seconds).

``--resume`` runs them as a comparison does: the baseline keeps its blocks at the launch week and each
scheme starts there (same numbers; the baseline's time includes keeping them).

Usage: ``python benchmarks/engine.py [--customers N] [--weeks W] [--workers K] [--schemes [--resume]] [--repeat R]``
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import statistics
import time

import numpy as np

from loyalty_sim import Population, simulate
from loyalty_sim.streams import GRANULE

#: seconds of :func:`model_floor` for the default base (1,000,000 customers x 104 weeks) on the quiet 2-core machine
#: the speed targets of issue 16 were measured on
REFERENCE_FLOOR = 3.70


def _cpu_seconds() -> float:
    """User and system CPU seconds of this process and of its finished child processes (the workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _peak_mb() -> float:
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (self_kb + child_kb) / 1024


def model_floor(alive_cw: int, buyer_cw: int, lam_mean: float, spend_p: float) -> float:
    """Seconds numpy needs to draw Poisson counts and Gamma spends in 1M-element batches."""
    rng = np.random.default_rng(0)
    lam = rng.gamma(1.5, lam_mean / 1.5, size=1_000_000)
    t = time.perf_counter()
    done = 0
    while done < alive_cw:
        m = min(1_000_000, alive_cw - done)
        rng.poisson(lam[:m])
        done += m
    done = 0
    while done < buyer_cw:
        m = min(1_000_000, buyer_cw - done)
        rng.standard_gamma(spend_p, size=m)
        done += m
    return time.perf_counter() - t


def _floor_share(args: tuple[int, int, float, float]) -> tuple[float, float]:
    """One process's share of the model floor: (start, end) on the monotonic clock."""
    t0 = time.monotonic()
    model_floor(*args)
    return t0, time.monotonic()


def parallel_model_floor(alive_cw: int, buyer_cw: int, lam_mean: float, spend_p: float, workers: int) -> float:
    """Wall seconds of the model floor split over ``workers`` processes started together."""
    if workers <= 1:
        return model_floor(alive_cw, buyer_cw, lam_mean, spend_p)
    shares = [(alive_cw // workers, buyer_cw // workers, lam_mean, spend_p)] * workers
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    with ctx.Pool(workers) if ctx else mp.Pool(workers) as pool:
        spans = pool.map(_floor_share, shares)
    return max(e for _, e in spans) - min(s for s, _ in spans)


def uniform_floor(n: int) -> float:
    rng = np.random.default_rng(0)
    buf = np.empty(1_000_000)
    t = time.perf_counter()
    done = 0
    while done < n:
        rng.random(out=buf[: min(1_000_000, n - done)])
        done += 1_000_000
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--weeks", type=int, default=104)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--preset", default="coffee_shop")
    ap.add_argument("--repeat", type=int, default=1, help="rounds of --schemes runs (interleaved)")
    ap.add_argument("--schemes", action="store_true",
                    help="also run the schemes of loyalty_sim/scenarios/benchmark.yaml (stamp card, linear points with "
                         "tiered redemption, three tiers) on the same customers, and report the total")
    ap.add_argument("--resume", action="store_true",
                    help="with --schemes: as a comparison runs them, the baseline keeps its blocks at the launch week "
                         "and every scheme run starts from there (the same numbers, fewer weeks to play)")
    args = ap.parse_args()
    if args.schemes:
        return run_schemes(args)

    t0 = time.perf_counter()
    pop = Population(args.preset, size=args.customers, weeks=args.weeks, seed=1)
    t_pop = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = simulate(pop, seed=1, workers=args.workers)
    wall = time.perf_counter() - t0
    w = res.weekly
    alive_cw = int(w["alive_start"].sum())
    buyer_cw = int(w["purchasers"].sum())
    tx = int(w["transactions"].sum())
    # uniforms drawn: 2 per customer slot of every granule-week with someone alive (upper bound: all granules
    # from their first arrival week on)
    n_uniform = 2 * GRANULE * sum(max(0, args.weeks - int(pop.acquisition_week[g * GRANULE]))
                                  for g in range(pop.n_granules))
    f_model = model_floor(alive_cw, buyer_cw, pop.params.mean_rate, pop.params.spend_p)
    f_cores = parallel_model_floor(alive_cw, buyer_cw, pop.params.mean_rate, pop.params.spend_p, args.workers)
    f_unif = uniform_floor(n_uniform)
    print(f"preset {args.preset}: {args.customers:,} customers at week 0, {pop.n_customers:,} over "
          f"{args.weeks} weeks (steady base), workers={args.workers}")
    print(f"population set-up            {t_pop:8.2f} s")
    print(f"engine wall time             {wall:8.2f} s")
    print(f"alive customer-weeks         {alive_cw:12,d}  ({alive_cw / wall / 1e6:.1f} M/s)")
    print(f"transactions                 {tx:12,d}  ({tx / wall / 1e6:.1f} M/s)")
    print(f"peak memory (self+children)  {_peak_mb():8.0f} MB")
    print(f"model floor (numpy Poisson+Gamma, 1 thread) {f_model:6.2f} s -> ratio {wall / f_model:.2f}, "
          f"per core {wall * args.workers / f_model:.2f}")
    print(f"model floor on {args.workers} processes           {f_cores:6.2f} s -> ratio {wall / f_cores:.2f} "
          "(same number of cores)")
    print(f"uniform floor (numpy uniforms, 1 thread)    {f_unif:6.2f} s -> ratio {wall / f_unif:.2f}")


def run_schemes(args: argparse.Namespace) -> None:
    """Baseline plus every scheme of the benchmark scenario, aggregate mode, ``args.repeat`` interleaved rounds."""

    from loyalty_sim.scenario import load_scenario

    sc = load_scenario("benchmark",
                       customers=args.customers, weeks=args.weeks)
    pop = sc.population()
    print(f"{args.customers:,} customers at week 0, {pop.n_customers:,} over {args.weeks} weeks, "
          f"workers={args.workers}, launch week {sc.launch_week}, {args.repeat} round(s)"
          + (", schemes resumed at the launch week from the baseline's state" if args.resume else ""))
    names = ["baseline", *(s.name for s in sc.schemes)]
    times: dict[str, list[float]] = {n: [] for n in names}
    cpus: dict[str, list[float]] = {n: [] for n in names}
    draws = None
    for r in range(args.repeat):
        start = None
        for name, scheme in zip(names, [None, *sc.schemes]):
            c0, t0 = _cpu_seconds(), time.perf_counter()
            res = simulate(pop, scheme, seed=sc.seed, launch_week=sc.launch_week, workers=args.workers,
                           behaviour=sc.behaviour, keep_launch_state=args.resume and scheme is None, resume=start)
            dt, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
            if scheme is None:
                start, res.launch_state = res.launch_state, None
                draws = int(res.weekly["alive_start"].sum()), int(res.weekly["purchasers"].sum())
            times[name].append(dt)
            cpus[name].append(cpu)
            print(f"  round {r + 1} {name:<24} {dt:7.2f} s  x{dt / times['baseline'][r]:4.2f} baseline   "
                  f"CPU {cpu:6.2f} s  x{cpu / cpus['baseline'][r]:4.2f}   "
                  f"{int(res.weekly['transactions'].sum()):>13,} transactions")
            del res  # one result at a time, as a scenario run that summarises and moves on
    print("median over rounds (range), wall time and CPU time (main process and workers):")
    totals = [sum(times[n][r] for n in names) for r in range(args.repeat)]
    for name in names:
        ratios = [t / b for t, b in zip(times[name], times["baseline"])]
        cpu_ratios = [t / b for t, b in zip(cpus[name], cpus["baseline"])]
        print(f"  {name:<24} {statistics.median(times[name]):7.2f} s ({min(times[name]):.2f}..{max(times[name]):.2f})"
              f"  x{statistics.median(ratios):.2f} baseline ({min(ratios):.2f}..{max(ratios):.2f})"
              f"   CPU x{statistics.median(cpu_ratios):.2f} ({min(cpu_ratios):.2f}..{max(cpu_ratios):.2f})")
    total = statistics.median(totals)
    print(f"total wall time              {total:8.2f} s ({min(totals):.2f}..{max(totals):.2f}; target 32 s)")
    # the targets were set on a machine whose one-thread model floor for this base took REFERENCE_FLOOR s:
    # the same floor measured now says how much slower this machine is at the model's own draws
    floor = model_floor(*draws, pop.params.mean_rate, pop.params.spend_p)
    print(f"model floor (numpy Poisson+Gamma, 1 thread) {floor:6.2f} s; baseline "
          f"{statistics.median(times['baseline']) / floor:.2f}x this floor")
    if (args.customers, args.weeks) == (1_000_000, 104):
        scale = floor / REFERENCE_FLOOR
        print(f"this machine draws the model's variates x{scale:.2f} as slowly as the one the targets were set on "
              f"(floor {REFERENCE_FLOOR} s): total {total / scale:.1f} s at its speed (target 32 s)")
    print(f"peak memory (self+children)  {_peak_mb():8.0f} MB (target 2048 MB; "
          f"main process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, "
          f"largest worker {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MB)")


if __name__ == "__main__":
    main()
