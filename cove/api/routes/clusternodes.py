"""/v1/clusters/{ident}/nodes: a cove extension beside Magnum's API (docs/api.md)."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request

from cove.api.deps import ContextDep, SessionDep, strict_query
from cove.api.routing import Router
from cove.services import clusternodes

router = Router(prefix="/v1/clusters", tags=["clusters"])


def node_view(found: clusternodes.ClusterNode) -> dict[str, Any]:
    node, load = found.node, found.load
    return {
        "name": node.name,
        "role": node.role,
        "nodegroup": node.nodegroup,
        "address": node.address or None,
        "ready": node.ready,
        "load": None
        if load is None
        else {
            "cpu": load.cpu,
            "cpus": load.cpus,
            "memory": load.memory,
            "memory_limit": load.memory_limit,
            "containers": load.containers,
            "score": round(load.score, 4),
        },
    }


@router.get("/{ident}/nodes", dependencies=[Depends(strict_query())])
def cluster_nodes(
    ident: str, request: Request, session: SessionDep, ctx: ContextDep
) -> dict[str, Any]:
    found = clusternodes.cluster_nodes(session, ctx.caller, ident, request.app.state.registry)
    return {"nodes": [node_view(n) for n in found]}
