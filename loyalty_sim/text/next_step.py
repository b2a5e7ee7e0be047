"""The words of a report's "What next" section (from :class:`loyalty_sim.next_step.PilotAdvice`)."""

from __future__ import annotations

from typing import Any

from .escape import escape_html, escape_markdown
from .format import percent

__all__ = ["command_html", "next_step_markdown"]

_METRIC = {"spend": "spend per customer", "frequency": "purchase frequency", "retention": "retention"}


def next_step_markdown(advice: Any, *, why: str = "") -> str:
    """The recommended pilot in two sentences (Markdown), user names escaped."""
    what = _METRIC.get(advice.metric, advice.metric)
    lead = "test" if why else "Test"
    text = (f"## What next\n\n{why}{lead} **{escape_markdown(advice.scheme)}** in the shop before rolling it out: "
            f"give it to {percent(advice.share, 0)} of customers for {advice.weeks} weeks and compare them with the "
            f"rest. With {advice.customers:,} customers that pilot detects a change in {what} of "
            f"{percent(advice.mde_relative, 1)} or more (80% power, 5% significance)")
    if not advice.reached:
        text += f", which is more than the scheme is expected to move. {escape_markdown(advice.statement)}"
    else:
        text += "."
    return text + "\n\nThe full design (power curves, the assignment file) comes from this command:"


def command_html(command: str) -> str:
    """A command line shown as a code block, escaped."""
    return f'<pre class="ls-command">{escape_html(command)}</pre>'
