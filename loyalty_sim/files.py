"""Files in and out: atomic writes, spreadsheet-safe CSV, YAML loading.

Input files are only ever opened for reading. Every output is written to a
temporary file in the destination folder and renamed into place, so a crash
never leaves a half-written file that looks complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import pandas as pd
import yaml

from .errors import ConfigError

#: Leading characters a spreadsheet may interpret as a formula (escaped wherever they stand first).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: Formula starts that are escaped even after leading whitespace or control characters.
FORMULA_STARTS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")


#: Temporary names: ``.BASE.partial-HOST-PID-TOKEN[SUFFIX]`` for the final ``BASE[SUFFIX]``.
_PARTIAL = re.compile(r"^\.(?P<base>.+)\.partial-(?P<host>[A-Za-z0-9]*)-(?P<pid>\d+)-(?P<token>[0-9a-f]{8})"
                      r"(?P<suffix>\.[A-Za-z0-9]+)?$")


def _host_tag() -> str:
    return re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:16]


def partial_name(final: str | os.PathLike) -> Path:
    """A temporary path beside ``final``: hidden, marked partial, with this host and process id.

    The final extension is kept last (writers that look at it behave as for the final
    name); nothing with the final name exists until the temporary is renamed.
    """
    final = Path(final)
    suffix = final.suffix if re.fullmatch(r"\.[A-Za-z0-9]+", final.suffix) else ""
    base = final.name[:len(final.name) - len(suffix)]
    return final.with_name(f".{base}.partial-{_host_tag()}-{os.getpid()}-{os.urandom(4).hex()}{suffix}")


def create_partial(final: str | os.PathLike) -> Path:
    """Create an empty temporary file for ``final`` (see :func:`partial_name`) and return its path.

    The file is created with mode ``0o666`` less the process umask, like any file
    the user creates (``tempfile.mkstemp`` would make it ``0600``).
    """
    for _ in range(100):
        tmp = partial_name(final)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"no free temporary name beside {final}")  # pragma: no cover


@dataclass(frozen=True)
class Leftover:
    """A temporary file an earlier run left in an output folder."""

    path: Path
    removed: bool
    reason: str

    def describe(self) -> str:
        """One line for the user: what was found and what was done."""
        return f"{'removed' if self.removed else 'left in place'}: {self.path} ({self.reason})"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def clean_partials(folder: str | os.PathLike) -> list[Leftover]:
    """Remove the temporaries that dead processes of this host left in ``folder``; name the others.

    Parameters
    ----------
    folder : path-like
        An output folder (not searched below its top level). A missing folder has none.

    Returns
    -------
    list of Leftover
        Removed ones (their process is gone) and ones left in place (their process is
        still running, or they come from another host or an older version).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found: list[Leftover] = []
    host = _host_tag()
    for entry in sorted(folder.iterdir()):
        m = _PARTIAL.match(entry.name)
        if m is None:
            if entry.is_file() and re.fullmatch(r"\..+\.[A-Za-z0-9_]{8}\.tmp", entry.name):
                found.append(Leftover(entry, False, "temporary file of an older version; remove it if no run "
                                                    "is writing here"))
            continue
        pid = int(m.group("pid"))
        if m.group("host") != host:
            found.append(Leftover(entry, False, f"written by process {pid} on another host"))
        elif _pid_alive(pid):
            found.append(Leftover(entry, False, f"process {pid} is still running"))
        else:
            with contextlib.suppress(FileNotFoundError):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
            found.append(Leftover(entry, True, f"left by process {pid}, which is gone"))
    return found


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    Parameters
    ----------
    path : path-like
        Final destination. Its folder is created if missing.

    Yields
    ------
    Path
        Where to write: an empty file named by :func:`partial_name`, created with the
        user's umask (so the final file has the mode any new file would). Removed if
        the block raises.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = create_partial(final)
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def dumps_json(obj: Any, *, indent: int | None = 2) -> str:
    """``obj`` as strict JSON text: NaN and infinities become ``null`` (never a ``NaN`` token).

    The object goes through :func:`to_jsonable` and then ``json.dumps(..., allow_nan=False)``,
    so a non-finite number that slipped past the conversion raises instead of being written.
    """
    return json.dumps(to_jsonable(obj), indent=indent, allow_nan=False)


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented strict JSON (see :func:`dumps_json`) to ``path`` atomically."""
    return write_text_atomic(path, dumps_json(obj) + "\n")


def to_jsonable(obj: Any) -> Any:
    """A JSON-able copy of ``obj``: numpy scalars and arrays to Python, NaN and infinities to None.

    Mappings (keys as text), lists, tuples and arrays are converted item by item; a
    timestamp at midnight becomes its ISO date, another its ISO date-time; a path its
    text; an object with ``to_dict`` its dict; anything else its text.
    """
    import math

    import numpy as np

    if obj is None or isinstance(obj, str):
        return obj
    if obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [to_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, pd.Timestamp):
        return obj.date().isoformat() if obj == obj.normalize() else obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "to_dict"):
        return to_jsonable(obj.to_dict())
    return str(obj)


def _json_default(obj: Any) -> Any:
    """``default=`` hook of ``json.dumps``: numpy values, arrays, paths and timestamps via :func:`to_jsonable`.

    Use it with ``allow_nan=False``; non-finite numpy floats become None here.
    """
    if isinstance(obj, (np.generic, np.ndarray, Path, pd.Timestamp)) or obj is pd.NA or obj is pd.NaT:
        return to_jsonable(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _is_blank(ch: str) -> bool:
    r"""Whitespace (unicode too) or a control or format character (``\x00``-``\x1f``, zero-width space...)."""
    return ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp")


def escape_spreadsheet_cell(value: Any) -> Any:
    r"""Prefix text that a spreadsheet could run as a formula with a quote (``'``).

    A string is escaped when, after any leading whitespace or control characters
    (``\t``, ``\r``, ``\n``, ``\x00``-``\x1f``, unicode spaces, zero-width characters),
    it starts with one of :data:`FORMULA_STARTS` (``= + - @`` and their fullwidth forms
    ``＝ ＋ － ＠``, which some spreadsheets in East Asian locales read as the ASCII ones),
    or when it starts with a tab or carriage return. Numbers are left alone (a negative
    number is data, not a formula); only strings are escaped.
    """
    if not isinstance(value, str) or not value:
        return value
    i = 0
    while i < len(value) and _is_blank(value[i]):
        i += 1
    if value.startswith(FORMULA_PREFIXES) or value[i:].startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _safe_cell(value: Any) -> Any:
    """Escape a cell of an object column: text as is, other objects (tuples, lists) by their text."""
    if value is None or isinstance(value, (str, bool, int, float, np.number, np.bool_)):
        return escape_spreadsheet_cell(value)
    if value is pd.NA or value is pd.NaT:
        return value
    return escape_spreadsheet_cell(str(value))


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``frame`` whose text cells and labels cannot run as formulas.

    Infinite numbers (a gap against an empty group) become empty cells: ``-inf`` would read
    as text starting with ``-`` and is no value a spreadsheet can use.
    """
    out = frame.copy()
    for col in out.columns:
        dtype = out[col].dtype
        if pd.api.types.is_float_dtype(dtype):
            out[col] = out[col].where(np.isfinite(out[col].to_numpy(dtype=float)))
        elif pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
            out[col] = out[col].astype(object).map(_safe_cell).astype(object)
    out.columns = [escape_spreadsheet_cell(str(c)) for c in out.columns]
    if not isinstance(out.index, pd.RangeIndex):
        out.index = out.index.map(lambda v: escape_spreadsheet_cell(v) if isinstance(v, str) else v)
    return out


def _holds_line_break(frame: pd.DataFrame, *, index: bool) -> bool:
    """Whether any text cell, column label or (written) index label holds a CR or LF."""
    def has(v: Any) -> bool:
        return isinstance(v, str) and ("\r" in v or "\n" in v)

    if any(has(c) for c in frame.columns) or (index and any(has(v) for v in frame.index)):
        return True
    return any(frame[c].map(has).any() for c in frame.columns if frame[c].dtype == object)


def write_csv_safe(frame: pd.DataFrame, path: str | os.PathLike, *, index: bool = False) -> Path:
    """Write ``frame`` as CSV, spreadsheet-safe and atomically.

    Lines end in LF; when a text cell holds a CR or LF the whole file is written with
    CRLF line ends (RFC 4180), which makes the csv writer quote every field holding
    either, so a reader never starts a new row inside a cell.
    """
    safe = spreadsheet_safe(frame)
    end = "\r\n" if _holds_line_break(safe, index=index) else "\n"
    with atomic_path(path) as tmp:
        safe.to_csv(tmp, index=index, lineterminator=end)
    return Path(path)


def write_table(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``frame`` to ``.csv`` (spreadsheet-safe) or ``.parquet`` by extension, atomically."""
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return write_csv_safe(frame, path)
    if suffix in (".parquet", ".pq"):
        with atomic_path(path) as tmp:
            frame.to_parquet(tmp, index=False)
        return Path(path)
    raise ConfigError(f"unsupported output extension '{suffix}'; expected .csv or .parquet",
                      field="out", source=str(path))


def _option_error(message: str, *, field: str, path: Path) -> ConfigError:
    """A ConfigError whose text is in command-line words, keeping ``field`` and ``source``."""
    err = ConfigError(message)
    err.field, err.source = field, str(path)
    return err


def _flag(field: str) -> str:
    return "--" + field.replace("_", "-")


def _check_can_create_in(target: Path, *, shown: Path, field: str, what: str) -> None:
    """Check that folder ``target`` (existing or not) can hold new files; errors name ``shown``."""
    flag = _flag(field)
    for folder in (target, *target.parents):
        if os.path.lexists(folder):
            break
    if not folder.is_dir():
        raise _option_error(f"{flag} {shown}: {folder} is a file, not a folder, so {what} cannot be written "
                            "there", field=field, path=shown)
    probe = None
    try:
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
        probe = create_partial(folder / ".loyalty-sim-write-probe")  # root passes os.access: really try
    except OSError as exc:
        raise _option_error(f"{flag} {shown}: cannot create files in {folder} ({exc.strerror or exc})",
                            field=field, path=shown) from None
    finally:
        if probe is not None:
            with contextlib.suppress(OSError):
                probe.unlink()


def check_output_path(path: str | os.PathLike, suffixes: tuple[str, ...], *, field: str) -> Path:
    """Check an output file's path before any work is done.

    Parameters
    ----------
    path : path-like
        The file to write.
    suffixes : tuple of str
        Accepted extensions (``(".csv",)``).
    field : str
        The option's name (``out`` for ``--out``): errors name it and the path.

    Raises
    ------
    ConfigError
        Wrong extension, a folder where the file should go, a file where one of its
        folders should be, or a folder this process cannot create files in.
    """
    p = Path(path)
    if p.suffix.lower() not in suffixes:
        raise _option_error(f"{_flag(field)} {p}: unsupported output extension '{p.suffix}'; expected "
                            f"{' or '.join(suffixes)}", field=field, path=p)
    if p.is_dir():
        raise _option_error(f"{_flag(field)} {p}: this is a folder; expected a file name ending in "
                            f"{' or '.join(suffixes)}", field=field, path=p)
    _check_can_create_in(p.parent, shown=p, field=field, what="the file")
    return p


def check_output_dir(path: str | os.PathLike, *, field: str) -> Path:
    """Check an output folder before any work is done: it is a folder, or can be made one, and is writable.

    Parameters
    ----------
    path : path-like
        The folder to write into (created later if missing; nothing is created here).
    field : str
        The option's name (``out`` for ``--out``): errors name it and the path.

    Raises
    ------
    ConfigError
        A file where the folder (or one above it) should be, or a folder this process
        cannot create files in (checked by creating and removing a probe file, since
        permission bits do not stop root and a read-only mount does).
    """
    p = Path(path)
    if os.path.lexists(p) and not p.is_dir():
        raise _option_error(f"{_flag(field)} {p}: this is a file; expected a folder (an existing one or one "
                            "to create)", field=field, path=p)
    _check_can_create_in(p, shown=p, field=field, what="the outputs")
    return p


#: Largest number of YAML nodes one file may expand to once aliases are followed ("billion laughs" guard).
MAX_YAML_NODES = 100_000
#: Largest number of aliases (``*name``) one YAML file may hold.
MAX_YAML_ALIASES = 1_000
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _BoundedLoader(yaml.SafeLoader):
    """Safe YAML loader that refuses duplicate keys and bounds alias expansion."""

    def __init__(self, stream: Any, source: str | None = None):
        super().__init__(stream)
        self.source = source
        self._aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                line = self.peek_event().start_mark.line + 1
                raise ConfigError(f"line {line}: more than {MAX_YAML_ALIASES} aliases (*name) in one file; "
                                  "write the values out instead", source=self.source)
        return super().compose_node(parent, index)

    def construct_document(self, node: Any) -> Any:
        _check_expansion(node, self.source)
        return super().construct_document(node)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:  # '<<: *defaults' keys may be overridden on purpose
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    first = seen.get(key)
                except TypeError:  # unhashable key: pyyaml itself reports it
                    continue
                if first is not None:
                    raise ConfigError(f"line {line}: key '{key}' is given twice in the same mapping "
                                      f"(lines {first} and {line}); keep one", field=str(key), source=self.source)
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _check_expansion(root: Any, source: str | None) -> None:
    """Refuse a document whose aliases expand to more than :data:`MAX_YAML_NODES` nodes."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes and not done:
            continue
        if id(node) in open_ and not done:  # reached from inside itself
            raise ConfigError(f"line {node.start_mark.line + 1}: an alias (*name) refers to a value that "
                              "contains it (a recursive structure)", source=source)
        children = ([c for kv in node.value for c in kv] if isinstance(node, yaml.MappingNode)
                    else list(node.value) if isinstance(node, yaml.SequenceNode) else [])
        if not done:
            open_.add(id(node))
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
            continue
        size = 1 + sum(sizes.get(id(c), 1) for c in children)
        sizes[id(node)] = size
        open_.discard(id(node))
        if size > MAX_YAML_NODES:
            raise ConfigError(f"line {node.start_mark.line + 1}: aliases (*name) here expand to more than "
                              f"{MAX_YAML_NODES:,} values; write the values out instead", source=source)


def parse_yaml(text: str, *, source: str | None = None) -> Any:
    """Parse YAML text with the one safe loader of loyalty-sim.

    Safe types only; a key given twice in one mapping, more than :data:`MAX_YAML_ALIASES`
    aliases or an alias expansion beyond :data:`MAX_YAML_NODES` nodes is refused.

    Raises
    ------
    ConfigError
        Naming the source and the line.
    """
    loader = _BoundedLoader(text, source)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"not valid YAML{where}: {getattr(exc, 'problem', None) or exc}", source=source) from None
    except RecursionError:
        raise ConfigError("YAML nested too deeply", source=source) from None
    finally:
        loader.dispose()


def load_yaml(path: str | os.PathLike) -> Any:
    """Read a YAML file with :func:`parse_yaml`; errors are `ConfigError` naming the file and line."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError("file not found", source=str(p))
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", source=str(p)) from None
    return parse_yaml(text, source=str(p))
