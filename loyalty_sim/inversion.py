"""Sampling by inversion: a uniform in, a variate out.

Inversion is what makes common random numbers work: with the same uniform, a higher
purchase rate can only give as many or more purchases, so a scheme and the baseline
differ only by the scheme's effect.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy.special import gammaincinv, ndtri

#: Above this mean the Poisson quantile uses a corrected normal approximation.
POISSON_NORMAL_ABOVE = 60.0

#: Below this shape the gamma quantile is computed exactly (slower, but rare).
EXACT_GAMMA_BELOW = 2.0


def poisson_quantile(u: np.ndarray, mu: np.ndarray, prob0: np.ndarray | None = None) -> np.ndarray:
    """Smallest ``n`` with ``P(N <= n) >= u`` for ``N ~ Poisson(mu)``, elementwise.

    Exact (sequential search on the CDF) for ``mu <= 60``; above it a normal
    approximation with continuity and skewness (Cornish-Fisher) correction, whose
    error is far below one count for such means.

    Parameters
    ----------
    u : ndarray
        Uniforms in [0, 1).
    mu : ndarray
        Poisson means (>= 0), same shape as ``u``.
    prob0 : ndarray, optional
        ``exp(-mu)`` if the caller has it already (same shape; the result is the same).

    Returns
    -------
    ndarray of int64
    """
    u = np.asarray(u, dtype=float)
    mu = np.asarray(mu, dtype=float)
    out = np.zeros(u.shape, dtype=np.int64)
    big = mu > POISSON_NORMAL_ABOVE
    if big.any():
        z = ndtri(u[big])
        m = mu[big]
        # Cornish-Fisher: quantile ~ mu + sqrt(mu) z + (z^2 - 1)/6
        q = m + np.sqrt(m) * z + (z * z - 1.0) / 6.0
        out[big] = np.maximum(np.floor(q + 0.5), 0).astype(np.int64)
        idx = np.flatnonzero(~big)
        u_s, mu_s = u[idx], mu[idx]
        prob = np.exp(-mu_s) if prob0 is None else np.asarray(prob0, dtype=float)[idx]
    else:
        idx = None
        u_s, mu_s = u, mu
        prob = np.exp(-mu_s) if prob0 is None else np.asarray(prob0, dtype=float)
    flat = [np.ascontiguousarray(a, dtype=float).ravel() for a in np.broadcast_arrays(u_s, mu_s, prob)]
    out_s = _poisson_search(*flat).reshape(np.shape(u_s))
    if idx is None:
        return out_s
    out[idx] = out_s
    return out


#: the Poisson search stops after this many terms: u within about 1e-16 of 1 has exhausted the tail's precision
POISSON_MAX_TERMS = 400


@njit(cache=True, inline="always")
def poisson_count(u: float, mu: float, prob0: float) -> int:
    """Smallest ``n`` with ``P(N <= n) >= u``, ``N ~ Poisson(mu)``: sequential search on the CDF from ``prob0 = exp(-mu)``.

    ``d_k = u - P(N <= k)`` only falls with ``k``; the terms are built as ``p_k = p_{k-1} * mu * (1 / k)``.
    Plain IEEE operations in a fixed order, compiled without ``fastmath``: the same bits as the
    same steps on numpy arrays.
    """
    d = u - prob0
    if not d > 0:
        return 0
    p = prob0
    count = 1
    k = 0
    while True:
        k += 1
        p *= mu
        p *= 1.0 / k
        d -= p
        if k > POISSON_MAX_TERMS or not d > 0:
            return count
        count += 1


@njit(cache=True)
def _poisson_search(u: np.ndarray, mu: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """:func:`poisson_count` elementwise."""
    out = np.empty(u.size, dtype=np.int64)
    for j in range(u.size):
        out[j] = poisson_count(u[j], mu[j], prob[j])
    return out


def gamma_wilson_hilferty(shape: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Gamma(shape, 1) quantile at ``u`` by the Wilson-Hilferty cube-root transform.

    ``x = k (1 - 1/(9k) + z / (3 sqrt k))^3`` with ``z = Phi^{-1}(u)``. Its mean is
    ``k (1 - 1/(729 k^3))``, so for shapes ``k >= 2`` the mean error is below 0.02%
    and the quantile error is small (below 2 the quantile is inverted exactly); it is monotone in both arguments, which common random numbers need.

    References
    ----------
    Wilson, E. B. & Hilferty, M. M. (1931). The distribution of chi-square.
    PNAS 17(12), 684-688.
    """
    k = np.asarray(shape, dtype=float)
    u = np.asarray(u, dtype=float)
    z = ndtri(u)
    c = 1.0 / (9.0 * k)
    x = k * np.maximum(1.0 - c + z * np.sqrt(c), 0.0) ** 3
    small = k < EXACT_GAMMA_BELOW
    if small.any():  # the approximation is poor for small shapes: invert exactly there
        x[small] = gammaincinv(k[small], u[small])
    return x


def gamma_sum_quantile(n: np.ndarray, shape: float, u: np.ndarray, z: np.ndarray | None = None) -> np.ndarray:
    """Quantile at ``u`` of the sum of ``n`` Gamma(``shape``, 1) variates: :func:`gamma_wilson_hilferty` of ``n * shape``.

    The same numbers, faster: the terms that depend only on the shape are computed once per
    distinct ``n`` (a handful of counts) instead of once per element. ``z``, if given, is
    ``ndtri(u)`` computed before (the same numbers: it is elementwise).
    """
    n = np.asarray(n, dtype=np.int64)
    u = np.asarray(u, dtype=float)
    if n.size == 0:
        return np.zeros(0)
    top, low = int(n.max()), int(n.min())
    if top > 4096 or low < 0:
        return gamma_wilson_hilferty(n * shape, u)
    k_tab = np.arange(top + 1) * shape
    with np.errstate(divide="ignore", invalid="ignore"):
        c_tab = 1.0 / (9.0 * k_tab)
        one_c, root_c = 1.0 - c_tab, np.sqrt(c_tab)
    z = ndtri(u) if z is None else np.asarray(z, dtype=float)
    # k (1 - c + z sqrt c)^3 with the table looked up once per element; the cube is numpy's power
    cube = _wilson_hilferty_base(n.ravel(), z.ravel(), one_c, root_c).reshape(z.shape)
    np.power(cube, 3, out=cube)
    x = k_tab[n] * cube
    if k_tab[low] < EXACT_GAMMA_BELOW:  # the approximation is poor for small shapes: invert exactly there
        small = k_tab[n] < EXACT_GAMMA_BELOW
        if small.any():
            x[small] = gammaincinv(k_tab[n][small], u[small])
    return x


@njit(cache=True)
def _wilson_hilferty_base(n: np.ndarray, z: np.ndarray, one_c: np.ndarray, root_c: np.ndarray) -> np.ndarray:
    """``max(one_c[n] + z * root_c[n], 0)`` elementwise (NaN passes through, as ``np.maximum``)."""
    out = np.empty(z.size)
    for j in range(z.size):
        b = one_c[n[j]] + z[j] * root_c[n[j]]
        out[j] = 0.0 if b < 0.0 else b
    return out


def binomial_quantile(u: np.ndarray, n: np.ndarray, q: np.ndarray | float) -> np.ndarray:
    """Smallest ``k`` with ``P(K <= k) >= u`` for ``K ~ Binomial(n, q)``, elementwise (exact).

    Parameters
    ----------
    u : ndarray
        Uniforms in [0, 1).
    n : ndarray of int
        Trials (>= 0).
    q : ndarray or float
        Success probabilities in [0, 1].
    """
    u = np.asarray(u, dtype=float)
    n = np.asarray(n, dtype=np.int64)
    q = np.broadcast_to(np.asarray(q, dtype=float), u.shape)
    out = np.zeros(u.shape, dtype=np.int64)
    certain = q >= 1.0
    out[certain] = n[certain]
    todo = np.flatnonzero(~certain & (q > 0) & (n > 0))
    if todo.size == 0:
        return out
    uu, nn, qq = u[todo], n[todo].astype(float), q[todo]
    ratio = qq / (1.0 - qq)
    prob = np.exp(nn * np.log1p(-qq))
    d = uu - prob
    k = 0
    pos = np.arange(todo.size)
    res = np.zeros(todo.size, dtype=np.int64)
    while pos.size:
        keep = (d[pos] > 0) & (k < nn[pos])
        res[pos[~keep]] = k
        pos = pos[keep]
        if not pos.size:
            break
        prob[pos] *= (nn[pos] - k) / (k + 1) * ratio[pos]
        d[pos] -= prob[pos]
        k += 1
    out[todo] = res
    return out
