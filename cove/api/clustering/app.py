"""The clustering sub-application, mounted at ``/clustering`` by ``cove.api.app``; it shares
the parent's settings, database and conductor wake-up."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI

from cove.api.clustering import errors
from cove.api.clustering.middleware import SenlinProtocol
from cove.api.clustering.routes import (
    actions,
    clusters,
    events,
    nodes,
    policies,
    profiles,
    receivers,
    root,
)
from cove.api.keystone import KeystoneAuth, TokenValidator

# Senlin's version documents, answered without a token (as Senlin does), and receivers'
# webhooks: whoever holds the URL may trigger it (an alarm service has no token of the
# owner's); the secret in the path is checked by the route.
PUBLIC_PATHS = frozenset({"/clustering", "/clustering/", "/clustering/v1"})
WEBHOOK = re.compile(r"/clustering/v1/webhooks/[^/]+/trigger")


def _public(path: str) -> bool:
    return path in PUBLIC_PATHS or WEBHOOK.fullmatch(path) is not None


def create_clustering_app(
    state: Any, max_body_bytes: int, validator: TokenValidator | None = None
) -> FastAPI:
    app = FastAPI(
        title="cove clustering",
        description="Senlin's clustering API v1 over containers on cove's clusters.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    for name in ("settings", "engine", "session_factory", "wakeup"):
        setattr(app.state, name, getattr(state, name))
    errors.install(app)
    for router in (
        root.router,
        profiles.router,
        policies.router,
        clusters.router,
        nodes.router,
        receivers.router,
        actions.router,
        events.router,
    ):
        app.include_router(router)
    if validator is not None:  # keystone mode; inside SenlinProtocol, as for Magnum's routes
        app.add_middleware(
            KeystoneAuth,
            validator=validator,
            refusal=errors.body,
            public=_public,
        )
    app.add_middleware(SenlinProtocol, max_body_bytes=max_body_bytes)
    return app
