"""A cluster's nodes as rows, read from what the API shows: the health monitor's
``health_status_reason`` (``<node>.Ready``, ``<node>.reason``) once it has looked, else the
node addresses the driver reported."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

COLUMNS = ("name", "role", "ready", "reason")
_MASTER_WORDS = {"master", "manager"}
_WORKER_WORDS = {"worker", "node", "minion"}


def _role(name: str, groups: Mapping[str, str]) -> str:
    words = set(name.lower().replace("_", "-").split("-"))
    if words & _MASTER_WORDS:
        return "master"
    if words & _WORKER_WORDS:
        return "worker"
    for group, role in groups.items():  # a non-default node group's name is in its nodes'
        if group and group.lower() in name.lower():
            return role
    return ""


def node_rows(
    cluster: Mapping[str, Any], nodegroups: Mapping[str, str] | None = None
) -> list[dict[str, str]]:
    """One row per node: name, role (master or worker), ready (true, false or empty when not
    known yet) and reason. ``nodegroups`` maps node group names to roles."""
    reason = cluster.get("health_status_reason") or {}
    rows: dict[str, dict[str, str]] = {}
    for key, value in reason.items():
        name, _, attribute = str(key).rpartition(".")
        if not name or attribute not in ("Ready", "reason"):
            continue
        row = rows.setdefault(
            name, {"name": name, "role": _role(name, nodegroups or {}), "ready": "", "reason": ""}
        )
        if attribute == "Ready":
            row["ready"] = str(value).lower()
        else:
            row["reason"] = str(value)
    if rows:
        return sorted(rows.values(), key=lambda r: (r["role"] != "master", r["name"]))
    api = str(reason.get("api", "")) if reason.get("api") not in (None, "ok") else ""
    by_address = [("master", a) for a in cluster.get("master_addresses") or []] + [
        ("worker", a) for a in cluster.get("node_addresses") or []
    ]
    return [{"name": a, "role": role, "ready": "", "reason": api} for role, a in by_address]


def expected_count(cluster: Mapping[str, Any]) -> int:
    return int(cluster.get("master_count") or 0) + int(cluster.get("node_count") or 0)


def up_count(cluster: Mapping[str, Any]) -> int:
    """Nodes known to be up: Ready ones when health is known, else those with an address."""
    rows = node_rows(cluster)
    if any(r["ready"] for r in rows):
        return sum(r["ready"] == "true" for r in rows)
    return len(rows)
