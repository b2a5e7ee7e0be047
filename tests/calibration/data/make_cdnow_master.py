"""Write ``cdnow_master_small.txt``: a small made-up log in the layout of the CDNOW master file.

The layout only (not the data) follows the published file: a header line, then four
whitespace-separated columns: customer id (zero-padded), date YYYYMMDD, number of CDs,
dollars. Customers, dates and amounts are drawn here from a seeded generator; the file
also holds one exact duplicate row and one customer whose only repeat purchase is 0.00,
two things real logs have. Run ``python tests/calibration/data/make_cdnow_master.py`` to
rewrite it; the tests check that the file equals :func:`rows`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PATH = HERE / "cdnow_master_small.txt"
HEADER = "customer_id    date  cds  dollars"
N_CUSTOMERS = 60
FIRST_DAY = np.datetime64("1997-01-01")
LAST_DAY = np.datetime64("1998-06-30")


def rows(seed: int = 1997) -> list[tuple[int, str, int, float]]:
    """(customer, YYYYMMDD, CDs, dollars) rows, sorted by customer then date."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xCD]))
    span = int((LAST_DAY - FIRST_DAY).astype(int))
    out: list[tuple[int, str, int, float]] = []
    for cid in range(1, N_CUSTOMERS + 1):
        first = int(rng.integers(0, 84))            # first purchases in the first 12 weeks
        n = 1 + int(rng.poisson(1.5))
        days = np.sort(np.r_[first, rng.integers(first + 1, span + 1, size=n - 1)])
        for d in days:
            cds = 1 + int(rng.poisson(1.0))
            dollars = round(float(cds * rng.gamma(4.0, 3.5)), 2)
            out.append((cid, str(FIRST_DAY + int(d)).replace("-", ""), cds, dollars))
    last = out[-1]
    out.append(last)                                  # an exact duplicate row
    out.append((N_CUSTOMERS + 1, "19970105", 1, 12.49))  # a customer whose only repeat purchase is 0.00
    out.append((N_CUSTOMERS + 1, "19970412", 1, 0.0))
    return sorted(out, key=lambda r: (r[0], r[1]))


def text(seed: int = 1997) -> str:
    """The file's text: the header line, then one line per row."""
    lines = [HEADER] + [f"{cid:05d} {day} {cds:4d} {dollars:8.2f}" for cid, day, cds, dollars in rows(seed)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    PATH.write_text(text(), encoding="ascii")
    print(f"wrote {PATH}")
