"""Make the example pilot data in ``data/trial/`` (and simulate pilots with a known effect for the tests).

The data live in ``data/trial/``; this script, which made them, lives in ``scripts/``
(``data/`` holds only data).

A pilot with a known true effect, by common random numbers: the same population is
simulated twice with the same seed, once without a scheme (baseline) and once with the
scheme launched at the pilot start. Pilot customers take their rows from the scheme
run, controls from the baseline run. Before the launch both runs are identical, so the
pre-period is real; during the pilot, each pilot customer's true effect is exactly his
scheme-run outcome minus his baseline-run outcome.

Two examples are written (see ``README.md`` for the data dictionary):

``pilot_customers.csv`` + ``assignment_customers.csv``
    Grocery preset, about 3,000 customers, 16 pre-period weeks and an 8-week stamp
    card on half of the customers active before the pilot, randomised within strata
    of pre-period purchase counts.
``pilot_stores.csv`` + ``assignment_stores.csv``
    Twelve stores of different size and purchase rate; six, drawn at random, run the
    stamp card for 8 weeks. Each store also has a pilot-period sales shock shared by
    its customers (local conditions), the reason store pilots need store-clustered
    intervals.
``truth.json``
    The true effects (average over analysed pilot customers of scheme-run minus
    baseline-run outcome) and the reward cost share, for checking a review.

Usage: ``python scripts/make_trial_example.py [--out data/trial]``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from loyalty_sim import Population, load_preset, simulate
from loyalty_sim.schemes.stamp_card import StampCard

HERE = Path(__file__).resolve().parents[1] / "data" / "trial"   # where the example data live
START_DATE = "2026-01-05"


def example_scheme() -> StampCard:
    """The stamp card of the examples: 8 stamps earn a free basket item worth 20 (cost 12)."""
    return StampCard(name="stamp8", stamps_required=8, reward_value=20.0, reward_cost=12.0)


@dataclass
class SimulatedPilot:
    """Both runs of a pilot, from which any assignment gives a log with a known effect.

    Attributes
    ----------
    baseline, scheme : DataFrame
        ``customer_id, date, amount, store_id, reward_cost`` of each run.
    customers : DataFrame
        ``customer_id, store_id, pre_purchases`` of the customers known before the pilot.
    pre_weeks, pilot_weeks : int
    start, end : str
        First and last day of the pilot window.
    """

    baseline: pd.DataFrame
    scheme: pd.DataFrame
    customers: pd.DataFrame
    pre_weeks: int
    pilot_weeks: int
    start: str
    end: str

    def log(self, pilot_ids: Any) -> pd.DataFrame:
        """The observed log when ``pilot_ids`` (customers) got the scheme."""
        sp = self.scheme["customer_id"].isin(pilot_ids).to_numpy()
        bp = self.baseline["customer_id"].isin(pilot_ids).to_numpy()
        out = pd.concat([self.scheme[sp], self.baseline[~bp]], ignore_index=True)
        return out.sort_values(["date", "customer_id"], kind="stable").reset_index(drop=True)

    def truth(self, pilot_ids: Any) -> dict[str, float]:
        """True effects on the analysed pilot customers (those who bought in the pre-period)."""
        known = self.customers[self.customers["pre_purchases"] > 0]
        ids = np.intersect1d(np.asarray(pilot_ids), known["customer_id"].to_numpy())
        start, end = pd.Timestamp(self.start), pd.Timestamp(self.end)
        per_run = []
        for run in (self.scheme, self.baseline):
            win = run[(run["date"] >= start) & (run["date"] <= end) & run["customer_id"].isin(ids)]
            pos = win["amount"] > 0
            per_run.append((pos.sum() / len(ids) / self.pilot_weeks, win["amount"].sum() / len(ids) / self.pilot_weeks,
                            win.loc[pos, "customer_id"].nunique() / len(ids), win["reward_cost"].sum(),
                            win["amount"].sum()))
        (f1, s1, r1, rc, paid), (f0, s0, r0, _, _) = per_run
        return {"purchases_per_week": float(f1 - f0), "spend_per_week": float(s1 - s0), "retention": float(r1 - r0),
                "purchases_per_week_counterfactual": float(f0), "spend_per_week_counterfactual": float(s0),
                "reward_cost": float(rc), "reward_cost_share": float(rc / paid) if paid else 0.0,
                "pilot_customers": int(len(ids))}


def _frame(result: Any, store_of: pd.Series) -> pd.DataFrame:
    t = result.transactions
    return pd.DataFrame({"customer_id": t["customer_id"].to_numpy(),
                         "date": t["timestamp"].dt.normalize().to_numpy(),
                         "amount": t["amount"].round(2).to_numpy(),
                         "store_id": store_of.reindex(t["customer_id"].to_numpy()).to_numpy(),
                         "reward_cost": t["reward_cost"].to_numpy()})


def simulate_pilot(*, customers: int = 3000, pre_weeks: int = 16, pilot_weeks: int = 8, seed: int = 1,
                   preset: str = "grocery", scheme: Any = None, stores: int = 0, store_rate_sd: float = 0.0,
                   store_shock_sd: float = 0.0) -> SimulatedPilot:
    """Simulate a baseline and a scheme run on the same customers and random numbers.

    Parameters
    ----------
    customers : int
        Customers alive at week 0 (over all stores).
    pre_weeks, pilot_weeks : int
        Weeks before the launch, and weeks of the pilot.
    seed : int
        Seed of everything (population, weekly random numbers, store draws).
    preset : str
        Population preset.
    scheme : Scheme, optional
        Defaults to :func:`example_scheme`.
    stores : int
        0: one population, customers spread over 8 stores by a seeded draw (no store
        effects). Otherwise ``stores`` populations of random size, each with its purchase
        rate multiplied by ``exp(N(0, store_rate_sd))``.
    store_shock_sd : float
        Each store's amounts in the pilot window (both runs) are multiplied by
        ``exp(N(0, store_shock_sd))``: a local shock shared by its customers.

    Returns
    -------
    SimulatedPilot
    """
    scheme = example_scheme() if scheme is None else scheme
    weeks = pre_weeks + pilot_weeks
    ss = np.random.SeedSequence(seed)
    rng = np.random.default_rng(ss.spawn(1)[0])
    runs: list[tuple[pd.DataFrame, pd.DataFrame]] = []
    known: list[pd.DataFrame] = []
    if stores:
        sizes = rng.multinomial(customers, rng.dirichlet(np.full(stores, 4.0)))
        rate_mult = np.exp(rng.normal(0.0, store_rate_sd, stores))
        parts = [(s, int(sizes[s]), float(rate_mult[s])) for s in range(stores) if sizes[s] > 0]
    else:
        parts = [(-1, customers, 1.0)]
    for s, size, mult in parts:
        params = load_preset(preset)
        if mult != 1.0:
            params = params.replace(alpha=params.alpha / mult)
        pop = Population(params, size=size, weeks=weeks, seed=seed * 1000 + max(s, 0))
        base = simulate(pop, seed=seed * 1000 + max(s, 0), output="log", launch_week=pre_weeks, start_date=START_DATE)
        run = simulate(pop, scheme, seed=seed * 1000 + max(s, 0), output="log", launch_week=pre_weeks,
                       start_date=START_DATE)
        ids = base.customers["customer_id"].to_numpy()
        offset = 100_000 * (s + 1) if s >= 0 else 0
        if s >= 0:
            store_of = pd.Series(f"S{s + 1:02d}", index=ids)
        else:
            # a seeded draw per customer stands in for "the store where he shops"
            draw = np.random.default_rng(ss.spawn(2)[1]).integers(1, 9, ids.size)
            store_of = pd.Series([f"S{v:02d}" for v in draw], index=ids)
        frames = [_frame(r, store_of) for r in (base, run)]
        for f in frames:
            f["customer_id"] += offset
        acq = base.customers["acquisition_week"].to_numpy()
        pre = frames[0][frames[0]["date"] < pd.Timestamp(START_DATE) + pd.Timedelta(weeks=pre_weeks)]
        counts = pre[pre["amount"] > 0].groupby("customer_id").size()
        cust = pd.DataFrame({"customer_id": ids[acq < pre_weeks] + offset,
                             "store_id": store_of.to_numpy()[acq < pre_weeks]})
        cust["pre_purchases"] = counts.reindex(cust["customer_id"]).fillna(0).astype(int).to_numpy()
        known.append(cust)
        runs.append((frames[0], frames[1]))
    baseline = pd.concat([r[0] for r in runs], ignore_index=True)
    scheme_log = pd.concat([r[1] for r in runs], ignore_index=True)
    start = pd.Timestamp(START_DATE) + pd.Timedelta(weeks=pre_weeks)
    end = start + pd.Timedelta(days=7 * pilot_weeks - 1)
    if store_shock_sd > 0:
        names = sorted(baseline["store_id"].unique())
        shock = pd.Series(np.exp(rng.normal(0.0, store_shock_sd, len(names))), index=names)
        for f in (baseline, scheme_log):
            m = (f["date"] >= start).to_numpy()
            f.loc[m, "amount"] = (f.loc[m, "amount"] * shock.reindex(f.loc[m, "store_id"]).to_numpy()).round(2)
    return SimulatedPilot(baseline=baseline, scheme=scheme_log, customers=pd.concat(known, ignore_index=True),
                          pre_weeks=pre_weeks, pilot_weeks=pilot_weeks, start=start.date().isoformat(),
                          end=end.date().isoformat())


def stratified_customers(customers: pd.DataFrame, *, share: float = 0.5, seed: int = 1, strata: int = 4) -> pd.DataFrame:
    """Randomise customers active before the pilot, within strata of pre-period purchases.

    Returns ``customer_id, group, stratum``.
    """
    active = customers[customers["pre_purchases"] > 0].reset_index(drop=True)
    rank = active["pre_purchases"].rank(method="first")
    stratum = np.minimum((rank - 1) * strata // len(active), strata - 1).astype(int).to_numpy()
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    group = np.empty(len(active), dtype=object)
    for s in range(strata):
        idx = np.flatnonzero(stratum == s)
        idx = rng.permutation(idx)
        k = int(round(share * idx.size))
        group[idx[:k]] = "pilot"
        group[idx[k:]] = "control"
    return pd.DataFrame({"customer_id": active["customer_id"], "group": group, "stratum": stratum})


def random_stores(names: Any, *, pilots: int, seed: int = 1) -> pd.DataFrame:
    """``pilots`` stores drawn at random for the pilot, the others control: ``store_id, group``."""
    names = np.asarray(sorted(names))
    rng = np.random.default_rng(np.random.SeedSequence([seed, 11]))
    chosen = set(rng.choice(names, size=pilots, replace=False).tolist())
    return pd.DataFrame({"store_id": names, "group": ["pilot" if n in chosen else "control" for n in names]})


def _write_log(frame: pd.DataFrame, path: Path) -> int:
    """Write the log's four columns; return how many rows were changed to avoid exact duplicates.

    A row repeating an earlier one exactly (same customer, day and amount) gets 0.01 more, so
    the file reads with ``duplicates="error"``.
    """
    out = frame[["customer_id", "date", "amount", "store_id"]].copy()
    out["date"] = out["date"].dt.strftime("%Y-%m-%d")
    out["amount"] = out["amount"].round(2)
    changed = 0
    while True:
        dup = out.duplicated(keep="first").to_numpy()
        if not dup.any():
            break
        changed += int(dup.sum())
        out.loc[dup, "amount"] = (out.loc[dup, "amount"] + 0.01).round(2)
    out.to_csv(path, index=False, float_format="%.2f")
    return changed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    sim = simulate_pilot(customers=3000, pre_weeks=16, pilot_weeks=8, seed=2026)
    asg = stratified_customers(sim.customers, seed=2026)
    pilot_ids = asg.loc[asg["group"] == "pilot", "customer_id"]
    nudged = _write_log(sim.log(pilot_ids), out / "pilot_customers.csv")
    asg.to_csv(out / "assignment_customers.csv", index=False)
    truth = {"customers": {"start": sim.start, "end": sim.end, "pre_weeks": sim.pre_weeks, **sim.truth(pilot_ids)}}

    ssim = simulate_pilot(customers=2400, pre_weeks=16, pilot_weeks=8, seed=2027, stores=12, store_rate_sd=0.25,
                          store_shock_sd=0.06)
    sasg = random_stores(ssim.customers["store_id"].unique(), pilots=6, seed=2027)
    spilot = ssim.customers.loc[ssim.customers["store_id"].isin(sasg.loc[sasg["group"] == "pilot", "store_id"]),
                                "customer_id"]
    nudged += _write_log(ssim.log(spilot), out / "pilot_stores.csv")
    sasg.to_csv(out / "assignment_stores.csv", index=False)
    truth["stores"] = {"start": ssim.start, "end": ssim.end, "pre_weeks": ssim.pre_weeks, **ssim.truth(spilot)}
    truth["rows_nudged_to_avoid_exact_duplicates"] = nudged
    (out / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    print(json.dumps(truth, indent=2))


if __name__ == "__main__":
    main()
