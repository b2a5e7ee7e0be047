"""Shared CDNOW fixtures of the BTYD tests: the sample log, its calibration summary and the three fits."""

from __future__ import annotations

import pytest

from loyalty_sim import btyd as F
from loyalty_sim.calibration.logs import read_log

from .published import CDNOW


@pytest.fixture(scope="session")
def cdnow_log():
    return read_log(CDNOW, duplicates="keep")


@pytest.fixture(scope="session")
def cdnow(cdnow_log):
    return cdnow_log.rfm(calibration_end="1997-09-30", observation_end="1998-06-30")


@pytest.fixture(scope="session")
def fits(cdnow):
    return {"bgnbd": F.fit_bgnbd(cdnow), "pareto_nbd": F.fit_pareto_nbd(cdnow),
            "gamma_gamma": F.fit_gamma_gamma(cdnow)}
