"""What a week's buyers pay: a scheme's ticket and till discount on gross spend, then the revenue left.

The engine's step between the spend draw and the scheme's settlement (:mod:`loyalty_sim.engine`):
the ticket multiplier scales what each buyer spends, the till discount takes its share off, and
after settlement the week's discounts (at the till and settled, such as points used as money) are
netted off the gross. Each is one compiled pass of the plain IEEE operations numpy would do
element by element, in the same order (numba, no ``fastmath``), so the numbers are numpy's to the bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit


def per_customer(x: np.ndarray | float, idx: np.ndarray) -> np.ndarray:
    """``x`` as one float per element of ``idx`` (a scalar repeated, an array as it is)."""
    if np.isscalar(x) or np.ndim(x) == 0:
        return np.full(idx.size, float(x))
    return np.ascontiguousarray(x, dtype=float)


@njit(cache=True)
def ticket_and_discount(gross: np.ndarray, ticket: np.ndarray,
                        discount: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """``gross *= ticket`` in place, then the till discount ``gross * discount`` and the bill ``gross - discount``.

    Returns the till discount and the bill, aligned with ``gross``.
    """
    till, bill = np.empty(gross.size), np.empty(gross.size)
    for j in range(gross.size):
        x = gross[j] * ticket[j]
        gross[j] = x
        d = x * discount[j]
        till[j] = d
        bill[j] = x - d
    return till, bill


@njit(cache=True)
def net_of_discounts(gross: np.ndarray, till: np.ndarray,
                     settled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """The week's discount ``till + settled`` and the revenue ``gross - discount``, aligned with ``gross``."""
    discount, revenue = np.empty(gross.size), np.empty(gross.size)
    for j in range(gross.size):
        d = till[j] + settled[j]
        discount[j] = d
        revenue[j] = gross[j] - d
    return discount, revenue
