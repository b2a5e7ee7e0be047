"""RFM summaries: the BTYD conventions, holdout split, refunds, chunked accumulation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_sim.errors import ConfigError, DataError
from loyalty_sim.logs import read_log
from loyalty_sim.rfm import DailyAccumulator, EventAccumulator, IdCoder, rfm_from_daily, rfm_from_events, rfm_summary, unit_days

CDNOW = Path(__file__).resolve().parents[1] / "data" / "CDNOW_sample.txt"


def _log(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount"]).assign(
        timestamp=lambda d: pd.to_datetime(d["timestamp"], format="ISO8601"))


HAND_LOG = [
    ("a", "2024-01-01 09:00", 10.0),
    ("a", "2024-01-01 17:00", 5.0),     # same day: one transaction of 15 by day
    ("a", "2024-01-08", 20.0),
    ("a", "2024-01-22", 40.0),
    ("b", "2024-01-15", 7.0),
    ("a", "2024-02-05", 99.0),          # holdout
    ("c", "2024-02-01", 3.0),           # first purchase after calibration: not in the cohort
]


def test_hand_computed_summary():
    log = _log(HAND_LOG)
    rfm = rfm_summary(log, calibration_end="2024-01-29", observation_end="2024-02-12", resolution="day")
    assert list(rfm.index) == ["a", "b"]
    a, b = rfm.loc["a"], rfm.loc["b"]
    assert a["frequency"] == 2                       # Jan 8 and Jan 22 are repeats
    assert a["recency"] == pytest.approx(21 / 7)
    assert a["T"] == pytest.approx(28 / 7)
    assert a["monetary_value"] == pytest.approx(30.0)  # mean of 20 and 40: first purchase left out
    assert a["frequency_holdout"] == 1 and a["monetary_value_holdout"] == pytest.approx(99.0)
    assert b["frequency"] == 0 and b["recency"] == 0 and np.isnan(b["monetary_value"])
    assert b["T"] == pytest.approx(14 / 7)
    assert (rfm["duration_holdout"] == 2.0).all()
    assert rfm.attrs["n_customers_after_calibration"] == 1
    assert rfm.attrs["calibration_end"] == "2024-01-29"
    assert rfm.attrs["resolution"] == "day"


def test_hand_computed_summary_in_continuous_time():
    # the stamps carry times of day, so by default each distinct stamp is a transaction and
    # times run from the stamps; the calibration period ends at the midnight closing Jan 29
    log = _log(HAND_LOG)
    rfm = rfm_summary(log, calibration_end="2024-01-29", observation_end="2024-02-12")
    assert rfm.attrs["resolution"] == "exact"
    assert list(rfm.index) == ["a", "b"]
    a, b = rfm.loc["a"], rfm.loc["b"]
    assert a["frequency"] == 3                       # Jan 1 17:00, Jan 8 and Jan 22 are repeats
    assert a["recency"] == pytest.approx((21 - 9 / 24) / 7)
    assert a["T"] == pytest.approx((29 - 9 / 24) / 7)
    assert a["monetary_value"] == pytest.approx(65.0 / 3)
    assert a["frequency_holdout"] == 1 and a["monetary_value_holdout"] == pytest.approx(99.0)
    assert b["frequency"] == 0 and b["recency"] == 0 and np.isnan(b["monetary_value"])
    assert b["T"] == pytest.approx(15 / 7)
    assert (rfm["duration_holdout"] == 2.0).all()
    assert rfm.attrs["n_customers_after_calibration"] == 1


def test_exact_resolution_merges_only_identical_stamps_and_nets_refunds():
    log = _log([
        ("a", "2024-01-01 09:00", 10.0),
        ("a", "2024-01-01 09:00", 5.0),      # the very same stamp: one transaction of 15
        ("a", "2024-01-01 09:00:01", 1.0),   # a second later: another
        ("a", "2024-01-03 10:00", -1.0),     # refund: nets into the latest earlier purchase
        ("b", "2024-01-02 08:00", -3.0),     # refund before any purchase: dropped
        ("b", "2024-01-08 12:00", 4.0),
    ])
    rfm = rfm_summary(log, observation_end="2024-01-14")
    assert rfm.loc["a", "frequency"] == 1 and rfm.loc["a", "monetary_value"] == pytest.approx(0.0)
    assert rfm.loc["a", "recency"] == pytest.approx(1 / 86400 / 7)
    assert rfm.loc["b", "T"] == pytest.approx(6.5 / 7)
    assert rfm.attrs["n_unmatched_returns"] == 1
    # a date-only log keeps the daily convention
    dates = log.assign(timestamp=log["timestamp"].dt.normalize())
    assert rfm_summary(dates, observation_end="2024-01-14").attrs["resolution"] == "day"
    with pytest.raises(ConfigError):
        rfm_summary(log, resolution="hour")


def test_without_split_observation_end_defaults_to_last_purchase():
    log = _log([("x", "2024-01-01", 1.0), ("x", "2024-01-15", 2.0), ("y", "2024-01-29", 3.0)])
    rfm = rfm_summary(log)
    assert "frequency_holdout" not in rfm
    assert rfm.loc["x", "T"] == pytest.approx(4.0) and rfm.loc["y", "T"] == 0.0
    assert rfm.attrs["observation_end"] == "2024-01-29"


@pytest.mark.parametrize("unit, days", [("D", 1.0), ("W", 7.0), ("M", 365.25 / 12), (14, 14.0)])
def test_time_units(unit, days):
    log = _log([("x", "2024-01-01", 1.0), ("x", "2024-03-01", 2.0)])
    rfm = rfm_summary(log, observation_end="2024-04-01", time_unit=unit)
    assert rfm.loc["x", "recency"] == pytest.approx(60 / days)
    assert rfm.loc["x", "T"] == pytest.approx(91 / days)
    assert unit_days(unit) == pytest.approx(days)


@pytest.mark.parametrize("bad", ["fortnight", 0, -1, "nan"])
def test_bad_time_unit_names_the_field(bad):
    with pytest.raises(ConfigError, match="time_unit"):
        unit_days(bad)


def test_calibration_after_observation_end_is_a_config_error():
    log = _log([("x", "2024-01-01", 1.0)])
    with pytest.raises(ConfigError, match="calibration_end"):
        rfm_summary(log, calibration_end="2024-03-01", observation_end="2024-02-01")


def test_refunds_are_netted_against_purchases():
    log = _log([
        ("a", "2024-01-01", 10.0),
        ("a", "2024-01-08", 50.0),
        ("a", "2024-01-08", -20.0),   # same-day refund: the day is worth 30
        ("a", "2024-01-15", 40.0),
        ("a", "2024-01-17", -10.0),   # refund-only day: nets into Jan 15 (worth 30); not a transaction
        ("b", "2024-01-02", -5.0),    # refund before any purchase: unmatched, dropped
        ("b", "2024-01-03", 8.0),
    ])
    rfm = rfm_summary(log, observation_end="2024-01-31")
    assert rfm.loc["a", "frequency"] == 2
    assert rfm.loc["a", "recency"] == pytest.approx(2.0)
    assert rfm.loc["a", "monetary_value"] == pytest.approx(30.0)
    assert rfm.loc["b", "frequency"] == 0
    assert rfm.attrs["n_unmatched_returns"] == 1


def test_missing_columns_and_values_are_data_errors():
    with pytest.raises(DataError, match="amount"):
        rfm_summary(pd.DataFrame({"customer_id": [1], "timestamp": pd.to_datetime(["2024-01-01"])}))
    bad = _log([("x", "2024-01-01", 1.0), ("y", "2024-01-02", np.nan)])
    with pytest.raises(DataError, match="rows 2"):
        rfm_summary(bad)


def test_cdnow_summary_matches_the_published_cohort():
    rfm = rfm_summary(read_log(CDNOW, duplicates="keep"), calibration_end="1997-09-30",
                      observation_end="1998-06-30")
    # 2,357 customers, 946 of them repeat in the 39-week calibration period (FHL 2005);
    # the calibration and holdout repeat-transaction totals are regression values.
    assert len(rfm) == 2357
    assert int((rfm["frequency"] > 0).sum()) == 946
    assert int(rfm["frequency"].sum()) == 2457
    assert int(rfm["frequency_holdout"].sum()) == 1882
    # customer 1: purchases 1997-01-01, 01-18, 08-02 (calibration) and 12-12 (holdout)
    one = rfm.loc[1]
    assert one["frequency"] == 2 and one["T"] == pytest.approx(272 / 7)
    assert one["recency"] == pytest.approx(213 / 7)
    assert one["monetary_value"] == pytest.approx((29.73 + 14.96) / 2)


def test_id_coder_is_stable_across_chunks_and_kinds():
    coder = IdCoder()
    first = coder.encode(np.array([5, 7, 5]))
    assert list(first) == [0, 1, 0] and coder.kind == "int"
    second = coder.encode(np.array(["7", "x"], dtype=object))   # text arrives: ints become text
    assert list(second) == [1, 2] and coder.kind == "str"
    assert list(coder.index) == ["5", "7", "x"]
    assert list(coder.encode(np.array([5]))) == [0]


def _random_log(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 120, n)
    return pd.DataFrame({
        "customer_id": rng.integers(0, max(n // 5, 1), n),
        "timestamp": pd.Timestamp("2024-01-01") + pd.to_timedelta(days, unit="D")
        + pd.to_timedelta(rng.integers(0, 86_400, n), unit="s"),
        "amount": np.round(rng.gamma(2.0, 10.0, n) * np.where(rng.random(n) < 0.05, -1, 1), 2),
    })


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 300), cuts=st.lists(st.integers(0, 300), max_size=6))
def test_chunked_accumulation_equals_one_shot(seed, n, cuts):
    log = _random_log(seed, n)
    log.loc[0, "amount"] = abs(log.loc[0, "amount"]) + 1.0   # at least one purchase
    one = rfm_summary(log, calibration_end="2024-03-01", observation_end="2024-04-29", resolution="day")
    exact = rfm_summary(log, calibration_end="2024-03-01", observation_end="2024-04-29")
    assert exact.attrs["resolution"] == "exact"
    acc = DailyAccumulator(compact_every=7)
    events = EventAccumulator(compact_every=7)
    bounds = sorted({0, n, *[c for c in cuts if c < n]})
    days = log["timestamp"].to_numpy().astype("datetime64[D]").astype(np.int64)
    ns = log["timestamp"].to_numpy().astype("datetime64[ns]").astype(np.int64)
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        acc.add(log["customer_id"].to_numpy()[lo:hi], days[lo:hi], log["amount"].to_numpy()[lo:hi])
        events.add(log["customer_id"].to_numpy()[lo:hi], ns[lo:hi], log["amount"].to_numpy()[lo:hi])
    chunked = rfm_from_daily(*acc.daily(), calibration_end="2024-03-01", observation_end="2024-04-29")
    chunked.attrs["resolution"] = "day"
    pd.testing.assert_frame_equal(one, chunked)
    pd.testing.assert_frame_equal(exact, rfm_from_events(*events.events(), calibration_end="2024-03-01",
                                                         observation_end="2024-04-29"))
    by_day = rfm_from_daily(*events.daily(), calibration_end="2024-03-01", observation_end="2024-04-29")
    by_day.attrs["resolution"] = "day"
    pd.testing.assert_frame_equal(one, by_day)
    # invariants of any summary; by day, never more transactions than exactly
    for summary in (one, exact):
        assert (summary["frequency"] >= 0).all()
        assert ((summary["recency"] >= 0) & (summary["recency"] <= summary["T"])).all()
        assert (summary["monetary_value"].isna() == (summary["frequency"] == 0)).all()
    assert list(exact.index) == list(one.index)
    assert (exact["frequency"] >= one["frequency"]).all()
