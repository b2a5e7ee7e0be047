"""The command line's manners: a closed pipe ends quietly, typos get a suggestion, --list shows the syntax."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from loyalty_sim import ConfigError, report
from loyalty_sim.cli import build_parser, main
from loyalty_sim.schemes import scheme_from_dict
from loyalty_sim.text.suggest import closest, did_you_mean

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "import sys; from loyalty_sim.cli import main; sys.exit(main())"]


def test_a_closed_pipe_ends_quietly():
    argv = ["report", "--list"]  # every command prints through main(), which handles the closed pipe
    # a reader that takes one byte and goes away: the writer meets a closed pipe
    proc = subprocess.Popen([*CLI, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    proc.stdout.read(1)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_fit_into_a_closed_pipe_ends_quietly(tmp_path):
    log = tmp_path / "log.csv"
    rows = ["customer_id,date,amount"] + [f"c{i % 40},2024-{1 + i % 12:02d}-{1 + i % 27:02d},{5 + i % 7}.5"
                                          for i in range(400)]
    log.write_text("\n".join(rows) + "\n")
    res = subprocess.run(f"{' '.join(repr(a) for a in CLI)} fit {log} | head -c 1", shell=True, capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert "Traceback" not in res.stderr and "BrokenPipe" not in res.stderr, res.stderr
    assert len(res.stdout) == 1


def test_did_you_mean_names_the_closest_choice():
    assert closest("stamp-card", ["stamp_card", "points", "tiers"]) == ["stamp_card"]
    assert did_you_mean("Custmers", ["customers", "weeks"]) == " - did you mean 'customers'?"
    assert did_you_mean("zzzz", ["customers", "weeks"]) == ""
    assert did_you_mean(None, ["customers"]) == ""


def test_typos_in_reports_parameters_types_and_fields_get_a_suggestion(capsys):
    assert main(["report", "01-scheme-comparisn"]) == 2
    assert "did you mean '01-scheme-comparison'" in capsys.readouterr().err
    assert main(["report", "04", "-p", "custmers", "300"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'customers'" in err and "Traceback" not in err
    with pytest.raises(ConfigError, match="did you mean 'stamp_card'"):
        scheme_from_dict({"type": "stamp-card", "name": "x"}, source="s.yaml", path="schemes[0]")
    with pytest.raises(ConfigError, match=r"schemes\[0\]\.stamps_requird.*did you mean 'stamps_required'"):
        scheme_from_dict({"type": "stamp_card", "name": "x", "stamps_requird": 10, "reward_value": 4.5,
                          "reward_cost": 1.2}, source="s.yaml", path="schemes[0]")


def test_report_list_shows_the_syntax_and_each_range_once(capsys):
    assert main(["report", "--list"]) == 0
    out = capsys.readouterr().out
    assert '-p depths "[0.0, 0.05]"' in out
    assert "-p customers N  (default 20000): customers at week 0 [100, 2000000]" in out
    assert "2e+06" not in out and "'coffee_comparison'" not in out and "(default '" not in out  # no Python quotes
    for line in out.splitlines():
        assert line.count("[100, ") <= 1


def test_every_command_takes_quiet():
    parser = build_parser()
    for argv in (["report", "04", "--quiet"], ["compare", "x.yaml", "-q"], ["simulate", "--scenario", "x.yaml", "--quiet"],
                 ["trial", "design", "--scheme", "x.yaml", "--quiet"], ["fit", "log.csv", "--quiet"]):
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # a required option missing, never --quiet itself
            pytest.fail(f"{argv}: {exc}")
        assert args.quiet is True


def test_parameter_values_shown_as_typed():
    assert report.ReportParameter.shown("coffee_shop") == "coffee_shop"
    assert report.ReportParameter.shown("") == '""'
    assert report.ReportParameter.shown([0.1, 0.2]) == "[0.1, 0.2]"
    assert report.ReportParameter.shown(True) == "true"
