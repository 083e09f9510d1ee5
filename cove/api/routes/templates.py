"""/v1/clustertemplates and the legacy /v1/baymodels (microversions below 1.11): one set of
handlers, two names."""

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response

from cove.api import warnings
from cove.api.deps import (
    LIST_QUERY,
    ContextDep,
    SessionDep,
    SettingsDep,
    list_params_for,
    strict_query,
)
from cove.api.pagination import collection
from cove.api.routing import Router
from cove.api.schemas.common import PatchItem
from cove.api.schemas.templates import (
    BaymodelFields,
    TemplateFields,
    spec_parser,
    template_view,
    to_spec,
)
from cove.db import models
from cove.drivers.registry import DriverRegistry
from cove.services import templates
from cove.services.pagination import PageRequest

TemplatePageDep = Annotated[PageRequest, Depends(list_params_for(models.ClusterTemplate))]


def make_router(coll: str, rule: str, fields: type[TemplateFields], *, bay: bool) -> Router:
    # Magnum dropped baymodels at 1.11, but python-magnumclient <= 3.7 sends `latest`: cove
    # keeps serving them at every version so those clients keep working.
    router = Router(prefix=f"/v1/{coll}", tags=[coll])

    def registry(request: Request) -> DriverRegistry:
        found: DriverRegistry = request.app.state.registry
        return found

    def listing(
        session: SessionDep,
        ctx: ContextDep,
        params: TemplatePageDep,
        settings: SettingsDep,
        *,
        detail: bool,
    ) -> dict[str, Any]:
        page = templates.list_templates(
            session, ctx.caller, params, settings.max_limit, detail=detail, resource=rule
        )
        items = [template_view(t, ctx.base_url, bay=bay) for t in page.items]
        path = f"{coll}/detail" if detail else coll
        return collection(coll, items, page, ctx.base_url, path, params, settings.max_limit)

    @router.get("", dependencies=[Depends(strict_query(*LIST_QUERY))], operation_id=f"list_{coll}")
    def list_all(
        session: SessionDep, ctx: ContextDep, params: TemplatePageDep, settings: SettingsDep
    ) -> dict[str, Any]:
        return listing(session, ctx, params, settings, detail=False)

    @router.get(
        "/detail", dependencies=[Depends(strict_query(*LIST_QUERY))], operation_id=f"detail_{coll}"
    )
    def detail(
        session: SessionDep, ctx: ContextDep, params: TemplatePageDep, settings: SettingsDep
    ) -> dict[str, Any]:
        return listing(session, ctx, params, settings, detail=True)

    @router.get("/{ident}", dependencies=[Depends(strict_query())], operation_id=f"show_{coll}")
    def show(ident: str, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
        template = templates.show_template(session, ctx.caller, ident, resource=rule)
        return template_view(template, ctx.base_url, bay=bay)

    @router.post(
        "", status_code=201, dependencies=[Depends(strict_query())], operation_id=f"create_{coll}"
    )
    def create(
        body: fields,  # type: ignore[valid-type]
        request: Request,
        session: SessionDep,
        ctx: ContextDep,
    ) -> JSONResponse:
        template = templates.create_template(
            session, ctx.caller, to_spec(body), registry(request), resource=rule
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
        template = templates.update_template(
            session,
            ctx.caller,
            ident,
            [item.to_op() for item in body],
            registry(request),
            parse=spec_parser(fields),
            resource=rule,
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
        templates.delete_template(session, ctx.caller, ident, resource=rule)
        return Response(status_code=204)

    return router


def _driver_notes(response: Response, request: Request, template: models.ClusterTemplate) -> None:
    for note in templates.template_notes(request.app.state.registry, template):
        warnings.add(response, note)


clustertemplates = make_router(
    "clustertemplates", templates.CLUSTERTEMPLATE, TemplateFields, bay=False
)
baymodels = make_router("baymodels", templates.BAYMODEL, BaymodelFields, bay=True)
