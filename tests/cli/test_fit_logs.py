"""``loyalty-sim fit`` and the shared log options on real logs as they come (each problem its own test)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from loyalty_sim.cli import main
from loyalty_sim.cli.log_options import add_log_options, read_log_from_args, read_options_from_args
from loyalty_sim.errors import ConfigError

from ..btyd.published import CDNOW, GG_PUBLISHED
from ..calibration.data import make_cdnow_master as master

ZERO_CUSTOMER = "99999 2358 19970105  1   12.49\n99999 2358 19970412  1    0.00\n"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def cdnow_with_zero_repeat(tmp_path_factory) -> Path:
    """The CDNOW sample plus one customer whose only repeat purchase is $0.00 (the issue's case)."""
    path = tmp_path_factory.mktemp("zero") / "cdnow_zero.txt"
    path.write_text(CDNOW.read_text() + ZERO_CUSTOMER)
    return path


def test_fit_succeeds_when_a_customers_only_repeat_purchase_is_zero(capsys, cdnow_with_zero_repeat):
    code, out, err = run(capsys, "fit", str(cdnow_with_zero_repeat), "--format", "cdnow",
                         "--calibration-end", "1997-09-30", "--observation-end", "1998-06-30",
                         "--model", "gamma_gamma", "--json")
    assert code == 0 and err == ""
    res = json.loads(out)
    gg = res["models"]["gamma_gamma"]
    assert "error" not in gg
    # the zero-spend customer is left out of the spend model, so the fit is the sample's own (published) one
    for k, v in GG_PUBLISHED.items():
        assert gg["params"][k] == pytest.approx(v, rel=0.005)
    code, out, _ = run(capsys, "fit", str(CDNOW), "--format", "cdnow", "--calibration-end", "1997-09-30",
                       "--observation-end", "1998-06-30", "--model", "gamma_gamma", "--json")
    plain = json.loads(out)["models"]["gamma_gamma"]
    assert gg["params"] == plain["params"] and gg["log_likelihood"] == plain["log_likelihood"]   # to the bit
    assert res["reading"]["zero_amount_purchases"] == 9   # the sample's 8 (first purchases) + 1
    c = res["customers"]
    assert (c["in_log"], c["fitted"], c["repeat_customers"]) == (2358, 2358, 947)
    assert (c["zero_spend_repeat_customers"], c["spend_fitted"]) == (1, 946)


def test_fit_text_says_what_zero_amounts_and_duplicates_became(capsys, cdnow_with_zero_repeat):
    code, out, _ = run(capsys, "fit", str(cdnow_with_zero_repeat), "--format", "cdnow",
                       "--calibration-end", "1997-09-30", "--model", "gamma_gamma")
    assert code == 0
    assert "zero-amount purchases: 9 - counted as visits (frequency), left out of the spend model" in out
    assert "exact duplicate rows: 21 kept as repeat purchases (--duplicates drop leaves them out)" in out
    assert "spend model (Gamma-Gamma): 946 of 947 repeat customers (1 customer whose repeat purchases were " \
           "all 0.00 left out" in out
    assert "FAILED" not in out


def test_duplicates_are_counted_dropped_or_refused(capsys):
    code, out, _ = run(capsys, "fit", str(CDNOW), "--format", "cdnow", "--model", "gamma_gamma",
                       "--duplicates", "drop", "--json")
    assert code == 0
    r = json.loads(out)["reading"]
    assert (r["duplicates_kept"], r["duplicates_dropped"], r["rows_kept"]) == (0, 21, 6919 - 21)
    code, out, err = run(capsys, "fit", str(CDNOW), "--format", "cdnow", "--duplicates", "error")
    assert code == 2 and out == "" and "Traceback" not in err
    assert "exact duplicate" in err and "(repeats line" in err and "--duplicates drop" in err
    assert str(CDNOW) in err and "rows " in err


def test_cdnow_master_layout_through_fit(capsys):
    code, out, err = run(capsys, "fit", str(master.PATH), "--format", "cdnow", "--model", "bgnbd", "--json")
    assert "customer id is not a number" not in err
    res = json.loads(out)
    assert res["log_report"]["header"] is True and res["customers"]["in_log"] == master.N_CUSTOMERS + 1
    assert res["reading"]["duplicates_kept"] == 1 and res["reading"]["zero_amount_purchases"] == 1
    assert code == 0 and res["failed_models"] == [m for m in res["models"] if "error" in res["models"][m]]


def test_a_failed_fit_is_never_silent_and_strict_makes_it_an_error(capsys, tmp_path):
    path = tmp_path / "zeros.csv"   # every repeat purchase is 0.00: nothing for the spend model
    rows = [f"{i},2024-01-0{1 + i % 5},5" for i in range(40)] + [f"{i},2024-02-1{i % 9},0" for i in range(0, 40, 3)]
    path.write_text("customer_id,timestamp,amount\n" + "\n".join(rows) + "\n")
    code, out, err = run(capsys, "fit", str(path), "--model", "gamma_gamma")
    assert code == 0 and f"loyalty-sim fit: warning: {path}: gamma_gamma failed to fit" in err
    assert "gamma_gamma: FAILED" in out and "non-zero amount" in out
    code, out, err = run(capsys, "fit", str(path), "--model", "gamma_gamma", "--strict", "--json")
    assert code == 2 and f"loyalty-sim fit: error: {path}: gamma_gamma failed to fit" in err
    assert json.loads(out)["failed_models"] == ["gamma_gamma"]


def test_customers_are_reconciled_with_the_reason_for_each_left_out(capsys, tmp_path):
    path = tmp_path / "log.csv"
    rows = ["1,2024-01-01,5", "1,2024-01-20,6", "2,2024-01-05,4", "3,2024-01-31,7",   # 3: last calibration day
            "4,2024-02-10,3", "5,2024-02-12,3", "1,2024-02-15,2"]                       # 4, 5: after it
    path.write_text("customer_id,timestamp,amount\n" + "\n".join(rows) + "\n")
    code, out, _ = run(capsys, "fit", str(path), "--calibration-end", "2024-01-31", "--model", "bgnbd")
    assert "customers: 5 in the log -> 3 summarised (left out: 2 customers whose first purchase is after the " \
           "calibration end 2024-01-31 (holdout only)) -> 2 fitted (left out: 1 customer first seen on the " \
           "calibration's last day" in out


def test_iso_date_options_refuse_day_month_text(capsys):
    code, out, err = run(capsys, "fit", str(CDNOW), "--format", "cdnow", "--calibration-end", "30/09/1997")
    assert code == 2 and out == "" and "Traceback" not in err
    assert "--calibration-end 30/09/1997: expected a date as YYYY-MM-DD" in err


def test_unsettled_day_month_order_asks_for_date_format(capsys, tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("customer_id,date,amount\n1,04/05/2024,3\n2,06/07/2024,4\n")
    code, _, err = run(capsys, "fit", str(path))
    assert code == 2 and "Traceback" not in err
    assert "column 'date'" in err and "'04/05/2024'" in err and "--date-format %d/%m/%Y" in err
    assert "date_format=" not in err


def test_headerless_log_is_read_with_column_numbers(capsys, tmp_path):
    path = tmp_path / "log.csv"
    rows = [f"{i % 30},2024-0{1 + i % 6}-1{i % 9},{3 + i % 7}.5" for i in range(200)]
    path.write_text("\n".join(rows) + "\n")
    code, _, err = run(capsys, "fit", str(path), "--model", "bgnbd")
    assert code == 2 and "--column customer=1 --column date=2 --column amount=3" in err
    code, out, _ = run(capsys, "fit", str(path), "--model", "bgnbd", "--column", "customer=1",
                       "--column", "date=2", "--column", "amount=3", "--json")
    assert json.loads(out)["log_report"]["header"] is False
    assert json.loads(out)["customers"]["in_log"] == 30


def test_returns_error_names_the_flags(capsys, tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("customer_id,timestamp,amount\n1,2024-01-01,10\n1,2024-01-08,-5\n")
    code, _, err = run(capsys, "fit", str(path))
    assert code == 2 and "--returns drop" in err and "--returns net" in err and "returns='" not in err


# --------------------------------------------------------------------------- the options themselves


def parse(*argv: str, exclude=()) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_log_options(p, exclude=exclude)
    return p.parse_args(list(argv))


def test_log_options_defaults_and_keywords():
    opts = read_options_from_args(parse())
    assert opts == {"columns": None, "format": "auto", "header": "auto", "duplicates": "keep", "returns": "error"}
    opts = read_options_from_args(parse("--column", "customer=cust", "--date-col", "day", "--separator", "semicolon",
                                        "--duplicates", "drop", "--date-format", "%d.%m.%Y"))
    assert opts["columns"] == {"customer_id": "cust", "timestamp": "day"}
    assert (opts["separator"], opts["duplicates"], opts["date_format"]) == ("semicolon", "drop", "%d.%m.%Y")


def test_log_options_exclude_leaves_a_flag_to_the_command():
    p = argparse.ArgumentParser()
    p.add_argument("--store-col")
    add_log_options(p, exclude=("--store-col",))
    assert read_options_from_args(p.parse_args(["--store-col", "shop"]))["columns"] == {"store_id": "shop"}


@pytest.mark.parametrize("argv, words", [(("--column", "client"), "--column client: expected FIELD=COLUMN"),
                                         (("--column", "colour=x"), "--column colour=x"),
                                         (("--column", "customer=a", "--customer-col", "b"), "--customer-col b")])
def test_bad_column_options_are_named_as_flags(argv, words):
    with pytest.raises(ConfigError) as info:
        read_options_from_args(parse(*argv))
    assert words in str(info.value)


def test_read_log_from_args_gives_the_reading_summary():
    log, summary = read_log_from_args(master.PATH, parse("--format", "cdnow"))
    assert len(log) == len(master.rows())
    c = summary.counts
    assert (c["rows_read"], c["duplicates_kept"], c["zero_amount_purchases"], c["customers"]) == \
           (len(master.rows()), 1, 1, master.N_CUSTOMERS + 1)
    assert "1 kept as repeat purchases" in summary.text()
    assert summary.to_dict()["counts"] == c


@pytest.mark.parametrize("text, args, words", [
    ("customer_id,timestamp;amount\n1;2024-01-02;3\n2,2024-01-03,4\n", (), ["cannot tell the field separator",
                                                                          "line 1: 'customer_id,timestamp;amount'",
                                                                          "--separator"]),
    ("client,timestamp,amount\n1,2024-01-02,3\n", (), ["--column customer=COLUMN", "columns present"]),
    ("00001 19970101 2\n00002 19970102 1\n", ("--format", "cdnow"), ["found 3 column(s)", "--format csv"]),
    ("customer_id,timestamp,amount\n1,2024-01-02,3\n", ("--separator", "x"), ["--separator x: expected comma"]),
])
def test_log_layout_problems_exit_2_with_the_lines_and_the_flag(capsys, tmp_path, text, args, words):
    path = tmp_path / "log.csv"
    path.write_text(text)
    code, out, err = run(capsys, "fit", str(path), *args)
    assert code == 2 and out == "" and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    for w in words:
        assert w in err


def test_trial_review_dates_are_iso_only_and_its_log_options_are_the_shared_ones(capsys):
    """`trial review --start 04/05/2026` was read as 5 April; the review reads logs with the same options."""
    from loyalty_sim.cli import trial

    trial_dir = Path(__file__).resolve().parents[2] / "loyalty_sim" / "datasets" / "trial"
    code, out, err = run(capsys, "trial", "review", "--log", str(trial_dir / "pilot_customers.csv"),
                         "--assignment", str(trial_dir / "assignment_customers.csv"),
                         "--start", "04/05/2026", "--end", "2026-06-01")
    assert code == 2 and out == "" and "Traceback" not in err
    assert "--start 04/05/2026: expected a date as YYYY-MM-DD" in err
    review = trial.add_review_arguments(argparse.ArgumentParser())
    shared = add_log_options(argparse.ArgumentParser())
    flags = lambda p: {s for a in p._actions for s in a.option_strings}
    assert flags(shared) <= flags(review)
