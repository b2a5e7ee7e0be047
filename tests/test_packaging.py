"""The repository's promises: README commands, CI script, environment files agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _names(reqs: list[str]) -> dict[str, str]:
    out = {}
    for req in reqs:
        m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
        out[m.group(1).lower().replace("_", "-")] = m.group(2).replace(" ", "")
    return out


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    py = _names(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        py.update(_names([r for r in extra if not r.startswith("loyalty-sim")]))
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = _names([d for d in env["dependencies"] if isinstance(d, str) and not d.startswith(("python", "pip"))])
    assert conda == py
    pip_section = [d for d in env["dependencies"] if isinstance(d, dict)][0]["pip"]
    assert "-e ." in pip_section
    assert "python=3.11" in env["dependencies"]


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    assert readme.count("<!-- main-command -->") == 1 and readme.count("<!-- test-command -->") == 1
    test_cmd = re.search(r"<!-- test-command -->\n```bash\n(.+?)\n```", readme).group(1)
    main_cmd = re.search(r"<!-- main-command -->\n```bash\n(.+?)\n```", readme).group(1)
    assert "pytest" in test_cmd and "pip install" in test_cmd
    assert "loyalty-sim" in main_cmd and "pip install" in main_cmd
    ci = (ROOT / ".ci" / "run").read_text()
    assert "test-command" in ci  # .ci/run executes the README's block, not a copy of it


def test_cdnow_sample_is_shipped_unchanged():
    from loyalty_sim import datasets

    shipped = datasets.path("CDNOW_sample.txt")
    assert shipped == ROOT / "loyalty_sim" / "datasets" / "CDNOW_sample.txt"
    lines = shipped.read_text().splitlines()
    assert len(lines) == 6919
    assert lines[0].split() == ["00004", "0001", "19970101", "2", "29.33"]


def test_repository_passes_the_linter():
    """The package, tests, benchmarks, data scripts and notebooks."""
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:]
