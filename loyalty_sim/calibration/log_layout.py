"""The layout of a text log, told from its first lines: the separator, a header line, the columns.

A log "as it comes" may use commas, semicolons, tabs, bars or runs of spaces, and may or
may not start with a line of column names. :func:`detect_layout` decides both from the
first lines (unless ``--separator`` / ``--header`` settle them) and, when it cannot, the
error shows what those lines look like, which columns were found and which flag to pass.
A file without a header line has columns named by position, ``"1"``, ``"2"``, ... (so
``--column customer=1``).
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, DataError

__all__ = ["Layout", "cdnow_layout", "detect_layout", "head_lines", "looks_like_data", "preview"]

#: how many lines are looked at
SNIFF_LINES = 20


#: candidate separators, in the order of preference, with their ``--separator`` word
_CANDIDATES = ((",", "comma"), (";", "semicolon"), ("\t", "tab"), ("|", "bar"))


_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


_DATE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T].*)?$|^\d{8}$")


@dataclass(frozen=True)
class Layout:
    """How a text log is laid out.

    Attributes
    ----------
    separator : str or None
        The field separator; None for runs of whitespace.
    header : bool
        Whether line ``header_line`` holds column names.
    names : list of str
        The column names (the header's, or ``"1"``, ``"2"``, ... without one).
    header_line : int
        The 1-based line of the header (or of the first data line, without one):
        leading blank lines are skipped.
    """

    separator: str | None
    header: bool
    names: list[str]
    header_line: int = 1

    @property
    def first_data_line(self) -> int:
        return self.header_line + 1 if self.header else self.header_line


def head_lines(path: Path, n: int = SNIFF_LINES) -> list[str]:
    """The first ``n`` lines of a (possibly compressed) text file, without line ends or a BOM."""
    suffixes = [s.lower() for s in path.suffixes]
    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
    try:
        if suffixes and suffixes[-1] in opener:
            fh = opener[suffixes[-1]](path, "rb")
        elif suffixes and suffixes[-1] == ".zip":
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
                raw = zf.read(names[0])[: 1 << 16] if names else b""
            fh = io.BytesIO(raw)
        elif suffixes and suffixes[-1] == ".zst":
            return []   # no zstd in the standard library: the reader's defaults apply
        else:
            fh = open(path, "rb")
        with fh:
            raw = fh.read(1 << 16)
    except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError) as exc:
        raise DataError(f"cannot read the file: {exc}", source=str(path)) from None
    text = raw.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.splitlines()
    if len(raw) == 1 << 16 and lines:
        lines = lines[:-1]   # the last line may be cut
    return lines[:n]


def preview(lines: list[str], first: int = 1, n: int = 3) -> str:
    """The first ``n`` non-blank lines as ``line 1: '...'``, for messages."""
    shown = [(first + i, line) for i, line in enumerate(lines) if line.strip()][:n]
    if not shown:
        return "the file is empty"
    return "; ".join(f"line {i}: {line[:100]!r}" for i, line in shown)


def looks_like_data(value: str) -> bool:
    """Whether a field looks like a value (a number or a date) rather than a column name."""
    v = value.strip().strip('"').strip()
    return bool(_NUMBER.match(v) or _DATE.match(v))


def _split(lines: list[str], sep: str | None) -> list[list[str]]:
    if sep is None:
        return [line.split() for line in lines]
    return [row for row in csv.reader(io.StringIO("\n".join(lines)), delimiter=sep) if row]


def _sniff_separator(lines: list[str]) -> str | None:
    """The separator that splits every line into the same number (>= 2) of fields; "" if none does."""
    for char, _ in _CANDIDATES:
        rows = _split(lines, char)
        counts = {len(r) for r in rows}
        if rows and len(counts) == 1 and counts.pop() >= 2:
            return char
    rows = _split(lines, None)
    counts = {len(r) for r in rows}
    if rows and len(counts) == 1 and counts.pop() >= 2:
        return None
    if len(lines) > 1:  # a header with other spacing than the rows: judge the rows alone
        rest = _sniff_separator(lines[1:])
        if rest != "" and len(_split(lines[:1], rest)[0]) == len(_split(lines[1:2], rest)[0]):
            return rest
    return ""


def _word(sep: str | None) -> str:
    return "whitespace" if sep is None else dict(_CANDIDATES).get(sep, sep)


def _is_header(first: list[str], second: list[str] | None, wanted: set[str]) -> bool:
    """A first line of names: a wanted column name, or no value-like field above a line that has some."""
    stripped = [f.strip() for f in first]
    if wanted & set(stripped):
        return True
    if any(looks_like_data(f) for f in stripped if f):
        return False
    return second is None or any(looks_like_data(f) for f in second if f.strip())


def detect_layout(path: Path, *, separator: str | None = None, header: str = "auto",
                  default_separator: str | None = None, wanted: set[str] | frozenset[str] = frozenset()) -> Layout:
    """The separator and header of a text log from its first lines.

    Parameters
    ----------
    path : Path
    separator : str, optional
        A ``--separator`` word (``"comma"``, ``"semicolon"``, ``"tab"``, ``"bar"``,
        ``"whitespace"``) or the character itself; detected when None.
    header : {"auto", "yes", "no"}
    default_separator : str, optional
        Used when the file cannot be looked into (zstd) and none is given.
    wanted : set of str
        Column names the reader looks for; one of them on the first line makes it a header.

    Raises
    ------
    DataError
        The separator cannot be told: the message shows the first lines and the flag.
    """
    from .log_readers import SEPARATORS

    src = str(path)
    all_lines = head_lines(path)
    skipped = 0
    while skipped < len(all_lines) and not all_lines[skipped].strip():
        skipped += 1
    lines = [ln for ln in all_lines[skipped:] if ln.strip()]
    if separator is not None:
        sep = SEPARATORS[separator] if separator in SEPARATORS else separator
    elif not lines:
        sep = default_separator if default_separator is not None else ","
    else:
        sep = _sniff_separator(lines)
        if sep == "":
            raise DataError(f"cannot tell the field separator: no separator among comma, semicolon, tab, bar "
                            f"and spaces splits the first lines alike ({preview(all_lines)}). Pass "
                            f"--separator with one of: {', '.join(SEPARATORS)}", source=src, rows=[skipped + 1])
    if not lines:
        return Layout(sep, header != "no", [], skipped + 1)
    rows = _split(lines[:2], sep)
    first, second = rows[0], (rows[1] if len(rows) > 1 else None)
    has_header = {"yes": True, "no": False}.get(header)
    if has_header is None:
        if header != "auto":
            raise ConfigError(f"--header {header}: expected auto, yes or no", field="header")
        has_header = _is_header(first, second, set(wanted))
    names = [f.strip() for f in first] if has_header else [str(i + 1) for i in range(len(first))]
    if has_header and len(set(names)) < len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise DataError(f"the header line names column(s) {dup} more than once ({preview(all_lines, n=1)}); "
                        f"rename them, or pass --header no if the first line is data", source=src,
                        rows=[skipped + 1])
    return Layout(sep, has_header, names, skipped + 1)


def no_header_hint(layout: Layout, lines: list[str]) -> str:
    """What to say when the first line is data: the columns found and the flags to pass."""
    rows = _split([ln for ln in lines if ln.strip()][:1], layout.separator)
    first = rows[0] if rows else []
    found = ", ".join(f"{i + 1}: {v.strip()[:20]!r}" for i, v in enumerate(first))
    return (f"the first line looks like data, not column names ({preview(lines, n=2)}); found "
            f"{len(first)} column(s) separated by {_word(layout.separator)} ({found}). Name them by number, "
            f"e.g. --column customer=1 --column date=2 --column amount=3, or pass --header yes if the "
            f"first line is column names")


def cdnow_layout(path: Path, header: str = "auto") -> Layout:
    """Which published CDNOW layout a file has: the 5-column sample or the 4-column master file.

    Both are whitespace-separated; a first line of names is skipped (``header``).

    Raises
    ------
    DataError
        Neither layout: the message shows the first lines and the other way to read it.
    """
    from .log_readers import CDNOW_COLUMNS, CDNOW_MASTER_COLUMNS

    src = str(path)
    lines = head_lines(path)
    skipped = 0
    while skipped < len(lines) and not lines[skipped].strip():
        skipped += 1
    body = [ln.split() for ln in lines[skipped:] if ln.strip()]
    if not body:
        return Layout(None, False, list(CDNOW_COLUMNS), skipped + 1)
    has_header = {"yes": True, "no": False}.get(header)
    if has_header is None:
        has_header = not any(looks_like_data(f) for f in body[0])
    data = body[1:] if has_header else body
    counts = {len(r) for r in data[:SNIFF_LINES]}
    names = {5: list(CDNOW_COLUMNS), 4: list(CDNOW_MASTER_COLUMNS)}.get(counts.pop() if len(counts) == 1 else -1)
    if names is None:
        found = sorted({len(r) for r in data[:SNIFF_LINES]})
        raise DataError(f"not a CDNOW layout: expected the 5-column sample (id, id in sample, date YYYYMMDD, "
                        f"CDs, dollars) or the 4-column master file (id, date YYYYMMDD, CDs, dollars), found "
                        f"{' or '.join(map(str, found)) or 'no'} column(s) ({preview(lines)}). For another "
                        f"layout pass --format csv --separator whitespace with --column customer=N "
                        f"--column date=N --column amount=N", source=src, rows=[skipped + 1])
    return Layout(None, has_header, names, skipped + 1)
