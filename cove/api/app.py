"""The application factory: settings, database, driver registry and routes assembled in
one visible place. Nothing here is a module global, so tests build as many apps as they like."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from cove import __version__
from cove.api import cloud, routing
from cove.api import errors as api_errors
from cove.api.cloud.app import create_cloud_app
from cove.api.clustering.app import create_clustering_app
from cove.api.keystone import KeystoneAuth, TokenValidator
from cove.api.middleware import MagnumProtocol
from cove.api.routes import (
    catalog,
    certificates,
    clusternodes,
    clusters,
    deployments,
    nodegroups,
    quotas,
    root,
    templates,
)
from cove.api.schemas.common import forbid_controls
from cove.db import migrate, notify
from cove.db.session import make_engine, make_session_factory
from cove.drivers.registry import DriverRegistry, build_registry
from cove.pki import keystore
from cove.providers.registry import ProviderSet
from cove.services import keys
from cove.services.eventhub import CHANNEL, EventHub
from cove.settings import AuthMode, Settings

CLUSTERING_PREFIX = "/clustering"


def _operation_id(route: APIRoute) -> str:
    """Stable OpenAPI operation ids keep the document diffable and fuzz reports comparable."""
    return route.name


def create_app(
    settings: Settings,
    *,
    registry: DriverRegistry | None = None,
    wakeup: Callable[[], None] | None = None,
    migrate_db: bool = True,
) -> FastAPI:
    engine = make_engine(settings.database_url)
    if migrate_db:
        migrate.upgrade(engine)
    app = FastAPI(
        lifespan=_lifespan,
        title="cove",
        version=__version__,
        description="Container infrastructure service speaking OpenStack Magnum's v1 API.",
        generate_unique_id_function=_operation_id,
        docs_url="/docs",
        redoc_url=None,
        responses={
            code: {"description": text, "model": api_errors.ErrorBody}
            for code, text in api_errors.DOCUMENTED.items()
        },
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine, keystore.load(settings))
    if migrate_db:
        keys.prepare(app.state.session_factory)  # private keys in the clear get sealed
    app.state.registry = registry or build_registry(
        settings.extra_drivers,
        ProviderSet(settings.docker_host, publish_address=settings.publish_address),
    )
    app.state.wakeup = wakeup or (lambda: None)
    # Conductors in this process (``cove serve``) share the session factory, so their events
    # wake long-polling readers directly; other processes' arrive as notes (cove.db.notify).
    app.state.events = EventHub()
    app.state.events.attach(app.state.session_factory)
    api_errors.install(app)
    for router in (
        root.router,
        templates.clustertemplates,
        templates.baymodels,
        clusters.router,
        clusternodes.router,
        clusters.bays,
        nodegroups.router,
        certificates.router,
        quotas.router,
        catalog.router,
        deployments.router,
    ):
        app.include_router(router)
    validator = None
    if settings.effective_auth_mode is AuthMode.KEYSTONE:
        validator = TokenValidator(settings.keystone_authtoken)
        # Inside MagnumProtocol: the path is normalised and refusals carry the request id.
        app.add_middleware(
            KeystoneAuth, validator=validator, refusal=api_errors.error_body, public=_public
        )
    # Senlin's API under /clustering: its own error body, microversions and middleware.
    app.mount(
        CLUSTERING_PREFIX,
        create_clustering_app(app.state, settings.max_body_bytes, validator),
    )
    # Glance, Nova and Neutron read APIs over cove's catalog, for Horizon's forms.
    app.mount(cloud.PREFIX, create_cloud_app(app.state))
    app.add_middleware(
        MagnumProtocol,
        max_body_bytes=settings.max_body_bytes,
        identity_from_client=validator is None,
    )
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


# Magnum's public routes (version discovery), cove's probes and the version documents of
# the /cloud APIs (clients discover versions before they authenticate); /clustering has its own.
PUBLIC_PATHS = frozenset(
    {"/", "/v1", "/healthz", "/docs", "/openapi.json"}
    | {f"{cloud.PREFIX}/{api}" for api in ("compute", "compute/v2.1", "image", "network")}
    | {f"{cloud.PREFIX}/image/versions"}
)


def _public(path: str) -> bool:
    return (
        path in PUBLIC_PATHS
        or path.startswith(CLUSTERING_PREFIX + "/")
        or (path == CLUSTERING_PREFIX)
    )


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    routing.prepare(app)  # before the first request, not in it
    stop = threading.Event()
    events: EventHub = app.state.events
    threading.Thread(
        target=notify.listen,
        args=(app.state.engine, CHANNEL, lambda uuid: events.publish([uuid]), stop),
        name="api-events",
        daemon=True,
    ).start()
    try:
        yield
    finally:
        stop.set()


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI documents a 422 for every validated request; cove answers those with 400 and
    Magnum's error body, so the document says 400. Path and query strings get the pattern
    refusing control characters (bodies get it from ``Strict``)."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                operation.get("responses", {}).pop("422", None)
                # The middleware refuses a control character anywhere in the path or query.
                for parameter in operation.get("parameters", []):
                    if parameter.get("in") in ("path", "query"):
                        forbid_controls(parameter.get("schema"))
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
        app.openapi_schema = schema
    return app.openapi_schema
