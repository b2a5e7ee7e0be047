"""``loyalty-sim report``: run a report notebook (papermill) and write its HTML, or list the reports."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Iterable

from ._common import emit, show_progress
from .executor_options import add_executor_options, executor_from_args

HELP = "run a parameterised report notebook and write HTML to reports/"


def add_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the options of ``report`` to ``p`` (and return it)."""
    p.add_argument("name", nargs="?", help="report name, e.g. 01-scheme-comparison (see --list)")
    p.add_argument("-p", "--param", nargs=2, action="append", metavar=("KEY", "VALUE"), help="set a parameter")
    p.add_argument("-f", "--file", help="YAML file of parameters")
    p.add_argument("-o", "--out", help="output folder (default: reports/)")
    p.add_argument("--batch", help="YAML list of parameter sets: one report each, plus an index page")
    add_executor_options(p, workers_help="local processes running the reports of a --batch (default 1: one at a time)")
    p.add_argument("--list", action="store_true", help="list the reports and their parameters")
    p.add_argument("--json", action="store_true", help="print JSON")
    return p


def run(args: argparse.Namespace) -> int:
    """Run a report notebook (papermill) and write its HTML, or list the reports."""
    from .. import report as rp
    from ..files import load_yaml

    if args.list or not args.name:
        reports = {n: {k: p.describe() for k, p in rp.notebook_parameters(n).items() if k != "run_id"}
                   for n in rp.available_reports()}
        text = "\n".join(f"{n}\n" + "\n".join(f"    {d}" for d in ps.values()) for n, ps in reports.items())
        emit(args, {"reports": reports}, text)
        return 0
    from ..files import check_output_dir

    rp.notebook_path(args.name)  # a shipped report's name, never a path
    check_output_dir(args.out if args.out else rp.REPORT_DIR, field="out")
    params: dict[str, Any] = {}
    if args.file:
        loaded = load_yaml(args.file)
        if not isinstance(loaded, dict):
            from ..errors import ConfigError

            raise ConfigError("expected a mapping of parameter -> value", source=args.file)
        params.update(loaded)
    for key, value in args.param or []:
        params[key] = value
    if args.batch:
        sets = load_yaml(args.batch)
        if isinstance(sets, dict) and "runs" in sets:
            sets = sets["runs"]
        with executor_from_args(args) as executor:
            index, results = rp.run_batch(args.name, [{**params, **s} if isinstance(s, dict) else s for s in sets],
                                          out_dir=args.out, executor=executor,
                                          progress=show_progress(args))
        _note_leftovers(r for r in results if isinstance(r, rp.ReportOutput))
        failed = [str(r) for r in results if not isinstance(r, rp.ReportOutput)]
        payload = {"index": str(index), "reports": [str(r.html) for r in results if isinstance(r, rp.ReportOutput)],
                   "failed": failed}
        emit(args, payload, f"index: {index}\n" + "\n".join(payload["reports"])
             + ("\nfailed:\n" + "\n".join(failed) if failed else ""))
        return 1 if failed else 0
    out = rp.run_report(args.name, params, out_dir=args.out, progress=show_progress(args))
    _note_leftovers([out])
    payload = {"report": out.name, "run_id": out.run_id, "html": str(out.html), "notebook": str(out.notebook),
               "parameters": out.parameters, "values": out.values}
    emit(args, payload, f"report written: {out.html}\nexecuted notebook: {out.notebook}")
    return 0


def _note_leftovers(outputs: Iterable[Any]) -> None:
    """Tell on stderr what killed earlier runs had left in the report folder (each file once)."""
    seen = {}
    for o in outputs:
        for left in o.leftovers:
            seen.setdefault(left.path, left)
    for left in seen.values():
        print(f"loyalty-sim report: note: earlier interrupted run - {left.describe()}", file=sys.stderr)
