"""Additive penalised-spline regression of a simulated output on some of the inputs.

The conditional expectation ``E[y | x_G]`` of an output given a group ``G`` of inputs, estimated
from the PSA draws themselves: a generalised additive model (Strong, Oakley & Brennan 2014,
Medical Decision Making 34(3):311-326, estimate EVPPI this way), here with cubic B-splines on
equally spaced knots over ``[0, 1]`` (the inputs are the draws' Sobol' coordinates, i.e. prior
quantiles), a second-difference penalty (Eilers & Marx 1996, P-splines) and one smoothing weight
chosen by generalised cross-validation. The basis columns are centred, so the fitted values have
exactly the mean of ``y``.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import BSpline

#: interior intervals of each input's spline (cubic: 3 more columns than this)
SEGMENTS = 6
#: smoothing weights tried by GCV
LAMBDAS = np.logspace(-4, 4, 17)


def spline_basis(x: np.ndarray, segments: int = SEGMENTS) -> np.ndarray:
    """Cubic B-spline basis of ``x`` in ``[0, 1]`` (``len(x) x (segments + 3)``)."""
    k = 3
    inner = np.linspace(0.0, 1.0, segments + 1)
    t = np.concatenate([np.zeros(k), inner, np.ones(k)])
    xx = np.clip(np.asarray(x, dtype=float), 0.0, 1.0 - 1e-12)
    return BSpline.design_matrix(xx, t, k).toarray()


class AdditiveFit:
    """``y ~ mean + sum_j f_j(x_j)`` with penalised cubic splines; :meth:`predict` gives the fitted function.

    Parameters
    ----------
    x : ndarray
        Inputs on ``[0, 1]``, ``n x k`` (or length ``n`` for one input).
    y : ndarray
        Output, length ``n``.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray):
        x = np.asarray(x, dtype=float)
        self.x = x.reshape(len(x), -1)
        y = np.asarray(y, dtype=float)
        self.mean = float(y.mean())
        self.segments = int(min(SEGMENTS, max(1, len(y) // 24)))  # fewer knots with few draws
        blocks = [spline_basis(self.x[:, j], self.segments) for j in range(self.x.shape[1])]
        self.centres = [b.mean(axis=0) for b in blocks]
        b = np.hstack([blk - c for blk, c in zip(blocks, self.centres)]) if blocks else np.zeros((len(y), 0))
        m = self.segments + 3
        d = np.diff(np.eye(m), 2, axis=0)
        pen = np.kron(np.eye(self.x.shape[1]), d.T @ d) + 1e-8 * np.eye(b.shape[1])
        yc = y - self.mean
        btb, bty = b.T @ b, b.T @ yc
        best = None
        for lam in LAMBDAS:
            a = btb + lam * pen
            coef = np.linalg.solve(a, bty)
            fitted = b @ coef
            edf = float(np.trace(np.linalg.solve(a, btb))) + 1.0
            rss = float(((yc - fitted) ** 2).sum())
            gcv = len(y) * rss / max(len(y) - edf, 1e-9) ** 2
            if best is None or gcv < best[0]:
                best = (gcv, coef, fitted, lam, edf)
        assert best is not None
        _, self.coef, fitted, self.lam, self.edf = best
        self.fitted = self.mean + fitted

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The fitted function at inputs ``x`` (``m x k`` on ``[0, 1]``)."""
        x = np.asarray(x, dtype=float).reshape(-1, self.x.shape[1])
        cols = [spline_basis(x[:, j], self.segments) - self.centres[j] for j in range(self.x.shape[1])]
        b = np.hstack(cols) if cols else np.zeros((len(x), 0))
        return self.mean + b @ self.coef
