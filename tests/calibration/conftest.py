"""Fixtures of the calibration tests."""

from __future__ import annotations

import pytest

from loyalty_sim.calibration.logs import read_log

from ..btyd.published import CDNOW


@pytest.fixture(scope="session")
def cdnow():
    """The CDNOW calibration summary (to 1997-09-30, holdout to 1998-06-30)."""
    return read_log(CDNOW, duplicates="keep").rfm(calibration_end="1997-09-30", observation_end="1998-06-30")
