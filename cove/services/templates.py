"""Cluster templates: create, update (JSON-patch), delete, with every check run before
anything is written. Used by both /v1/clustertemplates and the legacy /v1/baymodels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session

from cove import errors
from cove.api import policy
from cove.api.context import RequestContext
from cove.api.schemas.common import revalidate
from cove.api.schemas.templates import (
    BOOL_DEFAULTS,
    BaymodelFields,
    TemplateFields,
    template_values,
)
from cove.db import models
from cove.domain import fields, identifiers, labels
from cove.domain.coes import Coe
from cove.domain.jsonpatch import PatchOp, apply_patch
from cove.drivers.base import DriverKey
from cove.drivers.registry import DriverRegistry, NoDriver
from cove.services import catalog
from cove.services.lookup import get_by_ident

NOT_REMOVABLE = frozenset(
    {
        "/network_driver",
        "/external_network_id",
        "/tls_disabled",
        "/public",
        "/server_type",
        "/coe",
        "/registry_enabled",
        "/cluster_distro",
        "/hidden",
        "/image_id",
    }
)
# While clusters use a template, only these may change (Magnum's rule).
CHANGEABLE_WHEN_REFERENCED = frozenset({"name", "public", "hidden", "tags"})


def visible(ctx: RequestContext) -> ColumnElement[bool] | None:
    """Own project's templates (hidden too) plus public, non-hidden ones; admins see all."""
    if ctx.is_admin:
        return None
    return or_(
        models.ClusterTemplate.project_id == ctx.project_id,
        and_(models.ClusterTemplate.public.is_(True), models.ClusterTemplate.hidden.is_(False)),
    )


def get_template(session: Session, ctx: RequestContext, ident: str) -> models.ClusterTemplate:
    return get_by_ident(
        session,
        models.ClusterTemplate,
        ident,
        kind="ClusterTemplate",
        scope=visible(ctx),
        plural="clustertemplates",
    )


def resolve_values(
    session: Session, ctx: RequestContext, body: TemplateFields, registry: DriverRegistry
) -> dict[str, Any]:
    """Validate a template's values against its COE, the catalog and the drivers; return the
    values to store, with defaults and derived fields filled in."""
    values = body.model_dump(exclude={"uuid"})
    for key, default in BOOL_DEFAULTS.items():
        if values[key] is None:
            values[key] = default
    values["server_type"] = str(values["server_type"] or "vm")
    coe = Coe(values["coe"])
    values["coe"] = str(coe)
    values["labels"] = {str(k): str(v) for k, v in (values["labels"] or {}).items()}
    values["name"] = values["name"] or identifiers.generate_name("template")

    image = catalog.resolve_image(session, ctx, values["image_id"])
    values["cluster_distro"] = image.os_distro
    for field in ("flavor_id", "master_flavor_id"):
        if values[field]:
            catalog.resolve_flavor(session, values[field], field)
    if values["keypair_id"]:
        catalog.resolve_keypair(session, ctx, values["keypair_id"], "keypair_id")
    if values["external_network_id"]:
        catalog.resolve_network(
            session, ctx, values["external_network_id"], "external_network_id", external=True
        )
    fixed = None
    if values["fixed_network"]:
        fixed = catalog.resolve_network(session, ctx, values["fixed_network"], "fixed_network")
    if values["fixed_subnet"]:
        catalog.resolve_subnet(fixed, values["fixed_subnet"], "fixed_subnet")

    values["network_driver"] = fields.network_driver(coe, values["network_driver"])
    fields.check_volume_driver(coe, values["volume_driver"])
    fields.check_storage(values["docker_storage_driver"], values["docker_volume_size"])
    fields.check_dns_nameserver(values["dns_nameserver"])
    fields.check_proxy("http_proxy", values["http_proxy"])
    fields.check_proxy("https_proxy", values["https_proxy"])
    fields.check_no_proxy(values["no_proxy"])
    labels.validate_labels(str(coe), values["labels"])
    if values["driver"] and values["driver"] not in registry.names():
        raise errors.InvalidField(
            "driver",
            values["driver"],
            f"Cluster driver ({values['driver']}) not supported.",
            registry.names(),
        )
    driver_notes(registry, values)
    return values


def driver_notes(registry: DriverRegistry, values: Mapping[str, Any]) -> list[str]:
    """The driver's own checks of a template (see ``ChecksTemplates``): raises what it
    refuses, returns notes on what it serves differently. No driver yet: nothing to check
    (a cluster from the template then fails naming its driver key)."""
    key = DriverKey(
        str(values["server_type"]), str(values["cluster_distro"] or ""), str(values["coe"])
    )
    try:
        driver = registry.find(key, values.get("driver") or None)
    except NoDriver:
        return []
    check = getattr(driver, "check_template", None)
    return list(check(values)) if check is not None else []


def _check_publish(ctx: RequestContext, public: bool, hidden: bool, rule: str) -> None:
    try:
        if public or hidden:
            policy.enforce(ctx, rule)
    except errors.Forbidden:
        raise errors.Forbidden(
            "Not authorized to set public or hidden flag for cluster template."
        ) from None


def create_template(
    session: Session,
    ctx: RequestContext,
    body: TemplateFields,
    registry: DriverRegistry,
    *,
    publish_rule: str = "clustertemplate:publish",
) -> models.ClusterTemplate:
    values = resolve_values(session, ctx, body, registry)
    _check_publish(ctx, values["public"], values["hidden"], publish_rule)
    template = models.ClusterTemplate(project_id=ctx.project_id, user_id=ctx.user_id, **values)
    if body.uuid is not None:
        template.uuid = str(body.uuid)
        if session.scalar(
            select(models.ClusterTemplate.id).where(models.ClusterTemplate.uuid == template.uuid)
        ):
            raise errors.Conflict(f"A cluster template with UUID {template.uuid} already exists.")
    session.add(template)
    session.flush()
    return template


def is_referenced(session: Session, template: models.ClusterTemplate) -> bool:
    return bool(
        session.scalar(select(exists().where(models.Cluster.cluster_template_id == template.uuid)))
    )


def update_template(
    session: Session,
    ctx: RequestContext,
    template: models.ClusterTemplate,
    ops: list[PatchOp],
    registry: DriverRegistry,
    *,
    model: type[TemplateFields] = TemplateFields,
    publish_rule: str = "clustertemplate:publish",
) -> models.ClusterTemplate:
    current = template_values(template)
    # A baymodel has no driver attribute (its body refuses one): patch without it, keep it.
    bay = issubclass(model, BaymodelFields)
    if bay:
        del current["driver"]
    patched = apply_patch(current, ops, mandatory=NOT_REMOVABLE)
    body = revalidate(model, patched)
    values = resolve_values(session, ctx, body, registry)
    if bay:
        values["driver"] = template.driver
    changed = {k for k, v in values.items() if getattr(template, k) != v}
    if not changed:
        return template
    if changed & {"public", "hidden"}:
        _check_publish(ctx, True, True, publish_rule)
    if changed - CHANGEABLE_WHEN_REFERENCED and is_referenced(session, template):
        raise errors.Referenced(
            f"ClusterTemplate {template.uuid} is referenced by one or multiple clusters: "
            f"only {', '.join(sorted(CHANGEABLE_WHEN_REFERENCED))} may change "
            f"(this update changes {', '.join(sorted(changed))})."
        )
    for key in changed:
        setattr(template, key, values[key])
    session.flush()
    return template


def delete_template(session: Session, template: models.ClusterTemplate) -> None:
    if is_referenced(session, template):
        raise errors.Referenced(
            f"ClusterTemplate {template.uuid} is referenced by one or multiple clusters."
        )
    session.delete(template)
