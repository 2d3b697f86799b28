"""Paginated lists: ``?offset=&limit=`` in, ``{items, total, offset, limit}`` out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

T = TypeVar("T")

MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True)
class PageParams:
    offset: int
    limit: int

    def of(self, items: Sequence[T]) -> Page[T]:
        """The page of ``items`` these parameters ask for."""
        window = list(items[self.offset : self.offset + self.limit])
        return Page(items=window, total=len(items), offset=self.offset, limit=self.limit)

    def read(self, items: Sequence[T], total: int) -> Page[T]:
        """A page whose ``items`` the service already read as this page's slice, of ``total``."""
        return Page(items=list(items), total=total, offset=self.offset, limit=self.limit)


def page_params(
    offset: int = Query(0, ge=0, le=10_000_000, description="How many items to skip"),
    limit: int = Query(50, ge=1, le=MAX_LIMIT, description="How many items to return"),
) -> PageParams:
    return PageParams(offset=offset, limit=limit)
