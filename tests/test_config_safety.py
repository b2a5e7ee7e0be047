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
from loyalty_sim.files import MAX_YAML_NODES, escape_spreadsheet_cell, load_yaml, parse_yaml, write_csv_safe

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


# ------------------------------------------------------------------------------------------ CSV
FORMULA = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _lstrip_blank(cell: str) -> str:
    import unicodedata

    i = 0
    while i < len(cell) and (cell[i].isspace() or unicodedata.category(cell[i]) in ("Cc", "Cf", "Zs", "Zl", "Zp")):
        i += 1
    return cell[i:]


def _check_csv(path: Path, names: list[str]) -> None:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == len(names) + 1, rows
    read = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert len(read) == len(names)
    for cells in [[c for r in rows for c in r], read.to_numpy().ravel().tolist(), list(read.columns)]:
        for cell in cells:
            assert not _lstrip_blank(cell).startswith(FORMULA) or _is_number(cell), repr(cell)
    assert read["name"].tolist() == [escape_spreadsheet_cell(n) for n in names]
    assert [float(v) for v in read["amount"]] == [-1.5] * len(names)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


@pytest.mark.parametrize("name", ["\r=1+1", "\n=1+1", "x\r=1+1", "x\n=1+1", "\x00=1+1", "\x1f+1", " =1+1",
                                  "\u3000@SUM(A1)", "\u200b-1+1", "\ufeff=1", "\uff1d1+1", " \t\r\n-2+3", "=1+1",
                                  "plain", "a,b\"c"])
def test_formula_after_control_characters_is_escaped_and_line_breaks_quoted(tmp_path, name):
    path = tmp_path / "t.csv"
    write_csv_safe(pd.DataFrame({"name": [name, "ok"], "amount": [-1.5, -1.5]}), path)
    _check_csv(path, [name, "ok"])
    raw = path.read_bytes()
    if "\r" in name or "\n" in name:
        assert b'"' + escape_spreadsheet_cell(name).encode() + b'"' in raw


def test_negative_numbers_stay_numbers(tmp_path):
    path = tmp_path / "n.csv"
    write_csv_safe(pd.DataFrame({"name": ["a"], "amount": [-2.5], "count": [-3]}), path)
    assert path.read_text().splitlines()[1] == "a,-2.5,-3"
    assert escape_spreadsheet_cell(-1.0) == -1.0 and escape_spreadsheet_cell("-1") == "'-1"


def test_categorical_and_tuple_cells_are_escaped(tmp_path):
    path = tmp_path / "c.csv"
    frame = pd.DataFrame({"name": pd.Categorical(["=x", "y"]), "amount": [-1.5, -1.5], "pair": [("=a", 1), (0, 1)]})
    write_csv_safe(frame, path)
    read = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert read["name"].tolist() == ["'=x", "y"]
    assert not any(_lstrip_blank(c).startswith(FORMULA) for c in read["pair"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=5))
def test_no_formula_survives_a_round_trip(tmp_path_factory, names):
    path = tmp_path_factory.mktemp("csv") / "p.csv"
    write_csv_safe(pd.DataFrame({"name": names, "amount": [-1.5] * len(names)}), path)
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == len(names) + 1
    assert [r[0] for r in rows[1:]] == [escape_spreadsheet_cell(n) for n in names]
    for row in rows:
        for cell in row:
            assert not _lstrip_blank(cell).startswith(FORMULA) or _is_number(cell), repr(cell)
    read = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert len(read) == len(names)
    assert not any(_lstrip_blank(c).startswith(FORMULA) for c in read["name"])


def test_compare_out_csvs_hold_no_formula_after_a_carriage_return(tmp_path):
    scen = tmp_path / "s.yaml"
    scen.write_text('name: "\\r=1+1"\ncustomers: 200\nweeks: 8\nlaunch_week: 2\nreplications: 2\n'
                    'schemes:\n  - {type: stamp_card, name: "\\r=1+1"}\n  - {type: stamp_card, name: "x\\n@a"}\n')
    out = tmp_path / "out"
    res = _cli("compare", str(scen), "--out", str(out))
    assert res.returncode == 0, res.stderr
    summary = pd.read_csv(out / "summary.csv", dtype=str, keep_default_na=False)
    assert summary["scheme"].tolist() == ["'\r=1+1", "x\n@a"]
    for f in out.glob("*.csv"):
        with open(f, newline="", encoding="utf-8") as fh:
            for row in csv.reader(fh):
                for cell in row:
                    assert not _lstrip_blank(cell).startswith(FORMULA) or _is_number(cell), (f.name, cell)


# ----------------------------------------------------------------------------------------- JSON
def _strict_json(text: str):
    def refuse(token):
        raise AssertionError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def _nulls_have_reasons(obj, path="") -> None:
    """Every null in the comparison's summary/effects records has a ``<key>_reason`` beside it."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if v is None and not k.endswith("_reason") and k not in ("expiry_weeks", "max_gifts", "duration_weeks",
                                                                         "max_referrals_per_member", "source",
                                                                         "max_offers_per_customer", "intensity",
                                                                         "cost_per_member_week", "description"):
                assert isinstance(obj.get(f"{k}_reason"), str) and obj[f"{k}_reason"], f"{path}.{k}"
            _nulls_have_reasons(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _nulls_have_reasons(v, f"{path}[{i}]")


def test_json_writers_turn_non_finite_numbers_into_null(tmp_path):
    from loyalty_sim.files import dumps_json, write_json_atomic

    obj = {"a": float("nan"), "b": np.float64("inf"), "c": [np.float32("-inf"), 1.5], "d": (float("nan"), 2),
           "e": np.array([np.nan, 1.0]), "f": pd.NA, "g": pd.NaT}
    expect = {"a": None, "b": None, "c": [None, 1.5], "d": [None, 2], "e": [None, 1.0], "f": None, "g": None}
    assert _strict_json(dumps_json(obj)) == expect
    write_json_atomic(tmp_path / "x.json", obj)
    assert _strict_json((tmp_path / "x.json").read_text()) == expect


def test_cli_emit_prints_strict_json(capsys):
    import argparse

    from loyalty_sim.cli import _emit

    _emit(argparse.Namespace(json=True), {"roi": float("nan"), "x": np.float64("inf")}, "text")
    assert _strict_json(capsys.readouterr().out) == {"roi": None, "x": None}


BOUNDARY = """\
name: boundary
customers: 1
weeks: 2
launch_week: 1
seed: {seed}
replications: 2
schemes:
  - {{type: stamp_card, name: auto}}
  - {{type: stamp_card, name: none_join, enrolment: {{mode: opt_in, take_up: 0}}}}
  - {{type: stamp_card, name: all_join, enrolment: {{mode: opt_in, take_up: 1}}}}
  - {{type: points, name: pts, enrolment: {{mode: opt_in, take_up: 1}}}}
"""


@pytest.mark.parametrize("seed", [0, 1])
def test_boundary_scenarios_give_strict_json_with_reasons(tmp_path, seed):
    scen = tmp_path / "b.yaml"
    scen.write_text(BOUNDARY.format(seed=seed))
    out = tmp_path / "out"
    res = _cli("compare", str(scen), "--json", "--out", str(out))
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    payload = _strict_json(res.stdout)
    written = _strict_json((out / "comparison.json").read_text())
    for p in (payload, written):
        _nulls_have_reasons(p["summary"], "summary")
        _nulls_have_reasons(p["effects"], "effects")
        rows = {r["scheme"]: r for r in p["summary"]}
        assert rows["none_join"]["roi"] is None and "no scheme cost" in rows["none_join"]["roi_reason"]
        assert rows["none_join"]["roi_ci"] is None and rows["none_join"]["roi_ci_reason"]
    res = _cli("simulate", "--scenario", str(scen), "--json")
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    sim = _strict_json(res.stdout)
    for name, s in sim["schemes"].items():
        if name != "baseline":
            for key in ("transactions_change_pct", "revenue_change_pct"):
                assert s[key] is not None or s[f"{key}_reason"]


def test_boundary_scenario_without_purchases_simulates(tmp_path):
    """Seed 1 with one customer over 2 weeks: the baseline has no transaction (was a ZeroDivisionError)."""
    scen = tmp_path / "z.yaml"
    scen.write_text("name: z\ncustomers: 1\nweeks: 2\nlaunch_week: 1\nseed: 1\nschemes:\n  - {type: stamp_card, name: a}\n")
    res = _cli("simulate", "--scenario", str(scen), "--json")
    assert res.returncode == 0, res.stderr
    a = _strict_json(res.stdout)["schemes"]["a"]
    assert a["transactions_change_pct"] is None and a["transactions_change_pct_reason"] == "the baseline has no transactions"


def test_one_replication_interval_is_null_with_reason():
    from loyalty_sim.comparison import compare
    from loyalty_sim.scenario import scenario_from_mapping

    sc = scenario_from_mapping({"customers": 100, "weeks": 6, "launch_week": 2,
                                "schemes": [{"type": "stamp_card", "name": "a"}]})
    d = compare(sc, replications=1).to_dict()
    row = d["summary"][0]
    assert row["profit_ci"] is None and "at least 2 replications" in row["profit_ci_reason"]
    _strict_json(json.dumps(d, allow_nan=False))


def test_profit_impact_json_has_reason_for_undefined_change():
    res = _cli("profit-impact", "--margin", "10", "--retention", "0.5", "--retention-gain", "5",
               "--discount-rate", "0.1", "--acquisition-cost", "100", "--json")
    out = _strict_json(res.stdout)
    assert out["profit_change_pct"] is None and out["profit_change_pct_reason"]


# --------------------------------------------------------------------------------------- bounds
@pytest.mark.parametrize("scheme, field", [
    ({"type": "stamp_card", "reward_value": float("inf")}, "reward_value"),
    ({"type": "stamp_card", "reward_cost": 1e308}, "reward_cost"),
    ({"type": "stamp_card", "reward_cost": "1e308"}, "reward_cost"),
    ({"type": "stamp_card", "setup_cost": 1e10}, "setup_cost"),
    ({"type": "stamp_card", "cost_per_member_week": float("nan")}, "cost_per_member_week"),
    ({"type": "stamp_card", "expiry_weeks": 10**9}, "expiry_weeks"),
    ({"type": "stamp_card", "enrolment": {"mode": "opt_in", "weeks_to_enrol": float("inf")}}, "enrolment.weeks_to_enrol"),
    ({"type": "points", "earn_rate": 1e300}, "earn_rate"),
    ({"type": "points", "point_value": float("inf")}, "point_value"),
    ({"type": "points", "redemption": {"rule": "tiered", "thresholds": [10, float("inf")], "rewards": [1, 2]}},
     "redemption.thresholds[1]"),
    ({"type": "points", "redemption": {"rule": "tiered", "thresholds": [10, 20], "rewards": [1, 1e12]}},
     "redemption.rewards[1]"),
    ({"type": "cashback", "min_balance_to_use": 1e12}, "min_balance_to_use"),
    ({"type": "gift", "gift_value": 1e12}, "gift_value"),
    ({"type": "referral", "referrer_reward": float("inf")}, "referrer_reward"),
    ({"type": "targeted_offers", "category": "coffee", "email_cost": 1e10}, "email_cost"),
    ({"type": "perks", "perks": [{"kind": "personal_email", "cost_per_member_week": 1e10}]}, "perks[0].cost_per_member_week"),
    ({"type": "tiers", "tiers": [{"name": "a", "threshold": 0}, {"name": "b", "threshold": 1e12}]}, "tiers[1].threshold"),
])
def test_money_count_and_rate_fields_are_bounded(scheme, field):
    from loyalty_sim.scenario import scenario_from_mapping

    with pytest.raises(ConfigError) as err:
        scenario_from_mapping({"customers": 10, "weeks": 4, "schemes": [{"name": "s", **scheme}]}, source="f.yaml")
    assert err.value.field == f"schemes[0].{field}", \
        err.value.field
    assert "f.yaml" in str(err.value)


@pytest.mark.parametrize("top, field", [({"customers": 10**9}, "customers"), ({"weeks": 10**6}, "weeks"),
                                        ({"seed": 2**70}, "seed")])
def test_scenario_counts_are_bounded(top, field):
    from loyalty_sim.scenario import scenario_from_mapping

    with pytest.raises(ConfigError) as err:
        scenario_from_mapping({"customers": 10, "weeks": 4, **top, "schemes": [{"type": "stamp_card", "name": "s"}]})
    assert field in err.value.field


@pytest.mark.parametrize("econ", [{"setup_cost": 1e10}, {"fixed_cost_per_week": float("inf")}, {"discount_rate": 50.0}])
def test_economics_is_bounded(econ):
    from loyalty_sim.economics import Economics

    with pytest.raises(ConfigError) as err:
        Economics.from_mapping(econ, source="f.yaml")
    assert err.value.field == f"economics.{next(iter(econ))}"


@pytest.mark.parametrize("line", ["reward_value: .inf", "reward_cost: 1e308", "reward_cost: .nan", "reward_value: -.inf"])
def test_non_finite_money_in_a_file_exits_2_naming_file_and_field(tmp_path, line):
    scen = tmp_path / "s.yaml"
    scen.write_text(f"customers: 10\nweeks: 4\nschemes:\n  - type: stamp_card\n    name: s\n    {line}\n")
    res = _cli("compare", str(scen))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "s.yaml" in res.stderr and line.split(":")[0] in res.stderr


def test_recursive_alias_is_refused():
    with pytest.raises(ConfigError, match="recursive"):
        parse_yaml("a: &a [1, *a]\n", source="r.yaml")
    with pytest.raises(ConfigError, match="recursive"):
        parse_yaml("a: &a {b: *a}\n", source="r.yaml")
