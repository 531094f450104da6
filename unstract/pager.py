"""Which page, and how many pages: the one paging rule of the API's envelopes and the dashboard's pagers."""

from __future__ import annotations

from dataclasses import dataclass


def page_count(count: int, size: int) -> int:
    """Pages of `size` rows that `count` rows fill; an empty list still has its one (empty) page."""
    return max(1, -(-count // size))


def page_exists(number: int, count: int, size: int) -> bool:
    """Whether page `number` (1-based) is within the pages of `count` rows (the API's invalid_page rule)."""
    return number <= page_count(count, size)


def clamp(number: int, count: int, size: int) -> int:
    """The page to show for `number`: the first below it, the last past the end (a stale link still works)."""
    return min(max(number, 1), page_count(count, size))


def has_next(number: int, count: int, size: int) -> bool:
    return number < page_count(count, size)


@dataclass
class Page:
    """One page of rows plus what a pager needs; built with a `number` within the pages (see clamp)."""

    items: list
    count: int
    number: int
    size: int

    @property
    def pages(self) -> int:
        return page_count(self.count, self.size)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return has_next(self.number, self.count, self.size)
