"""Paginated listings: ``?limit=&page_token=`` in, ``{"items", "next_page_token"}`` out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from atelier.core.errors import ValidationError

T = TypeVar("T")

MAX_LIMIT = 1000

LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]
PageTokenQuery = Annotated[
    str | None, Query(max_length=20, description="next_page_token of the previous page.")
]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_page_token: str | None = None


def page(items: Sequence[T], limit: int, page_token: str | None) -> Page[T]:
    """One page of ``items``; the token is the offset of the next page."""
    start = 0
    if page_token:
        if not page_token.isdigit():
            raise ValidationError(
                f"page_token {page_token!r} is not one this server gave; "
                "pass the next_page_token of the previous page"
            )
        start = int(page_token)
    end = start + limit
    following = str(end) if end < len(items) else None
    return Page[T](items=list(items[start:end]), next_page_token=following)
