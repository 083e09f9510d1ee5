"""Senlin's pagination: ``limit``, ``marker`` (the last item's id, resolved within what the
caller may list: another project's id is 404, as an unknown one) and ``sort``
(``key[:asc|desc],…`` over the keys each list allows)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import Session

from cove.domain import identifiers
from cove.domain.clustering import errors as cerr

MAX_LIMIT = 1000


def parse_sort(sort: str | None, keys: Mapping[str, Any]) -> list[tuple[Any, bool]]:
    """[(column, descending)], refusing unknown keys and directions with Senlin's words."""
    if not sort:
        return []
    out: list[tuple[Any, bool]] = []
    for item in sort.split(","):
        key, _, direction = item.strip().partition(":")
        if key not in keys:
            raise cerr.BadRequest(
                f"Unsupported sort key '{key}' for 'sort'; use one of: {', '.join(keys)}."
            )
        if direction not in ("", "asc", "desc"):
            raise cerr.BadRequest(f"Unsupported sort dir '{direction}' for 'sort'.")
        out.append((keys[key], direction == "desc"))
    return out


def paginate(
    session: Session,
    stmt: Select[Any],
    model: Any,
    *,
    limit: int | None,
    marker: str | None,
    sort: str | None,
    sort_keys: Mapping[str, Any],
    kind: str,
    default_key: Any = None,
) -> list[Any]:
    order = parse_sort(sort, sort_keys)
    if not order:
        order = [(default_key if default_key is not None else model.id, False)]
    if limit is not None and limit < 0:
        raise cerr.BadRequest("The value for 'limit' must be a non-negative integer.")
    if marker is not None:
        if not identifiers.is_uuid(marker):
            raise cerr.BadRequest(f"The value for 'marker' ({marker[:40]!r}) is not a valid UUID.")
        row = session.scalar(stmt.where(model.uuid == identifiers.normalise_uuid(marker)))
        if row is None:
            raise cerr.ResourceNotFound(kind, marker)
        stmt = stmt.where(_after(model, row, order))
    columns = [c.desc() if d else c.asc() for c, d in order]
    columns.append(model.id.desc() if order[0][1] else model.id.asc())
    stmt = stmt.order_by(*columns).limit(min(limit if limit is not None else MAX_LIMIT, MAX_LIMIT))
    return list(session.scalars(stmt))


def _after(model: Any, row: Any, order: list[tuple[Any, bool]]) -> Any:
    """Rows after ``row`` in the order (keyset pagination, with ``id`` as tie-breaker)."""
    keys = [*order, (model.id, order[0][1])]
    clauses = []
    for i, (column, desc) in enumerate(keys):
        value = getattr(row, column.key)
        equal = [c == getattr(row, c.key) for c, _ in keys[:i]]
        if value is None:
            continue
        clauses.append(and_(*equal, column < value if desc else column > value))
    return or_(*clauses)
