"""Where a deployment's services answer: each published port of its definition on the
nodes running the service. Ports are published in host mode (swarm-mode's app host: no
routing mesh), so a service answers only where an instance runs: the conductor records
those nodes in the service's progress (``nodes``), and the cluster's node listing gives
their addresses. Before that is known (or when the nodes cannot be listed), every node
address of the cluster is shown, marked as such."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

COLUMNS = ("service", "port", "protocol", "where", "addresses")


def node_addresses(cluster: Mapping[str, Any]) -> list[str]:
    found = [*(cluster.get("master_addresses") or []), *(cluster.get("node_addresses") or [])]
    return list(dict.fromkeys(str(a) for a in found if a))


def endpoints(
    deployment: Mapping[str, Any],
    cluster: Mapping[str, Any],
    addresses_by_node: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One row per published port of each service, in the definition's order."""
    every = node_addresses(cluster)
    progress = deployment.get("progress") or {}
    rows = []
    services = (deployment.get("definition") or {}).get("services") or {}
    for name, service in services.items():
        nodes = (progress.get(name) or {}).get("nodes")
        known = addresses_by_node is not None and nodes is not None
        if known:
            assert addresses_by_node is not None and nodes is not None
            where = "running it"
            addresses = [addresses_by_node[n] for n in nodes if n in addresses_by_node]
        else:
            where, addresses = "any node", every
        for port in service.get("ports") or []:
            published = port.get("published")
            if published is None:
                continue
            rows.append(
                {
                    "service": name,
                    "port": published,
                    "protocol": port.get("protocol", "tcp"),
                    "where": where,
                    "addresses": [f"{a}:{published}" for a in addresses],
                }
            )
    return rows


def lines(rows: list[dict[str, Any]]) -> list[str]:
    """The endpoints as lines for stderr, after a deployment is ready."""
    out = []
    for row in rows:
        where = " " if row["where"] == "running it" else " (on whichever of these runs it) "
        out.append(
            f"  {row['service']} {row['port']}/{row['protocol']}{where}"
            + " ".join(row["addresses"])
        )
    return out
