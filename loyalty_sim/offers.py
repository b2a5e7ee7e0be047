"""Outcomes of targeted offers: who was reached, the e-mail funnel and the paired uplift in the audience.

A targeted offer is judged on the customers it was aimed at: the audience (by category
affinity, by a life event, or a random share for an untargeted offer), how many offers
went out and through which channel, how many were opened, clicked and used, and what the
audience bought compared with the same customers in the counterfactual run (same random
numbers, no offer).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .result import SimulationResult
from .scenario import ScenarioRun


def _offer_names(result: SimulationResult) -> list[str]:
    """The parts of a run that keep an audience (targeted offers)."""
    return [p.name for p in result.parts() if result.state("in_audience", p.name) is not None]


def _ledger_total(result: SimulationResult, name: str, key: str, from_week: int) -> float:
    booked = result.ledger(key, part=name)
    return float(booked.loc[from_week:].to_numpy().sum()) if booked is not None else 0.0


def offer_outcomes(run: ScenarioRun) -> pd.DataFrame:
    """One row per targeted-offer scheme (or offer part of a combination) of a replication.

    Returns
    -------
    DataFrame indexed by ``offer`` (the offer's name) with ``scheme``, ``audience``
    (customers), ``audience_share``, ``offers_delivered``, ``emails_sent``,
    ``emails_opened``, ``emails_clicked``, ``offers_converted``, ``conversion_rate``
    (converted / delivered offers, or / e-mails sent), ``purchases_uplift_audience``
    (extra purchases per audience customer after launch, against the counterfactual),
    ``purchases_uplift_per_offer`` (the audience's extra purchases per offer delivered: the
    efficiency that compares audiences of different sizes and exposure),
    ``purchases_uplift_audience_rel``, ``revenue_uplift_audience`` (currency per audience
    customer), ``purchases_uplift_others`` (per customer outside the audience: a check
    that an offer moves only those it reaches), ``offer_discount`` and ``email_cost``
    (currency).
    """
    launch = run.scenario.launch_week
    weeks = run.baseline.weeks
    b_ids = pd.Index(run.baseline.customers["customer_id"].to_numpy(), name="customer_id")
    base_tx_all = pd.Series(run.baseline.window(launch, weeks, "transactions").to_numpy(), index=b_ids)
    base_rev_all = pd.Series(run.baseline.window(launch, weeks, "revenue").to_numpy(), index=b_ids)
    rows = []
    for scheme, res in run.results.items():
        if scheme == "baseline":
            continue
        ids = pd.Index(res.customers["customer_id"].to_numpy(), name="customer_id")
        tx = pd.Series(res.window(launch, weeks, "transactions").to_numpy(), index=ids)
        rev = pd.Series(res.window(launch, weeks, "revenue").to_numpy(), index=ids)
        d_tx = tx - base_tx_all.loc[ids]
        d_rev = rev - base_rev_all.loc[ids]
        for name in _offer_names(res):
            aud = res.state("in_audience", name).to_numpy(dtype=bool)
            delivered = float(res.state("offers", name).sum())
            sent = _ledger_total(res, name, "emails_sent", launch)
            converted = _ledger_total(res, name, "offers_converted", launch)
            denom = sent if sent > 0 else delivered
            base_tx = base_tx_all.loc[ids[aud]].sum()
            rows.append({
                "offer": name, "scheme": scheme, "audience": int(aud.sum()), "audience_share": float(aud.mean()),
                "offers_delivered": delivered, "emails_sent": sent,
                "emails_opened": _ledger_total(res, name, "emails_opened", launch),
                "emails_clicked": _ledger_total(res, name, "emails_clicked", launch),
                "offers_converted": converted,
                "conversion_rate": converted / denom if denom > 0 else float("nan"),
                "purchases_uplift_audience": float(d_tx[aud].mean()) if aud.any() else float("nan"),
                "purchases_uplift_per_offer": float(d_tx[aud].sum() / delivered) if delivered else float("nan"),
                "purchases_uplift_audience_rel": float(d_tx[aud].sum() / base_tx) if base_tx else float("nan"),
                "revenue_uplift_audience": float(d_rev[aud].mean()) if aud.any() else float("nan"),
                "purchases_uplift_others": float(d_tx[~aud].mean()) if (~aud).any() else float("nan"),
                "offer_discount": _ledger_total(res, name, "offer_discount", launch),
                "email_cost": _ledger_total(res, name, "email_cost", launch),
            })
    out = pd.DataFrame(rows)
    if len(out):
        out = out.set_index("offer")
    out.attrs["units"] = {"purchases_uplift_audience": "transactions per audience customer after launch",
                          "purchases_uplift_per_offer": "transactions per offer delivered",
                          "revenue_uplift_audience": "currency per audience customer after launch",
                          "offer_discount": "currency", "email_cost": "currency"}
    return out


def funnel_frame(outcomes: pd.DataFrame) -> pd.DataFrame:
    """The e-mail funnel (sent, opened, clicked, converted) of the e-mail offers, long format for plotting."""
    email = outcomes[outcomes["emails_sent"] > 0]
    stages = {"sent": "emails_sent", "opened": "emails_opened", "clicked": "emails_clicked",
              "converted": "offers_converted"}
    rows = [{"offer": o, "stage": s, "count": float(r[col]),
             "share_of_sent": float(r[col] / r["emails_sent"]) if r["emails_sent"] else np.nan}
            for o, r in email.iterrows() for s, col in stages.items()]
    return pd.DataFrame(rows, columns=["offer", "stage", "count", "share_of_sent"])
