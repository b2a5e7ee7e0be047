"""The log-reading options of every command that takes a transaction log: one definition.

Two names, stable for every command (``fit``, ``simulate --log``, ``compare --log``,
``trial design --log``, ``trial review``):

``add_log_options(parser, *, exclude=())``
    Adds ``--format``, ``--column FIELD=COLUMN`` (and the short ``--customer-col``,
    ``--date-col``, ``--amount-col``, ``--quantity-col``, ``--category-col``,
    ``--store-col``), ``--separator``, ``--header``, ``--date-format``,
    ``--duplicates {keep,drop,error}`` and ``--returns {error,drop,net}``; ``exclude``
    leaves out options (by flag, e.g. ``("--store-col",)``) a command defines itself.
``read_log_from_args(path, args)``
    Reads the log with those options: ``(TransactionLog, ReadingSummary)``.

:func:`read_options_from_args` gives the same options as the keywords of
:func:`loyalty_sim.calibration.logs.read_log`, for functions that take ``read_options``.
The reader's errors already speak in these flags (``--duplicates drop``).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, Sequence

from ..calibration.log_readers import FORMATS, SEPARATORS
from ..calibration.logs import DUPLICATES, HEADERS, RETURNS, LogReport, TransactionLog
from ..errors import ConfigError

__all__ = ["ReadingSummary", "add_log_options", "read_log_from_args", "read_options_from_args"]

#: short column flags -> our field
COLUMN_FLAGS = {"--customer-col": "customer_id", "--date-col": "timestamp", "--amount-col": "amount",
                "--quantity-col": "quantity", "--category-col": "category", "--store-col": "store_id"}

#: the names ``--column`` accepts -> our field
COLUMN_FIELDS = {"customer": "customer_id", "customer_id": "customer_id", "date": "timestamp",
                 "timestamp": "timestamp", "amount": "amount", "quantity": "quantity",
                 "category": "category", "store": "store_id", "store_id": "store_id"}


#: our field -> its word in ``--column FIELD=COLUMN``
FIELD_WORDS = {"customer_id": "customer", "timestamp": "date", "amount": "amount", "quantity": "quantity",
               "category": "category", "store_id": "store"}


def _check_separator(value: str | None) -> None:
    """``--separator``: one of :data:`SEPARATORS` or one punctuation character."""
    if value is None or value in SEPARATORS or (len(value) == 1 and not value.isalnum() and value != " "):
        return
    raise ConfigError(f"--separator {value}: expected {', '.join(SEPARATORS)} or one punctuation character")


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def add_log_options(parser: argparse.ArgumentParser, *, exclude: Sequence[str] = ()) -> argparse._ArgumentGroup:
    """Add the log-reading options to ``parser``; returns their argument group.

    Parameters
    ----------
    parser : ArgumentParser
    exclude : sequence of str
        Flags not to add (the command defines them itself), e.g. ``("--store-col",)``.
    """
    g = parser.add_argument_group("reading the log")
    skip = set(exclude)

    def add(flag: str, **kw: Any) -> None:
        if flag not in skip:
            g.add_argument(flag, **kw)

    add("--format", default="auto", choices=list(FORMATS),
        help="log format (default auto: by the file's name; cdnow reads both published CDNOW layouts)")
    add("--column", action="append", default=[], metavar="FIELD=COLUMN",
        help="the file's column for one of our fields: customer, date, amount, quantity, category, store; "
             "a column number (1 = first) when the file has no header line; repeat for several")
    for flag, name in COLUMN_FLAGS.items():
        add(flag, metavar="COLUMN", help=f"same as --column {FIELD_WORDS[name]}=COLUMN")
    add("--separator", metavar="SEP",
        help=f"field separator of a CSV/text file: {', '.join(SEPARATORS)} or one punctuation character "
             f"(default: detected from the first lines)")
    add("--header", default="auto", choices=list(HEADERS),
        help="whether the first line holds column names (default auto: detected)")
    add("--date-format", metavar="PATTERN",
        help="strftime pattern of the log's dates, e.g. %%d/%%m/%%Y (default: ISO 8601, or a day/month order "
             "the data settle)")
    add("--duplicates", default="keep", choices=list(DUPLICATES),
        help="exact duplicate rows: keep them as repeat purchases (default), drop them, or stop with an error")
    add("--returns", default="error", choices=list(RETURNS),
        help="negative amounts: stop with an error (default), drop them, or net them against purchases")
    return g


def _columns(args: argparse.Namespace) -> dict[str, str] | None:
    """Our field -> file column from ``--column`` and the short column flags."""
    out: dict[str, str] = {}
    for item in getattr(args, "column", None) or []:
        key, sep, col = str(item).partition("=")
        field = COLUMN_FIELDS.get(key.strip().lower())
        if not sep or field is None or not col.strip():
            raise ConfigError(f"--column {item}: expected FIELD=COLUMN with FIELD one of "
                              f"{', '.join(FIELD_WORDS.values())}"
                              f" (e.g. --column customer=cust_no)")
        if field in out and out[field] != col.strip():
            raise ConfigError(f"--column {item}: {key} is already mapped to {out[field]!r}")
        out[field] = col.strip()
    for flag, field in COLUMN_FLAGS.items():
        value = getattr(args, _dest(flag), None)
        if value:
            if field in out and out[field] != value:
                raise ConfigError(f"{flag} {value}: {field} is already mapped to {out[field]!r} by --column")
            out[field] = value
    return out or None


def read_options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The log options of ``args`` as keywords of :func:`~loyalty_sim.calibration.logs.read_log`.

    Options a command did not add (see ``exclude``) are left at the reader's defaults.
    """
    _check_separator(getattr(args, "separator", None))
    opts: dict[str, Any] = {"columns": _columns(args)}
    for name in ("format", "separator", "header", "date_format", "duplicates", "returns"):
        value = getattr(args, name, None)
        if value is not None:
            opts[name] = value
    return opts


@dataclass(frozen=True)
class ReadingSummary:
    """What reading a log found, in counts a user can check against the file.

    Attributes
    ----------
    report : LogReport
        The reader's full report; the properties below are its main counts.
    """

    report: LogReport

    @property
    def counts(self) -> dict[str, int | None]:
        """Rows read, rows kept, duplicates kept/dropped, zero-amount purchases, returns, customers."""
        r = self.report
        return {"rows_read": r.n_rows_read, "rows_kept": r.n_rows,
                "duplicates_kept": r.n_duplicates - r.n_duplicates_dropped,
                "duplicates_dropped": r.n_duplicates_dropped, "zero_amount_purchases": r.n_zero_amounts,
                "returns": r.n_returns, "returns_dropped": r.n_returns_dropped, "customers": r.n_customers}

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: the counts and the reader's report."""
        return {"counts": self.counts, "log_report": self.report.to_dict()}

    def text(self) -> str:
        """The counts in words (:func:`loyalty_sim.text.log_reading.reading_text`)."""
        from ..text.log_reading import reading_text

        return reading_text(self.report)


def read_log_from_args(path: Any, args: argparse.Namespace) -> tuple[TransactionLog, ReadingSummary]:
    """Read the log at ``path`` with the options :func:`add_log_options` added to ``args``.

    Returns
    -------
    (TransactionLog, ReadingSummary)

    Raises
    ------
    DataError, ConfigError
        Naming the file, line and column, with the flag to pass.
    """
    from ..calibration.logs import read_log

    log = read_log(path, **read_options_from_args(args))
    return log, ReadingSummary(log.report)
