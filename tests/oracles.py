"""Closed-form oracles written from the papers, independent of the package code.

BG/NBD: Fader, Hardie & Lee (2005), Marketing Science 24(2), eqs. (8) and (9).
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, gammaln, hyp2f1


def bgnbd_mean(r: float, alpha: float, a: float, b: float, t: float) -> float:
    """E[X(t)] for a customer observed from time 0 (FHL 2005, eq. 9)."""
    z = t / (alpha + t)
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z))


def bgnbd_pmf(r: float, alpha: float, a: float, b: float, t: float, x: np.ndarray) -> np.ndarray:
    """P(X(t) = x) (FHL 2005, eq. 8)."""
    x = np.asarray(x, dtype=float)
    log_nb = gammaln(r + x) - gammaln(r) - gammaln(x + 1) + r * np.log(alpha / (alpha + t)) + x * np.log(t / (alpha + t))
    first = np.exp(betaln(a, b + x) - betaln(a, b) + log_nb)
    out = first.copy()
    for i, xi in enumerate(x):
        if xi > 0:
            j = np.arange(int(xi))
            cdf = np.exp(gammaln(r + j) - gammaln(r) - gammaln(j + 1) + r * np.log(alpha / (alpha + t))
                         + j * np.log(t / (alpha + t))).sum()
            out[i] += np.exp(betaln(a + 1, b + xi - 1) - betaln(a, b)) * (1 - cdf)
    return out
