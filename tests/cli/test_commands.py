"""Command line: ``loyalty-sim simulate``."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from loyalty_sim.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_simulate_json_has_the_summary_keys(capsys):
    assert main(["simulate", "--customers", "2000", "--weeks", "12", "--seed", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("customers", "active_at_end", "transactions", "revenue",
                "mean_purchases_per_customer_week", "mean_spend_per_customer_week"):
        assert key in out
    assert out["customers"] >= 2000 and out["transactions"] > 0 and out["revenue"] > 0
    # the same seed gives the same numbers
    main(["simulate", "--customers", "2000", "--weeks", "12", "--seed", "3", "--json"])
    assert json.loads(capsys.readouterr().out) == out


def test_simulate_table_output(capsys):
    assert main(["simulate", "--customers", "500", "--weeks", "4"]) == 0
    text = capsys.readouterr().out
    assert "transactions" in text and "revenue" in text


@pytest.mark.parametrize("ext", ["csv", "parquet"])
def test_simulate_writes_the_log(tmp_path, capsys, ext):
    out = tmp_path / f"log.{ext}"
    assert main(["simulate", "--customers", "500", "--weeks", "6", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    log = pd.read_csv(out) if ext == "csv" else pd.read_parquet(out)
    assert len(log) == summary["transactions"]
    assert log["amount"].sum() == pytest.approx(summary["revenue"], abs=0.01)
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary file left behind


def test_bad_preset_and_bad_numbers_exit_with_a_clear_error(capsys):
    assert main(["simulate", "--preset", "bakery"]) == 2
    err = capsys.readouterr().err
    assert "unknown preset 'bakery'" in err and "coffee_shop" in err
    assert main(["simulate", "--weeks", "0"]) == 2
    assert "--weeks 0: must be >= 1" in capsys.readouterr().err  # the option, in command-line words
    assert main(["simulate", "--customers", "-3"]) == 2
    err = capsys.readouterr().err
    assert "--customers -3" in err and "'size'" not in err


def test_bad_output_extension_is_rejected_before_anything_is_written(tmp_path, capsys):
    assert main(["simulate", "--customers", "100", "--weeks", "2", "--out", str(tmp_path / "log.xlsx")]) == 2
    assert ".csv or .parquet" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_fit_command_on_cdnow(capsys):
    assert main(["fit", os.path.join(ROOT, "loyalty_sim/datasets/CDNOW_sample.txt"), "--format", "cdnow", "--duplicates", "keep",
                 "--calibration-end", "1997-09-30", "--model", "bgnbd", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    m = out["models"]["bgnbd"]
    assert m["params"]["r"] == pytest.approx(0.243, rel=0.01)
    assert m["log_likelihood"] == pytest.approx(-9582.4, abs=0.1)
    assert set(m["standard_errors"]) == {"r", "alpha", "a", "b"}
    assert main(["fit", os.path.join(ROOT, "loyalty_sim/datasets/CDNOW_sample.txt"), "--format", "cdnow",
                 "--calibration-end", "1997-09-30", "--duplicates", "error"]) == 2
    assert "--duplicates drop" in capsys.readouterr().err  # duplicates refused on request, in flags


def test_trial_design_and_review_through_the_main_command(tmp_path, capsys):
    import json as _json

    root = __import__("pathlib").Path(__file__).resolve().parents[2]
    out = tmp_path / "assignment.csv"
    assert main(["trial", "design", "--preset", "coffee_shop", "--scheme", "stamp10", "--customers", "2000",
                 "--rerandomisations", "50", "--assignment-out", str(out), "--json"]) == 0
    design = _json.loads(capsys.readouterr().out)
    assert {"metrics", "recommendation"} <= set(design)
    assert out.is_file() and out.read_text().startswith("customer_id,group")
    trial = root / "loyalty_sim" / "datasets" / "trial"
    assert main(["trial", "review", "--log", str(trial / "pilot_customers.csv"), "--assignment",
                 str(trial / "assignment_customers.csv"), "--start", "2026-04-27", "--end", "2026-06-21",
                 "--pre-weeks", "16", "--margin", "0.28", "--json"]) == 0
    review = _json.loads(capsys.readouterr().out)
    for metric in ("purchases_per_week", "spend_per_week", "retention", "mean_ticket"):
        est = review["metrics"][metric]
        assert {"estimate", "ci_low", "ci_high", "relative_effect", "p_value", "method"} <= set(est)
    # reversed dates: exit 2 and a message that names the sub-command and the field
    assert main(["trial", "review", "--log", str(trial / "pilot_customers.csv"), "--assignment",
                 str(trial / "assignment_customers.csv"), "--start", "2026-06-21", "--end", "2026-04-27"]) == 2
    err = capsys.readouterr().err
    assert "loyalty-sim trial review: error" in err and "end" in err


@pytest.mark.parametrize("argv", [["simulate", "--customers", "abc"], ["compare"], ["trial", "design", "--bogus"],
                                  ["no-such-command"]])
def test_argument_errors_are_two_lines_exit_2(argv, capsys):
    """A bad command line gives the error and where the usage is, not four wrapped lines of usage."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 2 and ": error: " in err[0] and "--help" in err[1], err


@pytest.mark.parametrize("argv,flag", [(["--customers", "-1"], "--customers -1"), (["--weeks", "0"], "--weeks 0"),
                                       (["--workers", "0"], "--workers 0"), (["--seed", "-3"], "--seed -3"),
                                       (["--preset", "nope"], "--preset nope")])
def test_simulate_option_errors_name_the_option(argv, flag, capsys):
    """`simulate` without a scenario: a bad size names the option the user typed, not the library field."""
    assert main(["simulate", "--customers", "20", "--weeks", "2", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"error: {flag}: " in err[0] and "'size'" not in err[0], err
