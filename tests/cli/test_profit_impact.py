"""``loyalty-sim profit-impact``: JSON, console text, errors."""

from __future__ import annotations

import json

import pytest

from loyalty_sim.cli import main


def test_profit_impact_cli_json(capsys):
    assert main(["profit-impact", "--margin", "100", "--retention", "0.7", "--retention-gain", "5",
                 "--discount-rate", "0.1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"value_before", "value_after", "profit_change_pct"} <= set(out)
    assert out["profit_change_pct"] == pytest.approx(22.449, abs=1e-3)
    assert main(["profit-impact", "--margin", "100", "--retention", "0.99", "--retention-gain", "5",
                 "--discount-rate", "0.1"]) == 2
    assert "retention_gain" in capsys.readouterr().err


def test_profit_impact_cli_prints_the_absolute_change_and_the_reason(capsys):
    assert main(["profit-impact", "--margin", "100", "--retention", "0.55", "--retention-gain", "5",
                 "--discount-rate", "0.1", "--acquisition-cost", "150"]) == 0
    out = capsys.readouterr().out
    assert "profit change per customer   +20.00" in out
    assert "undefined" in out and "reason: baseline profit per customer is zero or negative" in out
    assert "nan" not in out.lower()
    assert main(["profit-impact", "--margin", "100", "--retention", "0.9", "--retention-gain", "5",
                 "--discount-rate", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "profit change per customer   +183.33" in out and "+40.7%" in out and "reason" not in out

