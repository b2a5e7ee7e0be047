"""Generic mutators: walk a parsed scenario tree / a CSV log and substitute hostile values.

Nothing here knows a field name, so a new field or scheme family in data/schemes is
mutated automatically.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Iterator

import yaml

from .harness import MARKUP

Path_ = tuple  # (key or index, ...)

HOSTILE_VALUES: dict[str, Any] = {
    "wrong_type_str": "not-a-number",
    "wrong_type_bool": True,
    "negative": -1,
    "negative_float": -0.5,
    "zero": 0,
    "huge_int": 10**12,
    "huge_float": 1e308,
    "inf": math.inf,
    "neg_inf": -math.inf,
    "nan": math.nan,
    "empty": "",
    "long_string": "x" * 10_000,
    "markup": MARKUP,
    "formula": "=1+1",
    "cr_formula": "\r=1+1",
    "list": [1, 2, 3],
    "mapping": {"a": 1},
    "null": None,
}
STRUCTURAL = ("unknown_key", "duplicate_key")
KINDS = tuple(HOSTILE_VALUES) + STRUCTURAL

#: Small sizes so every mutated run is quick (unless that field is the one mutated).
SMALL = {"customers": 200, "weeks": 30, "launch_week": 10, "replications": 1}


def leaves(tree: Any, path: Path_ = ()) -> Iterator[Path_]:
    """Every leaf (scalar or list of scalars) path of a parsed YAML tree."""
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from leaves(v, path + (k,))
    elif isinstance(tree, list) and any(isinstance(v, (dict, list)) for v in tree):
        for i, v in enumerate(tree):
            yield from leaves(v, path + (i,))
    else:
        yield path


def dotted(path: Path_) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def get(tree: Any, path: Path_) -> Any:
    for p in path:
        tree = tree[p]
    return tree


def set_(tree: Any, path: Path_, value: Any) -> None:
    get(tree, path[:-1])[path[-1]] = value


def shrink(tree: dict, keep: Path_ = ()) -> dict:
    """Small customers/weeks/launch/replications, except the mutated top-level field."""
    out = copy.deepcopy(tree)
    for k, v in SMALL.items():
        if keep[:1] != (k,):
            out[k] = v
    if keep[:1] == ("weeks",) or keep[:1] == ("launch_week",):
        pass
    return out


def mutate_scenario(tree: dict, path: Path_, kind: str) -> tuple[str, str]:
    """YAML text of ``tree`` with ``kind`` applied at ``path``; and the field path to expect in a message."""
    t = shrink(tree, path)
    if kind == "unknown_key":
        parent = get(t, path[:-1]) if isinstance(path[-1], str) else None
        if isinstance(parent, dict):
            parent["zz_unknown_field"] = 1
            return yaml.safe_dump(t, sort_keys=False, allow_unicode=True), dotted(path[:-1] + ("zz_unknown_field",))
        kind = "list"
    if kind == "duplicate_key":
        if isinstance(path[-1], str):
            sentinel = "DUPLICATE_KEY_SENTINEL"
            original = get(t, path)
            set_(t, path, sentinel)
            text = yaml.safe_dump(t, sort_keys=False, allow_unicode=True, default_flow_style=False, width=10**6)
            lines = text.splitlines()
            for i, line in enumerate(lines):
                if sentinel in line:
                    indent = len(line) - len(line.lstrip(" -"))
                    key = line.strip(" -").split(":", 1)[0]
                    orig_text = yaml.safe_dump(original, default_flow_style=True, width=10**6).strip()
                    orig_text = orig_text.removesuffix("...").strip()
                    lines[i] = line.replace(sentinel, orig_text)
                    lines.insert(i + 1, " " * indent + f"{key}: {orig_text}")
                    break
            return "\n".join(lines) + "\n", dotted(path)
        kind = "null"
    set_(t, path, copy.deepcopy(HOSTILE_VALUES[kind]))
    return yaml.safe_dump(t, sort_keys=False, allow_unicode=True, width=10**6), dotted(path)


# ------------------------------------------------------------------------------ logs
LOG_HEADER = "customer_id,date,amount"


def small_log(customers: int = 30, per: int = 6) -> list[str]:
    """A small valid CSV log (header + rows), deterministic."""
    rows = [LOG_HEADER]
    for c in range(customers):
        for j in range(1 + (c * 7) % per):
            day = 1 + (c * 3 + j * 11) % 28
            month = 1 + (c + j * 2) % 6
            rows.append(f"c{c:03d},2025-{month:02d}-{day:02d},{5 + (c * 13 + j * 7) % 40}.{(c + j) % 100:02d}")
    return rows


ROW_MUTATIONS = {
    "bad_date": lambda f: [f[0], "2025-02-30", f[2]],
    "text_date": lambda f: [f[0], "yesterday", f[2]],
    "negative_amount": lambda f: [f[0], f[1], "-12.5"],
    "nan_amount": lambda f: [f[0], f[1], "NaN"],
    "inf_amount": lambda f: [f[0], f[1], "inf"],
    "huge_amount": lambda f: [f[0], f[1], "1e308"],
    "text_amount": lambda f: [f[0], f[1], "twelve"],
    "missing_column": lambda f: [f[0], f[1]],
    "extra_delimiter": lambda f: [f[0], f[1], f[2], "", "x"],
    "empty_id": lambda f: ["", f[1], f[2]],
    "quoted_newline_id": lambda f: ['"multi\nline"', f[1], "oops"],
    "formula_id": lambda f: ["=1+1", f[1], f[2]],
    "cr_formula_id": lambda f: ['"\r=1+1"', f[1], f[2]],
    "markup_id": lambda f: [MARKUP.replace(",", ";").replace('"', "'"), f[1], f[2]],
    "future_date": lambda f: [f[0], "9999-12-31", f[2]],
    "ancient_date": lambda f: [f[0], "1066-10-14", f[2]],
}
WHOLE_FILE = ("empty_file", "header_only", "bom", "latin1", "nul_bytes", "crlf", "one_day", "no_header")


def mutate_log(rows: list[str], kind: str, row: int) -> tuple[bytes, int | None]:
    """Bytes of a mutated log and the physical line (1-based) a message should name, if any.

    ``row`` indexes the data rows; a preceding quoted multi-line field shifts physical lines.
    """
    rows = list(rows)
    if kind in ROW_MUTATIONS:
        i = 1 + row % (len(rows) - 1)
        f = rows[i].split(",", 3)  # a fourth (note) column, if any, is kept as it is
        rows[i] = ",".join(ROW_MUTATIONS[kind](f[:3]) + f[3:])
        return ("\n".join(rows) + "\n").encode("utf-8"), _physical(rows, i)
    if kind == "empty_file":
        return b"", None
    if kind == "header_only":
        return (rows[0] + "\n").encode(), None
    if kind == "bom":
        return ("\ufeff" + "\n".join(rows) + "\n").encode("utf-8"), None
    if kind == "latin1":
        i = 1 + row % (len(rows) - 1)
        f = rows[i].split(",")
        rows[i] = ",".join(["caf\u00e9" + f[0], *f[1:]])
        return ("\n".join(rows) + "\n").encode("latin-1"), _physical(rows, i)
    if kind == "nul_bytes":
        i = 1 + row % (len(rows) - 1)
        rows[i] = rows[i] + "\x00"
        return ("\n".join(rows) + "\n").encode(), _physical(rows, i)
    if kind == "crlf":
        return ("\r\n".join(rows) + "\r\n").encode(), None
    if kind == "one_day":
        out = [rows[0]] + [",".join([r.split(",")[0], "2025-03-03", *r.split(",")[2:]]) for r in rows[1:]]
        return ("\n".join(out) + "\n").encode(), None
    if kind == "no_header":
        return ("\n".join(rows[1:]) + "\n").encode(), None
    raise KeyError(kind)


def _physical(rows: list[str], i: int) -> int:
    """1-based physical line on which logical row ``i`` (0 = header) starts."""
    return 1 + sum(r.count("\n") + 1 for r in rows[:i])


def with_multiline_prefix(rows: list[str]) -> list[str]:
    """Add a text column whose first rows hold quoted multi-line values (physical != logical lines)."""
    out = [rows[0] + ",note"]
    for i, r in enumerate(rows[1:]):
        out.append(r + (',"first line\nsecond line"' if i < 3 else ",ok"))
    return out
