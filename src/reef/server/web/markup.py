"""HTML made safe by construction: every value put into a page is escaped unless it is
``Safe`` (HTML this package made). Templates are literals of this package; only the values
filled into them come from runs, components and requests.

::

    html("<td>{}</td>", run.model)           # the model's name escaped
    join(html("<li>{}</li>", t) for t in tags)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any
from urllib.parse import quote, urlencode


class Safe(str):
    """Text that is HTML already, put into a page as it is."""

    __slots__ = ()


def esc(value: object) -> Safe:
    """``value`` as HTML text: escaped (quotes included, for attributes) unless ``Safe``;
    None is empty."""
    if isinstance(value, Safe):
        return value
    if value is None:
        return Safe("")
    return Safe(escape(str(value), quote=True))


def html(template: str, *args: object, **kwargs: object) -> Safe:
    """``template`` (a literal of this package, with ``{}`` or ``{name}`` fields) filled with
    the values escaped."""
    return Safe(template.format(*(esc(a) for a in args), **{k: esc(v) for k, v in kwargs.items()}))


def join(parts: Iterable[object], sep: str = "") -> Safe:
    """The parts (escaped unless ``Safe``) one after another."""
    return Safe(sep.join(esc(p) for p in parts))


def url(path: str, params: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> str:
    """``path`` with a query of the params given (None and empty values left out; a list
    value repeats its name). The result is text: ``html`` escapes it into an attribute."""
    items = params.items() if isinstance(params, Mapping) else params
    pairs: list[tuple[str, str]] = []
    for key, value in items:
        values = value if isinstance(value, list | tuple) else [value]
        pairs.extend((key, str(v)) for v in values if v is not None and v != "")
    return f"{path}?{urlencode(pairs)}" if pairs else path


def segment(text: str) -> str:
    """``text`` as one path segment of a URL."""
    return quote(text, safe="")


def number(value: float | int | None, digits: int = 4) -> str:
    """A figure with ``digits`` significant digits (thousands apart); "-" for none."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    magnitude = abs(value)
    if magnitude >= 10 ** (digits - 1):
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def options(values: Iterable[tuple[str, str]], chosen: str | None) -> Safe:
    """``<option>``s of (value, label) pairs, ``chosen`` selected."""
    return join(
        html(
            '<option value="{}"{}>{}</option>',
            value,
            Safe(" selected") if value == (chosen or "") else Safe(""),
            label,
        )
        for value, label in values
    )
