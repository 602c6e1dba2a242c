"""One page of a long list (a class's progress, the answers to a prompt): which items, and the links."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import ceil
from typing import Generic, TypeVar
from urllib.parse import urlencode

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    number: int  # 1-based
    pages: int
    total: int
    per_page: int

    def with_items(self, items: Sequence[U]) -> Page[U]:
        """The same page, of other items (the rows made of this page's items)."""
        return Page(items, self.number, self.pages, self.total, self.per_page)

    @property
    def first_index(self) -> int:
        """The 1-based position of the first item on this page (0 when there are none)."""
        return (self.number - 1) * self.per_page + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.items) - 1 if self.items else 0

    @property
    def previous(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> int | None:
        return self.number + 1 if self.number < self.pages else None


def paginate(items: Sequence[T], *, page: int | str | None, per_page: int) -> Page[T]:
    """The page asked for; a missing, malformed or too-high number gives the nearest page, not an error
    (a link from before the list shrank still leads somewhere useful)."""
    pages = max(1, ceil(len(items) / per_page))
    try:
        number = int(page) if page is not None else 1
    except ValueError:
        number = 1
    number = min(max(number, 1), pages)
    start = (number - 1) * per_page
    return Page(items[start : start + per_page], number, pages, len(items), per_page)


def page_of(index: int, *, per_page: int) -> int:
    """The page that shows the item at 0-based `index`."""
    return index // per_page + 1


def page_url(path: str, number: int, **query: str) -> str:
    """A link to page `number` of `path`, keeping the other query parameters (sort, filter)."""
    params = {key: value for key, value in query.items() if value}
    if number > 1:
        params["page"] = str(number)
    return path + (f"?{urlencode(params)}" if params else "")
