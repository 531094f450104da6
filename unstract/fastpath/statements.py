"""What a SELECT says about itself that SQLAlchemy keeps private: its ORDER BY."""

from __future__ import annotations

from sqlalchemy import Select


def ordering_of(query: Select) -> tuple:
    """The query's ORDER BY clauses, to re-apply them to its page's rows or re-aim them at a subquery.
    SQLAlchemy has no public accessor; tests/test_fastpath.py checks this one on every upgrade."""
    return tuple(query._order_by_clauses)  # noqa: SLF001 - the one place that reads it
