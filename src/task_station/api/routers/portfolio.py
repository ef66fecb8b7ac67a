"""Each bot's book, valued at its last marks."""

from __future__ import annotations

from fastapi import APIRouter

from task_station.api.deps import REQUIRE_LOGIN, ServicesDep
from task_station.api.schemas import BookOut

router = APIRouter(prefix="/portfolio", tags=["portfolio"], dependencies=REQUIRE_LOGIN)


@router.get("")
async def all_books(services: ServicesDep) -> list[BookOut]:
    return [BookOut.model_validate(book) for book in services.portfolio.books()]


@router.get("/{bot_id}")
async def one_book(bot_id: str, services: ServicesDep) -> BookOut:
    return BookOut.model_validate(services.portfolio.book(bot_id))
