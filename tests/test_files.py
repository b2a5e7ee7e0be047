"""JSON conversion shared by every command's --json output."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from loyalty_sim.files import to_jsonable


def test_to_jsonable_turns_numpy_nan_dates_and_objects_into_json():
    class WithDict:
        def to_dict(self):
            return {"x": np.float32(1.5)}

    obj = {1: np.int64(3), "a": [np.float64("nan"), np.inf, np.bool_(True)], "arr": np.arange(2),
           "day": pd.Timestamp("2026-04-27"), "time": pd.Timestamp("2026-04-27 10:30"), "p": Path("a/b"),
           "o": WithDict(), "none": None}
    out = to_jsonable(obj)
    assert out == {"1": 3, "a": [None, None, True], "arr": [0, 1], "day": "2026-04-27",
                   "time": "2026-04-27T10:30:00", "p": "a/b", "o": {"x": 1.5}, "none": None}
    assert json.loads(json.dumps(out, allow_nan=False)) == out
    assert not any(isinstance(v, float) and math.isnan(v) for v in out["a"] if v is not None)
