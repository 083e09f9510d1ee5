"""What every clustering service shares: Senlin's policy rules on cove's policy, project
scoping (``global_project`` for administrators) and Senlin's lookup of an object by id,
name or short id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cove import policy
from cove.domain import fields, identifiers
from cove.domain.clustering import errors as cerr
from cove.identity import Caller

T = TypeVar("T")


@dataclass(frozen=True)
class ListQuery:
    """Senlin's list parameters: ``filters`` by column (each a list of accepted values),
    ``sort`` as ``key[:dir],…``, ``limit`` and ``marker`` (an id)."""

    limit: int | None = None
    marker: str | None = None
    sort: str | None = None
    global_project: bool = False
    filters: dict[str, list[str]] | None = None


def enforce(caller: Caller, rule: str, project_id: str | None = None) -> None:
    """Senlin's rules on cove's policy: reads need ``reader``, writes ``member``."""
    try:
        policy.enforce(caller, rule, policy.Target(project_id or caller.project_id))
    except Exception as exc:  # cove.errors.Forbidden, re-raised as Senlin's kind
        if getattr(exc, "status", None) == 403:
            raise cerr.Forbidden(
                f"You are not authorized to complete this operation ({rule})."
            ) from None
        raise


def list_scope(model: Any, caller: Caller, global_project: bool) -> Any:
    """Lists show the caller's project; an administrator sees all with ``global_project``
    (anyone else asking gets 403, as Senlin)."""
    if global_project:
        if not caller.is_admin:
            raise cerr.Forbidden(
                "You are not authorized to complete this operation (global_project)."
            )
        return None
    return model.project_id == caller.project_id


def object_scope(model: Any, caller: Caller) -> Any:
    """By id, an administrator reaches every project's objects (Senlin's ``project_safe``
    off for admins); others their project's only."""
    return None if caller.is_admin else model.project_id == caller.project_id


def check_text(field: str, value: str | None) -> None:
    if value is None:
        return
    char = fields.bad_character(value)
    if char is not None:
        raise cerr.BadRequest(
            f"The value for '{field}' holds the control character "
            f"{fields.describe_character(char)}, which is not allowed."
        )


def find(
    session: Session,
    model: type[T],
    ident: str,
    *,
    kind: str,
    scope: Any,
    stmt: Select[Any] | None = None,
) -> T:
    """Senlin's ``find``: by uuid, else by name (unique), else by short id (a uuid prefix)."""
    check_text(kind, ident)
    table: Any = model
    base: Select[Any] = stmt if stmt is not None else select(model)
    if scope is not None:
        base = base.where(scope)
    if identifiers.is_uuid(ident):
        row = session.scalar(base.where(table.uuid == identifiers.normalise_uuid(ident)))
        if row is not None:
            return row
    if hasattr(table, "name"):
        rows = list(session.scalars(base.where(table.name == ident).limit(2)))
        if len(rows) > 1:
            raise cerr.MultipleChoices(ident)
        if rows:
            return rows[0]
    if 0 < len(ident) < 36 and all(c in "0123456789abcdef-" for c in ident.lower()):
        rows = list(session.scalars(base.where(table.uuid.startswith(ident.lower())).limit(2)))
        if len(rows) > 1:
            raise cerr.MultipleChoices(ident)
        if rows:
            return rows[0]
    raise cerr.ResourceNotFound(kind, ident)
