"""What changed between two looks at a deployment's progress (``{element: {state,
detail}}``), as the one event line the conductor records for it: the event wakes whoever
follows the deployment (``GET …/deployments/{d}/events?wait=``) and stays as its history.
Secret values are masked in the line whatever a detail echoes (a command line, a log)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

MASK = "<secret>"
TROUBLE = frozenset({"failed", "failing"})  # a task out of retries; a service's containers end
MAX_DETAIL = 300  # characters of one element's detail in the line


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """``element: state (detail)`` for each element new or changed in ``after``, in its
    order; elements no longer in ``after`` are not mentioned (an update dropped them)."""
    out = []
    for name, now in after.items():
        if not isinstance(now, Mapping) or _shown(before.get(name)) == _shown(now):
            continue
        detail = str(now.get("detail") or "")
        if len(detail) > MAX_DETAIL:
            detail = detail[: MAX_DETAIL - 1] + "…"
        state = str(now.get("state"))
        out.append(f"{name}: {state}" + (f" ({detail})" if detail and detail != state else ""))
    return out


def _shown(element: Any) -> tuple[Any, Any] | None:
    """What a line tells of an element (where its instances run is not told)."""
    if not isinstance(element, Mapping):
        return None
    return element.get("state"), element.get("detail")


def mask(text: str, secrets: Iterable[Any]) -> str:
    """``text`` with every secret value (as text, the longest first) replaced by MASK."""
    for value in sorted({str(s) for s in secrets if str(s)}, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def event_message(
    before: Mapping[str, Any], after: Mapping[str, Any], secrets: Iterable[Any] = ()
) -> str | None:
    """The event for a change of progress, or None when nothing shown changed."""
    changed = changes(before, after)
    return mask("; ".join(changed), secrets) if changed else None


def event_level(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """``warning`` when an element that changed is in trouble now, else ``info``."""
    troubled = any(
        isinstance(now, Mapping)
        and _shown(before.get(name)) != _shown(now)
        and now.get("state") in TROUBLE
        for name, now in after.items()
    )
    return "warning" if troubled else "info"
