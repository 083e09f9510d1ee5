"""Magnum's pagination: ``limit`` (default and cap ``max_limit``), ``marker`` (the last item's
UUID), ``sort_key`` (any column but JSON ones, ``id`` as tie-breaker), ``sort_dir``; ``next``
is returned exactly when a page is full. One query per page, whatever its size. The API layer
renders a page with its ``next`` link."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import JSON, Row, Select, and_, literal, or_
from sqlalchemy.orm import Session

from cove import errors
from cove.domain import identifiers

T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    limit: int | None
    marker: str | None
    sort_key: str
    sort_dir: str


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_marker: str | None


def sortable_keys(model: type[Any]) -> list[str]:
    """The ``sort_key`` values a listing of ``model`` takes: its columns, but the JSON ones
    (PostgreSQL has no order for ``json``)."""
    columns = model.__table__.columns
    return sorted(c.key for c in columns if not isinstance(c.type, JSON))


def paginate(
    session: Session,
    stmt: Select[Any],
    model: type[T],
    params: PageRequest,
    max_limit: int,
    *,
    marker_field: str = "uuid",
    not_found: str = "Object",
) -> Page[T]:
    query, limit = _page_query(session, stmt, model, params, max_limit, marker_field, not_found)
    return _page(list(session.scalars(query)), limit, marker_field)


def paginate_rows(
    session: Session,
    stmt: Select[Any],
    model: type[Any],
    params: PageRequest,
    max_limit: int,
    columns: Sequence[Any],
    *,
    marker_field: str = "uuid",
    not_found: str = "Object",
) -> Page[Row[Any]]:
    """The page as rows of ``columns`` (``id`` and the marker field added) rather than mapped
    objects: a list view of 1,000 items spent most of its time building objects and decoding
    columns it does not show."""
    query, limit = _page_query(session, stmt, model, params, max_limit, marker_field, not_found)
    table: Any = model
    query = query.with_only_columns(table.id, getattr(table, marker_field), *columns)
    return _page(list(session.execute(query).all()), limit, marker_field)


def _page_query(
    session: Session,
    stmt: Select[Any],
    model: type[Any],
    params: PageRequest,
    max_limit: int,
    marker_field: str,
    not_found: str,
) -> tuple[Select[Any], int]:
    table: Any = model  # a mapped class: its columns are read by name
    limit = max_limit if params.limit is None else params.limit
    if limit <= 0:
        raise errors.InvalidRequest("Limit must be positive")
    limit = min(limit, max_limit)
    if params.sort_key not in sortable_keys(model):
        raise errors.InvalidRequest(
            f'The sort_key value "{params.sort_key}" is an invalid field for sorting'
        )
    sort_col = getattr(table, params.sort_key)
    descending = params.sort_dir == "desc"
    if params.marker is not None:
        marker_row = _marker_row(session, stmt, table, params.marker, marker_field, not_found)
        stmt = stmt.where(_after(table, sort_col, marker_row, params.sort_key, descending))
    # Nulls sort first ascending and last descending on both databases (their defaults
    # differ), so that ``_after`` can place a marker whose value is null. Only for a column
    # that can hold null: PostgreSQL's ``id ASC NULLS FIRST`` cannot walk the primary key's
    # index, and sorted every row of the project for a page (93 ms for 50 of 100,000).
    if model.__table__.c[params.sort_key].nullable:
        order = [sort_col.desc().nulls_last()] if descending else [sort_col.asc().nulls_first()]
    else:
        order = [sort_col.desc()] if descending else [sort_col.asc()]
    if params.sort_key != "id":
        order.append(table.id.desc() if descending else table.id.asc())
    return stmt.order_by(*order).limit(limit), limit


def _page(items: list[T], limit: int, marker_field: str) -> Page[T]:
    next_marker = None
    if len(items) == limit:
        next_marker = str(getattr(items[-1], marker_field))
    return Page(items, next_marker)


def _after(table: Any, column: Any, marker_row: Any, sort_key: str, descending: bool) -> Any:
    """The rows after the marker's in the page order (``id`` breaks ties)."""
    if sort_key == "id":
        return table.id < marker_row.id if descending else table.id > marker_row.id
    value = getattr(marker_row, sort_key)
    later_id = table.id < marker_row.id if descending else table.id > marker_row.id
    if value is None:
        tie = and_(column.is_(None), later_id)
        return tie if descending else or_(tie, column.is_not(None))
    bound = literal(value, column.type)  # SQLAlchemy refuses ``column > True`` itself
    beyond = column < bound if descending else column > bound
    after = or_(beyond, and_(column == bound, later_id))
    return or_(after, column.is_(None)) if descending else after


def _marker_row(
    session: Session, stmt: Select[Any], model: Any, marker: str, field: str, not_found: str
) -> Any:
    """The marker's row among those the listing shows (``stmt`` carries the caller's scope):
    another project's hidden object is "not found", as an unknown one, so a marker cannot
    reveal that it exists or where it sorts."""
    if field == "uuid" and not identifiers.is_uuid(marker):
        raise errors.InvalidField("marker", marker, "Expected a uuid.")
    if field == "id":
        try:
            value: Any = int(marker)
        except ValueError:
            raise errors.InvalidField("marker", marker, "Expected an integer.") from None
    else:
        value = marker
    if field == "id" and not -(2**63) <= value < 2**63:
        raise errors.NotFound(f"{not_found} {marker} could not be found.")
    row = session.scalar(stmt.where(getattr(model, field) == value).limit(1))
    if row is None:
        raise errors.NotFound(f"{not_found} {marker} could not be found.")
    return row
