"""What a scoring answer that is not a success says: its detail and its request id."""

from __future__ import annotations

from typing import Any


def request_id(response: Any) -> str | None:
    """The id the service logged the request under: the problem's ``request_id``, else the
    response's ``x-request-id`` header."""
    try:
        body = response.json()
    except ValueError:
        body = None
    found = body.get("request_id") if isinstance(body, dict) else None
    if not isinstance(found, str) or not found:
        found = response.headers.get("x-request-id")
    return str(found) if found else None


def detail(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return str(response.text)[:2000] or str(response.reason_phrase)
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)
    return str(body)
