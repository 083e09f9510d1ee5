"""Pure readings of a Docker engine's stats and times, shared by the provider (stats of node
containers on the host engine) and drivers (stats of the containers inside a node). No engine
calls here."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any


def timestamp(value: str | None) -> float:
    """Seconds since the epoch from the engine's RFC 3339 times (nanoseconds, ``Z``);
    0.0 for the zero time or nothing."""
    if not value or value.startswith("0001-"):
        return 0.0
    head, _, rest = value.rstrip("Z").partition(".")
    zone = ""
    for sign in ("+", "-"):
        if sign in rest:
            rest, _, offset = rest.partition(sign)
            zone = sign + offset
    micros = (rest + "000000")[:6]
    return datetime.fromisoformat(f"{head}.{micros}{zone or '+00:00'}").timestamp()


def memory_in_use(memory_stats: Mapping[str, Any]) -> int:
    """Usage less the inactive file cache, as ``docker stats`` shows it (cgroup v1 names it
    ``total_inactive_file``, v2 ``inactive_file``). tmpfs pages (a node's image store) are
    not file cache: they count."""
    usage = int(memory_stats.get("usage") or 0)
    detail = memory_stats.get("stats") or {}
    inactive = detail.get("total_inactive_file", detail.get("inactive_file", 0))
    return max(usage - int(inactive or 0), 0)
