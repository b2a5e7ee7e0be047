"""PSA throughput: 256 draws x (counterfactual + 3 schemes) x 20,000 customers x 104 weeks (the benchmark scenario).

Prints the wall time of each phase (counterfactual, scheme runs, analysis), the simulation's CPU
time (main process and workers: a steadier measure on a shared machine), runs and customer-weeks
per second, peak memory, and what was made once and reused by every draw:

* the customers (a population depends on the seed, never on behaviour), one per replication;
* the counterfactual, one run per replication: it reads no behavioural parameter
  (``tests/uncertainty/test_psa.py`` checks it is bit-identical under far-apart behaviours).
* the weeks before the launch: every scheme run starts from the counterfactual's blocks at the
  launch week (``tests/test_engine.py`` checks a resumed run equals a run from week 0, to the bit);
* the uniforms of the weeks after launch (and the spend draws' normal quantiles): drawn once by the
  counterfactual, read by every scheme run
  (held when they fit in ``loyalty_sim.memory.LAUNCH_UNIFORMS_LIMIT``; the same test checks the bits).

Target: at most 120 s on 2 cores. Usage:
``python benchmarks/uncertainty.py [--draws 256] [--replications 1] [--workers 2] [--customers 20000] [--weeks 104]``
"""

from __future__ import annotations

import argparse
import resource
import time

from loyalty_sim.scenario import load_scenario
from loyalty_sim.uncertainty.analysis import analyse
from loyalty_sim.uncertainty.draws import psa


def _cpu_seconds() -> float:
    """User and system CPU seconds of this process and of its finished child processes (the workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _peak_mb() -> tuple[float, float]:
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=256)
    ap.add_argument("--replications", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--customers", type=int, default=20_000)
    ap.add_argument("--weeks", type=int, default=104)
    args = ap.parse_args()
    sc = load_scenario("benchmark", customers=args.customers, weeks=args.weeks)
    print(f"{args.draws} draws x {args.replications} replication(s) x (counterfactual + {len(sc.schemes)} schemes), "
          f"{args.customers:,} customers x {args.weeks} weeks, workers={args.workers}")
    c0, t0 = _cpu_seconds(), time.perf_counter()
    p = psa(sc, args.draws, replications=args.replications, workers=args.workers)
    t1, c1 = time.perf_counter(), _cpu_seconds()
    a = analyse(p)
    t2 = time.perf_counter()
    n_pop = sc.population(p.seeds[0][0]).n_customers
    runs = p.reused["scheme_runs"] + p.reused["counterfactual_runs"]
    cw = runs * n_pop * args.weeks
    print(f"simulation wall time        {t1 - t0:8.1f} s   ({runs} runs: {p.reused['scheme_runs']} scheme, "
          f"{p.reused['counterfactual_runs']} counterfactual)")
    print(f"analysis wall time          {t2 - t1:8.1f} s   (decision table, sensitivity, tornado, switches, EVPPI)")
    print(f"total wall time             {t2 - t0:8.1f} s   (target 120 s on 2 cores)")
    print(f"simulation CPU time         {c1 - c0:8.1f} s   (main process and workers: {(c1 - c0) / (t1 - t0):.2f} cores "
          "busy on average)")
    print(f"throughput                  {runs / (t1 - t0):8.2f} runs/s, {cw / (t1 - t0) / 1e6:.2f} M customer-weeks/s")
    print(f"per draw                    {(t1 - t0) / args.draws:8.3f} s")
    self_mb, child_mb = _peak_mb()
    print(f"peak memory                 {self_mb:8.0f} MB main process, {child_mb:.0f} MB largest worker")
    print(f"reused: {p.reused['populations']} population(s) and {p.reused['counterfactual_runs']} counterfactual run(s) "
          f"serve all {args.draws} draws (without reuse: {p.reused['counterfactual_runs_without_reuse']} "
          f"counterfactual runs and as many populations); every scheme run starts at week "
          f"{p.reused['weeks_before_launch']} from the counterfactual's state there"
          + (", and reads the counterfactual's uniforms of the weeks after it (and their spend quantiles)"
             if p.reused["uniforms_after_launch"] else "; the uniforms after launch were too large to hold and are drawn by every run"))
    best = a.table["expected"].idxmax()
    print(f"result: best on average {best} ({a.table.loc[best, 'expected']:,.0f}; P(best) "
          f"{a.table.loc[best, 'p_best']:.2f}); EVPI {a.voi.loc['all assumptions', 'evppi']:,.0f}")


if __name__ == "__main__":
    main()
