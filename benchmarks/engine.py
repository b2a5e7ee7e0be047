"""Engine throughput: 1,000,000 customers x 104 weeks of the coffee_shop preset, aggregate mode.

Prints wall time, customer-weeks per second, transactions per second, peak memory and
the ratio of the engine's time to two floors measured in the same run:

* ``model floor``: numpy alone drawing this model's variates for the same
  customer-weeks -- a Poisson count for every alive customer-week and a Gamma spend
  for every customer-week with a purchase (what any simulator of this model draws);
* ``uniform floor``: numpy drawing the uniforms this engine actually consumes.

Usage: ``python benchmarks/engine.py [--customers N] [--weeks W] [--workers K] [--schemes]``
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from loyalty_sim import Population, simulate
from loyalty_sim.streams import GRANULE


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
    ap.add_argument("--schemes", action="store_true",
                    help="also run the schemes of loyalty_sim/scenarios/benchmark.yaml (stamp card, linear points with "
                         "tiered redemption, three tiers) on the same customers, and report the total")
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
    f_unif = uniform_floor(n_uniform)
    print(f"preset {args.preset}: {args.customers:,} customers at week 0, {pop.n_customers:,} over "
          f"{args.weeks} weeks (steady base), workers={args.workers}")
    print(f"population set-up            {t_pop:8.2f} s")
    print(f"engine wall time             {wall:8.2f} s")
    print(f"alive customer-weeks         {alive_cw:12,d}  ({alive_cw / wall / 1e6:.1f} M/s)")
    print(f"transactions                 {tx:12,d}  ({tx / wall / 1e6:.1f} M/s)")
    print(f"peak memory (self+children)  {_peak_mb():8.0f} MB")
    print(f"model floor (numpy Poisson+Gamma, 1 thread) {f_model:6.2f} s -> ratio {wall / f_model:.2f}")
    print(f"uniform floor (numpy uniforms, 1 thread)    {f_unif:6.2f} s -> ratio {wall / f_unif:.2f}")


def run_schemes(args: argparse.Namespace) -> None:
    """Baseline plus every scheme of the benchmark scenario, aggregate mode: total wall time and peak memory."""

    from loyalty_sim.scenario import load_scenario

    sc = load_scenario("benchmark",
                       customers=args.customers, weeks=args.weeks)
    pop = sc.population()
    total = 0.0
    print(f"{args.customers:,} customers at week 0, {pop.n_customers:,} over {args.weeks} weeks, "
          f"workers={args.workers}, launch week {sc.launch_week}")
    for scheme in [None, *sc.schemes]:
        t0 = time.perf_counter()
        res = simulate(pop, scheme, seed=sc.seed, launch_week=sc.launch_week, workers=args.workers,
                       behaviour=sc.behaviour)
        dt = time.perf_counter() - t0
        total += dt
        name = "baseline" if scheme is None else scheme.name
        print(f"  {name:<24} {dt:7.2f} s   {int(res.weekly['transactions'].sum()):>13,} transactions")
        del res  # one result at a time, as a scenario run that summarises and moves on
    print(f"total wall time              {total:8.2f} s  (target 60 s)")
    print(f"peak memory (self+children)  {_peak_mb():8.0f} MB (target 2048 MB; "
          f"main process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, "
          f"largest worker {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MB)")


if __name__ == "__main__":
    main()
