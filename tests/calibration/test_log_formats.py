"""Real logs as they come: both CDNOW layouts, header lines, separators, day/month orders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loyalty_sim.calibration.logs import read_log, summarise_log
from loyalty_sim.dates import parse_iso_date
from loyalty_sim.errors import ConfigError, DataError

from .data import make_cdnow_master as master

TODAY = "2025-01-01"


def write(tmp_path: Path, text: str, name: str = "log.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- CDNOW master layout


def test_shipped_master_file_is_what_its_generator_writes():
    assert master.PATH.read_text(encoding="ascii") == master.text()


def test_cdnow_master_layout_reads_with_format_cdnow():
    log = read_log(master.PATH, format="cdnow")
    rows = master.rows()
    rep = log.report
    assert rep.header is True and rep.separator == "whitespace"
    assert (rep.n_rows_read, rep.n_rows) == (len(rows), len(rows))
    assert rep.n_customers == len({r[0] for r in rows}) == master.N_CUSTOMERS + 1
    assert (rep.n_duplicates, rep.n_duplicates_dropped, rep.n_zero_amounts) == (1, 0, 1)
    assert log.data["customer_id"].tolist() == [r[0] for r in rows]
    assert log.data["timestamp"].dt.strftime("%Y%m%d").tolist() == [r[1] for r in rows]
    assert log.data["quantity"].tolist() == [r[2] for r in rows]
    np.testing.assert_allclose(log.data["amount"], [r[3] for r in rows], rtol=0, atol=1e-9)


def test_cdnow_master_layout_without_its_header_line_and_with_chunks(tmp_path):
    body = master.text().split("\n", 1)[1]
    path = write(tmp_path, body, "master.txt")
    with_header = read_log(master.PATH, format="cdnow")
    log = read_log(path, format="cdnow", chunksize=17)
    assert log.report.header is False
    pd.testing.assert_frame_equal(log.data, with_header.data)
    # lines are the file's own: without the header the first row is line 1
    bad = write(tmp_path, body.replace(" 19970310 ", " 1997031X ", 1), "bad.txt")
    with pytest.raises(DataError, match="unparseable date") as info:
        read_log(bad, format="cdnow")
    assert info.value.rows == [1]
    assert summarise_log(master.PATH, format="cdnow").shape[0] == master.N_CUSTOMERS + 1


def test_cdnow_with_another_layout_shows_the_lines_and_the_way_out(tmp_path):
    path = write(tmp_path, "00001 19970101 2\n00002 19970102 1\n", "three.txt")
    with pytest.raises(DataError) as info:
        read_log(path, format="cdnow")
    text = str(info.value)
    assert "found 3 column(s)" in text and "line 1: '00001 19970101 2'" in text
    assert "--format csv --separator whitespace" in text and "--column customer=N" in text


# --------------------------------------------------------------------------- separators and header lines


@pytest.mark.parametrize("sep, word", [(";", "semicolon"), ("\t", "tab"), ("|", "bar"), ("   ", "whitespace")])
def test_separator_is_detected(tmp_path, sep, word):
    rows = ["customer_id", "timestamp", "amount"], ["1", "2024-01-02", "3.5"], ["2", "2024-01-03", "4"]
    path = write(tmp_path, "\n".join(sep.join(r) for r in rows) + "\n", "log.csv")
    log = read_log(path, today=TODAY)
    assert log.report.separator == word and log.report.header is True
    assert log.data["amount"].tolist() == [3.5, 4.0]
    assert log.data["customer_id"].tolist() == [1, 2]


def test_separator_that_cannot_be_told_shows_the_lines_and_the_flag(tmp_path):
    path = write(tmp_path, "customer_id,timestamp;amount\n1;2024-01-02;3\n2,2024-01-03,4\n")
    with pytest.raises(DataError, match="cannot tell the field separator") as info:
        read_log(path, today=TODAY)
    text = str(info.value)
    assert "line 1: 'customer_id,timestamp;amount'" in text and "--separator" in text


def test_separator_given_by_word_or_character(tmp_path):
    path = write(tmp_path, "customer_id;timestamp;amount\n1;2024-01-02;3\n")
    assert read_log(path, separator="semicolon", today=TODAY).data["amount"].tolist() == [3.0]
    assert read_log(path, separator=";", today=TODAY).data["amount"].tolist() == [3.0]
    with pytest.raises(ConfigError, match="separator"):
        read_log(path, separator="x", today=TODAY)


def test_log_without_header_says_which_columns_it_found_and_what_to_pass(tmp_path):
    path = write(tmp_path, "17,2024-01-02,3.5\n18,2024-01-03,4\n")
    with pytest.raises(DataError) as info:
        read_log(path, today=TODAY)
    text = str(info.value)
    assert "the first line looks like data" in text
    assert "found 3 column(s) separated by comma" in text and "1: '17', 2: '2024-01-02', 3: '3.5'" in text
    assert "--column customer=1 --column date=2 --column amount=3" in text and "--header yes" in text
    log = read_log(path, columns={"customer_id": "1", "date": "2", "amount": "3"}, today=TODAY)
    assert log.report.header is False and len(log) == 2
    assert log.data["customer_id"].tolist() == [17, 18]
    # a bad value in a headerless file is named by its own line
    bad = write(tmp_path, "17,2024-01-02,3.5\n18,2024-01-03,four\n", "bad.csv")
    with pytest.raises(DataError, match="non-numeric amount") as info:
        read_log(bad, columns={"customer_id": "1", "date": "2", "amount": "3"}, today=TODAY)
    assert info.value.rows == [2]


def test_header_yes_no_override_detection(tmp_path):
    path = write(tmp_path, "cust,day,value\nA1,2024-01-02,3.5\n")
    log = read_log(path, columns={"customer_id": "cust", "date": "day", "amount": "value"}, header="yes",
                   today=TODAY)
    assert log.data["customer_id"].tolist() == ["A1"]
    with pytest.raises(DataError, match="first line looks like data"):
        read_log(path, header="no", today=TODAY)


def test_missing_column_error_names_the_flag(tmp_path):
    path = write(tmp_path, "client,timestamp,amount\n1,2024-01-02,3\n")
    with pytest.raises(DataError) as info:
        read_log(path, today=TODAY)
    assert "--column customer=COLUMN" in str(info.value) and "columns={" not in str(info.value)


# --------------------------------------------------------------------------- day/month order


def test_day_first_settled_by_a_day_above_12(tmp_path):
    path = write(tmp_path, "customer_id,timestamp,amount\n1,04/05/2024,3\n2,25/03/2024,4\n")
    log = read_log(path, today=TODAY)
    assert log.data["timestamp"].tolist() == [pd.Timestamp("2024-05-04"), pd.Timestamp("2024-03-25")]
    assert log.report.date_format == "%d/%m/%Y"
    assert "'25/03/2024' (line 3)" in log.report.date_format_settled_by


def test_month_first_settled_with_times_and_across_chunks(tmp_path):
    rows = [f"{i},0{1 + i % 9}/0{1 + i % 5}/2024 10:{i % 60:02d},1" for i in range(400)] + ["999,03/27/2024 09:00,2"]
    path = write(tmp_path, "customer_id,timestamp,amount\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match="not settled") as info:
        read_log(path, today=TODAY, chunksize=10)   # the first chunk cannot settle it
    assert "--date-format %m/%d/%Y %H:%M" in str(info.value) and info.value.rows == [2]
    log = read_log(path, today=TODAY)
    assert log.report.date_format == "%m/%d/%Y %H:%M"
    assert log.data["timestamp"].iloc[-1] == pd.Timestamp("2024-03-27 09:00")
    assert log.data["timestamp"].iloc[1] == pd.Timestamp("2024-02-02 10:01")


def test_day_month_order_not_settled_names_the_column_and_a_value(tmp_path):
    path = write(tmp_path, "customer_id,day,amount\n1,04/05/2026,3\n2,11/12/2025,4\n")
    with pytest.raises(DataError) as info:
        read_log(path, columns={"date": "day"}, today="2027-01-01")
    text = str(info.value)
    assert "column 'day'" in text and "'04/05/2026'" in text and info.value.rows == [2]
    assert "--date-format %d/%m/%Y" in text and "--date-format %m/%d/%Y" in text
    log = read_log(path, columns={"date": "day"}, date_format="%m/%d/%Y", today="2027-01-01")
    assert log.data["timestamp"].iloc[0] == pd.Timestamp("2026-04-05")


def test_dates_that_disagree_on_the_order_are_an_error(tmp_path):
    path = write(tmp_path, "customer_id,timestamp,amount\n1,25/03/2024,3\n2,03/27/2024,4\n")
    with pytest.raises(DataError, match="disagree") as info:
        read_log(path, today=TODAY)
    assert info.value.rows == [2, 3]


def test_iso_date_options_accept_only_yyyy_mm_dd():
    assert parse_iso_date("2026-05-04", option="--start") == pd.Timestamp("2026-05-04")
    assert parse_iso_date(None, option="--start") is None
    assert parse_iso_date(pd.Timestamp("2026-05-04 13:00"), option="start") == pd.Timestamp("2026-05-04")
    for bad in ("04/05/2026", "2026-5-4", "20260504", "2026-02-30", "next monday"):
        with pytest.raises(ConfigError, match="--start") as info:
            parse_iso_date(bad, option="--start")
        assert bad in str(info.value)
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        parse_iso_date("04/05/2026", option="--start")


# --------------------------------------------------------------------------- zero amounts


def test_zero_amount_repeat_is_a_visit_not_spend(tmp_path):
    path = write(tmp_path, "customer_id,timestamp,amount\n1,2024-01-01,10\n1,2024-01-08,0\n1,2024-01-15,30\n"
                           "2,2024-01-02,5\n2,2024-01-09,0.00\n3,2024-01-03,0\n3,2024-01-10,8\n")
    log = read_log(path, today=TODAY)
    assert log.report.n_zero_amounts == 3
    rfm = log.rfm()
    assert rfm["frequency"].tolist() == [2, 1, 1]           # zero-amount visits count for frequency
    assert rfm["spend_frequency"].tolist() == [1, 0, 1]     # not for spend
    assert rfm["monetary_value"].tolist() == [30.0, 0.0, 8.0]
    clean = read_log(write(tmp_path, "customer_id,timestamp,amount\n1,2024-01-01,10\n1,2024-01-15,30\n",
                           "clean.csv"), today=TODAY).rfm()
    assert "spend_frequency" not in clean.columns            # a log without zeros: the summary as before


def test_an_amount_too_large_to_be_money_names_its_line(tmp_path):
    path = write(tmp_path, "customer_id,timestamp,amount\n1,2024-01-02,3\n2,2024-01-03,1e308\n")
    with pytest.raises(DataError, match="too large") as info:
        read_log(path, today=TODAY)
    assert info.value.rows == [3]


def test_messages_can_be_read_in_python_words(tmp_path):
    from loyalty_sim.calibration.log_readers import python_words

    path = write(tmp_path, "customer_id,timestamp,amount\n1,2024-01-01,10\n1,2024-01-01,10\n1,2024-01-03,3\n")
    with pytest.raises(DataError) as info:
        read_log(path, duplicates="error", today=TODAY)
    words = python_words(str(info.value))
    assert "duplicates='drop'" in words and "duplicates='keep'" in words and "--duplicates" not in words
    assert python_words("Pass --column customer=COLUMN with it") == "Pass columns={'customer_id': 'COLUMN'} with it"
    assert python_words("Pass --date-format %d/%m/%Y %H:%M (day first)") == \
        "Pass date_format='%d/%m/%Y %H:%M' (day first)"
    assert python_words("--returns drop, or --returns net.") == "returns='drop', or returns='net'."


def test_headerless_log_in_chunks_names_lines_as_the_whole_read(tmp_path):
    rows = [f"{i},2024-01-{1 + i % 28:02d},{i}.5" for i in range(50)]
    rows[37] = "37,2024-01-10,x"
    path = write(tmp_path, "\n".join(rows) + "\n")
    cols = {"customer_id": "1", "date": "2", "amount": "3"}
    for chunksize in (None, 7):
        with pytest.raises(DataError, match="non-numeric amount") as info:
            read_log(path, columns=cols, chunksize=chunksize, today=TODAY)
        assert info.value.rows == [38]


@pytest.mark.parametrize("stamp", ["", " 10:30:00"])
def test_zero_amount_summary_is_the_same_streamed_and_in_memory(tmp_path, stamp):
    rows = [f"{c},2024-0{1 + (c + j) % 6}-{1 + (3 * c + 5 * j) % 27:02d}{stamp},{0 if (c + j) % 4 == 0 else 2 + c % 5}"
            for c in range(40) for j in range(1 + c % 4)]
    path = write(tmp_path, "customer_id,timestamp,amount\n" + "\n".join(rows) + "\n")
    whole = read_log(path, today=TODAY).rfm(calibration_end="2024-04-30")
    streamed = summarise_log(path, today=TODAY, calibration_end="2024-04-30", chunksize=13)
    assert "spend_frequency" in whole.columns
    pd.testing.assert_frame_equal(streamed, whole, check_like=True)
    repeat = whole["frequency"] > 0
    assert (whole.loc[repeat, "spend_frequency"] <= whole.loc[repeat, "frequency"]).all()
    assert (whole.loc[repeat & (whole["spend_frequency"] == 0), "monetary_value"] == 0).all()
