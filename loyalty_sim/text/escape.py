"""Escape user text before it lands in a report, so it shows literally and never runs.

User text: scheme, scenario, category, store and file names, parameter values, error messages.

* :func:`escape_markdown` for text put into Markdown (``display(Markdown(...))``),
* :func:`escape_html` for text put into HTML,
* :func:`plot_text` for figure titles, labels, tick labels and legends (matplotlib).
"""

from __future__ import annotations

import html
import re
import string
from typing import Any

# ASCII punctuation is written as a numeric character reference: it renders as itself but can
# never open emphasis, a link or image, a code span, raw HTML, a table cell, math or an autolink.
_KEEP = set(",;?%'\" ")
_PUNCT = re.compile("[" + re.escape("".join(c for c in string.punctuation if c not in _KEEP)) + "]")
# "_", "-" and "." between letters or digits are never Markdown syntax: kept readable (fresh_pre_emptive)
_INTRAWORD = set("_-.")


def _md_char(m: re.Match[str]) -> str:
    c, s, i = m.group(0), m.string, m.start()
    if c in _INTRAWORD and 0 < i < len(s) - 1 and s[i - 1].isalnum() and s[i + 1].isalnum():
        return c
    return f"&#{ord(c)};"


def escape_markdown(value: Any) -> str:
    """``value`` as inline Markdown that renders as the literal text.

    Parameters
    ----------
    value : Any
        User text (anything else is turned into text with ``str``).

    Returns
    -------
    str
        Markdown punctuation as character references, line breaks and runs of
        white space as one space (so the text cannot start a heading, list or table row).
    """
    text = re.sub(r"\s+", " ", str(value))
    return _PUNCT.sub(_md_char, text)


def escape_html(value: Any) -> str:
    """``value`` as HTML text or attribute value (``<``, ``>``, ``&`` and quotes escaped)."""
    return html.escape(str(value), quote=True)


def plot_text(value: Any) -> str:
    """``value`` as a matplotlib text drawn literally: ``$`` never starts mathtext."""
    return str(value).replace("$", r"\$")


def plain_text(markdown: str) -> str:
    """Plain text of a Markdown line built by this package (emphasis dropped, user text restored).

    User text in it went through :func:`escape_markdown`, so every literal ``*`` left is
    the package's own emphasis and every character reference is the user's.
    """
    return html.unescape(markdown.replace("*", ""))
