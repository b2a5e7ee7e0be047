"""Reusable harness for hostile-input tests: run the CLI (in-process or in a subprocess) in a scratch dir.

Every hostile case is checked the same way (issue 11): exit code 2, no traceback, a
1-3 line message naming the file and the field/row/line, inputs byte-identical
afterwards, no partial or temporary files left in the output folder, and every file
written following the umask.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import re
import resource
import shutil
import signal
import stat
import subprocess as _subprocess
import sys
import traceback
import warnings
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"
SCENARIOS = REPO / "loyalty_sim" / "scenarios"
SCHEMES = sorted(SCENARIOS.glob("*.yaml"))
TIMEOUT = float(os.environ.get("HOSTILE_TIMEOUT", "60"))
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
TEMP_PATTERNS = (re.compile(r"\.tmp$"), re.compile(r"^\."), re.compile(r"~$"), re.compile(r"\.part$"))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(root: Path) -> dict[str, str]:
    """Hash of every file under ``root`` (relative path -> sha256)."""
    return {str(p.relative_to(root)): sha(p) for p in sorted(root.rglob("*")) if p.is_file()}


@dataclass
class Result:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    cwd: Path
    inputs_before: dict[str, str] = field(default_factory=dict)
    inputs_after: dict[str, str] = field(default_factory=dict)
    new_files: list[Path] = field(default_factory=list)

    def describe(self) -> str:
        return (f"command: loyalty-sim {' '.join(self.args)}\nexit code: {self.returncode}\n"
                f"stderr:\n{self.stderr[-3000:]}\nstdout:\n{self.stdout[-1500:]}")


class HostileTimeout(BaseException):
    """An in-process command ran past its time limit (a hang is a failure, never a wait)."""


#: Address space an in-process command may add to the test process: an allocation past it is a
#: MemoryError (reported as a traceback, i.e. a failure) instead of swapping the shared machine.
MEMORY_HEADROOM = int(float(os.environ.get("HOSTILE_MEMORY_GB", "3")) * 2**30)


@contextlib.contextmanager
def _limits(timeout: float):
    """Bound time (SIGALRM) and address space (RLIMIT_AS) of the block, restoring both after."""
    def on_alarm(signum, frame):
        raise HostileTimeout(f"timed out after {timeout}s")

    old_handler = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    try:
        with open("/proc/self/statm") as fh:
            vsize = int(fh.read().split()[0]) * resource.getpagesize()
        cap = vsize + MEMORY_HEADROOM
        if soft == resource.RLIM_INFINITY or soft > cap:
            resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
    except (OSError, ValueError):  # pragma: no cover - no /proc, or the limit cannot be set
        pass
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


class Sandbox:
    """A scratch working directory with copies of the inputs a command reads.

    :meth:`run` calls ``loyalty_sim.cli.main`` in this process (cwd, umask and
    stdout/stderr switched for the call) and reports an escaping exception as the
    traceback and exit code 1 the console script would give; ``subprocess=True``
    runs the real console entry point in a child process instead (for exit codes,
    tracebacks and umask as the shell sees them).
    """

    def __init__(self, root: Path, umask: int = 0o027):
        self.root = Path(root)
        self.inputs = self.root / "in"
        self.out = self.root / "out"
        self.inputs.mkdir(parents=True, exist_ok=True)
        self.umask = umask

    def copy(self, src: Path, name: str | None = None) -> Path:
        dst = self.inputs / (name or Path(src).name)
        shutil.copyfile(src, dst)
        return dst

    def write(self, name: str, data: str | bytes) -> Path:
        dst = self.inputs / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            dst.write_bytes(data.encode("utf-8"))
        else:
            dst.write_bytes(data)
        return dst

    def run(self, *args: str, timeout: float = TIMEOUT, subprocess: bool = False,
            env: dict[str, str] | None = None) -> Result:
        before = snapshot(self.inputs)
        existing = {p for p in self.root.rglob("*")}
        if subprocess:
            code, out, err = self._run_subprocess(args, timeout, env)
        else:
            assert env is None, "env needs subprocess=True"
            code, out, err = self._run_inprocess(args, timeout)
        new = sorted(p for p in self.root.rglob("*") if p not in existing)
        return Result(list(args), code, out, err, self.root, before, snapshot(self.inputs), new)

    def _run_inprocess(self, args, timeout: float) -> tuple[int, str, str]:
        from loyalty_sim.cli import main

        out, err = io.StringIO(), io.StringIO()
        cwd = os.getcwd()
        old_umask = os.umask(self.umask)
        os.chdir(self.root)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # as PYTHONWARNINGS=ignore in a subprocess
                try:
                    with _limits(timeout):
                        code = main([str(a) for a in args])
                except SystemExit as exc:  # argparse: exit 2 with usage; --version: exit 0
                    if exc.code is None or isinstance(exc.code, int):
                        code = exc.code or 0
                    else:
                        print(exc.code, file=err)
                        code = 1
                except HostileTimeout:
                    raise AssertionError(f"timed out after {timeout}s: loyalty-sim {' '.join(map(str, args))}") from None
                except Exception:  # what the console script would print and exit with
                    traceback.print_exc(file=err)
                    code = 1
        finally:
            os.chdir(cwd)
            os.umask(old_umask)
        return code, out.getvalue(), err.getvalue()

    def _run_subprocess(self, args, timeout: float, env) -> tuple[int, str, str]:
        full_env = {**os.environ, "PYTHONWARNINGS": "ignore", "MPLBACKEND": "Agg", **(env or {})}
        cmd = [sys.executable, "-c",
               f"import os, sys; os.umask({self.umask:#o}); from loyalty_sim.cli import main; sys.exit(main())",
               *args]
        try:
            proc = _subprocess.run(cmd, cwd=self.root, capture_output=True, text=True, timeout=timeout,
                                   env=full_env, errors="replace")
        except _subprocess.TimeoutExpired as exc:
            raise AssertionError(f"timed out after {timeout}s: loyalty-sim {' '.join(args)}") from exc
        return proc.returncode, proc.stdout, proc.stderr


# ----------------------------------------------------------------------------- checks
def assert_no_traceback(r: Result) -> None:
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, "traceback\n" + r.describe()


def message_lines(r: Result) -> list[str]:
    return [ln for ln in r.stderr.splitlines() if ln.strip()]


def assert_clean_error(r: Result, *, file: str | None, where: str | list[str] | None = None) -> None:
    """Exit 2, no traceback, a 1-3 line message naming ``file`` (basename) and ``where``.

    ``where`` is a field path, or text such as ``line 7``; a list means any of them.
    """
    assert_no_traceback(r)
    assert r.returncode == 2, "expected exit code 2\n" + r.describe()
    lines = message_lines(r)
    assert 1 <= len(lines) <= 3, f"expected a 1-3 line message, got {len(lines)}\n" + r.describe()
    msg = "\n".join(lines)
    if file is not None:
        assert Path(file).name in msg, f"message does not name the file {Path(file).name}\n" + r.describe()
    if where is not None:
        options = [where] if isinstance(where, str) else list(where)
        assert any(_mentions(msg, w) for w in options), f"message names none of {options}\n" + r.describe()
    assert_inputs_unchanged(r)
    assert_no_debris(r)


def _mentions(msg: str, where: str) -> bool:
    if where in msg:
        return True
    # a dotted path schemes[0].redemption.rule may be printed with its last part only
    m = re.fullmatch(r"line (\d+)", where)
    if m:
        return re.search(rf"\b(line|lines|row|rows)\b[^0-9]*\b{m.group(1)}\b", msg) is not None
    return False


def assert_inputs_unchanged(r: Result) -> None:
    assert r.inputs_before == r.inputs_after, "an input file was modified or created\n" + r.describe()


def assert_no_debris(r: Result) -> None:
    bad = [p for p in r.new_files if p.is_file() and any(t.search(p.name) for t in TEMP_PATTERNS)]
    assert not bad, f"temporary/partial files left behind: {bad}\n" + r.describe()
    if r.returncode != 0:
        written = [p for p in r.new_files if p.is_file()]
        assert not written, f"failed command left files behind: {written}\n" + r.describe()


def assert_umask(r: Result, umask: int) -> None:
    for p in r.new_files:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert not mode & umask, f"{p} has mode {mode:o}, umask {umask:o} forbids it\n" + r.describe()


def _no_constant(token: str):
    raise AssertionError(f"non-standard JSON token {token}")


def strict_json(text: str):
    """Parse JSON refusing NaN / Infinity / -Infinity."""
    return json.loads(text, parse_constant=_no_constant)


def assert_outputs_valid(r: Result) -> None:
    """A successful run: stdout JSON (if --json) strict, every CSV/JSON written valid and formula-free."""
    assert_no_traceback(r)
    assert_inputs_unchanged(r)
    assert_no_debris(r)
    if "--json" in r.args:
        try:
            strict_json(r.stdout)
        except (AssertionError, ValueError) as exc:
            raise AssertionError(f"stdout is not strict JSON: {exc}\n" + r.describe()) from None
    for p in r.new_files:
        if p.suffix == ".json":
            strict_json(p.read_text(encoding="utf-8"))
        elif p.suffix == ".csv":
            assert_csv_formula_free(p)
        elif p.suffix == ".html":
            assert_html_has_no_injected_markup(p)


def assert_csv_formula_free(path: Path) -> None:
    import csv

    with open(path, newline="", encoding="utf-8") as fh:
        for i, row in enumerate(csv.reader(fh), 1):
            for cell in row:
                if cell.startswith(FORMULA_START) and not _is_number(cell):
                    raise AssertionError(f"{path.name} record {i}: formula-like cell {cell!r}")


def _is_number(s: str) -> bool:
    try:
        return math.isfinite(float(s))
    except ValueError:
        return False


MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)><svg onload=alert(2)>'


class _MarkupFinder(HTMLParser):
    """Elements and attributes that user markup would have become had it not been escaped."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
        if tag == "img" and dict(attrs).get("src") == "x":
            self.found.append("<img src=x>")
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and "alert(" in data:
            self.found.append(f"<script>{data[:60]}</script>")


def assert_html_has_no_injected_markup(path: Path) -> None:
    """No element or event attribute from :data:`MARKUP` in the parsed HTML (escaped text is fine)."""
    finder = _MarkupFinder()
    finder.feed(path.read_text(encoding="utf-8", errors="replace"))
    assert not finder.found, f"{path.name}: user markup rendered unescaped: {finder.found[:3]}"


def assert_property(r: Result, *, file: str, where: str | list[str] | None = None) -> None:
    """Success with valid outputs, or a clean exit-2 message naming file and ``where``."""
    if r.returncode == 0:
        assert_outputs_valid(r)
    else:
        assert_clean_error(r, file=file, where=where)
