"""Where a deployment's services answer: each published port of its definition on the
cluster's node addresses. Ports are published in host mode (swarm-mode's app host: no
routing mesh), so a global service answers on every node, a replicated one on the nodes
running an instance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

COLUMNS = ("service", "port", "protocol", "where", "addresses")


def node_addresses(cluster: Mapping[str, Any]) -> list[str]:
    found = [*(cluster.get("master_addresses") or []), *(cluster.get("node_addresses") or [])]
    return list(dict.fromkeys(str(a) for a in found if a))


def endpoints(deployment: Mapping[str, Any], cluster: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per published port of each service, in the definition's order."""
    addresses = node_addresses(cluster)
    rows = []
    services = (deployment.get("definition") or {}).get("services") or {}
    for name, service in services.items():
        every = service.get("mode") == "global"
        for port in service.get("ports") or []:
            published = port.get("published")
            if published is None:
                continue
            rows.append(
                {
                    "service": name,
                    "port": published,
                    "protocol": port.get("protocol", "tcp"),
                    "where": "every node" if every else "nodes running it",
                    "addresses": [f"{a}:{published}" for a in addresses],
                }
            )
    return rows


def lines(rows: list[dict[str, Any]]) -> list[str]:
    """The endpoints as lines for stderr, after a deployment is ready."""
    out = []
    for row in rows:
        where = " " if row["where"] == "every node" else f" (on the {row['where']}) "
        out.append(
            f"  {row['service']} {row['port']}/{row['protocol']}{where}"
            + " ".join(row["addresses"])
        )
    return out
