"""Magnum's JSON-patch rules: ops add, replace and remove only; values are text or integers;
internal attributes cannot be patched, mandatory ones not removed; ``add`` may not create a
root attribute or overwrite a set one; dict-valued attributes (``/labels`` …) take a
Python-literal string, which is how the clients send dicts."""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cove import errors

BASE_INTERNAL = frozenset(
    {"/created_at", "/id", "/links", "/updated_at", "/uuid", "/project_id", "/user_id"}
)
LITERAL_PATHS = frozenset({"/labels", "/health_status_reason", "/node_labels", "/node_taints"})


@dataclass(frozen=True)
class PatchOp:
    op: str
    path: str
    value: Any = None
    has_value: bool = False


def apply_patch(
    doc: dict[str, Any],
    ops: Iterable[PatchOp],
    *,
    internal: frozenset[str] = frozenset(),
    mandatory: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Return a patched copy of ``doc``; raise InvalidRequest naming the offending path."""
    result = copy.deepcopy(doc)
    for op in ops:
        root = "/" + op.path.strip("/").split("/")[0]
        if root in BASE_INTERNAL or root in internal:
            raise errors.InvalidRequest(f"'{root}' is an internal attribute and can not be updated")
        if op.op in ("add", "replace") and not op.has_value:
            raise errors.InvalidRequest("'add' and 'replace' operations needs value")
        parts = op.path.strip("/").split("/")
        if len(parts) == 1:
            _apply_root(result, op, parts[0], mandatory)
        else:
            _apply_nested(result, op, parts)
    return result


def _literal(path: str, value: Any) -> Any:
    if path in LITERAL_PATHS and isinstance(value, str):
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError):
            raise errors.InvalidField(
                path.lstrip("/"), value, "Expected a dict or list written as a literal."
            ) from None
    return value


def _apply_root(doc: dict[str, Any], op: PatchOp, key: str, mandatory: frozenset[str]) -> None:
    path = "/" + key
    if op.op == "remove":
        if path in mandatory:
            raise errors.InvalidRequest(f"'{path}' is a mandatory attribute and can not be removed")
        if key not in doc:
            raise errors.InvalidRequest(f"can't remove a non-existent attribute {path}")
        doc[key] = None
        return
    if key not in doc:
        if op.op == "add":
            raise errors.InvalidRequest(
                f"Adding a new attribute {path} to the root of the resource is not allowed"
            )
        raise errors.InvalidRequest(f"can't replace a non-existent attribute {path}")
    if op.op == "add" and doc[key] not in (None, {}, []):
        raise errors.InvalidRequest(
            f"The attribute {path} has existed, please use 'replace' operation instead"
        )
    doc[key] = _literal(path, op.value)


def _apply_nested(doc: dict[str, Any], op: PatchOp, parts: list[str]) -> None:
    target: Any = doc
    for part in parts[:-1]:
        if isinstance(target, dict) and part in target:
            if target[part] is None:
                target[part] = {}
            target = target[part]
        else:
            raise errors.InvalidRequest(f"can't patch a non-existent attribute /{'/'.join(parts)}")
    if not isinstance(target, dict):
        raise errors.InvalidRequest(f"/{'/'.join(parts[:-1])} is not an object")
    leaf = parts[-1]
    if op.op == "remove":
        if leaf not in target:
            raise errors.InvalidRequest(f"can't remove non-existent object '{leaf}'")
        del target[leaf]
    elif op.op == "replace" and leaf not in target:
        raise errors.InvalidRequest(f"can't replace non-existent object '{leaf}'")
    else:
        target[leaf] = op.value
