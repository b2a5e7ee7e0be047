"""The file side of log reading: formats, column maps, one reader per format, raw column values.

A reader turns a file into chunks of raw rows (Arrow record batches or pandas frames),
each with the line number of its first row; :mod:`loyalty_sim.calibration.logs`
validates them. Readers are registered by format in :data:`READERS`; adding a format
means adding a reader class and its entry (and, if it can be told by its name, a
rule in :func:`detect_format`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError

REQUIRED = ("customer_id", "timestamp", "amount")


OPTIONAL = ("quantity", "category", "store_id")


CANONICAL = REQUIRED + OPTIONAL


#: Column names given to the CDNOW sample file (whitespace-separated, five columns).
CDNOW_COLUMNS = ("customer_id_full", "customer_id", "date", "cds", "dollars")


#: Column names given to the CDNOW master file (whitespace-separated, four columns).
CDNOW_MASTER_COLUMNS = ("customer_id", "date", "cds", "dollars")


#: ``separator`` values (the command line's ``--separator``) -> the character; ``whitespace``
#: is any run of spaces or tabs.
SEPARATORS = {"comma": ",", "semicolon": ";", "tab": "\t", "bar": "|", "whitespace": None}


def separator_word(sep: str | None) -> str:
    """The ``--separator`` word of a separator character (None: runs of whitespace)."""
    for word, char in SEPARATORS.items():
        if char == sep:
            return word
    return str(sep)


_SHOW = 5


_COMPRESSED = (".gz", ".bz2", ".zip", ".xz", ".zst")


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

    def wanted(self) -> set[str]:
        """The file columns this map looks for (a header line holding one of them is a header)."""
        out = {v for v in dataclasses.astuple(self) if v is not None}
        return out | ({"date"} if self.timestamp == "timestamp" else set()) | set(OPTIONAL)

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
                    f"Pass --column {_FLAG_FIELD[name]}=COLUMN with the file's column for it"
                    + (f" (e.g. --column {_FLAG_FIELD[name]}={header[0]})" if header else ""),
                    source=source, column=col, rows=[header_line] if header_line else None)
            mapping[name] = col
        for name in OPTIONAL:
            col = getattr(self, name)
            if col is None:
                if name in header:
                    mapping[name] = name
            elif col not in header:
                raise DataError(f"column '{col}' (our '{name}') not found; columns present: {header}. "
                                f"Check --column {_FLAG_FIELD[name]}={col}",
                                source=source, column=col, rows=[header_line] if header_line else None)
            else:
                mapping[name] = col
        return mapping


#: the flags the reader's messages name -> the keyword of :func:`~loyalty_sim.calibration.logs.read_log`
FLAG_KEYWORDS = {"--duplicates": "duplicates", "--returns": "returns", "--date-format": "date_format",
                 "--separator": "separator", "--header": "header", "--format": "format"}


_FLAG_VALUE = re.compile(r"--(duplicates|returns|date-format|separator|header|format) (\S+(?: %H:%M(?::%S)?)?)")


_COLUMN_FLAG = re.compile(r"--column (customer|date|amount|quantity|category|store)=(\S+)")


def python_words(message: str) -> str:
    """A reader message in the words of the Python API: ``--duplicates drop`` -> ``duplicates='drop'``.

    The messages name command-line flags (what most users type); this rewrites them as
    the keywords of :func:`~loyalty_sim.calibration.logs.read_log`.
    """
    fields = {v: k for k, v in _FLAG_FIELD.items()}

    def flag(m: re.Match[str]) -> str:
        value = m.group(2).rstrip(".,;)")
        rest = m.group(2)[len(value):]
        return f"{FLAG_KEYWORDS['--' + m.group(1)]}={value!r}{rest}"

    def column(m: re.Match[str]) -> str:
        value = m.group(2).rstrip(".,;)")
        rest = m.group(2)[len(value):]
        return f"columns={{{fields[m.group(1)]!r}: {value!r}}}{rest}"
    return _COLUMN_FLAG.sub(column, _FLAG_VALUE.sub(flag, message))


#: our field -> its name in ``--column FIELD=COLUMN``
_FLAG_FIELD = {"customer_id": "customer", "timestamp": "date", "amount": "amount", "quantity": "quantity",
               "category": "category", "store_id": "store"}


def physical_lines(path: Path, block: int = 1 << 24) -> np.ndarray | None:
    """Physical (1-based) line where each CSV record starts, or None if no quoted field spans lines.

    Record 0 is the header. A newline inside double quotes (an even number of quote
    characters before it means outside: an escaped ``""`` counts twice) does not end a
    record. Read in blocks, so memory stays small until a spanning field is found.
    """
    starts: list[np.ndarray] = []
    quotes = 0   # quote characters seen so far (parity: inside a quoted field)
    lines = 0    # newlines seen so far
    spans = False
    with open(path, "rb") as fh:
        while True:
            buf = fh.read(block)
            if not buf:
                break
            a = np.frombuffer(buf, dtype=np.uint8)
            nl = np.flatnonzero(a == 10)
            q = np.flatnonzero(a == 34)
            if q.size or quotes % 2:
                q_before = quotes + np.searchsorted(q, nl)   # quotes before each newline
                inside = (q_before % 2).astype(bool)
                spans = spans or bool(inside.any())
                ends = np.flatnonzero(~inside)
            else:
                ends = np.arange(nl.size)
            # a record starts on the line after each newline that ends one
            starts.append(lines + ends + 2)
            quotes += q.size
            lines += nl.size
    if not spans:
        return None
    return np.concatenate([np.ones(1, dtype=np.int64)] + [s.astype(np.int64) for s in starts])


class _Fallback(Exception):
    """The fast (Arrow) CSV reader could not parse the file; read it again with pandas."""


def detect_format(path: Path, fmt: str) -> str:
    """``fmt`` checked against :data:`FORMATS`; for ``"auto"``, the format told by the file's name."""
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
                      f"--format csv, --format parquet or --format cdnow", field="format", source=str(path))


@dataclass
class _Reader:
    """Chunks of raw rows (Arrow record batches or pandas frames) with each chunk's first line number.

    A subclass per format implements :meth:`chunks` and sets :attr:`mapping` (our name ->
    file column) before the first chunk; ``int_ids`` says that the format's customer ids
    are numbers.
    """

    path: Path
    cmap: ColumnMap
    chunksize: int | None
    engine: str = "arrow"
    separator: str | None = None
    header: str = "auto"
    #: the :class:`~loyalty_sim.calibration.log_layout.Layout` found (text formats), once read
    layout: Any = None
    mapping: dict[str, str] = field(default_factory=dict)
    #: physical line of each record (index = record number, header = 0) when quoted fields span lines
    line_map: np.ndarray | None = None
    int_ids = False

    def chunks(self) -> Iterator[tuple[Any, int]]:
        raise NotImplementedError

    def _pandas(self, header: list[str], kw: dict[str, Any], first: int) -> Iterator[tuple[Any, int]]:
        src = str(self.path)
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
        except UnicodeDecodeError:
            line, byte = first_non_utf8(self.path)
            raise DataError(f"byte 0x{byte:02x} is not UTF-8; expected a UTF-8 text file (save it as UTF-8, e.g. "
                            "from Latin-1: iconv -f latin1 -t utf-8)", source=src, rows=[line]) from None
        except (pd.errors.ParserError, ValueError) as exc:
            raise DataError(f"malformed file: {exc}", source=src) from None
        finally:
            if reader is not None and hasattr(reader, "close"):
                reader.close()


@dataclass
class _CsvReader(_Reader):
    """CSV, TSV or another separated text file (optionally compressed).

    The separator and a header line are detected from the first lines
    (:func:`~loyalty_sim.calibration.log_layout.detect_layout`) unless given. Arrow's
    reader is used, or pandas when Arrow gives up, the file is compressed or the fields
    are separated by runs of whitespace.
    """

    def chunks(self) -> Iterator[tuple[Any, int]]:
        from .log_layout import detect_layout

        default = "\t" if ".tsv" in [s.lower() for s in self.path.suffixes] else ","
        separator = self.separator
        if separator is None and default == "\t":
            separator = "tab"
        layout = self.layout = detect_layout(self.path, separator=separator, header=self.header,
                                             default_separator=default, wanted=self.cmap.wanted())
        header = self._resolve(layout)
        compressed = any(s.lower() in _COMPRESSED for s in self.path.suffixes)
        if not compressed and layout.header_line == 1:
            self.line_map = physical_lines(self.path)   # record 0 is the first line, header or not
        kw: dict[str, Any] = dict(sep=r"\s+" if layout.separator is None else layout.separator,
                                  header=None, names=header, skiprows=layout.first_data_line - 1)
        if self.engine == "arrow" and not compressed and layout.separator is not None:
            yield from self._arrow_csv(header, layout)
        else:
            yield from self._pandas(header, kw, layout.first_data_line)

    def _resolve(self, layout: Any) -> list[str]:
        """Our fields -> the layout's columns; without a header the error says how to name them by number."""
        from .log_layout import head_lines, no_header_hint

        src = str(self.path)
        if not layout.names:
            raise DataError("the file is empty: expected a header line and rows", source=src, rows=[1])
        try:
            self.mapping = self.cmap.resolve(layout.names, src, layout.header_line if layout.header else None)
        except DataError:
            if layout.header:
                raise
            raise DataError(no_header_hint(layout, head_lines(self.path)), source=src,
                            rows=[layout.header_line]) from None
        return list(layout.names)

    def _block_size(self) -> int:
        if self.chunksize is None:
            return 64 << 20
        with open(self.path, "rb") as fh:
            sample = fh.read(1 << 20)
        per_line = len(sample) / max(sample.count(b"\n"), 1)
        return int(min(max(self.chunksize * per_line, 1 << 12), 1 << 28))

    def _arrow_csv(self, header: list[str], layout: Any) -> Iterator[tuple[Any, int]]:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        opts = dict(
            read_options=pacsv.ReadOptions(block_size=self._block_size(), use_threads=True, column_names=header,
                                           skip_rows=layout.first_data_line - 1),
            parse_options=pacsv.ParseOptions(delimiter=layout.separator, ignore_empty_lines=False,
                                             newlines_in_values=self.line_map is not None),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in header},
                                                 strings_can_be_null=True, null_values=[""],
                                                 quoted_strings_can_be_null=True),
        )
        try:
            reader = pacsv.open_csv(self.path, **opts)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise _Fallback() from None
        first = layout.first_data_line
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


#: Our names of the CDNOW columns (the files' own columns are :data:`CDNOW_COLUMNS`,
#: :data:`CDNOW_MASTER_COLUMNS`).
CDNOW_MAPPING = {"customer_id": "customer_id", "timestamp": "date", "amount": "dollars", "quantity": "cds"}


@dataclass
class _CdnowReader(_Reader):
    """A CDNOW text file in either published layout: the 5-column sample or the 4-column master file.

    Whitespace-separated, fixed columns, numeric customer ids; a first line of column
    names is skipped (see :func:`~loyalty_sim.calibration.log_layout.cdnow_layout`).
    """

    int_ids = True

    def chunks(self) -> Iterator[tuple[Any, int]]:
        from .log_layout import cdnow_layout

        layout = self.layout = cdnow_layout(self.path, self.header)
        self.mapping = dict(CDNOW_MAPPING)
        yield from self._pandas(list(layout.names), dict(sep=r"\s+", header=None, names=list(layout.names),
                                                         skiprows=layout.first_data_line - 1),
                                layout.first_data_line)


@dataclass
class _ParquetReader(_Reader):
    """A Parquet file, by record batches; row numbers are 1-based."""

    def chunks(self) -> Iterator[tuple[Any, int]]:
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


#: One reader class per format (``"auto"`` is resolved by :func:`detect_format` first).
READERS: dict[str, type[_Reader]] = {"csv": _CsvReader, "parquet": _ParquetReader, "cdnow": _CdnowReader}
#: The ``format`` values :func:`loyalty_sim.calibration.logs.read_log` accepts.
FORMATS = ("auto", *READERS)


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
    """Distinct customer ids of a chunk as int64 when every one is a plain decimal integer, else as text.

    The per-chunk fast path of the id rule of :mod:`loyalty_sim.ids`; the read column is
    settled by :func:`loyalty_sim.ids.int_ids_if_lossless` once every chunk is in.
    """
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


def first_non_utf8(path: Any, block: int = 1 << 20) -> tuple[int, int]:
    """(physical line, byte value) of the first byte of ``path`` that is not valid UTF-8."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return line + chunk.count(b"\n", 0, exc.start), chunk[exc.start]
            line += chunk.count(b"\n")
    return line, 0
