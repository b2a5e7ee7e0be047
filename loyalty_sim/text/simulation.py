"""The words of a simulation: the console tables of ``loyalty-sim simulate``.

Every number is written by :mod:`loyalty_sim.text.format`.
"""

from __future__ import annotations

from typing import Any

from .format import number

__all__ = ["key_value_table", "scenario_table"]

#: Rows of :func:`scenario_table`, in order.
SCENARIO_ROWS = ("customers", "active_at_end", "transactions", "revenue", "transactions_change_pct",
                 "revenue_change_pct", "reward_cost", "discount")


def _value(v: Any) -> str:
    """Whole numbers with separators; other numbers with 4 decimals below 100, else 2; anything else as text."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, int):
        return number(v, 0)
    return number(v, 4 if abs(v) < 100 else 2)


def key_value_table(rows: dict[str, Any]) -> str:
    """One aligned ``key  value`` line per entry (underscores in keys read as spaces)."""
    width = max(len(k) for k in rows)
    return "\n".join(f"{k.replace('_', ' '):<{width}}  {_value(v)}" for k, v in rows.items())


def scenario_table(name: str, launch_week: int, weeks: int, seed: Any, summary: dict[str, Any]) -> str:
    """A scenario's baseline and schemes side by side (``ScenarioRun.summary()``), one row per measure."""
    lines = [f"scenario: {name} (launch week {launch_week}, {weeks} weeks, seed {seed})", ""]
    names = list(summary["schemes"])
    width = max(12, *(len(n) for n in names))
    lines.append(f"{'':<26}" + "".join(f"{n:>{width + 2}}" for n in names))
    for k in SCENARIO_ROWS:
        row = []
        for n in names:
            v = summary["schemes"][n].get(k)
            row.append("-" if v is None else (number(v, 1) if isinstance(v, float) else number(v, 0)))
        lines.append(f"{k.replace('_', ' '):<26}" + "".join(f"{c:>{width + 2}}" for c in row))
    return "\n".join(lines)
