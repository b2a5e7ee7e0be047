"""Hypothesis-driven properties: every shipped scenario file and a small log, mutated generically.

Property: the command succeeds with valid outputs (strict JSON, formula-free CSV,
escaped HTML) or exits 2 with a clean 1-3 line message naming the file and the field
path / physical line; never a traceback, never exit code 1, inputs untouched, nothing
partial left, every output following the umask.

Commands run in-process (``loyalty_sim.cli.main``, see :class:`harness.Sandbox`), with
few, derandomized examples and no shrinking, so the whole module takes seconds.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from . import mutations as mu
from .harness import SCHEMES, Sandbox, assert_property, assert_umask

SETTINGS = dict(max_examples=20, deadline=None, derandomize=True, database=None,
                phases=[Phase.explicit, Phase.generate],  # no shrinking: a failing example is reported as drawn
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TREES = {p.name: yaml.safe_load(p.read_text(encoding="utf-8")) for p in SCHEMES}
LEAVES = {name: list(mu.leaves(t)) for name, t in TREES.items()}


def _where(field: str) -> list[str]:
    leaf = field.split(".")[-1]
    return [field, f"scenario.{field}", leaf]


def _one_scheme(tree: dict, k: int) -> dict:
    """``tree`` with only its scheme ``k`` (a compare costs about one second per scheme)."""
    out = copy.deepcopy(tree)
    out["schemes"] = [out["schemes"][k % len(out["schemes"])]]
    return out


@settings(**SETTINGS)
@given(data=st.data())
def test_mutated_scenario_simulate(data):
    """Any leaf of any shipped scenario, any hostile value: `simulate --scenario` succeeds or names the field."""
    name = data.draw(st.sampled_from(sorted(TREES)), label="scenario")
    path = data.draw(st.sampled_from(LEAVES[name]), label="leaf")
    kind = data.draw(st.sampled_from(mu.KINDS), label="kind")
    text, field = mu.mutate_scenario(TREES[name], path, kind)
    with tempfile.TemporaryDirectory() as tmp:
        box = Sandbox(Path(tmp))
        f = box.write(name, text)
        r = box.run("simulate", "--scenario", str(f.relative_to(box.root)), "--json")
        assert_property(r, file=name, where=_where(field))
        assert_umask(r, box.umask)


@settings(**{**SETTINGS, "max_examples": 12})
@given(data=st.data())
def test_mutated_scenario_compare_outputs(data):
    """The same mutations through `compare --out`: CSV/JSON outputs valid, formula-free, umask-following."""
    name = data.draw(st.sampled_from(sorted(TREES)), label="scenario")
    tree = _one_scheme(TREES[name], data.draw(st.integers(0, 20), label="scheme"))
    path = data.draw(st.sampled_from(list(mu.leaves(tree))), label="leaf")
    kind = data.draw(st.sampled_from(mu.KINDS), label="kind")
    text, field = mu.mutate_scenario(tree, path, kind)
    with tempfile.TemporaryDirectory() as tmp:
        box = Sandbox(Path(tmp))
        f = box.write(name, text)
        r = box.run("compare", str(f.relative_to(box.root)), "--replications", "2", "--out", "out", "--json")
        assert_property(r, file=name, where=_where(field))
        assert_umask(r, box.umask)


@settings(**{**SETTINGS, "max_examples": 16})
@given(kind=st.sampled_from(tuple(mu.ROW_MUTATIONS) + mu.WHOLE_FILE), row=st.integers(0, 200),
       multiline=st.booleans())
def test_mutated_log_fit(kind, row, multiline):
    """A small log with one bad row or a degenerate whole file: `fit` succeeds or names the physical line."""
    rows = mu.small_log()
    if multiline:
        rows = mu.with_multiline_prefix(rows)
    blob, line = mu.mutate_log(rows, kind, row)
    with tempfile.TemporaryDirectory() as tmp:
        box = Sandbox(Path(tmp))
        box.write("log.csv", blob)
        r = box.run("fit", "in/log.csv", "--date-col", "date", "--json")
        assert_property(r, file="log.csv", where=None if line is None else f"line {line}")


SURVEY = (Path(__file__).resolve().parents[2] / "data" / "surveys" / "coffee_survey.csv").read_text().splitlines()
SURVEY_CELLS = ["", "NaN", "inf", "-3", "1e308", "maybe", "=1+1", "\r=1+1", mu.HOSTILE_VALUES["markup"], "x" * 5000]


@settings(**{**SETTINGS, "max_examples": 12})
@given(row=st.integers(1, len(SURVEY) - 1), col=st.integers(1, 3), cell=st.sampled_from(SURVEY_CELLS),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1"]))
def test_mutated_survey_compare(row, col, cell, encoding):
    """A survey with one hostile cell, in UTF-8, UTF-8 with BOM or Latin-1: `compare --survey` succeeds or names the row."""
    lines = list(SURVEY)
    fields = lines[row].split(",")
    fields[col] = '"' + cell.replace('"', '""') + '"' if any(c in cell for c in ',"\r\n') else cell
    if encoding == "latin-1":
        fields[0] = fields[0] + "\u00e9"
    lines[row] = ",".join(fields)
    with tempfile.TemporaryDirectory() as tmp:
        box = Sandbox(Path(tmp))
        sc = box.write("sc.yaml", yaml.safe_dump(mu.shrink(_one_scheme(TREES["coffee_candidates.yaml"], 1))))
        box.write("survey.csv", ("\n".join(lines) + "\n").encode(encoding, errors="replace"))
        r = box.run("compare", str(sc.relative_to(box.root)), "--survey", "in/survey.csv", "--replications", "2",
                    "--json")
        assert_property(r, file="survey.csv", where=[f"line {row + 1}", f"row {row + 1}"])


# ------------------------------------------------------------------ numeric command-line options
def _numeric_options(command: str) -> list[str]:
    """Every int/float option of ``command``, read from the parser (a new option is covered unasked)."""
    from loyalty_sim.cli import build_parser

    sub = next(a for a in build_parser()._actions if getattr(a, "choices", None) and command in a.choices)
    return sorted(a.option_strings[-1] for a in sub.choices[command]._actions
                  if a.option_strings and a.type in (int, float))


#: small, valid command lines; a drawn option's value replaces (or joins) these
CLI_BASE = {
    "simulate": ["simulate", "--customers", "50", "--weeks", "4", "--json"],
    "compare": ["compare", "in/sc.yaml", "--replications", "2", "--json"],  # 200 customers, 30 weeks
    "profit-impact": ["profit-impact", "--margin", "100", "--retention", "0.8", "--retention-gain", "5",
                      "--discount-rate", "0.1", "--json"],
}
CLI_OPTIONS = [(c, o) for c in CLI_BASE for o in _numeric_options(c)]
CLI_VALUES = ["-1", "0", "1", "-0", "2.5", "nan", "inf", "-inf", "1e308", "1000000", "abc", "", " 3", "0x10"]


def _with_option(base: list[str], option: str, value: str) -> list[str]:
    argv = list(base)
    if option in argv:
        argv[argv.index(option) + 1] = value
    else:
        argv[1:1] = [option, value]
    return argv


@settings(**{**SETTINGS, "max_examples": 20})
@given(case=st.sampled_from(CLI_OPTIONS), value=st.sampled_from(CLI_VALUES))
def test_hostile_numeric_options(case, value):
    """Any numeric option of simulate/compare/profit-impact, any hostile value: success or exit 2 naming the option."""
    command, option = case
    with tempfile.TemporaryDirectory() as tmp:
        box = Sandbox(Path(tmp))
        box.write("sc.yaml", yaml.safe_dump(mu.shrink(_one_scheme(TREES["coffee_candidates.yaml"], 0))))
        r = box.run(*_with_option(CLI_BASE[command], option, value))
        name = option.lstrip("-")
        assert_property(r, file=None, where=[option, name, name.replace("-", "_")])
