"""Drawing pages: one Jinja2 environment over the package's templates, autoescaping
everything (names, tags, logs and file previews render as text, never as markup)."""

from __future__ import annotations

import datetime as dt
import math
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from atelier.studio.security import SECURITY_HEADERS, Viewer

HERE = Path(__file__).parent
STATIC = HERE / "static"


def when(ms: int | None) -> str:
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def duration(start: int | None, end: int | None) -> str:
    if start is None or end is None:
        return ""
    seconds = max(0, end - start) / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


def number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.6g}"
    return str(value)


def size(count: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count = int(count / 1024)
    return f"{count} TB"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters |= {"when": when, "number": number, "size": size}
    env.globals |= {"duration": duration, "urlencode": urlencode}
    return env


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The page ``template`` drawn with ``context``, the viewer and its CSRF token."""
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    body = (
        environment()
        .get_template(template)
        .render(request=request, viewer=viewer, csrf=viewer.csrf if viewer else None, **context)
    )
    return HTMLResponse(body, status_code=status_code, headers=SECURITY_HEADERS)


def fragment(request: Request, template: str, block: str, **context: Any) -> HTMLResponse:
    """Only the ``block`` of ``template`` (the page's script swaps it in place, so sorting
    or paging a table redraws the table without loading a new document)."""
    viewer: Viewer | None = getattr(request.state, "viewer", None)
    found = environment().get_template(template)
    variables = {"request": request, "viewer": viewer, "csrf": viewer.csrf if viewer else None}
    body = "".join(found.blocks[block](found.new_context({**variables, **context})))
    return HTMLResponse(body, headers=SECURITY_HEADERS)
