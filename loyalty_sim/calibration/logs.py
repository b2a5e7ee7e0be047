"""Reading and validating real transaction logs (CSV, Parquet, the CDNOW text format).

A log becomes a tidy frame with our column names (DESIGN §6): ``customer_id``,
``timestamp``, ``amount`` and, when present, ``quantity``, ``category``, ``store_id``.
Every problem is a :class:`~loyalty_sim.errors.DataError` that names the file, the
column and the first offending rows, as 1-based line numbers of the file (a CSV header
is line 1; in a Parquet file, the 1-based row number). Input files are only ever
opened for reading.

Two things are never handled silently; each has an explicit option and is counted in
the :class:`LogReport`:

``returns`` (rows with a negative amount: refunds, returns)
    ``"error"`` (default) raises and lists them; ``"drop"`` leaves them out;
    ``"net"`` keeps them so that summaries net them against purchases (see
    :mod:`loyalty_sim.btyd.rfm`).
``duplicates`` (exact duplicate rows: the same value in every column of the file)
    ``"keep"`` (default) keeps them all as genuine repeat purchases (two identical
    purchases on one day are possible, e.g. in CDNOW) and counts them;
    ``"drop"`` keeps the first copy; ``"error"`` raises and lists them with the line
    they repeat.

Zero-amount rows are kept and counted (``n_zero_amounts``): visits that count for
frequency, left out of the spend model (see :mod:`loyalty_sim.btyd.rfm`). The separator
and a header line of a text file are detected (:mod:`.log_layout`); a day/month order
the dates settle is used and reported, one they do not settle is an error
(:mod:`.log_dates`).

Messages name the command-line flags (``--duplicates drop``, ``--column customer=cust``,
``--date-format %d/%m/%Y``); :func:`~loyalty_sim.calibration.log_readers.python_words`
rewrites one as the keywords of :func:`read_log` (``duplicates='drop'``).

Dates are parsed as ISO 8601 unless ``date_format`` (a ``strftime`` pattern) is given;
day-first and month-first dates are never guessed: only a value with a day above 12
settles the order. Time-zone
aware timestamps keep their wall-clock time; mixed offsets are converted to UTC.
Quoted CSV fields may span lines; errors then name the physical line where the record starts.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from ..btyd.rfm import (
    DailyAccumulator,
    EventAccumulator,
    IdCoder,
    check_resolution,
    rfm_from_daily,
    rfm_from_events,
    rfm_summary,
    timestamps_to_ns,
)
from ..dates import to_day, to_timestamp
from ..errors import ConfigError, DataError
from ..ids import int_ids_if_lossless
from .log_dates import settle_day_month
from .log_readers import (
    _SHOW,
    READERS,
    SEPARATORS,
    ColumnMap,
    _bits,
    _columns,
    _factorize_text,
    _Fallback,
    _is_arrow,
    _lines_of,
    _mix,
    _null_mask,
    _parse_dates,
    _take,
    _text_ids,
    _to_text_series,
    _value_hashes,
    _values_of,
    detect_format,
    separator_word,
)

__all__ = ["ColumnMap", "LogReport", "TransactionLog", "read_log", "summarise_log"]


#: ``returns`` values (``--returns``)
RETURNS = ("error", "drop", "net")


#: ``duplicates`` values (``--duplicates``); the first is the default
DUPLICATES = ("keep", "drop", "error")


#: the largest amount or quantity believed (a 1e308 in a log would overflow every sum)
_LARGEST = 1e15


#: ``header`` values (``--header``)
HEADERS = ("auto", "yes", "no")


@dataclass
class LogReport:
    """What reading a log found and did. Every count refers to data rows of the file."""

    source: str
    format: str
    columns: dict[str, str] = field(default_factory=dict)
    n_rows_read: int = 0
    n_blank_lines: int = 0
    returns: str = "error"
    n_returns: int = 0
    n_returns_dropped: int = 0
    duplicates: str = "keep"
    n_duplicates: int = 0
    n_duplicates_dropped: int = 0
    n_zero_amounts: int = 0
    separator: str | None = None
    header: bool | None = None
    date_format: str | None = None
    date_format_settled_by: str | None = None
    n_rows: int = 0
    n_customers: int | None = None
    first_timestamp: str | None = None
    last_timestamp: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TransactionLog:
    """A validated transaction log: the tidy frame and the report of how it was read.

    Attributes
    ----------
    data : DataFrame
        ``customer_id``, ``timestamp``, ``amount`` and any of ``quantity``,
        ``category``, ``store_id``, one row per kept row of the file.
    report : LogReport
    """

    data: pd.DataFrame
    report: LogReport

    def __len__(self) -> int:
        return len(self.data)

    def rfm(self, **kwargs: Any) -> pd.DataFrame:
        """:func:`loyalty_sim.btyd.rfm.rfm_summary` of this log."""
        return rfm_summary(self.data, **kwargs)


@dataclass
class _Chunk:
    frame: pd.DataFrame
    codes: np.ndarray
    day: np.ndarray


@dataclass(frozen=True)
class ReadOptions:
    """The checked options of one read, shared by the reader and the validator.

    Built by :func:`_options` from the keywords of :func:`read_log` /
    :func:`summarise_log`; dates are kept as day numbers (days since 1970-01-01) and as
    the text used in messages.
    """

    path: Path
    fmt: str
    cmap: ColumnMap
    date_format: str | None
    window: tuple[np.int64, np.int64] | None
    window_text: tuple[str, str] | None
    today: pd.Timestamp
    returns: str
    duplicates: str
    chunksize: int | None
    separator: str | None = None
    header: str = "auto"

    @property
    def source(self) -> str:
        return str(self.path)

    @property
    def today_day(self) -> np.int64:
        return to_day(self.today)

    @property
    def today_text(self) -> str:
        return str(self.today.date())

    def start(self, engine: str) -> tuple[Any, _Validator]:
        """A fresh reader (by format, from :data:`~.log_readers.READERS`) and validator for one attempt."""
        reader = READERS[self.fmt](self.path, self.cmap, self.chunksize, engine=engine, separator=self.separator,
                                   header=self.header)
        report = LogReport(source=self.source, format=self.fmt, returns=self.returns, duplicates=self.duplicates,
                           date_format=self.date_format)
        return reader, _Validator(self, report=report, int_ids=reader.int_ids)


@dataclass
class _Validator:
    """Turns raw chunks into tidy, validated frames; applies the returns/duplicates options."""

    opts: ReadOptions
    report: LogReport
    mapping: dict[str, str] = field(default_factory=dict)
    int_ids: bool = False
    line_map: np.ndarray | None = None
    coder: IdCoder = field(default_factory=IdCoder)
    settled_format: str | None = None
    _seen_hashes: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    _seen_lines: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def fail(self, message: str, column: str, rows: list[int]) -> DataError:
        return DataError(message, source=self.opts.source, column=column, rows=rows)

    def tidy(self, raw: Any, first_line: int) -> _Chunk:
        """One raw chunk as a tidy frame with its customer codes and days, after every check."""
        cols, lines = self._rows(raw, first_line)
        m = self.mapping
        out: dict[str, Any] = {}
        codes, out["customer_id"] = self._customer_ids(cols[m["customer_id"]], m["customer_id"], lines)
        out["timestamp"], day = self._timestamps(cols[m["timestamp"]], m["timestamp"], lines)
        amount = self._numeric(cols[m["amount"]], m["amount"], lines, "amount", required=True)
        out["amount"] = amount
        if "quantity" in m:
            out["quantity"] = self._numeric(cols[m["quantity"]], m["quantity"], lines, "quantity",
                                            required=False)
        for name in ("category", "store_id"):
            if name in m:
                out[name] = _to_text_series(cols[m[name]]).to_numpy()
        tidy = pd.DataFrame(out)
        keep = self._returns(amount, lines)
        keep &= self._duplicate_rows(cols, tidy, codes, lines, keep)
        self.report.n_zero_amounts += int(((amount == 0) & keep).sum())
        if not keep.all():
            tidy = tidy.loc[keep].reset_index(drop=True)
            codes, day = codes[keep], day[keep]
        return _Chunk(tidy, codes, day)

    def _rows(self, raw: Any, first_line: int) -> tuple[dict[str, Any], np.ndarray]:
        """The chunk's columns and each row's line, blank rows left out (and counted)."""
        cols, n = _columns(raw)
        lines = first_line + np.arange(n, dtype=np.int64)
        if self.line_map is not None:   # quoted fields span lines: name the physical line
            lines = self.line_map[np.minimum(lines - 1, len(self.line_map) - 1)]
        blank = np.ones(n, dtype=bool)
        for values in cols.values():
            blank &= _null_mask(values)
        if blank.any():  # empty lines (or rows with every field empty) are skipped and counted
            self.report.n_blank_lines += int(blank.sum())
            cols = {k: _take(v, ~blank) for k, v in cols.items()}
            lines = lines[~blank]
        self.report.n_rows_read += len(lines)
        return cols, lines

    def _customer_ids(self, values: Any, col: str, lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stable customer codes and ids of the rows; the distinct values are parsed, not every row."""
        local, uniq, blank_u = _factorize_text(values)
        miss = (local < 0) | blank_u[np.maximum(local, 0)] if len(blank_u) else local < 0
        if miss.any():
            raise self.fail("missing customer id", col, _lines_of(lines, miss))
        uniq = _text_ids(uniq)
        if self.int_ids:
            as_int = pd.to_numeric(pd.Series(uniq, dtype=object), errors="coerce")
            if as_int.isna().any():
                bad = as_int.isna().to_numpy()[local]
                raise self.fail(f"customer id is not a number: {_values_of(values, bad)}", col,
                                _lines_of(lines, bad))
            uniq = as_int.to_numpy(dtype=np.int64)
        return self.coder.encode(uniq)[local], uniq[local]

    def _timestamps(self, rawts: Any, col: str, lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Timestamps (tz-naive datetime64) and days of the rows, checked against today and the window."""
        opts = self.opts
        if not _is_arrow(rawts) and pd.api.types.is_datetime64_any_dtype(rawts.dtype):
            series = rawts.dt.tz_localize(None) if isinstance(rawts.dtype, pd.DatetimeTZDtype) else rawts
            ts = series.to_numpy()
            miss = np.isnat(ts)
            if miss.any():
                raise self.fail("missing date", col, _lines_of(lines, miss))
        else:
            local, uniq, blank_u = _factorize_text(rawts)
            miss = (local < 0) | blank_u[np.maximum(local, 0)] if len(blank_u) else local < 0
            if miss.any():
                raise self.fail("missing date", col, _lines_of(lines, miss))
            fmt = opts.date_format or self.settled_format
            uts = _parse_dates(uniq, fmt)
            bad_u = np.isnat(uts)
            if bad_u.any() and fmt is None:
                fmt = self._settle_day_month(uniq, bad_u, local, col, lines)
                if fmt is not None:
                    uts = _parse_dates(uniq, fmt)
                    bad_u = np.isnat(uts)
            if bad_u.any():
                bad = bad_u[local]
                how = f"the format {fmt}" if fmt else "ISO 8601 (YYYY-MM-DD[ HH:MM:SS])"
                how += " (settled by the data)" if fmt and not opts.date_format else ""
                raise self.fail(f"unparseable date(s) {_values_of(rawts, bad)}; expected {how}. "
                                f"Pass --date-format PATTERN (a strftime pattern, e.g. --date-format %d/%m/%Y)",
                                col, _lines_of(lines, bad))
            ts = uts[local]
        day = ts.astype("datetime64[D]").astype(np.int64)
        today = opts.today_day
        if (day > today).any():
            bad = day > today
            raise self.fail(f"date(s) in the future (after today, {opts.today_text}): "
                            f"{_values_of(rawts, bad)}", col, _lines_of(lines, bad))
        if opts.window is not None:
            bad = (day < opts.window[0]) | (day > opts.window[1])
            if bad.any():
                raise self.fail(f"date(s) outside the stated window {opts.window_text[0]} .. "
                                f"{opts.window_text[1]}: {_values_of(rawts, bad)}",
                                col, _lines_of(lines, bad))
        return ts, day

    def _settle_day_month(self, uniq: Any, bad_u: np.ndarray, local: np.ndarray, col: str,
                          lines: np.ndarray) -> str | None:
        """The day/month order the non-ISO dates settle (:mod:`.log_dates`); a DataError when they do not."""
        texts = np.asarray(uniq.to_numpy(zero_copy_only=False) if _is_arrow(uniq) else uniq, dtype=object)
        at = np.flatnonzero(bad_u)
        found = settle_day_month([str(t) for t in texts[at]])
        if found is None:
            return None
        rows = [_lines_of(lines, local == at[k])[0] for k in found.examples]
        if found.problem:
            raise self.fail(found.problem, col, rows)
        self.settled_format = found.format
        self.report.date_format = found.format
        self.report.date_format_settled_by = (f"{texts[at[found.examples[0]]]!r} (line {rows[0]}) "
                                              f"has a day above 12")
        return found.format

    def _returns(self, amount: np.ndarray, lines: np.ndarray) -> np.ndarray:
        """Rows to keep after the ``returns`` option (negative amounts counted; an error by default)."""
        keep = np.ones(len(amount), dtype=bool)
        neg = amount < 0
        if neg.any():
            self.report.n_returns += int(neg.sum())
            if self.opts.returns == "error":
                raise self.fail(
                    f"{int(neg.sum())} negative amount(s) (returns or refunds) in this part of the file, "
                    f"e.g. {_values_of(amount, neg)}. Pass --returns drop to leave them out or "
                    f"--returns net to net them against purchases", self.mapping["amount"], _lines_of(lines, neg))
            if self.opts.returns == "drop":
                keep &= ~neg
                self.report.n_returns_dropped += int(neg.sum())
        return keep

    def _duplicate_rows(self, cols: dict[str, Any], tidy: pd.DataFrame, codes: np.ndarray, lines: np.ndarray,
                        keep: np.ndarray) -> np.ndarray:
        """Rows to keep after the ``duplicates`` option (exact duplicates counted; an error by default)."""
        dup, first_of = self._duplicates(cols, tidy, codes, lines, keep)
        if dup.any():
            self.report.n_duplicates += int(dup.sum())
            if self.opts.duplicates == "error":
                pairs = ", ".join(f"{a} (repeats line {b})" for a, b in
                                  zip(lines[dup][:_SHOW], first_of[dup][:_SHOW]))
                raise self.fail(
                    f"{int(dup.sum())} exact duplicate row(s) in this part of the file: {pairs}. "
                    f"Pass --duplicates drop to keep only the first copy or --duplicates keep (the default) "
                    f"if they are genuine repeat purchases", "(all columns)", _lines_of(lines, dup))
            if self.opts.duplicates == "drop":
                self.report.n_duplicates_dropped += int(dup.sum())
                return ~dup
        return np.ones(len(dup), dtype=bool)

    def _numeric(self, values: Any, col: str, lines: np.ndarray, what: str, required: bool) -> np.ndarray:
        if _is_arrow(values):
            import pyarrow as pa
            import pyarrow.compute as pc

            parsed = None
            for prepare in (lambda v: v, pc.utf8_trim_whitespace):
                try:
                    parsed = pc.cast(prepare(values), pa.float64())
                    break
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    continue
            if parsed is None:  # some value is not a number: find the rows the slow way
                return self._numeric(pd.Series(values.to_numpy(zero_copy_only=False), dtype=object),
                                     col, lines, what, required)
            miss = parsed.is_null().to_numpy(zero_copy_only=False)
            out = parsed.fill_null(np.nan).to_numpy(zero_copy_only=False).astype(np.float64)
        elif pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
            out = values.to_numpy(dtype=np.float64, na_value=np.nan)
            miss = np.isnan(out)
        else:
            text = values.astype("str").str.strip()
            miss = (values.isna() | (text == "")).to_numpy(dtype=bool)
            out = pd.to_numeric(text.where(~miss, None), errors="coerce").to_numpy(dtype=np.float64,
                                                                                   na_value=np.nan)
        if required and miss.any():
            raise self.fail(f"missing {what}", col, _lines_of(lines, miss))
        bad = ~np.isfinite(out) & ~miss
        if bad.any():
            raise self.fail(f"non-numeric {what}: {_values_of(values, bad)}", col, _lines_of(lines, bad))
        huge = np.abs(np.where(miss, 0.0, out)) > _LARGEST
        if huge.any():
            raise self.fail(f"{what} too large to be real: {_values_of(values, huge)} (above {_LARGEST:.0e}); "
                            f"a unit or a separator is probably wrong", col, _lines_of(lines, huge))
        return out

    def _duplicates(self, cols: dict[str, Any], tidy: pd.DataFrame, codes: np.ndarray, lines: np.ndarray,
                    keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact duplicates of an earlier row (in this chunk or a previous one), by 64-bit row hashes.

        Mapped columns enter by their parsed values (customer, timestamp, amount, ...),
        the others by their text; the hashes of earlier chunks are kept sorted.
        Returns the mask of duplicate rows and, for each, the line of its first copy.
        """
        h = _mix(np.zeros(len(codes), dtype=np.uint64), _bits(codes))
        h = _mix(h, _bits(tidy["timestamp"].to_numpy()))
        h = _mix(h, _bits(tidy["amount"].to_numpy()))
        if "quantity" in tidy:
            h = _mix(h, _bits(tidy["quantity"].to_numpy()))
        for name in ("category", "store_id"):
            if name in tidy:
                h = _mix(h, _value_hashes(tidy[name]))
        mapped = set(self.mapping.values())
        for col, values in cols.items():
            if col not in mapped:
                h = _mix(h, _value_hashes(values))
        first_of = np.full(len(h), -1, dtype=np.int64)
        kidx = np.flatnonzero(keep)
        hk, lk = h[kidx], lines[kidx]
        order = np.argsort(hk, kind="stable")   # stable: file order within equal hashes
        hs = hk[order]
        hit = np.zeros(len(hk), dtype=bool)
        if len(self._seen_hashes) and len(hk):
            # sorted needles walk the sorted haystack in order (cache friendly)
            pos = np.minimum(np.searchsorted(self._seen_hashes, hs), len(self._seen_hashes) - 1)
            found = self._seen_hashes[pos] == hs
            hit[order[found]] = True
            first_of[kidx[order[found]]] = self._seen_lines[pos[found]]
        new_run = np.r_[True, hs[1:] != hs[:-1]] if len(hs) else np.empty(0, dtype=bool)
        run_start = np.flatnonzero(new_run)
        first_pos = order[run_start[np.cumsum(new_run) - 1]]   # first copy of each sorted row
        later = order[~new_run]
        inside = ~hit[later]
        first_of[kidx[later[inside]]] = lk[first_pos[~new_run][inside]]
        firsts = order[run_start]
        fresh = ~hit[firsts]
        self._merge(hs[run_start][fresh], lk[firsts[fresh]])
        return first_of >= 0, first_of

    def _merge(self, hashes: np.ndarray, lines: np.ndarray) -> None:
        """Merge sorted new hashes into the sorted hashes seen so far (linear time)."""
        if not len(hashes):
            return
        n, k = len(self._seen_hashes), len(hashes)
        at = np.searchsorted(self._seen_hashes, hashes) + np.arange(k)
        out_h = np.empty(n + k, dtype=np.uint64)
        out_l = np.empty(n + k, dtype=np.int64)
        old = np.ones(n + k, dtype=bool)
        old[at] = False
        out_h[at], out_l[at] = hashes, lines
        out_h[old], out_l[old] = self._seen_hashes, self._seen_lines
        self._seen_hashes, self._seen_lines = out_h, out_l


def _options(path: str | os.PathLike, fmt: str, columns: Any, date_format: str | None, window: Any,
             today: Any, returns: str, duplicates: str, chunksize: int | None, separator: str | None = None,
             header: str = "auto") -> ReadOptions:
    """The options of :func:`read_log`, checked (the file must exist; the format is told from its name if "auto")."""
    p = Path(path)
    if not p.is_file():
        raise DataError("file not found", source=str(p))
    fmt = detect_format(p, fmt)
    if returns not in RETURNS:
        raise ConfigError(f"expected one of {list(RETURNS)}, got {returns!r}", field="returns")
    if duplicates not in DUPLICATES:
        raise ConfigError(f"expected one of {list(DUPLICATES)}, got {duplicates!r}", field="duplicates")
    if header not in HEADERS:
        raise ConfigError(f"expected one of {list(HEADERS)}, got {header!r}", field="header")
    if separator is not None and separator not in SEPARATORS and (not isinstance(separator, str)
                                                                  or len(separator) != 1 or separator.isalnum()):
        raise ConfigError(f"expected one of {list(SEPARATORS)} or one punctuation character, got {separator!r}",
                          field="separator")
    if chunksize is not None and (isinstance(chunksize, bool) or not isinstance(chunksize, (int, np.integer))
                                  or chunksize < 1):
        raise ConfigError(f"expected a positive integer or None, got {chunksize!r}", field="chunksize")
    cmap = ColumnMap.from_any(columns)
    if fmt == "cdnow" and date_format is None:
        date_format = "%Y%m%d"
    today_ts = pd.Timestamp.now().normalize() if today is None else to_timestamp(today, "today")
    win = win_text = None
    if window is not None:
        try:
            start, end = window
        except (TypeError, ValueError):
            raise ConfigError("expected (start, end) dates", field="window") from None
        s, e = to_timestamp(start, "window[0]"), to_timestamp(end, "window[1]")
        if s > e:
            raise ConfigError(f"window starts ({s.date()}) after it ends ({e.date()})", field="window")
        win = (to_day(s), to_day(e))
        win_text = (str(s.date()), str(e.date()))
    return ReadOptions(p, fmt, cmap, date_format, win, win_text, today_ts, returns, duplicates, chunksize,
                       separator, header)


def _read(opts: ReadOptions, consume: Callable[[_Validator], Callable[[_Chunk], None]]) -> _Validator:
    """Feed every validated chunk to ``consume(validator)``; start again with pandas if Arrow gives up.

    ``consume`` is called once per attempt and returns the function that takes the chunks,
    so a restarted read begins from an empty state.
    """
    for engine in ("arrow", "pandas"):
        reader, validator = opts.start(engine)
        state = consume(validator)
        try:
            for raw, first_line in reader.chunks():
                validator.line_map = reader.line_map
                if not validator.mapping:
                    validator.mapping = dict(reader.mapping)
                    validator.report.columns = dict(reader.mapping)
                state(validator.tidy(raw, first_line))
        except _Fallback:
            continue
        if not validator.report.columns:
            validator.report.columns = dict(reader.mapping)
        layout = getattr(reader, "layout", None)
        if layout is not None:
            validator.report.separator = separator_word(layout.separator)
            validator.report.header = layout.header
        return validator
    raise AssertionError("unreachable")  # pragma: no cover


def read_log(path: str | os.PathLike, *, format: str = "auto", columns: ColumnMap | Mapping[str, str] | None = None,
             date_format: str | None = None, window: tuple[Any, Any] | None = None, today: Any = None,
             returns: str = "error", duplicates: str = "keep", chunksize: int | None = None,
             separator: str | None = None, header: str = "auto") -> TransactionLog:
    """Read and validate a transaction log.

    Parameters
    ----------
    path : path-like
        The file; it is opened for reading only.
    format : {"auto", "csv", "parquet", "cdnow"}
        ``auto`` decides by extension (``.csv``/``.tsv``, optionally compressed,
        ``.parquet``/``.pq``; a ``.txt`` file with "cdnow" in its name is CDNOW).
    columns : ColumnMap or dict, optional
        Our names to the file's columns, e.g. ``{"customer_id": "cust", "date": "day"}``.
        Ignored for CDNOW, whose columns are fixed (see ``loyalty_sim/datasets/CDNOW_sample.md``).
    date_format : str, optional
        ``strftime`` pattern of the dates; ISO 8601 when None (``%Y%m%d`` for CDNOW).
    window : (date, date), optional
        The period the log is stated to cover (both days included); a row outside it
        is an error.
    today : date-like, optional
        Rows dated after this day are an error; defaults to the current date.
    returns : {"error", "drop", "net"}
        What to do with negative amounts (see the module docstring).
    duplicates : {"keep", "drop", "error"}
        What to do with exact duplicate rows (see the module docstring).
    separator : str, optional
        ``"comma"``, ``"semicolon"``, ``"tab"``, ``"bar"``, ``"whitespace"`` (or one
        punctuation character); detected from the first lines when None. CSV only.
    header : {"auto", "yes", "no"}
        Whether the first line holds column names; detected when ``"auto"``. Without
        one, columns are named by position: ``columns={"customer_id": "1", ...}``.
    chunksize : int, optional
        Read about this many rows at a time (validation uses less memory; the result
        is the same). To summarise a log too large for memory use :func:`summarise_log`.

    Returns
    -------
    TransactionLog

    Raises
    ------
    DataError
        Naming the file, the column and the first offending lines.
    ConfigError
        For an invalid option.
    """
    opts = _options(path, format, columns, date_format, window, today, returns, duplicates, chunksize,
                    separator, header)
    parts: list[pd.DataFrame] = []

    def consume(_: _Validator) -> Callable[[_Chunk], None]:
        parts.clear()
        return lambda chunk: parts.append(chunk.frame)

    validator = _read(opts, consume)
    if not parts:   # a header and no rows
        parts = [pd.DataFrame({"customer_id": np.empty(0, np.int64), "timestamp": np.empty(0, "datetime64[us]"),
                               "amount": np.empty(0)})]
    data = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    if validator.coder.kind == "str" and data["customer_id"].dtype != object:
        data["customer_id"] = data["customer_id"].astype(str)
    elif validator.coder.kind == "str":
        data["customer_id"] = data["customer_id"].map(str)
    data["customer_id"] = int_ids_if_lossless(data["customer_id"])
    for name in ("category", "store_id"):
        if name in data and data[name].dtype == object:
            data[name] = data[name].astype("str")
    rep = validator.report
    rep.n_rows = len(data)
    rep.n_customers = int(data["customer_id"].nunique())
    if len(data):
        rep.first_timestamp = str(data["timestamp"].min())
        rep.last_timestamp = str(data["timestamp"].max())
    return TransactionLog(data=data, report=rep)


def summarise_log(source: Any, *, format: str = "auto", columns: ColumnMap | Mapping[str, str] | None = None,
                  date_format: str | None = None, window: tuple[Any, Any] | None = None, today: Any = None,
                  returns: str = "error", duplicates: str = "keep", calibration_end: Any = None,
                  observation_end: Any = None, time_unit: str | float = "W", resolution: str = "auto",
                  chunksize: int | None = 1_000_000, separator: str | None = None,
                  header: str = "auto") -> pd.DataFrame:
    """RFM summary of a log, reading a file in chunks without holding its rows.

    Each chunk is validated like :func:`read_log` and reduced to compact customer-day
    records (:class:`~loyalty_sim.btyd.rfm.DailyAccumulator`), or customer-timestamp records
    when the stamps carry times of day (:class:`~loyalty_sim.btyd.rfm.EventAccumulator`,
    see ``resolution``); the rows themselves are never held. Memory grows with the
    number of those records, plus 16 bytes per distinct row for the exact-duplicate
    check (a 10-million-row log needs about 1.5 GB in all). The result equals
    ``rfm_summary(read_log(path, ...))``.

    Parameters
    ----------
    source : path-like, TransactionLog or DataFrame
        A file (read in chunks) or an already tidy log.
    format, columns, date_format, window, today, returns, duplicates, separator, header
        As in :func:`read_log`.
    calibration_end, observation_end, time_unit, resolution
        As in :func:`loyalty_sim.btyd.rfm.rfm_summary`.
    chunksize : int
        About this many rows per chunk.

    Returns
    -------
    DataFrame
        The RFM summary; ``attrs["log_report"]`` holds the :class:`LogReport` as a dict.
    """
    if isinstance(source, (TransactionLog, pd.DataFrame)):
        out = rfm_summary(source, calibration_end=calibration_end, observation_end=observation_end,
                          time_unit=time_unit, resolution=resolution)
        if isinstance(source, TransactionLog):
            out.attrs["log_report"] = source.report.to_dict()
        return out
    check_resolution(resolution)
    opts = _options(source, format, columns, date_format, window, today, returns, duplicates, chunksize,
                    separator, header)
    holder: dict[str, Any] = {}
    by_day = resolution == "day"

    def consume(validator: _Validator) -> Callable[[_Chunk], None]:
        acc = DailyAccumulator(coder=validator.coder) if by_day else EventAccumulator(coder=validator.coder)
        holder.update(first=None, last=None, acc=acc)

        def add(chunk: _Chunk) -> None:
            if not len(chunk.frame):
                return
            when = chunk.day if by_day else timestamps_to_ns(chunk.frame["timestamp"])
            holder["acc"].add_codes(chunk.codes, when, chunk.frame["amount"].to_numpy())
            lo, hi = chunk.frame["timestamp"].min(), chunk.frame["timestamp"].max()
            holder["first"] = lo if holder["first"] is None or lo < holder["first"] else holder["first"]
            holder["last"] = hi if holder["last"] is None or hi > holder["last"] else holder["last"]
        return add

    validator = _read(opts, consume)
    acc = holder["acc"]
    if resolution == "auto":
        resolution = acc.resolution()
    exact = resolution == "exact"
    records = acc.events() if exact else acc.daily()
    rep = validator.report
    rep.n_rows = acc.n_rows
    rep.n_customers = len(records[0])
    rep.first_timestamp = None if holder["first"] is None else str(holder["first"])
    rep.last_timestamp = None if holder["last"] is None else str(holder["last"])
    try:
        summarise = rfm_from_events if exact else rfm_from_daily
        out = summarise(*records, calibration_end=calibration_end, observation_end=observation_end,
                        time_unit=time_unit)
    except DataError as exc:
        if exc.source is not None:
            raise
        raise DataError(str(exc), source=str(opts.path), rows=exc.rows, column=exc.column) from None
    out.attrs["resolution"] = resolution
    out.attrs["log_report"] = rep.to_dict()
    return out
