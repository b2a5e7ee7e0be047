"""Hypothesis-driven properties: every shipped scenario file and a small log, mutated generically.

Property: the command succeeds with valid outputs (strict JSON, formula-free CSV) or
exits 2 with a clean 1-3 line message naming the file and the field path / physical
line; never a traceback, never exit code 1, inputs untouched, nothing partial left.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from . import mutations as mu
from .harness import SCHEMES, Sandbox, assert_property, assert_umask

SETTINGS = dict(max_examples=20, deadline=None, derandomize=True, database=None,
                phases=[Phase.explicit, Phase.generate],  # no shrinking: each example is a subprocess
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TREES = {p.name: yaml.safe_load(p.read_text(encoding="utf-8")) for p in SCHEMES}
LEAVES = {name: list(mu.leaves(t)) for name, t in TREES.items()}


def _where(field: str) -> list[str]:
    leaf = field.split(".")[-1]
    return [field, f"scenario.{field}", leaf]


@settings(**SETTINGS)
@given(data=st.data())
def test_mutated_scenario_simulate(data):
    name = data.draw(st.sampled_from(sorted(TREES)), label="scenario")
    path = data.draw(st.sampled_from(LEAVES[name]), label="leaf")
    kind = data.draw(st.sampled_from(mu.KINDS), label="kind")
    text, field = mu.mutate_scenario(TREES[name], path, kind)
    with tempfile.TemporaryDirectory() as tmp:
        box = Sandbox(Path(tmp))
        f = box.write(name, text)
        r = box.run("simulate", "--scenario", str(f.relative_to(box.root)), "--json", timeout=90)
        assert_property(r, file=name, where=_where(field))


@settings(**{**SETTINGS, "max_examples": 12})
@given(data=st.data())
def test_mutated_scenario_compare_outputs(data):
    name = data.draw(st.sampled_from(sorted(TREES)), label="scenario")
    path = data.draw(st.sampled_from(LEAVES[name]), label="leaf")
    kind = data.draw(st.sampled_from(mu.KINDS), label="kind")
    text, field = mu.mutate_scenario(TREES[name], path, kind)
    with tempfile.TemporaryDirectory() as tmp:
        box = Sandbox(Path(tmp))
        f = box.write(name, text)
        r = box.run("compare", str(f.relative_to(box.root)), "--replications", "2", "--out", "out", "--json",
                    timeout=120)
        assert_property(r, file=name, where=_where(field))
        assert_umask(r, box.umask)


@settings(**SETTINGS)
@given(kind=st.sampled_from(tuple(mu.ROW_MUTATIONS) + mu.WHOLE_FILE), row=st.integers(0, 200),
       multiline=st.booleans())
def test_mutated_log_fit(kind, row, multiline):
    rows = mu.small_log()
    if multiline and kind in mu.WHOLE_FILE:
        rows = mu.with_multiline_prefix(rows)
    blob, line = mu.mutate_log(rows, kind, row)
    with tempfile.TemporaryDirectory() as tmp:
        box = Sandbox(Path(tmp))
        f = box.write("log.csv", blob)
        r = box.run("fit", "in/log.csv", "--date-col", "date", "--json", timeout=90)
        assert_property(r, file="log.csv", where=None if line is None else f"line {line}")


SURVEY = (Path(__file__).resolve().parents[2] / "data" / "surveys" / "coffee_survey.csv").read_text().splitlines()
SURVEY_CELLS = ["", "NaN", "inf", "-3", "1e308", "maybe", "=1+1", "\r=1+1", mu.HOSTILE_VALUES["markup"], "x" * 5000]


@settings(**{**SETTINGS, "max_examples": 12})
@given(row=st.integers(1, len(SURVEY) - 1), col=st.integers(1, 3), cell=st.sampled_from(SURVEY_CELLS),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1"]))
def test_mutated_survey_compare(row, col, cell, encoding):
    lines = list(SURVEY)
    fields = lines[row].split(",")
    fields[col] = '"' + cell.replace('"', '""') + '"' if any(c in cell for c in ',"\r\n') else cell
    if encoding == "latin-1":
        fields[0] = fields[0] + "\u00e9"
    lines[row] = ",".join(fields)
    with tempfile.TemporaryDirectory() as tmp:
        box = Sandbox(Path(tmp))
        sc = box.write("sc.yaml", yaml.safe_dump(mu.shrink(TREES["coffee_candidates.yaml"])))
        f = box.write("survey.csv", ("\n".join(lines) + "\n").encode(encoding, errors="replace"))
        r = box.run("compare", str(sc.relative_to(box.root)), "--survey", "in/survey.csv", "--replications", "2",
                    "--json", timeout=120)
        assert_property(r, file="survey.csv", where=[f"line {row + 1}", f"row {row + 1}"])
