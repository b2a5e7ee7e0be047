"""Reading and validating transaction logs: errors name the file, the column and the rows."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loyalty_sim.btyd.rfm import rfm_summary
from loyalty_sim.calibration.logs import ColumnMap, read_log, summarise_log
from loyalty_sim.errors import ConfigError, DataError

CDNOW = Path(__file__).resolve().parents[2] / "loyalty_sim" / "datasets" / "CDNOW_sample.txt"
TODAY = "2025-01-01"
HEADER = "customer_id,timestamp,amount\n"


def write(tmp_path: Path, text: str, name: str = "log.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def assert_names(err: DataError, path: Path, column: str, rows: list[int]) -> None:
    """The message names the file, the column and the rows (1-based lines, header = 1)."""
    text = str(err)
    assert str(path) in text
    assert f"column '{column}'" in text
    assert err.rows[: len(rows)] == rows
    assert "rows " + ", ".join(str(r) for r in rows[:5]) in text


# --------------------------------------------------------------------------- reading


def test_reads_a_clean_csv(tmp_path):
    path = write(tmp_path, HEADER + "1,2024-01-02,3.5\n2,2024-01-03 10:15:00,4\n1,2024-01-05,1.25\n")
    log = read_log(path, today=TODAY)
    assert list(log.data.columns) == ["customer_id", "timestamp", "amount"]
    assert log.data["customer_id"].dtype == np.int64
    assert pd.api.types.is_datetime64_any_dtype(log.data["timestamp"])
    assert log.data["amount"].tolist() == [3.5, 4.0, 1.25]
    rep = log.report
    assert (rep.n_rows_read, rep.n_rows, rep.n_customers, rep.n_returns, rep.n_duplicates) == (3, 3, 2, 0, 0)
    assert rep.to_dict()["columns"] == {"customer_id": "customer_id", "timestamp": "timestamp",
                                         "amount": "amount"}


def test_column_mapping_and_optional_columns(tmp_path):
    path = write(tmp_path, "cust,day,value,qty,cat,shop,note\n"
                           "A7,2024-01-02,3.5,2,coffee,s1,x\nA8,2024-01-03,4,,tea,s2,y\n")
    log = read_log(path, columns={"customer_id": "cust", "date": "day", "amount": "value", "quantity": "qty",
                                  "category": "cat", "store_id": "shop"}, today=TODAY)
    assert list(log.data.columns) == ["customer_id", "timestamp", "amount", "quantity", "category", "store_id"]
    assert log.data["customer_id"].tolist() == ["A7", "A8"]
    assert np.isnan(log.data["quantity"].iloc[1])
    assert log.data["category"].tolist() == ["coffee", "tea"]
    same = read_log(path, columns=ColumnMap(customer_id="cust", timestamp="day", amount="value", quantity="qty",
                                            category="cat", store_id="shop"), today=TODAY)
    pd.testing.assert_frame_equal(log.data, same.data)


def test_date_column_is_found_by_name(tmp_path):
    path = write(tmp_path, "customer_id,date,amount\n1,2024-01-02,3\n")
    assert read_log(path, today=TODAY).report.columns["timestamp"] == "date"


def test_text_ids_keep_leading_zeros(tmp_path):
    path = write(tmp_path, HEADER + "007,2024-01-02,1\n7,2024-01-03,1\n")
    log = read_log(path, today=TODAY)
    assert log.data["customer_id"].tolist() == ["007", "7"]
    assert log.report.n_customers == 2


def test_bad_options_are_config_errors(tmp_path):
    path = write(tmp_path, HEADER + "1,2024-01-02,1\n")
    with pytest.raises(ConfigError, match="returns"):
        read_log(path, returns="ignore")
    with pytest.raises(ConfigError, match="duplicates"):
        read_log(path, duplicates="maybe")
    with pytest.raises(ConfigError, match="columns.client"):
        read_log(path, columns={"client": "customer_id"})
    with pytest.raises(ConfigError, match="window"):
        read_log(path, window=("2024-02-01", "2024-01-01"))
    with pytest.raises(ConfigError, match="format"):
        read_log(write(tmp_path, "x", "log.dat"))
    with pytest.raises(DataError, match="file not found"):
        read_log(tmp_path / "nope.csv")


# --------------------------------------------------------------------------- malformed logs


def test_missing_required_column(tmp_path):
    path = write(tmp_path, "customer_id,timestamp,value\n1,2024-01-02,3\n")
    with pytest.raises(DataError) as info:
        read_log(path, today=TODAY)
    assert_names(info.value, path, "amount", [1])
    assert "columns present" in str(info.value) and "'value'" in str(info.value)


def test_unparseable_date(tmp_path):
    path = write(tmp_path, HEADER + "1,2024-01-02,3\n2,2024-13-45,3\n3,yesterday,1\n4,2024-01-03,2\n")
    with pytest.raises(DataError) as info:
        read_log(path, today=TODAY)
    assert_names(info.value, path, "timestamp", [3, 4])
    assert "'yesterday'" in str(info.value) and "--date-format" in str(info.value)


def test_date_format_option(tmp_path):
    path = write(tmp_path, HEADER + "1,02/01/2024,3\n")
    assert read_log(path, date_format="%d/%m/%Y", today=TODAY).data["timestamp"].iloc[0] == pd.Timestamp("2024-01-02")
    with pytest.raises(DataError, match="not settled") as info:
        read_log(path, today=TODAY)   # day/month order the data do not settle is never guessed
    assert "--date-format %d/%m/%Y" in str(info.value) and "'02/01/2024'" in str(info.value)


def test_non_numeric_amount(tmp_path):
    path = write(tmp_path, HEADER + "1,2024-01-02,3\n2,2024-01-02,12 EUR\n3,2024-01-02,4\n")
    with pytest.raises(DataError, match="non-numeric amount") as info:
        read_log(path, today=TODAY)
    assert_names(info.value, path, "amount", [3])
    assert "'12 EUR'" in str(info.value)


def test_missing_amount(tmp_path):
    path = write(tmp_path, HEADER + "1,2024-01-02,3\n2,2024-01-02,\n3,2024-01-02, \n")
    with pytest.raises(DataError, match="missing amount") as info:
        read_log(path, today=TODAY)
    assert_names(info.value, path, "amount", [3, 4])


def test_missing_customer_and_date(tmp_path):
    path = write(tmp_path, HEADER + "1,2024-01-02,3\n,2024-01-02,3\n")
    with pytest.raises(DataError, match="missing customer id") as info:
        read_log(path, today=TODAY)
    assert_names(info.value, path, "customer_id", [3])
    path = write(tmp_path, HEADER + "1,2024-01-02,3\n2,,3\n", "nodate.csv")
    with pytest.raises(DataError, match="missing date") as info:
        read_log(path, today=TODAY)
    assert_names(info.value, path, "timestamp", [3])


def test_future_date(tmp_path):
    path = write(tmp_path, HEADER + "1,2024-01-02,3\n2,2030-06-01,3\n")
    with pytest.raises(DataError, match="in the future") as info:
        read_log(path, today="2024-06-30")
    assert_names(info.value, path, "timestamp", [3])
    assert "2024-06-30" in str(info.value)


def test_date_outside_the_stated_window(tmp_path):
    path = write(tmp_path, HEADER + "1,2023-12-31,3\n2,2024-01-01,3\n3,2024-03-31 23:59,1\n4,2024-04-01,1\n")
    with pytest.raises(DataError, match="outside the stated window") as info:
        read_log(path, window=("2024-01-01", "2024-03-31"), today=TODAY)
    assert_names(info.value, path, "timestamp", [2, 5])


def test_malformed_row_names_the_line(tmp_path):
    path = write(tmp_path, HEADER + "1,2024-01-02,3\n2,2024-01-02,3,oops\n")
    with pytest.raises(DataError, match="line 3") as info:
        read_log(path, today=TODAY)
    assert str(path) in str(info.value)


def test_blank_lines_are_counted_and_line_numbers_stay_exact(tmp_path):
    path = write(tmp_path, HEADER + "1,2024-01-02,3\n\n2,2024-01-03,3\n3,bad,1\n")
    with pytest.raises(DataError) as info:
        read_log(path, today=TODAY)
    assert_names(info.value, path, "timestamp", [5])
    ok = write(tmp_path, HEADER + "1,2024-01-02,3\n\n2,2024-01-03,3\n", "ok.csv")
    log = read_log(ok, today=TODAY)
    assert log.report.n_blank_lines == 1 and len(log) == 2


# --------------------------------------------------------------------------- returns and duplicates

RETURNS_LOG = HEADER + "1,2024-01-01,10\n1,2024-01-08,50\n1,2024-01-08,-20\n1,2024-01-15,40\n2,2024-01-02,5\n"


def test_returns_error_lists_the_rows(tmp_path):
    path = write(tmp_path, RETURNS_LOG)
    with pytest.raises(DataError, match="negative amount") as info:
        read_log(path, today=TODAY)
    assert_names(info.value, path, "amount", [4])
    assert "--returns drop" in str(info.value) and "--returns net" in str(info.value)


def test_returns_drop(tmp_path):
    log = read_log(write(tmp_path, RETURNS_LOG), returns="drop", today=TODAY)
    assert (log.report.n_returns, log.report.n_returns_dropped, len(log)) == (1, 1, 4)
    assert (log.data["amount"] >= 0).all()
    assert rfm_summary(log).loc[1, "monetary_value"] == pytest.approx(45.0)


def test_returns_net(tmp_path):
    log = read_log(write(tmp_path, RETURNS_LOG), returns="net", today=TODAY)
    assert (log.report.n_returns, log.report.n_returns_dropped, len(log)) == (1, 0, 5)
    rfm = rfm_summary(log)
    assert rfm.loc[1, "frequency"] == 2
    assert rfm.loc[1, "monetary_value"] == pytest.approx((30 + 40) / 2)


DUP_LOG = HEADER + "1,2024-01-01,10\n1,2024-01-01,10\n2,2024-01-02,5\n1,2024-01-01,10\n1,2024-01-01,10.5\n"


def test_duplicates_error_lists_the_rows_and_their_first_copy(tmp_path):
    path = write(tmp_path, DUP_LOG)
    with pytest.raises(DataError, match="exact duplicate") as info:
        read_log(path, duplicates="error", today=TODAY)
    assert_names(info.value, path, "(all columns)", [3, 5])
    assert "3 (repeats line 2)" in str(info.value) and "5 (repeats line 2)" in str(info.value)


@pytest.mark.parametrize("option, n_kept", [("drop", 3), ("keep", 5)])
def test_duplicates_drop_and_keep(tmp_path, option, n_kept):
    log = read_log(write(tmp_path, DUP_LOG), duplicates=option, today=TODAY)
    assert log.report.n_duplicates == 2
    assert log.report.n_duplicates_dropped == (2 if option == "drop" else 0)
    assert len(log) == n_kept


def test_duplicates_are_found_across_chunks_and_other_columns_count(tmp_path):
    rows = [f"{i % 7},2024-01-{1 + i % 20:02d},{i % 5}.5,order{i}" for i in range(60)]
    rows.insert(45, rows[3])                     # exact copy of line 5, far away
    rows.insert(50, rows[4].replace("order4", "order99"))  # differs in an unmapped column: not a duplicate
    path = write(tmp_path, "customer_id,timestamp,amount,order\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError) as info:
        read_log(path, chunksize=10, duplicates="error", today=TODAY)
    assert info.value.rows == [47]
    assert "repeats line 5" in str(info.value)
    log = read_log(path, chunksize=10, duplicates="drop", today=TODAY)
    assert log.report.n_duplicates == 1 and len(log) == 61


def test_cdnow_exact_duplicates_are_kept_by_default_and_refused_on_request(tmp_path):
    with pytest.raises(DataError, match="--duplicates drop") as info:
        read_log(CDNOW, duplicates="error")
    assert str(CDNOW) in str(info.value) and info.value.rows
    log = read_log(CDNOW)
    rep = log.report
    assert (rep.format, rep.n_rows, rep.n_customers, rep.n_duplicates) == ("cdnow", 6919, 2357, 21)
    assert log.data["customer_id"].dtype == np.int64
    assert set(log.data.columns) == {"customer_id", "timestamp", "amount", "quantity"}
    assert log.data["timestamp"].min() == pd.Timestamp("1997-01-01")
    assert log.data["timestamp"].max() == pd.Timestamp("1998-06-30")
    assert rep.n_duplicates_dropped == 0 and rep.duplicates == "keep"


# --------------------------------------------------------------------------- files and chunks


def test_input_file_is_never_modified(tmp_path):
    path = write(tmp_path, RETURNS_LOG + "3,2024-01-09,7\n")
    os.chmod(path, 0o444)
    before = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns, path.stat().st_size)
    read_log(path, returns="net", today=TODAY)
    read_log(path, returns="drop", chunksize=2, today=TODAY)
    summarise_log(path, returns="net", chunksize=2, today=TODAY)
    with pytest.raises(DataError):
        read_log(path, today=TODAY)
    after = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns, path.stat().st_size)
    assert before == after
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]   # nothing written beside it


def _random_csv(tmp_path: Path, seed: int = 3, n: int = 5000) -> tuple[Path, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = np.where(rng.random(n) < 0.1, [f"C{i}" for i in rng.integers(0, 400, n)],
                   rng.integers(0, 400, n).astype(str))
    frame = pd.DataFrame({
        "customer_id": ids,
        "timestamp": (pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 500, n), unit="D")
                      + pd.to_timedelta(rng.integers(0, 24, n), unit="h")).strftime("%Y-%m-%d %H:%M"),
        "amount": np.round(rng.gamma(2.0, 12.0, n) * np.where(rng.random(n) < 0.03, -1, 1), 2),
    })
    path = tmp_path / "random.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_chunked_summary_equals_in_memory_summary(tmp_path):
    path, _ = _random_csv(tmp_path)
    opts = dict(returns="net", duplicates="keep", today=TODAY)
    in_memory = rfm_summary(read_log(path, **opts), calibration_end="2023-12-31", observation_end="2024-05-14")
    chunked = summarise_log(path, chunksize=700, calibration_end="2023-12-31", observation_end="2024-05-14", **opts)
    pd.testing.assert_frame_equal(in_memory, chunked, check_like=False)
    assert chunked.attrs["log_report"]["n_rows_read"] == 5000
    # the slower pandas reader (used for compressed files) gives the same summary
    gz = tmp_path / "random.csv.gz"
    with gzip.open(gz, "wb") as fh:
        fh.write(path.read_bytes())
    via_pandas = summarise_log(gz, chunksize=900, calibration_end="2023-12-31", observation_end="2024-05-14", **opts)
    pd.testing.assert_frame_equal(in_memory, via_pandas)


def test_ids_that_turn_to_text_in_a_later_chunk(tmp_path):
    rows = [f"{i % 9},2024-01-{1 + i % 28:02d},{1 + i}" for i in range(40)] + ["X1,2024-02-01,3", "5,2024-02-02,4"]
    path = write(tmp_path, HEADER + "\n".join(rows) + "\n")
    whole = read_log(path, today=TODAY)
    chunked = read_log(path, chunksize=8, today=TODAY)
    pd.testing.assert_frame_equal(whole.data, chunked.data)
    assert set(whole.data["customer_id"]) == {*(str(i) for i in range(9)), "X1"}
    pd.testing.assert_frame_equal(rfm_summary(whole), summarise_log(path, chunksize=8, today=TODAY))


def test_parquet_rows_are_numbered_from_one(tmp_path):
    frame = pd.DataFrame({"cust": [1, 2, 3], "when": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
                          "spend": [1.0, np.nan, 2.0]})
    path = tmp_path / "log.parquet"
    frame.to_parquet(path)
    cols = {"customer_id": "cust", "timestamp": "when", "amount": "spend"}
    with pytest.raises(DataError, match="missing amount") as info:
        read_log(path, columns=cols, today=TODAY)
    assert_names(info.value, path, "spend", [2])
    frame["spend"] = [1.0, 5.0, 2.0]
    frame.to_parquet(path)
    log = read_log(path, columns=cols, today=TODAY)
    assert log.report.format == "parquet" and log.data["amount"].tolist() == [1.0, 5.0, 2.0]
    pd.testing.assert_frame_equal(rfm_summary(log), summarise_log(path, columns=cols, today=TODAY, chunksize=1))


def test_timezone_aware_timestamps_keep_their_wall_clock_day(tmp_path):
    path = write(tmp_path, HEADER + "1,2024-01-02T23:30:00+05:00,3\n1,2024-01-02T08:00:00+05:00,4\n")
    log = read_log(path, today=TODAY)
    assert (log.data["timestamp"].dt.date == pd.Timestamp("2024-01-02").date()).all()
    assert rfm_summary(log, resolution="day").loc[1, "frequency"] == 0   # one day, one transaction
    assert rfm_summary(log).loc[1, "frequency"] == 1   # two stamps with times of day: two transactions


def test_error_text_format_is_stable(tmp_path):
    path = write(tmp_path, HEADER + "1,2024-01-02,abc\n")
    with pytest.raises(DataError) as info:
        read_log(path, today=TODAY)
    assert re.match(rf"^{re.escape(str(path))}: column 'amount': rows 2: non-numeric amount", str(info.value))


def test_windows_line_endings_and_a_log_with_no_rows(tmp_path):
    path = tmp_path / "crlf.csv"
    path.write_bytes(b"customer_id,timestamp,amount\r\n1,2024-01-02,3\r\n\r\n2,bad,1\r\n")
    with pytest.raises(DataError) as info:
        read_log(path, today=TODAY)
    assert_names(info.value, path, "timestamp", [4])
    empty = write(tmp_path, HEADER, "empty.csv")
    log = read_log(empty, today=TODAY)
    assert len(log) == 0 and log.report.columns["amount"] == "amount"
    with pytest.raises(DataError, match="no purchases") as info:
        summarise_log(empty, today=TODAY)
    assert str(empty) in str(info.value)


def test_cdnow_chunked_summary_equals_in_memory():
    opts = dict(calibration_end="1997-09-30", observation_end="1998-06-30")
    whole = rfm_summary(read_log(CDNOW, duplicates="keep"), **opts)
    chunked = summarise_log(CDNOW, duplicates="keep", chunksize=500, **opts)
    pd.testing.assert_frame_equal(whole, chunked)
    assert chunked.attrs["log_report"]["n_duplicates"] == 21
