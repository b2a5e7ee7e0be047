"""Tables a reader sees in a report: formatted HTML, never a raw pandas frame.

:func:`html_table` takes a frame whose cells are already words and numbers written by
:mod:`loyalty_sim.text.format` (or plain numbers, formatted here) and returns an
object that notebooks display as a table: readable headers (``snake_case`` becomes
words), no index column, numbers right-aligned, every cell escaped, and no
scientific notation or ``NaN``. The report style sheet (:data:`TABLE_CSS`, part of
every exported report) keeps it within a 1,280 px page: long cells wrap.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping

import pandas as pd

from .escape import escape_html
from .format import finite, not_available, number

__all__ = ["HtmlTable", "TABLE_CSS", "header", "html_table"]

#: Style of every report table (inline in the exported HTML; nothing is fetched).
TABLE_CSS = """
table.ls-table{border-collapse:collapse;margin:0.6em 0 1.2em;font-size:13px;max-width:100%;table-layout:auto}
table.ls-table th{text-align:left;font-weight:600;border-bottom:2px solid #555;padding:4px 10px;vertical-align:bottom}
table.ls-table td{text-align:left;border-bottom:1px solid #ddd;padding:4px 10px;vertical-align:top;overflow-wrap:break-word}
table.ls-table td:first-child{overflow-wrap:anywhere;min-width:9em}
table.ls-table td.num,table.ls-table th.num{text-align:right}
table.ls-table caption{caption-side:top;text-align:left;color:#444;padding-bottom:4px}
.jp-RenderedHTMLCommon table.ls-table td,.jp-RenderedHTMLCommon table.ls-table th{text-align:left}
.jp-RenderedHTMLCommon table.ls-table td.num,.jp-RenderedHTMLCommon table.ls-table th.num{text-align:right}
"""

_NUMERIC = re.compile(r"^[+\-−]?\s*(?:[A-Z]{3}\s|[^\w\s(]{1,3}\s?)?[+\-]?\d")


def header(name: Any) -> str:
    """A column name as words: ``incremental_profit`` -> ``incremental profit``."""
    return str(name).replace("_", " ").strip()


def _cell(value: Any, fmt: Callable[[Any], str] | None) -> str:
    if fmt is not None:
        return fmt(value)
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or (isinstance(value, float) and finite(value) is None):
        return not_available()
    if isinstance(value, int):
        return number(value, 0)
    if finite(value) is not None:
        v = float(value)
        return number(v, 0 if abs(v) >= 100 else 2 if abs(v) >= 1 else 3)
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return str(value)


class HtmlTable:
    """A formatted table: ``_repr_html_`` for notebooks, ``rows`` for tests."""

    def __init__(self, columns: list[str], rows: list[list[str]], caption: str | None = None) -> None:
        self.columns, self.rows, self.caption = columns, rows, caption

    def _repr_html_(self) -> str:
        numeric = [bool(self.rows) and all(_NUMERIC.match(r[j]) or r[j].startswith("n/a") for r in self.rows)
                   and any(_NUMERIC.match(r[j]) for r in self.rows) for j in range(len(self.columns))]
        cls = [' class="num"' if n else "" for n in numeric]
        head = "".join(f"<th{c}>{escape_html(h)}</th>" for h, c in zip(self.columns, cls))
        body = "".join("<tr>" + "".join(f"<td{c}>{escape_html(v)}</td>" for v, c in zip(r, cls)) + "</tr>"
                       for r in self.rows)
        cap = f"<caption>{escape_html(self.caption)}</caption>" if self.caption else ""
        return f'<table class="ls-table">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

    def __repr__(self) -> str:  # plain-text view (console, notebooks without HTML)
        return "\n".join(["  ".join(self.columns)] + ["  ".join(r) for r in self.rows])


def html_table(frame: pd.DataFrame, *, formats: Mapping[str, Callable[[Any], str]] | None = None,
               headers: Mapping[str, str] | None = None, index: str | None = None,
               caption: str | None = None) -> HtmlTable:
    """``frame`` as a formatted table.

    Parameters
    ----------
    frame : DataFrame
        Cells are words (kept) or numbers (formatted by ``formats[column]``, else by
        magnitude with thousands separators; missing values become ``n/a``).
    formats : mapping, optional
        Column -> formatter (e.g. ``lambda x: money(x, currency="EUR")``).
    headers : mapping, optional
        Column -> header text; other columns get :func:`header`.
    index : str, optional
        Keep the index as a first column with this header (e.g. ``"scheme"``).
    """
    formats, headers = dict(formats or {}), dict(headers or {})
    df = frame.reset_index() if index is not None else frame
    if index is not None:
        df = df.rename(columns={df.columns[0]: index})
    cols = list(df.columns)
    rows = [[_cell(v, formats.get(c)) for c, v in zip(cols, rec)] for rec in df.itertuples(index=False, name=None)]
    return HtmlTable([headers.get(c, header(c)) for c in cols], rows, caption)
