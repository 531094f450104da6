"""One page of an ordered query, shared by the API (api.common.paginate) and the dashboard's pages.

A page is located by its keys first, read from the list's index alone however deep the offset, and
only its rows are then read in full.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import Column, Select, func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.sql import util as sql_util
from sqlalchemy.sql import visitors

from unstract.extensions import db
from unstract.fastpath import ordering_of, wire_column


def count_rows(query: Select) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


def single_key(query: Select):
    """The primary key column of a SELECT of one whole mapped entity with a one-column key, else None."""
    described = query.column_descriptions
    if len(described) != 1 or described[0]["entity"] is None or described[0]["expr"] is not described[0]["entity"]:
        return None
    key = sa_inspect(described[0]["entity"]).primary_key
    return key[0] if len(key) == 1 else None


def page_rows(query: Select, offset: int, size: int, *, scalars: bool = True, columns: tuple | None = None) -> list:
    """One page, located by its keys first (read alone from the list's index, however deep the offset),
    then only its rows are read in full (rows_of_keys); not for queries with `page_keys_first=False`.

    `columns`: for a SELECT of one entity, plain rows of only these attributes (by name, or labelled SQL
    expressions) instead of ORM objects, with UUIDs and timestamps read as the API's text (unstract.fastpath),
    for pages that are only read and presented (no identity map, no instance state)."""
    options = query.get_execution_options()
    key = single_key(query) if scalars and options.get("page_keys_first", True) else None
    if key is None:
        page = query.limit(size).offset(offset)
    else:
        keys_of = fenced_keys if options.get("page_keys_fenced") else plain_keys
        page = rows_of_keys(query, key, keys_of(query, key).limit(size).offset(offset), size)
    if columns is not None and scalars:
        entity = query.column_descriptions[0]["entity"]
        return list(db.session.execute(page.with_only_columns(*list_columns(entity, columns))))
    result = db.session.execute(page)
    return list(result.scalars() if scalars else result)


def rows_of_keys(query: Select, key, keys: Select, size: int) -> Select:
    """The rows of the page's `keys`, in the query's order.

    SQLite reads them by key (`WHERE id IN (keys)`): joined to the keys as a subquery, it materializes the
    keys at a cost well above the keys query's own (docs/PERFORMANCE.md, item 21).
    PostgreSQL, and orderings on other tables than the entity's (which would need the join), keep it."""
    if db.session.get_bind().dialect.name == "sqlite":
        ordering = ordering_of(query)  # the query's own ORDER BY, re-applied to the rows
        if all(column.table is key.table for clause in ordering for column in visitors.iterate(clause)
               if isinstance(column, Column)):
            entity = query.column_descriptions[0]["entity"]
            return (select(entity).where(key.in_(keys)).order_by(*ordering)
                    .execution_options(**query.get_execution_options()))
    subquery = keys.subquery("page_keys")
    return query.join(subquery, subquery.c[0] == key).limit(size)


@cache
def list_columns(entity: type, columns: tuple) -> tuple:
    """The SELECT columns of a plain page: the attributes of `entity` named in `columns`, labelled by name
    (unstract.fastpath), and the labelled expressions among them as they are."""
    return tuple(wire_column(getattr(entity, name)) if isinstance(name, str) else name for name in columns)


def plain_keys(query: Select, key) -> Select:
    return query.with_only_columns(key)


def fenced_keys(query: Select, key) -> Select:
    """The page's keys sorted from the keys of every match, which are found first on their own.

    For filters a planner misjudges (`page_keys_fenced=True`): PostgreSQL may walk the ordering's index
    expecting to meet matches early, which reads most of the table when the matches are all late (a
    path prefix of one month's folder). `OFFSET 0` keeps the inner query from being merged into the
    outer one, so it is planned for its filter alone, and the cost is bounded by the number of matches,
    which the page's count reads anyway."""
    ordering = ordering_of(query)  # the query's own ORDER BY, re-aimed at the subquery
    columns = {element.key: element for clause in ordering for element in visitors.iterate(clause)
               if isinstance(element, Column) and element.key != key.key}
    matches = query.with_only_columns(key, *columns.values()).order_by(None).offset(0).subquery("matches")
    adapt = sql_util.ClauseAdapter(matches).traverse
    return select(matches.c[key.key]).order_by(*(adapt(clause) for clause in ordering))
