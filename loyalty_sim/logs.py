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
    :mod:`loyalty_sim.rfm`).
``duplicates`` (exact duplicate rows: the same value in every column of the file)
    ``"error"`` (default) raises and lists them with the line they repeat;
    ``"drop"`` keeps the first copy; ``"keep"`` keeps them all (two identical
    purchases on one day are possible, e.g. in CDNOW).

Dates are parsed as ISO 8601 unless ``date_format`` (a ``strftime`` pattern) is given;
day-first and month-first dates are ambiguous, so they are never guessed. Time-zone
aware timestamps keep their wall-clock time; mixed offsets are converted to UTC.
Quoted CSV fields must not span lines (line numbers would drift).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import pandas as pd

from .errors import ConfigError, DataError
from .rfm import (
    DailyAccumulator,
    EventAccumulator,
    IdCoder,
    check_resolution,
    maybe_int_ids,
    rfm_from_daily,
    rfm_from_events,
    rfm_summary,
    timestamps_to_ns,
)

__all__ = ["ColumnMap", "LogReport", "TransactionLog", "read_log", "summarise_log"]

FORMATS = ("auto", "csv", "parquet", "cdnow")
RETURNS = ("error", "drop", "net")
DUPLICATES = ("error", "drop", "keep")
REQUIRED = ("customer_id", "timestamp", "amount")
OPTIONAL = ("quantity", "category", "store_id")
CANONICAL = REQUIRED + OPTIONAL

#: Column names given to the CDNOW text file (whitespace-separated, no header).
CDNOW_COLUMNS = ("customer_id_full", "customer_id", "date", "cds", "dollars")
_SHOW = 5


@dataclass(frozen=True)
class ColumnMap:
    """Which column of the file holds each of our fields.

    Parameters
    ----------
    customer_id, timestamp, amount : str
        File columns of the required fields. ``timestamp`` may hold dates or
        date-times; if the file has no ``timestamp`` column but a ``date`` one,
        ``date`` is used.
    quantity, category, store_id : str, optional
        File columns of the optional fields; when None, a column with our name is
        used if the file has one.
    """

    customer_id: str = "customer_id"
    timestamp: str = "timestamp"
    amount: str = "amount"
    quantity: str | None = None
    category: str | None = None
    store_id: str | None = None

    @classmethod
    def from_any(cls, value: ColumnMap | Mapping[str, str] | None) -> ColumnMap:
        """Build from a ColumnMap, a dict ``{our name: file column}`` (``date`` is an alias of ``timestamp``) or None."""
        if value is None:
            return cls()
        if isinstance(value, ColumnMap):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"expected a ColumnMap or a dict of our names to file columns, got "
                              f"{type(value).__name__}", field="columns")
        kwargs: dict[str, str] = {}
        for key, col in value.items():
            name = "timestamp" if key == "date" else key
            if name not in CANONICAL:
                raise ConfigError(f"unknown field {key!r}; expected some of {list(CANONICAL)} (or 'date')",
                                  field=f"columns.{key}")
            if name in kwargs:
                raise ConfigError("both 'date' and 'timestamp' given", field=f"columns.{key}")
            if not isinstance(col, str) or not col:
                raise ConfigError(f"expected a column name, got {col!r}", field=f"columns.{key}")
            kwargs[name] = col
        return cls(**kwargs)

    def __post_init__(self) -> None:
        used = [v for v in dataclasses.astuple(self) if v is not None]
        dup = {v for v in used if used.count(v) > 1}
        if dup:
            raise ConfigError(f"file column(s) {sorted(dup)} mapped to more than one field", field="columns")

    def resolve(self, header: list[str], source: str, header_line: int | None) -> dict[str, str]:
        """Our name -> file column for the columns present; DataError if a required one is missing."""
        mapping: dict[str, str] = {}
        for name in REQUIRED:
            col = getattr(self, name)
            if col not in header and name == "timestamp" and col == "timestamp" and "date" in header:
                col = "date"
            if col not in header:
                raise DataError(
                    f"required column '{col}' (our '{name}') not found; columns present: {header}. "
                    f"Map it with columns={{'{name}': '<column in the file>'}}",
                    source=source, column=col, rows=[header_line] if header_line else None)
            mapping[name] = col
        for name in OPTIONAL:
            col = getattr(self, name)
            if col is None:
                if name in header:
                    mapping[name] = name
            elif col not in header:
                raise DataError(f"column '{col}' (our '{name}') not found; columns present: {header}",
                                source=source, column=col, rows=[header_line] if header_line else None)
            else:
                mapping[name] = col
        return mapping


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
    duplicates: str = "error"
    n_duplicates: int = 0
    n_duplicates_dropped: int = 0
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
        """:func:`loyalty_sim.rfm.rfm_summary` of this log."""
        return rfm_summary(self.data, **kwargs)


# --------------------------------------------------------------------------- reading


class _Fallback(Exception):
    """The fast (Arrow) CSV reader could not parse the file; read it again with pandas."""


def _detect_format(path: Path, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}; expected one of {list(FORMATS)}", field="format")
    if fmt != "auto":
        return fmt
    name = path.name.lower()
    suffixes = [s.lower() for s in path.suffixes if s.lower() not in _COMPRESSED]
    suffix = suffixes[-1] if suffixes else ""
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".csv", ".tsv"):
        return "csv"
    if "cdnow" in name and suffix == ".txt":
        return "cdnow"
    raise ConfigError(f"cannot tell the format of '{path.name}' from its name; pass "
                      f"format='csv', 'parquet' or 'cdnow'", field="format", source=str(path))


_COMPRESSED = (".gz", ".bz2", ".zip", ".xz", ".zst")


@dataclass
class _Reader:
    """Chunks of raw rows (Arrow record batches or pandas frames) with each chunk's first line number."""

    path: Path
    fmt: str
    cmap: ColumnMap
    chunksize: int | None
    engine: str = "arrow"
    mapping: dict[str, str] = field(default_factory=dict)

    def chunks(self) -> Iterator[tuple[Any, int]]:
        if self.fmt == "parquet":
            yield from self._parquet()
        elif self.fmt == "cdnow":
            yield from self._pandas(list(CDNOW_COLUMNS), dict(sep=r"\s+", header=None, names=list(CDNOW_COLUMNS)), 1)
        else:
            sep = "\t" if ".tsv" in [s.lower() for s in self.path.suffixes] else ","
            header = self._csv_header(sep)
            compressed = any(s.lower() in _COMPRESSED for s in self.path.suffixes)
            if self.engine == "arrow" and not compressed:
                yield from self._arrow_csv(header, sep)
            else:
                yield from self._pandas(header, dict(sep=sep), 2)

    def _csv_header(self, sep: str) -> list[str]:
        src = str(self.path)
        try:
            header = [str(c) for c in pd.read_csv(self.path, nrows=0, sep=sep).columns]
        except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot read a CSV header: {exc}", source=src, rows=[1]) from None
        self.mapping = self.cmap.resolve(header, src, 1)
        return header

    def _block_size(self) -> int:
        if self.chunksize is None:
            return 64 << 20
        with open(self.path, "rb") as fh:
            sample = fh.read(1 << 20)
        per_line = len(sample) / max(sample.count(b"\n"), 1)
        return int(min(max(self.chunksize * per_line, 1 << 12), 1 << 28))

    def _arrow_csv(self, header: list[str], sep: str) -> Iterator[tuple[Any, int]]:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        opts = dict(
            read_options=pacsv.ReadOptions(block_size=self._block_size(), use_threads=True),
            parse_options=pacsv.ParseOptions(delimiter=sep, ignore_empty_lines=False, newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in header},
                                                 strings_can_be_null=True, null_values=[""],
                                                 quoted_strings_can_be_null=True),
        )
        try:
            reader = pacsv.open_csv(self.path, **opts)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise _Fallback() from None
        first = 2
        with reader:
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    raise _Fallback() from None
                if batch.schema.names != header:
                    raise _Fallback()
                yield batch, first
                first += batch.num_rows

    def _pandas(self, header: list[str], kw: dict[str, Any], first: int) -> Iterator[tuple[Any, int]]:
        src = str(self.path)
        if self.fmt == "cdnow":
            self.mapping = {"customer_id": "customer_id", "timestamp": "date", "amount": "dollars",
                            "quantity": "cds"}
        numeric = {self.mapping["amount"], self.mapping.get("quantity")}
        dtype = {c: object for c in header if c not in numeric}
        reader = None
        try:
            reader = pd.read_csv(self.path, dtype=dtype, skip_blank_lines=False, chunksize=self.chunksize,
                                 low_memory=False, keep_default_na=False, na_values=[""], **kw)
            if self.chunksize is None:
                yield reader, first
                return
            for chunk in reader:
                yield chunk, first
                first += len(chunk)
        except (pd.errors.ParserError, ValueError, UnicodeDecodeError) as exc:
            raise DataError(f"malformed file: {exc}", source=src) from None
        finally:
            if reader is not None and hasattr(reader, "close"):
                reader.close()

    def _parquet(self) -> Iterator[tuple[Any, int]]:
        import pyarrow.parquet as pq

        src = str(self.path)
        try:
            pf = pq.ParquetFile(self.path)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise DataError(f"not a readable Parquet file: {exc}", source=src) from None
        self.mapping = self.cmap.resolve(list(pf.schema_arrow.names), src, None)
        first = 1
        size = self.chunksize or max(pf.metadata.num_rows, 1)
        for batch in pf.iter_batches(batch_size=size):
            yield batch, first
            first += batch.num_rows


# --------------------------------------------------------------------------- columns
# A raw column is either an Arrow string array (fast CSV path) or a pandas Series.


def _is_arrow(values: Any) -> bool:
    return type(values).__module__.startswith("pyarrow")


def _columns(raw: Any) -> tuple[dict[str, Any], int]:
    if isinstance(raw, pd.DataFrame):
        return {str(c): raw[c].reset_index(drop=True) for c in raw.columns}, len(raw)
    import pyarrow as pa

    cols: dict[str, Any] = {}
    for name, arr in zip(raw.schema.names, raw.columns):
        if pa.types.is_dictionary(arr.type):
            arr = arr.dictionary_decode()
        if pa.types.is_large_string(arr.type):
            arr = arr.cast(pa.string())
        cols[name] = arr if pa.types.is_string(arr.type) else arr.to_pandas(date_as_object=False)
    return cols, raw.num_rows


def _null_mask(values: Any) -> np.ndarray:
    if _is_arrow(values):
        return values.is_null().to_numpy(zero_copy_only=False)
    return values.isna().to_numpy()


def _take(values: Any, mask: np.ndarray) -> Any:
    if _is_arrow(values):
        import pyarrow as pa

        return values.filter(pa.array(mask))
    return values[mask].reset_index(drop=True)


def _values_of(values: Any, mask: np.ndarray) -> str:
    idx = np.flatnonzero(mask)[:_SHOW]
    if _is_arrow(values):
        shown = values.take(idx).to_pylist()
    else:
        shown = np.asarray(values, dtype=object)[idx]
    return ", ".join(repr(v) for v in shown)


def _lines_of(lines: np.ndarray, mask: np.ndarray) -> list[int]:
    return [int(v) for v in lines[np.asarray(mask, dtype=bool)]]


def _factorize_text(values: Any) -> tuple[np.ndarray, Any, np.ndarray]:
    """Codes (-1 for missing), stripped distinct values and which of those are blank.

    The distinct values come back as an Arrow string array (Arrow input) or a numpy
    array (pandas input); parsing them instead of every row is what makes reading fast.
    """
    if _is_arrow(values):
        import pyarrow.compute as pc

        enc = pc.dictionary_encode(values)
        codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        uniq = pc.utf8_trim_whitespace(enc.dictionary)
        blank = pc.equal(uniq, "").to_numpy(zero_copy_only=False)
        return codes, uniq, np.asarray(blank, dtype=bool)
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    uniq = pd.Index(uniq)
    if uniq.dtype == object or pd.api.types.is_string_dtype(uniq.dtype):
        stripped = uniq.astype(str).str.strip()
        return codes, np.asarray(stripped, dtype=object), np.asarray(stripped == "", dtype=bool)
    return codes, uniq.to_numpy(), np.zeros(len(uniq), dtype=bool)


def _text_ids(uniq: Any) -> np.ndarray:
    """Distinct customer ids as int64 when every one is a plain decimal integer, else as text."""
    if _is_arrow(uniq):
        import pyarrow as pa
        import pyarrow.compute as pc

        try:  # plain decimal integers survive a round trip through int64 unchanged
            ints = pc.cast(uniq, pa.int64())
            if len(uniq) and pc.all(pc.equal(pc.cast(ints, pa.string()), uniq)).as_py() \
                    and pc.min(ints).as_py() >= 0:
                return ints.to_numpy()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        return uniq.to_numpy(zero_copy_only=False).astype(object)
    arr = np.asarray(uniq)
    if arr.dtype.kind == "f" and np.isfinite(arr).all() and (arr == np.round(arr)).all():
        return arr.astype(np.int64)   # e.g. a Parquet id column stored as float
    if arr.dtype.kind in "iu" or arr.dtype == object:
        return arr
    return arr.astype(str).astype(object)


def _to_text_series(values: Any) -> pd.Series:
    if _is_arrow(values):
        return pd.Series(values.to_pandas()).astype("str").str.strip()
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        return values.astype("str").str.strip()
    return values


def _parse_dates(text: Any, date_format: str | None) -> np.ndarray:
    fmt = date_format or "ISO8601"
    series = pd.Series(text.to_numpy(zero_copy_only=False) if _is_arrow(text) else text, dtype=object)
    try:
        ts = pd.to_datetime(series, format=fmt, errors="coerce")
    except (ValueError, TypeError):  # mixed time-zone offsets
        ts = pd.to_datetime(series, format=fmt, errors="coerce", utc=True)
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        ts = ts.dt.tz_localize(None)
    return ts.to_numpy()


_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def _mix(h: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Fold the 64-bit values ``v`` into the running row hashes ``h`` (splitmix64 finaliser)."""
    z = (h ^ v) + _GOLD
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _bits(values: np.ndarray) -> np.ndarray:
    arr = np.ascontiguousarray(values)
    if arr.dtype.kind == "f":
        arr = np.where(np.isnan(arr), -1.2345e300, arr + 0.0).astype(np.float64)  # -0.0 == 0.0
        return arr.view(np.uint64)
    if arr.dtype.kind == "M":
        return arr.astype("datetime64[ns]").view(np.int64).astype(np.uint64)
    return arr.astype(np.int64).astype(np.uint64)


def _value_hashes(values: Any) -> np.ndarray:
    """64-bit hash of each value of a column, the same in every chunk (missing -> a constant)."""
    if _is_arrow(values):
        import pyarrow.compute as pc

        enc = pc.dictionary_encode(values)
        codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        uniq = pd.Index(enc.dictionary.to_pandas())
    else:
        codes, uniq = pd.factorize(values, use_na_sentinel=True)
        uniq = pd.Index(uniq)
    hu = pd.util.hash_pandas_object(uniq, index=False).to_numpy() if len(uniq) else np.zeros(1, np.uint64)
    return np.where(codes >= 0, hu[np.maximum(codes, 0)], np.uint64(0x5EED)).astype(np.uint64)


# --------------------------------------------------------------------------- validation


@dataclass
class _Chunk:
    frame: pd.DataFrame
    codes: np.ndarray
    day: np.ndarray


@dataclass
class _Validator:
    """Turns raw chunks into tidy, validated frames; applies the returns/duplicates options."""

    source: str
    date_format: str | None
    window: tuple[np.int64, np.int64] | None
    window_text: tuple[str, str] | None
    today: np.int64
    today_text: str
    returns: str
    duplicates: str
    report: LogReport
    mapping: dict[str, str] = field(default_factory=dict)
    int_ids: bool = False
    coder: IdCoder = field(default_factory=IdCoder)
    _seen_hashes: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    _seen_lines: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def fail(self, message: str, column: str, rows: list[int]) -> DataError:
        return DataError(message, source=self.source, column=column, rows=rows)

    def tidy(self, raw: Any, first_line: int) -> _Chunk:
        cols, n = _columns(raw)
        m = self.mapping
        lines = first_line + np.arange(n, dtype=np.int64)
        blank = np.ones(n, dtype=bool)
        for values in cols.values():
            blank &= _null_mask(values)
        if blank.any():  # empty lines (or rows with every field empty) are skipped and counted
            self.report.n_blank_lines += int(blank.sum())
            cols = {k: _take(v, ~blank) for k, v in cols.items()}
            lines = lines[~blank]
        self.report.n_rows_read += len(lines)
        out: dict[str, Any] = {}

        # customer id: the distinct values are parsed, not every row
        col = m["customer_id"]
        local, uniq, blank_u = _factorize_text(cols[col])
        miss = (local < 0) | blank_u[np.maximum(local, 0)] if len(blank_u) else local < 0
        if miss.any():
            raise self.fail("missing customer id", col, _lines_of(lines, miss))
        uniq = _text_ids(uniq)
        if self.int_ids:
            as_int = pd.to_numeric(pd.Series(uniq, dtype=object), errors="coerce")
            if as_int.isna().any():
                bad = as_int.isna().to_numpy()[local]
                raise self.fail(f"customer id is not a number: {_values_of(cols[col], bad)}", col,
                                _lines_of(lines, bad))
            uniq = as_int.to_numpy(dtype=np.int64)
        codes = self.coder.encode(uniq)[local]
        out["customer_id"] = uniq[local]

        # timestamp
        col = m["timestamp"]
        rawts = cols[col]
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
            uts = _parse_dates(uniq, self.date_format)
            bad_u = np.isnat(uts)
            if bad_u.any():
                bad = bad_u[local]
                how = f"format {self.date_format!r}" if self.date_format else "ISO 8601 (YYYY-MM-DD[ HH:MM:SS])"
                raise self.fail(f"unparseable date(s) {_values_of(rawts, bad)}; expected {how}. "
                                f"Pass date_format='...' (a strftime pattern, e.g. '%d/%m/%Y')",
                                col, _lines_of(lines, bad))
            ts = uts[local]
        day = ts.astype("datetime64[D]").astype(np.int64)
        if (day > self.today).any():
            bad = day > self.today
            raise self.fail(f"date(s) in the future (after today, {self.today_text}): "
                            f"{_values_of(rawts, bad)}", col, _lines_of(lines, bad))
        if self.window is not None:
            bad = (day < self.window[0]) | (day > self.window[1])
            if bad.any():
                raise self.fail(f"date(s) outside the stated window {self.window_text[0]} .. "
                                f"{self.window_text[1]}: {_values_of(rawts, bad)}",
                                col, _lines_of(lines, bad))
        out["timestamp"] = ts

        # amount and quantity
        amount = self._numeric(cols[m["amount"]], m["amount"], lines, "amount", required=True)
        out["amount"] = amount
        if "quantity" in m:
            out["quantity"] = self._numeric(cols[m["quantity"]], m["quantity"], lines, "quantity",
                                            required=False)
        for name in ("category", "store_id"):
            if name in m:
                out[name] = _to_text_series(cols[m[name]]).to_numpy()
        tidy = pd.DataFrame(out)

        keep = np.ones(len(tidy), dtype=bool)
        neg = amount < 0
        if neg.any():
            self.report.n_returns += int(neg.sum())
            if self.returns == "error":
                raise self.fail(
                    f"{int(neg.sum())} negative amount(s) (returns or refunds) in this part of the file, "
                    f"e.g. {_values_of(amount, neg)}. Choose returns='drop' to leave them out or "
                    f"returns='net' to net them against purchases", m["amount"], _lines_of(lines, neg))
            if self.returns == "drop":
                keep &= ~neg
                self.report.n_returns_dropped += int(neg.sum())

        dup, first_of = self._duplicates(cols, tidy, codes, lines, keep)
        if dup.any():
            self.report.n_duplicates += int(dup.sum())
            if self.duplicates == "error":
                pairs = ", ".join(f"{a} (repeats line {b})" for a, b in
                                  zip(lines[dup][:_SHOW], first_of[dup][:_SHOW]))
                raise self.fail(
                    f"{int(dup.sum())} exact duplicate row(s) in this part of the file: {pairs}. "
                    f"Choose duplicates='drop' to keep only the first copy or duplicates='keep' if "
                    f"they are genuine repeat purchases", "(all columns)", _lines_of(lines, dup))
            if self.duplicates == "drop":
                keep &= ~dup
                self.report.n_duplicates_dropped += int(dup.sum())
        if not keep.all():
            tidy = tidy.loc[keep].reset_index(drop=True)
            codes, day = codes[keep], day[keep]
        return _Chunk(tidy, codes, day)

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


@dataclass
class _Options:
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

    def start(self, engine: str) -> tuple[_Reader, _Validator]:
        reader = _Reader(self.path, self.fmt, self.cmap, self.chunksize, engine=engine)
        report = LogReport(source=str(self.path), format=self.fmt, returns=self.returns,
                           duplicates=self.duplicates)
        validator = _Validator(source=str(self.path), date_format=self.date_format, window=self.window,
                               window_text=self.window_text, today=_day(self.today),
                               today_text=str(self.today.date()), returns=self.returns,
                               duplicates=self.duplicates, report=report, int_ids=self.fmt == "cdnow")
        return reader, validator


def _options(path: str | os.PathLike, fmt: str, columns: Any, date_format: str | None, window: Any,
             today: Any, returns: str, duplicates: str, chunksize: int | None) -> _Options:
    p = Path(path)
    if not p.is_file():
        raise DataError("file not found", source=str(p))
    fmt = _detect_format(p, fmt)
    if returns not in RETURNS:
        raise ConfigError(f"expected one of {list(RETURNS)}, got {returns!r}", field="returns")
    if duplicates not in DUPLICATES:
        raise ConfigError(f"expected one of {list(DUPLICATES)}, got {duplicates!r}", field="duplicates")
    if chunksize is not None and (isinstance(chunksize, bool) or not isinstance(chunksize, (int, np.integer))
                                  or chunksize < 1):
        raise ConfigError(f"expected a positive integer or None, got {chunksize!r}", field="chunksize")
    cmap = ColumnMap.from_any(columns)
    if fmt == "cdnow" and date_format is None:
        date_format = "%Y%m%d"
    today_ts = pd.Timestamp.now().normalize() if today is None else _timestamp(today, "today")
    win = win_text = None
    if window is not None:
        try:
            start, end = window
        except (TypeError, ValueError):
            raise ConfigError("expected (start, end) dates", field="window") from None
        s, e = _timestamp(start, "window[0]"), _timestamp(end, "window[1]")
        if s > e:
            raise ConfigError(f"window starts ({s.date()}) after it ends ({e.date()})", field="window")
        win = (_day(s), _day(e))
        win_text = (str(s.date()), str(e.date()))
    return _Options(p, fmt, cmap, date_format, win, win_text, today_ts, returns, duplicates, chunksize)


def _timestamp(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ConfigError(f"not a date: {value!r}", field=name) from None
    if ts is pd.NaT:
        raise ConfigError("a date is required", field=name)
    return ts.tz_localize(None) if ts.tzinfo is not None else ts


def _day(ts: pd.Timestamp) -> np.int64:
    return np.int64(np.datetime64(ts.to_datetime64(), "D").astype(np.int64))


def _read(opts: _Options, consume: Callable[[_Validator], Callable[[_Chunk], None]]) -> _Validator:
    """Feed every validated chunk to ``consume(validator)``; start again with pandas if Arrow gives up.

    ``consume`` is called once per attempt and returns the function that takes the chunks,
    so a restarted read begins from an empty state.
    """
    for engine in ("arrow", "pandas"):
        reader, validator = opts.start(engine)
        state = consume(validator)
        try:
            for raw, first_line in reader.chunks():
                if not validator.mapping:
                    validator.mapping = dict(reader.mapping)
                    validator.report.columns = dict(reader.mapping)
                state(validator.tidy(raw, first_line))
        except _Fallback:
            continue
        if not validator.report.columns:
            validator.report.columns = dict(reader.mapping)
        return validator
    raise AssertionError("unreachable")  # pragma: no cover


def read_log(path: str | os.PathLike, *, format: str = "auto", columns: ColumnMap | Mapping[str, str] | None = None,
             date_format: str | None = None, window: tuple[Any, Any] | None = None, today: Any = None,
             returns: str = "error", duplicates: str = "error", chunksize: int | None = None) -> TransactionLog:
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
        Ignored for CDNOW, whose columns are fixed (see ``data/CDNOW_sample.md``).
    date_format : str, optional
        ``strftime`` pattern of the dates; ISO 8601 when None (``%Y%m%d`` for CDNOW).
    window : (date, date), optional
        The period the log is stated to cover (both days included); a row outside it
        is an error.
    today : date-like, optional
        Rows dated after this day are an error; defaults to the current date.
    returns : {"error", "drop", "net"}
        What to do with negative amounts (see the module docstring).
    duplicates : {"error", "drop", "keep"}
        What to do with exact duplicate rows (see the module docstring).
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
    opts = _options(path, format, columns, date_format, window, today, returns, duplicates, chunksize)
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
    data["customer_id"] = maybe_int_ids(data["customer_id"])
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
                  returns: str = "error", duplicates: str = "error", calibration_end: Any = None,
                  observation_end: Any = None, time_unit: str | float = "W", resolution: str = "auto",
                  chunksize: int | None = 1_000_000) -> pd.DataFrame:
    """RFM summary of a log, reading a file in chunks without holding its rows.

    Each chunk is validated like :func:`read_log` and reduced to compact customer-day
    records (:class:`~loyalty_sim.rfm.DailyAccumulator`), or customer-timestamp records
    when the stamps carry times of day (:class:`~loyalty_sim.rfm.EventAccumulator`,
    see ``resolution``); the rows themselves are never held. Memory grows with the
    number of those records, plus 16 bytes per distinct row for the exact-duplicate
    check (a 10-million-row log needs about 1.5 GB in all). The result equals
    ``rfm_summary(read_log(path, ...))``.

    Parameters
    ----------
    source : path-like, TransactionLog or DataFrame
        A file (read in chunks) or an already tidy log.
    format, columns, date_format, window, today, returns, duplicates
        As in :func:`read_log`.
    calibration_end, observation_end, time_unit, resolution
        As in :func:`loyalty_sim.rfm.rfm_summary`.
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
    opts = _options(source, format, columns, date_format, window, today, returns, duplicates, chunksize)
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
