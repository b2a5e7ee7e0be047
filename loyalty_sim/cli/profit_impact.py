"""``loyalty-sim profit-impact``: customer value before and after a retention gain (Gupta et al. 2004; Reichheld & Sasser 1990)."""

from __future__ import annotations

import argparse

from ._common import emit

HELP = "retention -> profit calculator (Bain / Gupta et al.)"


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the options of ``profit-impact`` to ``p`` (and return it)."""
    p.add_argument("--margin", type=float, required=True, help="margin per customer per year (currency)")
    p.add_argument("--retention", type=float, required=True, help="yearly retention rate, 0..1")
    p.add_argument("--retention-gain", type=float, required=True, help="gain in percentage points (5 = +0.05)")
    p.add_argument("--discount-rate", type=float, required=True, help="yearly discount rate (0.10 = 10%%)")
    p.add_argument("--acquisition-cost", type=float, default=0.0, help="cost to acquire a customer")
    p.add_argument("--horizon-years", type=float, help="cut customer life at this many years")
    p.add_argument("--spend-growth", type=float, default=0.0, help="tenure effect: yearly spend growth")
    p.add_argument("--cost-to-serve-decline", type=float, default=0.0,
                   help="tenure effect: yearly fall in cost to serve (share of first-year margin)")
    p.add_argument("--referral-rate", type=float, default=0.0, help="tenure effect: referrals per customer-year")
    p.add_argument("--referral-value", type=float, help="value of a referred customer (default: the margin)")
    p.add_argument("--price-premium", type=float, default=0.0, help="tenure effect: yearly price premium")
    p.add_argument("--json", action="store_true", help="print JSON")
    return p


def run(args: argparse.Namespace) -> int:
    """Customer value before and after a retention gain (Gupta et al. 2004; Reichheld & Sasser 1990)."""
    from ..retention_value import retention_profit_impact
    from ..text.retention_value import profit_impact_text

    res = retention_profit_impact(args.margin, args.retention, args.retention_gain, args.discount_rate,
                                  acquisition_cost=args.acquisition_cost, horizon_years=args.horizon_years,
                                  spend_growth=args.spend_growth, cost_to_serve_decline=args.cost_to_serve_decline,
                                  referral_rate=args.referral_rate, referral_value=args.referral_value,
                                  price_premium=args.price_premium)
    emit(args, res, profit_impact_text(res))
    return 0
