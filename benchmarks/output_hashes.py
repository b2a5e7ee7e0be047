"""Bit-level fingerprints of simulation outputs, to check that a speed-up changes no number.

Runs every shipped scenario (every scheme family, with a few extra configurations of
stamp cards, points and tiers that the scenarios do not exercise) plus the baseline on
small populations, in aggregate and log mode, at two block sizes and with one or two
workers, and hashes the raw bytes of every column of the weekly frame, the customers
table and the transaction log. Within a run it checks that block size and workers do
not change the bits; ``--save FILE`` records the hashes and ``--check FILE`` compares
a later run with them (exit code 1 on any difference, naming the run and the frame).

Usage: ``python benchmarks/output_hashes.py [--save FILE | --check FILE] [--quick]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from typing import Any

import numpy as np
import pandas as pd

from loyalty_sim import simulate
from loyalty_sim.scenario import available_scenarios, load_scenario
from loyalty_sim.schemes import scheme_from_dict
from loyalty_sim.streams import GRANULE

#: schemes the shipped scenarios do not cover (opt-in, qualifying tickets, expiry, visits, compound accrual)
EXTRA_SCHEMES: tuple[dict[str, Any], ...] = (
    {"type": "stamp_card", "name": "stamp_opt_in", "stamps_required": 6, "head_start": 1, "min_ticket": 3.0,
     "expiry_weeks": 20, "enrolment": {"mode": "opt_in", "take_up": 0.4}},
    {"type": "points", "name": "points_compound", "earn_rate": 2.0, "point_value": 0.01,
     "accrual": {"method": "compound", "front_multiplier": 3.0, "front_purchases": 3, "front_weeks": 4,
                 "event_weeks": [30, 40], "event_multiplier": 2.0, "spend_thresholds": [50, 200],
                 "threshold_multipliers": [1.5, 2.0]},
     "redemption": {"rule": "minimum_unit", "unit": 100, "redeem_probability": 0.5},
     "expiry": {"type": "rolling", "weeks": 8}, "enrolment": {"mode": "opt_in", "take_up": 0.6}},
    {"type": "points", "name": "points_refill", "earn_rate": 1.0, "point_value": 0.02,
     "redemption": {"rule": "refill", "unit": 20, "refill_bonus": 10, "redeem_probability": 0.4},
     "expiry": {"type": "calendar", "weeks": 13}},
    {"type": "tiers", "name": "tiers_visits", "qualify_by": "visits", "window_weeks": 8, "review_every_weeks": 4,
     "enrolment": {"mode": "opt_in", "take_up": 0.7},
     "tiers": [{"name": "a", "threshold": 0}, {"name": "b", "threshold": 4, "discount": 0.05},
               {"name": "c", "threshold": 10, "discount": 0.05, "perk_value": 0.5, "perk_cost_per_week": 0.1}]},
)


def frame_digest(df: pd.DataFrame | None) -> str:
    """SHA-256 of a frame's column names, dtypes and raw value bytes (floats by their bits)."""
    h = hashlib.sha256()
    if df is None:
        return "none"
    h.update(repr(list(df.columns)).encode())
    h.update(repr(list(df.index[:3])).encode() + str(len(df)).encode())
    for col in df.columns:
        s = df[col]
        h.update(f"{col}:{s.dtype}".encode())
        if isinstance(s.dtype, pd.CategoricalDtype):
            h.update(repr(list(s.cat.categories)).encode())
            vals = s.cat.codes.to_numpy()
        elif np.issubdtype(s.dtype, np.datetime64):
            vals = s.to_numpy().view(np.int64)
        else:
            vals = s.to_numpy()
        h.update(np.ascontiguousarray(vals).tobytes())
    return h.hexdigest()[:16]


def digests(res: Any) -> dict[str, str]:
    return {"weekly": frame_digest(res.weekly), "customers": frame_digest(res.customers),
            "log": frame_digest(res.transactions)}


#: (label, output, block size in granules, workers)
RUNS = (("agg_b1_w1", "aggregate", 1, 1), ("agg_b16_w1", "aggregate", 16, 1), ("log_b1_w2", "log", 1, 2))


def collect(quick: bool) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Hashes of every (scenario, seed, scheme, run) and the block/worker invariance failures."""
    out: dict[str, dict[str, str]] = {}
    problems: list[str] = []
    names = available_scenarios()
    seeds = (1,) if quick else (1, 5)
    for name in names:
        for seed in seeds:
            sc = load_scenario(name, customers=5000 if quick else 9000, weeks=min(60, 104))
            schemes = list(sc.schemes)
            if name == "benchmark":
                schemes += [scheme_from_dict(d) for d in EXTRA_SCHEMES]
            pop = sc.population()
            for scheme in [None, *schemes]:
                label = "baseline" if scheme is None else scheme.name
                got = {}
                for run, output, gran, workers in RUNS:
                    if quick and run != "agg_b1_w1":
                        continue
                    res = simulate(pop, scheme, seed=seed, launch_week=min(sc.launch_week, 30), output=output,
                                   block_size=gran * GRANULE, workers=workers, behaviour=sc.behaviour)
                    got[run] = digests(res)
                    out[f"{name}/s{seed}/{label}/{run}"] = got[run]
                ref = got.get("agg_b1_w1")
                for run, d in got.items():
                    for frame in ("weekly", "customers"):
                        if d[frame] != ref[frame]:
                            problems.append(f"{name}/s{seed}/{label}: {frame} of {run} differs from agg_b1_w1")
    return out, problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--save", help="write the hashes to this JSON file")
    ap.add_argument("--check", help="compare with the hashes in this JSON file")
    ap.add_argument("--quick", action="store_true", help="one seed, one run configuration, 5,000 customers")
    args = ap.parse_args()
    hashes, problems = collect(args.quick)
    for p in problems:
        print("INVARIANCE:", p)
    if args.save:
        with open(args.save, "w") as f:
            json.dump(hashes, f, indent=1, sort_keys=True)
        print(f"{len(hashes)} runs hashed into {args.save}")
    if args.check:
        with open(args.check) as f:
            ref = json.load(f)
        diff = []
        for key, d in hashes.items():
            if key not in ref:
                diff.append(f"{key}: not in {args.check}")
                continue
            diff += [f"{key}: {frame} differs" for frame in d if d[frame] != ref[key][frame]]
        for line in diff:
            print("CHANGED:", line)
        print(f"{len(hashes)} runs compared with {args.check}: {len(diff)} difference(s)")
        if diff:
            return 1
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
