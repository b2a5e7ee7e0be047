"""A week's purchase counts and dropouts, one compiled pass over the alive customers.

The engine's steps 2 and 3 (:mod:`loyalty_sim.engine`): the Poisson count ``K`` by inversion
of the customer's count uniform, then dropout at the first purchase where the summed hazards pass
his hazard budget. Both are sequences of plain IEEE operations (multiply, divide, subtract,
compare, ``ceil``), which numba compiles without reordering or fusing them (no ``fastmath``), so
the numbers are those of the same arithmetic done with numpy arrays, to the bit. What would not
be (``exp``, ``log1p``, whose vectorised versions may differ from the C library's in the last
bit) is computed by numpy before the pass; the rare means above
:data:`loyalty_sim.inversion.POISSON_NORMAL_ABOVE` are left to numpy's normal approximation.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .inversion import POISSON_NORMAL_ABOVE, poisson_count, poisson_quantile


def purchases_and_dropouts(idx: np.ndarray, u_pos: np.ndarray, u_flat: np.ndarray, remaining: np.ndarray,
                           mu: np.ndarray, prob0: np.ndarray, mu_by_customer: bool, h: np.ndarray,
                           h_by_customer: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts, purchases made and dropouts of the alive customers ``idx`` (positions in the block).

    Parameters
    ----------
    idx : ndarray of int64
        The alive customers, sorted.
    u_pos, u_flat : ndarray
        Position of each customer's count uniform in the week's uniforms ``u_flat``.
    remaining : ndarray
        Dropout hazard budget left per customer of the block; updated in place.
    mu, prob0 : ndarray
        Poisson mean and ``exp(-mu)``: per customer of the block if ``mu_by_customer``, else
        per element of ``idx``.
    h, h_by_customer : ndarray, bool
        Per-purchase dropout hazard, indexed the same way.

    Returns
    -------
    k : ndarray of int64
        Potential purchases.
    made : ndarray of int64
        Purchases made: ``k``, or the purchase at which the customer leaves.
    died : ndarray of int64
        Positions (into ``idx``) of the customers who leave, sorted.
    """
    k, made, died = _counts_and_dropouts(idx, u_pos, u_flat, remaining, mu, prob0, mu_by_customer, h, h_by_customer)
    big = np.flatnonzero(k < 0)
    if big.size:  # means above the exact search's range: the normal approximation, then their dropout
        k[big] = poisson_quantile(u_flat[u_pos[idx[big]]], mu[idx[big] if mu_by_customer else big])
        _dropouts_of(big, k, idx, remaining, h, h_by_customer, made, died)
    return k, made, np.flatnonzero(died)


@njit(cache=True)
def _counts_and_dropouts(idx: np.ndarray, u_pos: np.ndarray, u_flat: np.ndarray, remaining: np.ndarray,
                         mu: np.ndarray, prob0: np.ndarray, mu_by_customer: bool, h: np.ndarray,
                         h_by_customer: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`purchases_and_dropouts` in one compiled pass, with ``died`` as a mask.

    Above the exact search's range ``k`` is -1 and nothing else is done there: the caller finishes those.
    """
    n = idx.size
    k = np.empty(n, dtype=np.int64)
    made = np.empty(n, dtype=np.int64)
    died = np.zeros(n, dtype=np.bool_)
    for j in range(n):
        i = idx[j]
        a = i if mu_by_customer else j
        m = mu[a]
        if m > POISSON_NORMAL_ABOVE:
            k[j] = -1
            made[j] = 0
            continue
        kj = poisson_count(u_flat[u_pos[i]], m, prob0[a])
        k[j] = kj
        made[j], died[j] = _dropout(kj, remaining, i, h[i if h_by_customer else j])
    return k, made, died


@njit(cache=True, inline="always")
def _dropout(k: int, remaining: np.ndarray, i: int, h: float) -> tuple[int, bool]:
    """Purchases made of ``k`` and whether the customer leaves; takes their hazard from his budget."""
    rem = remaining[i]
    k_death = np.ceil(rem / h) if h > 0 else np.inf
    dies = k >= k_death
    made = int(k_death) if dies else k
    remaining[i] = rem - made * h
    return made, dies


@njit(cache=True)
def _dropouts_of(pos: np.ndarray, k: np.ndarray, idx: np.ndarray, remaining: np.ndarray, h: np.ndarray,
                h_by_customer: bool, made: np.ndarray, died: np.ndarray) -> None:
    """Dropout of the elements ``pos`` of ``idx`` given their counts ``k`` (fills ``made`` and ``died``)."""
    for t in range(pos.size):
        j = pos[t]
        i = idx[j]
        made[j], died[j] = _dropout(k[j], remaining, i, h[i if h_by_customer else j])


def scheme_rates(idx: np.ndarray, lam: np.ndarray, p: np.ndarray, rate: np.ndarray | float,
                 dropout: np.ndarray | float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Poisson mean, ``exp(-mean)`` and per-purchase dropout hazard of ``idx`` under a scheme's multipliers.

    ``mu = lam * rate`` and ``h = -log1p(-min(p * dropout / rate, 1 - 1e-12))``: a scheme's dropout
    multiplier is divided by its rate multiplier, so the purchases it adds do not bring dropout forward
    (the calendar-time churn hazard ``lam * p`` moves only by ``dropout``). The products and the
    quotient are one compiled pass; ``exp`` and ``log1p`` are numpy's.
    """
    rate = np.broadcast_to(np.asarray(rate, dtype=float), idx.shape)
    dropout = np.broadcast_to(np.asarray(dropout, dtype=float), idx.shape)
    mu, neg_mu, neg_x = _scheme_rate_terms(idx, lam, p, rate, dropout)
    prob0 = np.exp(neg_mu, out=neg_mu)
    h = np.log1p(neg_x, out=neg_x)
    return mu, prob0, np.negative(h, out=h)


@njit(cache=True)
def _scheme_rate_terms(idx: np.ndarray, lam: np.ndarray, p: np.ndarray, rate: np.ndarray,
                       dropout: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``mu = lam * rate``, ``-mu`` and ``-min(p * dropout / rate, 1 - 1e-12)`` (NaN passes through)."""
    n = idx.size
    mu, neg_mu, neg_x = np.empty(n), np.empty(n), np.empty(n)
    cap = 1 - 1e-12
    for j in range(n):
        i = idx[j]
        m = lam[i] * rate[j]
        mu[j] = m
        neg_mu[j] = -m
        x = p[i] * dropout[j] / rate[j]
        neg_x[j] = -(cap if x > cap else x)
    return mu, neg_mu, neg_x
