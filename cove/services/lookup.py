"""Find objects by UUID or name the way Magnum does: a UUID-like value by uuid, anything else
by name; several objects with one name is a 409 asking for the uuid."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cove import errors
from cove.domain import identifiers

T = TypeVar("T")


def get_by_ident(
    session: Session,
    model: type[T],
    ident: str,
    *,
    kind: str,
    scope: Any = None,
    plural: str | None = None,
    stmt: Select[Any] | None = None,
) -> T:
    """``scope`` is a where-clause limiting what the caller may see; an object outside it is
    reported as not found, so its existence does not leak across projects."""
    base: Select[Any] = stmt if stmt is not None else select(model)
    if scope is not None:
        base = base.where(scope)
    if identifiers.is_uuid(ident):
        # unique(): a statement may join a collection (one row per member)
        result = session.execute(base.where(model.uuid == identifiers.normalise_uuid(ident)))  # type: ignore[attr-defined]
        row = result.unique().scalars().first()
        if row is None:
            raise errors.NotFound(f"{kind} {ident} could not be found.")
        return row
    rows = list(session.execute(base.where(model.name == ident).limit(2)).unique().scalars())  # type: ignore[attr-defined]
    if not rows:
        raise errors.NotFound(f"{kind} {ident} could not be found.")
    if len(rows) > 1:
        noun = plural or f"{kind.lower()}s"
        raise errors.Conflict(
            f"Multiple {noun} exist with same name. Please use the {kind.lower()} uuid instead."
        )
    return rows[0]
