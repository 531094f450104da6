"""The one paging rule: which page exists, which page to show, whether there is a next one."""

from __future__ import annotations

import math

import pytest

from unstract.pager import Page, clamp, has_next, page_count, page_exists


@pytest.mark.parametrize("size", [1, 2, 3, 50])
@pytest.mark.parametrize("count", [0, 1, 2, 49, 50, 51, 100, 101])
def test_the_rule_matches_the_api_envelope_and_the_page_pagers(count, size):
    pages = max(1, math.ceil(count / size))
    assert page_count(count, size) == pages
    for number in range(1, pages + 3):
        offset = (number - 1) * size
        assert page_exists(number, count, size) == (number == 1 or offset < count)  # else 404 invalid_page
        if page_exists(number, count, size):
            assert has_next(number, count, size) == (number * size < count)  # the envelope's `next`
        assert clamp(number, count, size) == min(number, pages)
    assert clamp(0, count, size) == clamp(-3, count, size) == 1


def test_a_page_past_any_table_does_not_overflow():
    assert page_exists(2**56, 2**62, 64) and not page_exists(2**56 + 1, 2**62, 64)


def test_page_tells_its_pager_where_it_is():
    page = Page(items=[1, 2], count=52, number=2, size=25)
    assert (page.pages, page.has_previous, page.has_next) == (3, True, True)
    assert not Page(items=[], count=0, number=1, size=25).has_next
