"""Pagination of list routes: ``limit`` and ``offset`` in, a plain JSON list out.

A page that is not the last says so in a ``Link: <...>; rel="next"`` header (and the
total in ``X-Total-Count`` where the station knows it cheaply), so the body stays the
same list every client already parses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query
from starlette.requests import Request
from starlette.responses import Response

T = TypeVar("T")

MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    offset: int

    @property
    def end(self) -> int:
        """How many items to fetch to fill this page and know whether another follows."""
        return self.offset + self.limit + 1


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip.")] = 0,
) -> Page:
    return Page(limit, offset)


PageDep = Annotated[Page, Depends(page_params)]


def page_dependency(default: int, maximum: int) -> Any:
    """A ``Depends`` for a route whose ``limit`` has its own default and maximum."""

    # Defaults as ``Query(...)`` values: annotations are strings here (``from __future__``)
    # and could not name ``maximum``.
    def params(
        limit: int = Query(default, ge=1, le=maximum, description="Items per page."),
        offset: int = Query(0, ge=0, le=1_000_000, description="Items to skip."),
    ) -> Page:
        return Page(limit, offset)

    return Depends(params)


def paginate(
    items: Sequence[T],
    page: Page,
    request: Request,
    response: Response,
    *,
    total: int | None = None,
) -> list[T]:
    """This page of ``items`` (all of them, or at least ``page.end`` from the start),
    with the ``Link`` and ``X-Total-Count`` headers set."""
    if total is None and len(items) < page.end:
        total = len(items)
    return page_of(items[page.offset :], page, request, response, total=total)


def page_of(
    fetched: Sequence[T],
    page: Page,
    request: Request,
    response: Response,
    *,
    total: int | None = None,
) -> list[T]:
    """The page from ``fetched``, which starts at ``page.offset`` and holds up to
    ``page.limit + 1`` items (one more tells that a next page exists)."""
    if total is not None:
        response.headers["X-Total-Count"] = str(total)
    if len(fetched) > page.limit:
        following = request.url.include_query_params(
            limit=page.limit, offset=page.offset + page.limit
        )
        response.headers["Link"] = f'<{following}>; rel="next"'
    return list(fetched[: page.limit])
