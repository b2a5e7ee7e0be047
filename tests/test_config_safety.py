"""Config safety: YAML alias bombs and duplicate keys, spreadsheet-safe CSV, JSON without NaN tokens, bounds."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty_sim.errors import ConfigError
from loyalty_sim.io import MAX_YAML_NODES, escape_spreadsheet_cell, load_yaml, parse_yaml, write_csv_safe

BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
schemes: [*i]
"""


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "loyalty_sim.cli", *args], capture_output=True, text=True, timeout=120)


# ----------------------------------------------------------------------------------------- YAML
def test_alias_bomb_is_refused_naming_file_and_line(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    with pytest.raises(ConfigError) as err:
        load_yaml(path)
    assert err.value.source == str(path)
    assert "line 6" in str(err.value) and f"{MAX_YAML_NODES:,}" in str(err.value)


@pytest.mark.parametrize("command", [["compare"], ["report", "01-scheme-comparison", "-f"]])
def test_alias_bomb_via_cli_exits_2_without_traceback(tmp_path, command):
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    res = _cli(*command, str(path))
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr and "bomb.yaml" in res.stderr and "line 6" in res.stderr


def test_many_aliases_are_refused(tmp_path):
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * 1500) + "]\n"
    with pytest.raises(ConfigError, match="aliases"):
        parse_yaml(text, source="x.yaml")


def test_small_aliases_and_merge_keys_still_work():
    text = "base: &b {type: stamp_card, name: a, reward_value: 2}\nschemes:\n  - <<: *b\n    name: c\n  - *b\n"
    data = parse_yaml(text)
    assert data["schemes"] == [{"type": "stamp_card", "name": "c", "reward_value": 2},
                               {"type": "stamp_card", "name": "a", "reward_value": 2}]


@pytest.mark.parametrize("text, key, lines", [
    ("name: x\nseed: 1\nschemes:\n  - {type: stamp_card, name: a}\nseed: 2\n", "seed", (2, 5)),
    ("schemes:\n  - {type: stamp_card, name: a}\nschemes:\n  - {type: stamp_card, name: b}\n", "schemes", (1, 3)),
    ("schemes:\n  - type: stamp_card\n    name: a\n    reward_value: 1\n    reward_value: 2\n", "reward_value", (4, 5)),
    ("schemes: [{type: stamp_card, name: a, name: b}]\n", "name", (1, 1)),
])
def test_duplicate_keys_are_refused_naming_key_and_both_lines(tmp_path, text, key, lines):
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_yaml(path)
    msg = str(err.value)
    assert f"'{key}'" in msg and f"lines {lines[0]} and {lines[1]}" in msg and str(path) in msg
    res = _cli("compare", str(path))
    assert res.returncode == 2 and "Traceback" not in res.stderr and f"'{key}'" in res.stderr


def test_unreadable_yaml_is_a_config_error(tmp_path):
    deep = tmp_path / "deep.yaml"
    deep.write_text("[" * 5000 + "]" * 5000)
    with pytest.raises(ConfigError):
        load_yaml(deep)
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(ConfigError, match="UTF-8"):
        load_yaml(binary)


def test_report_parameter_values_go_through_the_safe_loader():
    from loyalty_sim.report import ReportParameter, _coerce

    p = ReportParameter("n", "int", 1, "", None, None, None)
    assert _coerce(p, "3") == 3
    with pytest.raises(ConfigError, match="expected int"):
        _coerce(p, "{a: 1, a: 2}")
