"""Speed and memory of a trial review on a 10-million-row log.

Writes a synthetic pilot log (CSV: customer_id, date, amount, store_id; seeded numpy,
written with Arrow) and an assignment file to a temporary folder, then times, each in
its own child process so that its peak memory (``ru_maxrss``) is its own:

* ``review_trial`` end to end (reading and validating the CSV, all metrics, checks,
  event study, money);
* as references measured in the same run: ``pandas.read_csv`` of the same file alone,
  and ``loyalty_sim.calibration.logs.read_log`` alone (the validated read the review starts with).

Targets: under 60 s and under 4 GB on 2 cores. Prints the figures; it is not a test.

Usage: ``python benchmarks/trial.py [--rows 10000000] [--customers 250000] [--unit customer|store]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
START = np.datetime64("2025-01-06")
PRE_WEEKS, PILOT_WEEKS = 26, 8

CHILD = r"""
import json, resource, sys, time
what, log, asg, start, end, unit = sys.argv[1:7]
t = time.perf_counter()
out = {}
if what == "review":
    from loyalty_sim.trial.review import review_trial
    r = review_trial(log, asg, start=start, end=end, margin=0.3, reward_cost_share=0.02, unit=unit,
                     read_options={"duplicates": "keep", "today": "2030-01-01"})
    e = r.estimates["spend_per_week"]
    out = {"estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high, "n_pilot": e.n_pilot,
           "n_control": e.n_control, "verdict": r.verdict_word}
elif what == "read_log":
    from loyalty_sim.calibration.logs import read_log
    read_log(log, duplicates="keep", today="2030-01-01")
else:
    import pandas as pd
    pd.read_csv(log)
secs = time.perf_counter() - t
out.update(seconds=secs, peak_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(json.dumps(out))
"""


def write_pilot(folder: Path, n_rows: int, n_customers: int, seed: int, unit: str = "customer") -> tuple[Path, Path]:
    """Synthetic pilot: Gamma purchase rates, 26 pre weeks + 8 pilot weeks, +5% spend for pilot customers.

    Customer unit: half of the customers at random are the pilot; store unit: the customers
    of the odd-numbered of 50 stores (each customer shops in one store).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(np.random.SeedSequence(seed))
    rate = rng.gamma(1.5, 1.0, n_customers)
    cum = np.cumsum(rate / rate.sum())
    pilot = rng.random(n_customers) < 0.5
    stores = pa.array([f"S{i:03d}" for i in range(50)])
    store_of = rng.integers(0, 50, n_customers)
    treated = pilot if unit == "customer" else store_of % 2 == 1
    days = 7 * (PRE_WEEKS + PILOT_WEEKS)
    pilot_start = 7 * PRE_WEEKS
    log = folder / "log.csv"
    schema = pa.schema([("customer_id", pa.int64()), ("date", pa.date32()), ("amount", pa.float64()),
                        ("store_id", pa.string())])
    with pacsv.CSVWriter(str(log), schema) as w:
        done = 0
        while done < n_rows:
            k = min(2_000_000, n_rows - done)
            cust = np.minimum(np.searchsorted(cum, rng.random(k)), n_customers - 1)
            day = rng.integers(0, days, k)
            amount = np.round(rng.gamma(2.0, 15.0, k) * np.where(treated[cust] & (day >= pilot_start), 1.05, 1.0), 2) + 0.01
            w.write_table(pa.table({"customer_id": cust + 1, "date": pa.array((START + day).astype("datetime64[D]")),
                                    "amount": amount, "store_id": pc.take(stores, pa.array(store_of[cust]))},
                                   schema=schema))
            done += k
    asg = folder / "assignment.csv"
    ids = np.arange(1, n_customers + 1)
    with open(asg, "w") as fh:
        fh.write("customer_id,group\n")
        fh.writelines(f"{i},{'pilot' if p else 'control'}\n" for i, p in zip(ids, pilot))
    if unit == "store":
        asg = folder / "assignment_stores.csv"
        with open(asg, "w") as fh:
            fh.write("store_id,group\n")
            fh.writelines(f"S{i:03d},{'pilot' if i % 2 else 'control'}\n" for i in range(50))
    return log, asg


def child(what: str, log: Path, asg: Path, unit: str) -> dict:
    start = str(START + 7 * PRE_WEEKS)
    end = str(START + 7 * (PRE_WEEKS + PILOT_WEEKS) - 1)
    res = subprocess.run([sys.executable, "-c", CHILD, what, str(log), str(asg), start, end, unit],
                         capture_output=True, text=True, cwd=ROOT)
    if res.returncode:
        raise SystemExit(f"{what} failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--customers", type=int, default=250_000)
    ap.add_argument("--unit", choices=("customer", "store"), default="customer")
    ap.add_argument("--seed", type=int, default=20260105)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        log, asg = write_pilot(folder, args.rows, args.customers, args.seed, args.unit)
        gen = time.perf_counter() - t
        size_mb = log.stat().st_size / 2**20
        review = child("review", log, asg, args.unit)
        read = child("read_log", log, asg, args.unit)
        ref = child("read_csv", log, asg, args.unit)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"trial review of a {args.rows:,}-row CSV ({size_mb:,.0f} MB, {args.customers:,} customers, "
          f"{PRE_WEEKS} pre-period + {PILOT_WEEKS} pilot weeks, {args.unit}-level assignment; generated in "
          f"{gen:.1f} s) on {cores} core(s)")
    print(f"  review_trial end to end : {review['seconds']:6.1f} s  {args.rows / review['seconds'] / 1e6:5.2f} M rows/s  "
          f"peak {review['peak_mb']:,.0f} MB   (targets < 60 s, < 4096 MB)")
    print(f"  reference read_log alone: {read['seconds']:6.1f} s  peak {read['peak_mb']:,.0f} MB")
    print(f"  reference pandas.read_csv alone: {ref['seconds']:6.1f} s  peak {ref['peak_mb']:,.0f} MB")
    print(f"  (peak = ru_maxrss of each child process)  spend effect {review['estimate']:+.3f} per customer-week "
          f"[{review['ci_low']:+.3f}, {review['ci_high']:+.3f}] on {review['n_pilot']:,} pilot / "
          f"{review['n_control']:,} control customers (true +5% of spend); verdict: {review['verdict']}")


if __name__ == "__main__":
    main()
