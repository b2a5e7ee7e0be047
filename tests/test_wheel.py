"""The package works outside the checkout: a wheel in a fresh virtual environment, run from an empty folder.

Presets, example scenarios, notebooks and example data are package data read with
``importlib.resources``; nothing may reach back into the repository. The wheel is built
by ``pip wheel`` (its build backend from pip's cache or the index) and installed, with
the ``report`` extra, into a new virtual environment without the system's packages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{cmd} exited {res.returncode}:\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}"
    return res


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(bin folder of a fresh venv holding the wheel, an empty working folder, the environment)."""
    base = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["MPLBACKEND"] = "Agg"
    # build from a copy of the tracked files: the wheel holds what git holds, never a stale build/ folder
    src = base / "src"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        if (ROOT / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, src / rel)
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", ".", "-w", str(base / "dist")], src, env)
    wheel = next((base / "dist").glob("loyalty_sim-*.whl"))
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], base, env)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    _run([str(bindir / "python"), "-m", "pip", "install", "-q", f"{wheel}[report]"], base, env, timeout=600)
    # the kernel papermill starts must be the venv's python, not one found elsewhere
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    work = base / "elsewhere"
    work.mkdir()
    return bindir, work, env


def test_installed_package_does_not_come_from_the_checkout(installed):
    bindir, work, env = installed
    res = _run([str(bindir / "python"), "-c", "import loyalty_sim, sys; print(loyalty_sim.__file__); print(sys.prefix != sys.base_prefix)"],
               work, env)
    where, in_venv = res.stdout.split()
    assert in_venv == "True"
    assert not Path(where).resolve().is_relative_to(ROOT), where
    res = _run([str(bindir / "python"), "-c", "import sys; print(sys.flags.no_site, [p for p in sys.path if 'site-packages' in p])"],
               work, env)
    assert str(ROOT) not in res.stdout


def test_population_presets_and_simulate_from_an_empty_folder(installed):
    bindir, work, env = installed
    _run([str(bindir / "python"), "-c",
          "from loyalty_sim import Population; Population('coffee_shop', size=100, weeks=5, seed=1)"], work, env)
    res = _run([str(bindir / "loyalty-sim"), "simulate", "--preset", "grocery", "--customers", "500", "--weeks", "10",
                "--json"], work, env)
    assert json.loads(res.stdout)["transactions"] > 0
    res = _run([str(bindir / "loyalty-sim"), "simulate", "--scenario", "discount_members", "--customers", "300",
                "--weeks", "10"], work, env)
    assert "baseline" in res.stdout
    assert list(work.iterdir()) == []  # nothing written where it was run


def test_reports_list_and_run_from_an_empty_folder(installed):
    bindir, work, env = installed
    res = _run([str(bindir / "loyalty-sim"), "report", "--list"], work, env)
    for name in ("01-scheme-comparison", "06-calibrate-your-data", "07-trial-review"):
        assert name in res.stdout
    out = work / "out"
    _run([str(bindir / "loyalty-sim"), "report", "01-scheme-comparison", "-p", "customers", "300", "-p", "weeks", "20",
          "-p", "launch_week", "8", "-p", "replications", "2", "-o", str(out)], work, env)
    htmls = list(out.glob("01-scheme-comparison*.html"))
    assert len(htmls) == 1 and "Verdict" in htmls[0].read_text()
