"""Parameterised reports: run a notebook with papermill, export a self-contained HTML report.

Every notebook in ``loyalty_sim/notebooks/`` has a first code cell tagged ``parameters`` whose
lines follow one contract::

    customers: int = 20000  # customers at week 0 [100, 2000000]
    preset: str = "coffee_shop"  # population preset {coffee_shop|grocery|online_retail}

(name, type, default, description, and an optional ``[low, high]`` range or
``{a|b|c}`` choices). :func:`notebook_parameters` reads it, :func:`validate_parameters`
checks values before anything runs, and :func:`run_report` executes the notebook and
writes, atomically, the executed notebook and an HTML report with the code hidden.
"""

from __future__ import annotations

import ast
import contextlib
import datetime as dt
import hashlib
import html
import json
import os
import re
import urllib.parse
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError, ReportError
from .files import Leftover, check_output_dir, clean_partials, create_partial, partial_name

#: The shipped report notebooks: package data (``loyalty_sim/notebooks``), read with importlib.resources.
#: The one place that knows where the notebooks are. A regular install is a folder on disk, which
#: papermill needs.
NOTEBOOK_DIR = Path(str(resources.files(__package__) / "notebooks"))
#: Default output folder: ``reports/`` in the current directory.
REPORT_DIR = Path("reports")
RECORD_MIME = "application/vnd.loyalty-sim.record+json"

_LINE = re.compile(r"^(?P<name>[A-Za-z_]\w*)\s*:\s*(?P<type>int|float|str|bool|list)\s*=\s*(?P<default>.+?)"
                   r"\s*(?:#\s*(?P<doc>.*))?$")
_RANGE = re.compile(r"\[\s*(?P<lo>-?[\d.eE+_]+)\s*,\s*(?P<hi>-?[\d.eE+_]+)\s*\]")
_CHOICES = re.compile(r"\{(?P<choices>[^}]+)\}")


@dataclass(frozen=True)
class ReportParameter:
    """One parameter of a report notebook."""

    name: str
    type: str
    default: Any
    doc: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None

    def describe(self) -> str:
        """One line of ``report --list``: how to set it on the command line, its default and what it is.

        The range or choices are those written in the description (printed once).
        """
        return f"-p {self.name} {self.example()}  (default {self.shown(self.default)}): {self.doc}"

    def example(self) -> str:
        """What a value looks like after ``-p NAME`` (a list in quotes: ``"[0.1, 0.2]"``)."""
        if self.type == "list":
            return '"[' + ", ".join(self.shown(v) for v in (self.default or [0.1, 0.2])[:2]) + ']"'
        if self.choices:
            return "|".join(self.choices)
        return {"int": "N", "float": "X", "bool": "true|false"}.get(self.type, "TEXT")

    @staticmethod
    def shown(value: Any) -> str:
        """A parameter value as it is typed on the command line (no Python quotes)."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return f'"{value}"' if value == "" or " " in value else value
        if isinstance(value, list):
            return "[" + ", ".join(ReportParameter.shown(v) for v in value) + "]"
        return f"{value}"


def available_reports() -> list[str]:
    """Report names (notebook file names without ``.ipynb``)."""
    return sorted(p.stem for p in NOTEBOOK_DIR.glob("[0-9][0-9]-*.ipynb"))


def _is_path_like(name: str) -> bool:
    seps = {"/", "\\", os.sep} | ({os.altsep} if os.altsep else set())
    return any(c in name for c in seps) or ".." in name or "\0" in name or os.path.isabs(name) or name in ("", ".")


def notebook_path(name: str) -> Path:
    """Path of shipped report ``name`` (also ``scheme-comparison`` or ``01`` when that picks one).

    Raises
    ------
    ConfigError
        ``name`` is not one of :func:`available_reports`; a path (separators, ``..``,
        absolute) is refused, never opened. The message lists the shipped reports.
    """
    shipped = available_reports()
    listing = ", ".join(shipped)
    if not isinstance(name, str) or _is_path_like(name):
        err = ConfigError(f"report '{name}' is a path; only the shipped reports run, by name: {listing}")
    elif name in shipped:
        return NOTEBOOK_DIR / f"{name}.ipynb"
    else:
        matches = [r for r in shipped if r.split("-", 1)[-1] == name or r.startswith(f"{name}-")]
        if len(matches) == 1:
            return NOTEBOOK_DIR / f"{matches[0]}.ipynb"
        from .text.suggest import did_you_mean

        err = ConfigError(f"unknown report '{name}'{did_you_mean(name, shipped + [r.split('-', 1)[-1] for r in shipped])}; "
                          f"available reports: {listing}")
    err.field = "report"
    raise err


def notebook_parameters(name: str) -> dict[str, ReportParameter]:
    """Parameters declared in the notebook's ``parameters`` cell."""
    import nbformat

    nb = nbformat.read(notebook_path(name), as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
    if not cells:
        raise ReportError(f"report '{name}' has no cell tagged 'parameters'")
    out: dict[str, ReportParameter] = {}
    for line in cells[0].source.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            raise ReportError(f"report '{name}': parameter line does not follow 'name: type = value  # doc': {line!r}")
        doc = m.group("doc") or ""
        low = high = None
        choices = None
        if (r := _RANGE.search(doc)):
            low, high = float(r.group("lo")), float(r.group("hi"))
        if (c := _CHOICES.search(doc)):
            choices = tuple(x.strip() for x in c.group("choices").split("|"))
        out[m.group("name")] = ReportParameter(m.group("name"), m.group("type"), ast.literal_eval(m.group("default")),
                                               doc, low, high, choices)
    return out


def _coerce(p: ReportParameter, value: Any) -> Any:
    if isinstance(value, str) and p.type != "str":
        from .files import parse_yaml

        try:
            value = parse_yaml(value)
        except ConfigError:
            raise ConfigError(f"expected {p.type}, got {value!r}", field=p.name) from None
    if p.type == "int":
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
            raise ConfigError(f"expected an integer, got {value!r}", field=p.name)
        value = int(value)
    elif p.type == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"expected a number, got {value!r}", field=p.name)
        value = float(value)
    elif p.type == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"expected true or false, got {value!r}", field=p.name)
    elif p.type == "list":
        if not isinstance(value, list):
            raise ConfigError(f"expected a list, got {value!r}", field=p.name)
        if p.low is not None and not all(not isinstance(v, bool) and isinstance(v, (int, float)) and p.low <= v <= p.high
                                         for v in value):
            raise ConfigError(f"every value must be a number in [{p.low:g}, {p.high:g}], got {value}", field=p.name)
    elif p.type == "str" and not isinstance(value, str):
        value = str(value)
    if p.low is not None and isinstance(value, (int, float)) and not p.low <= value <= p.high:
        raise ConfigError(f"must be in [{p.low:g}, {p.high:g}], got {value}", field=p.name)
    if p.choices and value not in p.choices:
        raise ConfigError(f"must be one of {list(p.choices)}, got {value!r}", field=p.name)
    return value


def validate_parameters(name: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Check and convert parameter values (type, range, choices) before execution."""
    spec = notebook_parameters(name)
    unknown = sorted(set(values) - set(spec))
    if unknown:
        from .text.suggest import did_you_mean

        raise ConfigError(f"unknown parameter(s) {unknown} for report '{name}'{did_you_mean(unknown[0], spec)}; "
                          f"it takes {sorted(spec)}", field=unknown[0])
    out = {k: _coerce(spec[k], v) for k, v in values.items()}
    if out.get("currency"):  # shown inside the report's sentences: letters, currency symbols and dots only
        import unicodedata

        cur = out["currency"]
        if len(cur) > 8 or not all(c == "." or c.isalpha() or unicodedata.category(c) == "Sc" for c in cur):
            raise ConfigError(f"expected 1-8 letters or currency symbols such as EUR, € or US$, got {cur!r}",
                              field="currency")
    return out


def record(key: str, value: Any) -> None:
    """Record a value in the executed notebook (for tests and batch indexes; invisible in the HTML)."""
    from IPython.display import display

    display({RECORD_MIME: {"key": key, "value": value}}, raw=True)


def recorded_values(nb: Any) -> dict[str, Any]:
    """Values stored by :func:`record` in an executed notebook (object or path)."""
    import nbformat

    if not hasattr(nb, "cells"):
        nb = nbformat.read(nb, as_version=4)
    out: dict[str, Any] = {}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            data = o.get("data", {}) if isinstance(o, dict) else getattr(o, "data", {})
            if RECORD_MIME in data:
                rec = data[RECORD_MIME]
                if isinstance(rec, str):
                    rec = json.loads(rec)
                out[rec["key"]] = rec["value"]
    return out


@dataclass(frozen=True)
class ReportOutput:
    """Files a report run produced."""

    name: str
    run_id: str
    parameters: dict[str, Any]
    notebook: Path
    html: Path
    values: dict[str, Any]
    leftovers: tuple[Leftover, ...] = ()  # what earlier interrupted runs had left in the folder


def clean_leftovers(out_dir: str | os.PathLike) -> list[Leftover]:
    """Remove what killed runs left in a report folder, and name what cannot be removed safely.

    Temporaries of dead processes on this host are removed (:func:`loyalty_sim.files.clean_partials`);
    those of running processes are named, and so are the hidden work folders that
    earlier versions left behind (they hold a partial notebook under its final name).
    """
    out = Path(out_dir)
    found = clean_partials(out)
    if out.is_dir():
        stems = "|".join(re.escape(r) for r in available_reports())
        legacy = re.compile(rf"^\.(?:{stems})\.[A-Za-z0-9_]{{8}}$")
        found += [Leftover(d, False, "work folder of an interrupted run of an older version; remove it")
                  for d in sorted(out.iterdir()) if d.is_dir() and legacy.match(d.name)]
    return found


def _file_stem(name: str, params: Mapping[str, Any], run_id: str) -> str:
    parts = []
    for k, v in sorted(params.items()):
        if isinstance(v, str) and ("/" in v or os.sep in v):
            v = Path(v).stem  # a file parameter: its name, not the folders above it
        text = re.sub(r"[^A-Za-z0-9.]+", "-", str(v)).strip("-")[:24]
        parts.append(f"{k}-{text}")
    joined = "_".join(parts)
    if len(joined) > 80:
        joined = joined[:60] + "_" + hashlib.sha1(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return f"{name}__{joined or 'defaults'}__{run_id}"


def new_run_id() -> str:
    """A run id: UTC time and a short random suffix."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + os.urandom(3).hex()


#: Kernel options: only critical log lines (not "Kernel is running over TCP without encryption").
_QUIET_KERNEL = ("--IPKernelApp.log_level=CRITICAL", "--Application.log_level=CRITICAL")


def run_report(name: str, parameters: Mapping[str, Any] | None = None, *, out_dir: str | os.PathLike | None = None,
               run_id: str | None = None, kernel_name: str = "python3", timeout: int = 1800,
               progress: bool = False) -> ReportOutput:
    """Execute report ``name`` with ``parameters`` and write its notebook and HTML atomically.

    While it runs, both files have temporary names (``.STEM.partial-HOST-PID-TOKEN.ipynb``),
    so a killed run leaves nothing under a final name; the next run in the folder
    removes them (see :func:`clean_leftovers`, returned as ``leftovers``).

    Raises
    ------
    ConfigError
        Unknown report, a path given as a name, invalid parameter, or an output folder
        that is a file or cannot be written (all checked before execution).
    ReportError
        The notebook failed; the message names the cell and the error. Nothing is left
        in ``out_dir`` for that run.

    With ``progress`` a bar over the notebook's cells runs on stderr (tqdm, papermill's).
    The kernel logs errors only, so its start-up chatter (transport warnings, a caught
    interrupt at shutdown) never reaches the terminal.
    """
    import nbformat
    import papermill as pm

    path = notebook_path(name)
    name = path.stem
    params = validate_parameters(name, dict(parameters or {}))
    out = check_output_dir(out_dir if out_dir is not None else REPORT_DIR, field="out")
    out.mkdir(parents=True, exist_ok=True)
    leftovers = tuple(clean_leftovers(out))
    run_id = run_id or new_run_id()
    stem = _file_stem(name, params, run_id)
    # temporaries carry temporary names (never the final one), so a killed run leaves nothing that looks done
    executed = create_partial(out / f"{stem}.ipynb")
    html_tmp = partial_name(out / f"{stem}.html")
    try:
        try:
            pm.execute_notebook(str(path), str(executed), parameters={**params, "run_id": run_id},
                                # the caller's directory: relative paths in parameters mean what was typed
                                kernel_name=kernel_name, progress_bar=progress, cwd=os.getcwd(),
                                execution_timeout=timeout, extra_arguments=list(_QUIET_KERNEL))
        except pm.PapermillExecutionError as exc:
            raise ReportError(f"report '{name}' failed in cell {exc.exec_count} (cell index {exc.cell_index}): "
                              f"{exc.ename}: {exc.evalue}") from None
        nb = nbformat.read(executed, as_version=4)
        shown = nbformat.from_dict(nb)
        for cell in shown.cells:  # progress bars and warnings stay in the notebook, not the report
            if "outputs" in cell:
                cell.outputs = [o for o in cell.outputs
                                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
                                and RECORD_MIME not in o.get("data", {})]
        body = export_html(shown, f"{name} ({run_id})")
        html_tmp.write_text(body, encoding="utf-8")
        final_nb, final_html = out / f"{stem}.ipynb", out / f"{stem}.html"
        os.replace(executed, final_nb)
        os.replace(html_tmp, final_html)
        return ReportOutput(name=name, run_id=run_id, parameters=params, notebook=final_nb, html=final_html,
                            values=recorded_values(nb), leftovers=leftovers)
    finally:
        for tmp in (executed, html_tmp):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def _batch_report(task: tuple[str, dict[str, Any], Path, str]) -> ReportOutput | ReportError:
    """One report of a batch (a task of :func:`run_batch`): its output, or the error of its notebook."""
    name, params, out, run_id = task
    try:
        return run_report(name, params, out_dir=out, run_id=run_id)
    except ReportError as exc:
        return exc


def run_batch(name: str, parameter_sets: list[Mapping[str, Any]], *, out_dir: str | os.PathLike | None = None,
              title: str | None = None, executor: Any = None,
              progress: bool = False) -> tuple[Path, list[ReportOutput | ReportError]]:
    """Run one report over several parameter sets and write an index page linking them.

    All parameter sets are validated before the first run. A failed run is listed
    in the index with its error; the others still run. ``executor`` runs the reports
    (:func:`loyalty_sim.executor.as_executor`; default: one after the other here); on a
    cluster every worker must see ``out_dir`` (a shared file system).
    """
    name = notebook_path(name).stem  # a shipped report, never a path
    if not isinstance(parameter_sets, list) or not parameter_sets:
        raise ConfigError("expected a non-empty list of parameter sets", field="batch")
    checked = []
    for i, ps in enumerate(parameter_sets):
        if not isinstance(ps, Mapping):
            raise ConfigError(f"expected a mapping of parameter -> value, got {ps!r}", field=f"batch[{i}]")
        try:
            checked.append(validate_parameters(name, ps))
        except ConfigError as exc:
            raise ConfigError(exc.message, field=f"batch[{i}].{exc.field}") from None
    out = check_output_dir(out_dir if out_dir is not None else REPORT_DIR, field="out")
    batch_id = new_run_id()
    from .executor import as_executor

    tasks = [(name, ps, out, f"{batch_id}-{i:02d}") for i, ps in enumerate(checked)]
    keys = [f"report {name}, batch run {i} ({run_id})" for i, (_, _, _, run_id) in enumerate(tasks)]
    results: list[ReportOutput | ReportError] = as_executor(executor).map(_batch_report, tasks, desc="reports",
                                                                           keys=keys, progress=progress)
    rows = []
    for ps, r in zip(checked, results):
        pars = ", ".join(f"{html.escape(str(k))}={html.escape(str(v))}" for k, v in ps.items()) or "defaults"
        if isinstance(r, ReportOutput):
            verdict = html.escape(str(r.values.get("headline", "")))
            link = html.escape(urllib.parse.quote(r.html.name))  # a link: URL-quoted, then HTML-escaped
            rows.append(f'<tr><td><a href="{link}">{html.escape(r.html.name)}</a></td>'
                        f"<td>{pars}</td><td>{verdict}</td></tr>")
        else:
            rows.append(f"<tr><td>failed</td><td>{pars}</td><td>{html.escape(str(r))}</td></tr>")
    page = ("<!doctype html><html><head><meta charset='utf-8'>"
            f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
            f"<title>{html.escape(title or name)}</title>"
            "<style>body{font-family:sans-serif;margin:2em}td,th{border-bottom:1px solid #ddd;padding:4px 8px}"
            "</style></head><body>"
            f"<h1>{html.escape(title or name)}</h1><p>batch {batch_id}, {len(checked)} runs</p>"
            "<table><tr><th>report</th><th>parameters</th><th>headline</th></tr>"
            + "".join(rows) + "</table></body></html>")
    from .files import write_text_atomic

    index = write_text_atomic(out / f"{name}__batch__{batch_id}__index.html", page)
    return index, results


def environment_info() -> dict[str, str]:
    """Versions recorded at the end of every report."""
    import platform
    import sys

    import matplotlib
    import numpy
    import pandas
    import scipy

    from . import __version__

    return {"loyalty-sim": __version__, "python": sys.version.split()[0], "numpy": numpy.__version__,
            "pandas": pandas.__version__, "scipy": scipy.__version__, "matplotlib": matplotlib.__version__,
            "platform": platform.platform(terse=True)}


def footer() -> str:
    """Markdown line closing every report: the versions of loyalty-sim, Python and the libraries."""
    return "---\n*Versions:* " + ", ".join(f"{k} {v}" for k, v in environment_info().items())


def setup_notebook() -> None:
    """Figure defaults for report notebooks (called explicitly by each notebook, never at import)."""
    import matplotlib as mpl

    try:  # figures inline in the report whatever MPLBACKEND says
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            shell.run_line_magic("matplotlib", "inline")
    except ImportError:  # pragma: no cover - IPython comes with the notebooks extra
        pass
    mpl.rcParams.update({"figure.dpi": 96, "savefig.dpi": 96, "axes.spines.top": False,
                         "axes.spines.right": False, "axes.titlesize": 11, "axes.titleweight": "bold"})


def run_header(report_name: str, run_id: str, parameters: Mapping[str, Any]) -> str:
    """Markdown block printed in every report: parameters, package version, seed and run id.

    Every name and value is escaped (:func:`~loyalty_sim.text.escape.escape_markdown`):
    a parameter value shows as typed and never becomes markup.
    """
    from . import __version__
    from .text.escape import escape_markdown as md

    rows = "\n".join(f"| {md(k.replace('_', ' '))} | {md(ReportParameter.shown(v))} |" for k, v in parameters.items())
    return (f"*Report {md(report_name)}, run {md(run_id)}, loyalty-sim {md(__version__)}.*\n\n"
            f"| parameter | value |\n|---|---|\n{rows}")


# No script, no fetch: the report is one self-contained file (figures are data: URIs, CSS is inline).
CONTENT_SECURITY_POLICY = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
                           "script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'")
#: The report style: one page width (1,280 px screens), readable tables (:data:`~loyalty_sim.text.tables.TABLE_CSS`).
REPORT_CSS = ("body{max-width:1200px;margin:0 auto}.jp-RenderedImage img{max-width:100%;height:auto}"
              ".jp-RenderedHTMLCommon table{max-width:100%}")


def _report_css() -> str:
    from .text.tables import TABLE_CSS

    return REPORT_CSS + TABLE_CSS


_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head -%}
<meta http-equiv="Content-Security-Policy" content="{{ resources.csp }}">
{{ super() }}
{%- endblock html_head -%}
{%- block html_head_js -%}<style>{{ resources.report_css }}</style>{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def export_html(nb: Any, title: str) -> str:
    """HTML of an executed notebook: code hidden, no JavaScript, a Content-Security-Policy forbidding scripts.

    The nbconvert lab template without require.js, MathJax, mermaid and widget scripts
    (the reports use none), so the file opens offline and makes no network request.
    """
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(extra_loaders=[DictLoader({"loyalty_sim_report.html.j2": _TEMPLATE})],
                            template_file="loyalty_sim_report.html.j2", exclude_input=True,
                            exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title},
                                                         "csp": CONTENT_SECURITY_POLICY,
                                                         "report_css": _report_css()})
    return body
