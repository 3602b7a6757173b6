"""A table of text: plain text in a terminal, an HTML table in a notebook; every cell escaped.

Cells often come from a cache (function names, argument summaries): untrusted text, so
control characters are escaped in both forms (see ``_text``).
"""

from __future__ import annotations

import html

from ._text import printable


class Table:
    """Rows of text with a header row: plain text in a terminal, an HTML table in a notebook."""

    def __init__(self, rows: list[list[str]], empty: str = "") -> None:
        self.rows = rows
        self.empty = empty

    def __str__(self) -> str:
        if len(self.rows) < 2:
            return printable(self.empty)
        rows = [[printable(cell) for cell in row] for row in self.rows]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = ("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        if len(self.rows) < 2:
            return f"<p>{_html(self.empty)}</p>"
        head = "".join(f"<th>{_html(cell)}</th>" for cell in self.rows[0])
        body = "".join("<tr>" + "".join(f"<td>{_html(cell)}</td>" for cell in row) + "</tr>" for row in self.rows[1:])
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html(text: str) -> str:
    # Text from the cache is untrusted: no markup, and no control characters either.
    return html.escape(printable(text))
