"""The CDNOW sample and the estimates published for it (Fader, Hardie & Lee 2005; Fader & Hardie 2005)."""

from __future__ import annotations

from pathlib import Path

CDNOW = Path(__file__).resolve().parents[2] / "loyalty_sim" / "datasets" / "CDNOW_sample.txt"

BGNBD_PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
BGNBD_LL = -9582.4
PARETO_PUBLISHED = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
PARETO_LL = -9595.0
GG_PUBLISHED = {"p": 6.25, "q": 3.74, "gamma": 15.44}
