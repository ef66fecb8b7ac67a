"""Each bot's book, valued at its last marks."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from task_station.api.deps import REQUIRE_LOGIN, ServicesDep
from task_station.api.pagination import PageDep, paginate
from task_station.api.schemas import BookOut

router = APIRouter(prefix="/portfolio", tags=["portfolio"], dependencies=REQUIRE_LOGIN)


@router.get("")
async def all_books(
    services: ServicesDep, page: PageDep, request: Request, response: Response
) -> list[BookOut]:
    books = services.portfolio.books()
    window = paginate(books, page, request, response, total=len(books))
    return [BookOut.model_validate(book) for book in window]


@router.get("/{bot_id}")
async def one_book(bot_id: str, services: ServicesDep) -> BookOut:
    return BookOut.model_validate(services.portfolio.book(bot_id))
