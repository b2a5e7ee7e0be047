"""Output safety: report names are not paths, output options are checked first, kills leave nothing final, umask."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from loyalty_sim import report
from loyalty_sim.cli import main
from loyalty_sim.errors import ConfigError
from loyalty_sim.files import _PARTIAL, check_output_dir, clean_partials, partial_name, write_csv_safe, write_text_atomic

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "loyalty_sim" / "scenarios" / "coffee_comparison.yaml"


# ------------------------------------------------------------------ item 2: a report name is not a path
@pytest.mark.parametrize("name", ["../../somewhere/01-scheme-comparison", "../notebooks/01-scheme-comparison",
                                  "notebooks/01-scheme-comparison", "/tmp/01-scheme-comparison", "..",
                                  "01-scheme-comparison.ipynb"])
def test_a_path_is_refused_as_a_report_name(tmp_path, capsys, name):
    outside = tmp_path / "somewhere"
    outside.mkdir()
    (outside / "01-scheme-comparison.ipynb").write_bytes((report.NOTEBOOK_DIR / "01-scheme-comparison.ipynb")
                                                         .read_bytes())
    out = tmp_path / "out"
    for argv in (["report", name, "-o", str(out)], ["report", name, "--batch", str(tmp_path / "b.yaml"), "-o",
                                                      str(out)]):
        (tmp_path / "b.yaml").write_text("- {}\n")
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and name in err
        assert "01-scheme-comparison, 02-discount-levels" in err  # the shipped reports are listed
    assert not out.exists()
    with pytest.raises(ConfigError, match="shipped|unknown report"):
        report.notebook_path(str(outside / "01-scheme-comparison"))


def test_a_relative_path_that_resolves_to_a_real_notebook_outside_is_refused(tmp_path, monkeypatch):
    # notebooks/../<tmp>/x resolves to a real notebook file: it must still not run
    outside = tmp_path / "evil"
    outside.mkdir()
    (outside / "01-scheme-comparison.ipynb").write_text("{}")
    rel = os.path.relpath(outside, report.NOTEBOOK_DIR) + "/01-scheme-comparison"
    assert (report.NOTEBOOK_DIR / f"{rel}.ipynb").is_file()
    with pytest.raises(ConfigError, match="is a path"):
        report.notebook_path(rel)
    assert report.notebook_path("scheme-comparison").name == "01-scheme-comparison.ipynb"  # short names still work


# ------------------------------------------------------------------ item 6: output targets checked first
def _scenario() -> str:
    assert SCENARIO.is_file()
    return str(SCENARIO)


def test_output_options_pointing_at_a_file_fail_at_once(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    under = afile / "sub"
    cases = [
        (["compare", _scenario(), "--replications", "50", "--out", str(afile)], "--out", afile),
        (["compare", _scenario(), "--replications", "50", "--out", str(under)], "--out", under),
        (["report", "04-profit-impact", "-o", str(afile)], "--out", afile),
        (["report", "04-profit-impact", "-o", str(under)], "--out", under),
        (["simulate", "--customers", "100000", "--out", str(under / "log.csv")], "--out", under / "log.csv"),
        (["simulate", "--customers", "100", "--out", str(tmp_path)], "--out", tmp_path),
        (["trial", "review", "--log", "x.csv", "--assignment", "a.csv", "--start", "2024-01-01", "--end",
          "2024-02-01", "--out", str(afile)], "--out", afile),
        (["trial", "design", "--scheme", "stamp10", "--assignment-out", str(under / "a.csv")], "--assignment-out",
         under / "a.csv"),
    ]
    (tmp_path / "dir.csv").mkdir()
    cases.append((["trial", "design", "--scheme", "stamp10", "--assignment-out", str(tmp_path / "dir.csv")],
                  "--assignment-out", tmp_path / "dir.csv"))
    for argv, flag, path in cases:
        t0 = time.monotonic()
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert f"{flag} {path}" in err and "Traceback" not in err, err
        assert len(err.strip().splitlines()) <= 3
        assert time.monotonic() - t0 < 5, f"{argv} did work before failing"
    assert afile.read_text() == "keep me"


def _readonly_mount(path: Path) -> bool:
    path.mkdir()
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def test_an_unwritable_folder_fails_at_once_even_as_root(tmp_path, capsys):
    ro = tmp_path / "ro"
    if _readonly_mount(ro):  # a real read-only filesystem: permission bits would not tell
        try:
            assert os.access(ro, os.W_OK) is False or os.geteuid() == 0
            for argv in (["compare", _scenario(), "--out", str(ro / "res")], ["report", "04-profit-impact", "-o",
                                                                                str(ro)]):
                assert main(argv) == 2
                err = capsys.readouterr().err
                assert f"--out {ro}" in err and "cannot create files" in err
        finally:
            subprocess.run(["umount", str(ro)], check=True)
    # /sys: os.access says root may write there, but no file can be created: only the probe finds out
    assert main(["compare", _scenario(), "--out", "/sys/loyalty-sim-out"]) == 2
    err = capsys.readouterr().err
    assert "--out /sys/loyalty-sim-out" in err and "cannot create files in /sys" in err


def _check_as_nobody(path: Path) -> str:
    """Run check_output_dir in a child process that dropped root (permission bits apply again)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os.close(r)
        msg = "ok"
        try:
            os.setgid(65534)
            os.setuid(65534)
            check_output_dir(path, field="out")
        except ConfigError as exc:
            msg = str(exc)
        except BaseException as exc:  # noqa: BLE001
            msg = f"unexpected {exc!r}"
        os.write(w, msg.encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as fh:
        msg = fh.read()
    os.waitpid(pid, 0)
    return msg


def test_a_folder_without_write_permission_is_refused(tmp_path):
    base = Path(tempfile.mkdtemp(prefix="loyalty-perm-"))  # /tmp: reachable by an unprivileged user
    try:
        base.chmod(0o755)
        locked, open_ = base / "locked", base / "open"
        locked.mkdir(mode=0o555)
        locked.chmod(0o555)
        open_.mkdir()
        open_.chmod(0o777)
        if os.geteuid() == 0:
            # root writes through 0555, so the probe must accept it; an unprivileged user must be refused
            assert str(check_output_dir(locked, field="out")) == str(locked)
            assert list(locked.iterdir()) == []  # the probe was removed
            assert "--out" in _check_as_nobody(locked / "sub") and "cannot create files in" in \
                _check_as_nobody(locked / "sub")
            assert _check_as_nobody(open_) == "ok"
        else:
            with pytest.raises(ConfigError, match="--out .*cannot create files in"):
                check_output_dir(locked / "sub", field="out")
            check_output_dir(open_, field="out")
    finally:
        locked.chmod(0o755)
        import shutil

        shutil.rmtree(base)


# ------------------------------------------------------------------ item 11: umask
@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        csv = write_csv_safe(pd.DataFrame({"a": [1]}), tmp_path / "x.csv")
        page = write_text_atomic(tmp_path / "index.html", "<p>hi</p>")
    finally:
        os.umask(old)
    assert stat.S_IMODE(csv.stat().st_mode) == mode
    assert stat.S_IMODE(page.stat().st_mode) == mode


# ------------------------------------------------------------------ item 10: a killed report
def _tree(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*"))


def test_a_killed_report_leaves_no_final_name_and_the_next_run_cleans(tmp_path):
    out = tmp_path / "out"
    code = ("import sys; from loyalty_sim import report; "
            "report.run_report('03-points-design', {'customers': 600, 'weeks': 30, 'launch_week': 6, "
            "'replications': 2}, out_dir=sys.argv[1])")
    proc = subprocess.Popen([sys.executable, "-c", code, str(out)], cwd=str(tmp_path),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait until papermill has written a partial notebook
            nbs = [p for p in out.glob(".*") if p.suffix == ".ipynb" and p.stat().st_size > 0] if out.exists() else []
            if nbs:
                break
            assert proc.poll() is None, "the report ended before it could be killed"
            time.sleep(0.05)
        else:
            pytest.fail("no partial notebook appeared")
        time.sleep(0.5)
        assert proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    left = _tree(out)
    assert left, "the killed run left nothing to inspect"
    for p in left:
        assert p.is_file(), f"{p} is a folder"
        assert p.name.startswith(".") and _PARTIAL.match(p.name), f"{p.name} looks like a final file"
        assert int(_PARTIAL.match(p.name).group("pid")) == proc.pid
    # the next run removes what the dead process left and says so
    done = report.run_report("04-profit-impact", {"customers": 300}, out_dir=out)
    assert {lo.path for lo in done.leftovers if lo.removed} == set(left)
    assert sorted(p.name for p in out.iterdir()) == sorted([done.html.name, done.notebook.name])


def test_temporaries_of_running_processes_and_older_versions_are_named_not_removed(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    mine = partial_name(out / "report.ipynb")  # this process is alive
    mine.write_text("{}")
    legacy = out / ".01-scheme-comparison.ab_cd123"
    legacy.mkdir()
    (legacy / "01-scheme-comparison__defaults__x.ipynb").write_text("{}")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale = out / mine.name.replace(f"-{os.getpid()}-", f"-{dead}-")
    stale.write_text("{}")
    found = {lo.path: lo for lo in report.clean_leftovers(out)}
    assert found[stale].removed and not stale.exists()
    assert not found[mine].removed and mine.exists() and "still running" in found[mine].reason
    assert not found[legacy].removed and legacy.exists()
    assert clean_partials(tmp_path / "missing") == []
    assert main(["report", "04-profit-impact", "-p", "customers", "300", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert str(mine) in err and str(legacy) in err and "left in place" in err


# ------------------------------------------------------------------ batch index escaping
def test_batch_index_escapes_user_strings(tmp_path, monkeypatch):
    import nbformat

    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('label: str = "x"  # a label\nrun_id: str = "i"  # run id')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "from loyalty_sim.report import record\nrecord('headline', label)\n"
        "if label.startswith('fail'):\n    raise ValueError(label)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, nbdir / "98-echo.ipynb")
    monkeypatch.setattr(report, "NOTEBOOK_DIR", nbdir)
    evil = "<script>alert(1)</script>"
    index, results = report.run_batch("98-echo", [{"label": evil}, {"label": "fail<b>x</b>"}],
                                      out_dir=tmp_path / "out", title="<i>t</i>")
    page = index.read_text()
    assert "<script>" not in page and "<b>" not in page and "<i>t</i>" not in page
    assert "&lt;script&gt;" in page and "&lt;i&gt;t&lt;/i&gt;" in page
    assert f'href="{results[0].html.name}"' in page
    assert stat.S_IMODE(index.stat().st_mode) == 0o666 & ~_umask()


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old


@pytest.mark.parametrize("argv,folder", [(["compare", "SC", "--replications", "2", "--out", "out"], "out"),
                                         (["simulate", "--customers", "50", "--weeks", "4", "--out", "out/log.csv"], "out")])
def test_compare_and_simulate_clean_what_a_killed_run_left(tmp_path, monkeypatch, capsys, argv, folder):
    """A partial file of a dead process is removed (and named on stderr); one of a live process is kept."""
    import yaml as _yaml

    from loyalty_sim.cli import main
    from loyalty_sim.files import partial_name

    monkeypatch.chdir(tmp_path)
    sc = tmp_path / "sc.yaml"
    sc.write_text(_yaml.safe_dump({"customers": 100, "weeks": 6, "launch_week": 2,
                                   "schemes": [{"type": "discount", "name": "d", "depth": 0.1}]}))
    out = tmp_path / folder
    out.mkdir()
    dead = partial_name(out / "summary.csv")
    dead = dead.with_name(re.sub(r"-\d+-", "-999999999-", dead.name, count=1))  # no such process
    dead.write_text("half")
    alive = partial_name(out / "effects.csv")  # this process: still running
    alive.write_text("half")
    assert main([str(sc) if a == "SC" else a for a in argv]) == 0
    err = capsys.readouterr().err
    assert not dead.exists() and alive.exists()
    lines = err.splitlines()
    assert any("removed:" in ln and dead.name in ln for ln in lines), err
    assert any("left in place:" in ln and alive.name in ln for ln in lines), err
