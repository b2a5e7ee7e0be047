"""Sampling by inversion: a uniform in, a variate out.

Inversion is what makes common random numbers work: with the same uniform, a higher
purchase rate can only give as many or more purchases, so a scheme and the baseline
differ only by the scheme's effect.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaincinv, ndtri

#: Above this mean the Poisson quantile uses a corrected normal approximation.
POISSON_NORMAL_ABOVE = 60.0

#: Below this shape the gamma quantile is computed exactly (slower, but rare).
EXACT_GAMMA_BELOW = 2.0


def poisson_quantile(u: np.ndarray, mu: np.ndarray) -> np.ndarray:
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
        small = ~big
        idx = np.flatnonzero(small)
        u_s, mu_s = u[small], mu[small]
    else:
        idx = None
        u_s, mu_s = u, mu
    # sequential search: d = u - CDF(k); stop at the first k where d <= 0
    prob = np.exp(-mu_s)
    d = u_s - prob
    pos = np.flatnonzero(d > 0)
    res = np.zeros(u_s.shape, dtype=np.int64)
    if pos.size:
        dd, mm, pp = d[pos], mu_s[pos], prob[pos]
        k = 0
        while True:
            k += 1
            pp *= mm
            pp *= 1.0 / k
            dd -= pp
            keep = dd > 0
            n_keep = np.count_nonzero(keep)
            if n_keep == pos.size and k <= 400:
                continue  # nobody stopped: no need to compress
            res[pos[~keep]] = k
            if n_keep == 0:
                break
            if k > 400:  # numerically exhausted tail (u within 1e-16 of 1)
                res[pos[keep]] = k
                break
            pos, dd, mm, pp = pos[keep], dd[keep], mm[keep], pp[keep]
    if idx is None:
        return res
    out[idx] = res
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
