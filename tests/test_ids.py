"""Id normalisation: ids.py is the one rule, and read_log keeps a log's ids by the same rule."""

from __future__ import annotations

import numpy as np
import pandas as pd

from loyalty_sim.ids import id_text, merge_codes, normalise_ids
from loyalty_sim.logs import read_log

TRICKY = ["007", " 7", "7", "+7", "7.0", "1_000", "'-c7", "-c8", " a b ", "10", "2", "x\u00e9"]


def test_tricky_ids_normalise_as_read_log_keeps_them(tmp_path):
    """A log with tricky ids, read by read_log, and the same ids as raw text agree once normalised."""
    log = pd.DataFrame({"customer_id": TRICKY, "timestamp": pd.date_range("2026-01-05", periods=len(TRICKY)),
                        "amount": np.arange(1.0, len(TRICKY) + 1)})
    path = tmp_path / "log.csv"
    log.to_csv(path, index=False)
    kept = read_log(path, returns="error", duplicates="keep").data
    by_amount = dict(zip(kept["amount"], normalise_ids(kept["customer_id"].to_numpy())))
    expected = dict(zip(log["amount"], normalise_ids(np.array(TRICKY, dtype=object))))
    assert by_amount == expected


def test_integer_logs_normalise_as_text_of_the_integers(tmp_path):
    ids = [5, 10, 2**40, 0]
    log = pd.DataFrame({"customer_id": ids, "timestamp": pd.date_range("2026-01-05", periods=4), "amount": [1.0] * 4})
    path = tmp_path / "log.csv"
    log.to_csv(path, index=False)
    kept = read_log(path).data
    assert sorted(normalise_ids(kept["customer_id"].to_numpy())) == sorted(normalise_ids(np.array(ids)))
    assert list(normalise_ids(np.array([7, 7.0, 1e20, 2**70, None, float("nan")], dtype=object))) == \
        ["7", "7", "1e+20", str(2**70), "", ""]


def test_id_text_and_merge_codes():
    assert (id_text(7.0), id_text(" 007 "), id_text(None), id_text(np.int64(3))) == ("7", "007", "", "3")
    codes, keys = merge_codes(np.array([0, 1, 2, -1]), normalise_ids(np.array(["7", " 7", "8"], dtype=object)))
    assert list(codes) == [0, 0, 1, -1] and list(keys) == ["7", "8"]
