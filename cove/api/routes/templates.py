"""/v1/clustertemplates and the legacy /v1/baymodels (microversions below 1.11): one set of
handlers, two names."""

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from cove.api import policy, warnings
from cove.api.deps import (
    LIST_QUERY,
    ContextDep,
    ListParamsDep,
    SessionDep,
    SettingsDep,
    strict_query,
)
from cove.api.pagination import collection, paginate
from cove.api.schemas.common import PatchItem
from cove.api.schemas.templates import BaymodelFields, TemplateFields, template_view
from cove.db import models
from cove.db.session import writing
from cove.drivers.registry import DriverRegistry
from cove.services import templates


def make_router(coll: str, rule: str, fields: type[TemplateFields], *, bay: bool) -> APIRouter:
    # Magnum dropped baymodels at 1.11, but python-magnumclient <= 3.7 sends `latest`: cove
    # keeps serving them at every version so those clients keep working.
    router = APIRouter(prefix=f"/v1/{coll}", tags=[coll])

    def registry(request: Request) -> DriverRegistry:
        return request.app.state.registry  # type: ignore[no-any-return]

    def listing(
        session: SessionDep,
        ctx: ContextDep,
        params: ListParamsDep,
        settings: SettingsDep,
        action: str,
    ) -> dict[str, Any]:
        policy.enforce(ctx, f"{rule}:{action}")
        stmt = select(models.ClusterTemplate)
        scope = templates.visible(ctx)
        if scope is not None:
            stmt = stmt.where(scope)
        page = paginate(
            session,
            stmt,
            models.ClusterTemplate,
            params,
            settings.max_limit,
            not_found="ClusterTemplate",
        )
        items = [template_view(t, ctx.base_url, bay=bay) for t in page.items]
        path = coll if action == "get_all" else f"{coll}/detail"
        return collection(coll, items, page, ctx.base_url, path, params, settings.max_limit)

    @router.get("", dependencies=[Depends(strict_query(*LIST_QUERY))], operation_id=f"list_{coll}")
    def list_all(
        session: SessionDep, ctx: ContextDep, params: ListParamsDep, settings: SettingsDep
    ) -> dict[str, Any]:
        return listing(session, ctx, params, settings, "get_all")

    @router.get(
        "/detail", dependencies=[Depends(strict_query(*LIST_QUERY))], operation_id=f"detail_{coll}"
    )
    def detail(
        session: SessionDep, ctx: ContextDep, params: ListParamsDep, settings: SettingsDep
    ) -> dict[str, Any]:
        return listing(session, ctx, params, settings, "detail")

    @router.get("/{ident}", dependencies=[Depends(strict_query())], operation_id=f"show_{coll}")
    def show(ident: str, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
        template = templates.get_template(session, ctx, ident)
        if not (template.public and not template.hidden):
            policy.enforce(ctx, f"{rule}:get", policy.Target(template.project_id))
        return template_view(template, ctx.base_url, bay=bay)

    @router.post(
        "", status_code=201, dependencies=[Depends(strict_query())], operation_id=f"create_{coll}"
    )
    def create(
        body: fields,
        request: Request,
        session: SessionDep,
        ctx: ContextDep,  # type: ignore[valid-type]
    ) -> JSONResponse:
        policy.enforce(ctx, f"{rule}:create")
        with writing(session):
            template = templates.create_template(
                session, ctx, body, registry(request), publish_rule=f"{rule}:publish"
            )
        view = template_view(template, ctx.base_url, bay=bay)
        location = f"{ctx.base_url}/v1/{coll}/{template.uuid}"
        response = JSONResponse(view, status_code=201, headers={"Location": location})
        warnings.unknown_labels(response, template.coe, template.labels)
        _driver_notes(response, request, template)
        return response

    @router.patch("/{ident}", dependencies=[Depends(strict_query())], operation_id=f"update_{coll}")
    def update(
        ident: str,
        body: list[PatchItem],
        request: Request,
        response: Response,
        session: SessionDep,
        ctx: ContextDep,
    ) -> dict[str, Any]:
        with writing(session):
            template = templates.get_template(session, ctx, ident)
            policy.enforce(ctx, f"{rule}:update", policy.Target(template.project_id))
            templates.update_template(
                session,
                ctx,
                template,
                [item.to_op() for item in body],
                registry(request),
                model=fields,
                publish_rule=f"{rule}:publish",
            )
        _driver_notes(response, request, template)
        return template_view(template, ctx.base_url, bay=bay)

    @router.delete(
        "/{ident}",
        status_code=204,
        dependencies=[Depends(strict_query())],
        operation_id=f"delete_{coll}",
    )
    def delete(ident: str, session: SessionDep, ctx: ContextDep) -> Response:
        with writing(session):
            template = templates.get_template(session, ctx, ident)
            policy.enforce(ctx, f"{rule}:delete", policy.Target(template.project_id))
            templates.delete_template(session, template)
        return Response(status_code=204)

    return router


def _driver_notes(response: Response, request: Request, template: models.ClusterTemplate) -> None:
    values = {c.name: getattr(template, c.name) for c in models.ClusterTemplate.__table__.columns}
    for note in templates.driver_notes(request.app.state.registry, values):
        warnings.add(response, note)


clustertemplates = make_router("clustertemplates", "clustertemplate", TemplateFields, bay=False)
baymodels = make_router("baymodels", "baymodel", BaymodelFields, bay=True)
