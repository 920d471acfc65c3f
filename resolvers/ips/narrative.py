"""Each section's narrative: what a person reads when the document is opened without a viewer.

FHIR narrative is a limited XHTML (no scripts, no styles from outside, no forms); every value
from a registry is escaped, so a registry's text can never become markup in a receiver's viewer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

XHTML = "http://www.w3.org/1999/xhtml"


def _cell(value: object) -> str:
    return escape("" if value is None else str(value), quote=False)


def div(*parts: str) -> str:
    return f'<div xmlns="{XHTML}">{"".join(parts)}</div>'


def paragraph(text: str) -> str:
    return f"<p>{_cell(text)}</p>"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    head = "".join(f"<th>{_cell(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(value)}</td>" for value in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
