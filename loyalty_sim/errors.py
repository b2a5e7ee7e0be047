"""One exception hierarchy for loyalty-sim.

Every error says what was wrong, where (file, row, field) and, where one exists,
what to do about it.
"""

from __future__ import annotations


def shown(value: object, limit: int = 80) -> str:
    """``repr(value)`` for a message: control characters escaped, cut to about ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(str(value)):,} characters)"


class LoyaltySimError(Exception):
    """Base class of every error raised on purpose by loyalty-sim."""


class ConfigError(LoyaltySimError, ValueError):
    """An invalid parameter, preset or scenario file.

    Parameters
    ----------
    message : str
        What was expected and what came.
    field : str, optional
        Dotted path of the offending field (``schemes[0].stamps_required``).
    source : str, optional
        The file the value came from.
    """

    def __init__(self, message: str, *, field: str | None = None, source: str | None = None):
        self.message = message
        self.field = field
        self.source = source
        where = []
        if source:
            where.append(str(source))
        if field:
            where.append(f"field '{field}'")
        prefix = ": ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class DataError(LoyaltySimError, ValueError):
    """A malformed transaction log, assignment file or survey.

    Parameters
    ----------
    message : str
        What was expected and what came.
    source : str, optional
        The file being read.
    rows : list of int, optional
        The first offending rows (1-based line numbers of the file when known).
    column : str, optional
        The offending column.
    """

    def __init__(self, message: str, *, source: str | None = None,
                 rows: list[int] | None = None, column: str | None = None):
        self.message = message
        self.source = source
        self.rows = list(rows) if rows is not None else None
        self.column = column
        where = []
        if source:
            where.append(str(source))
        if column:
            where.append(f"column '{column}'")
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:5])
            more = f" (and {len(self.rows) - 5} more)" if len(self.rows) > 5 else ""
            where.append(f"rows {shown}{more}")
        prefix = ": ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class FitError(LoyaltySimError, RuntimeError):
    """A model fit that did not converge; the message says why and what to try."""


class ReportError(LoyaltySimError, RuntimeError):
    """A notebook that failed while a report was being produced."""
