"""Cluster templates: create, update (JSON-patch), delete, with every check run before
anything is written. Used by both /v1/clustertemplates and the legacy /v1/baymodels."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from cove import errors, policy
from cove.db import models
from cove.db.session import duplicate_raises, writing
from cove.domain import fields, identifiers, labels
from cove.domain.coes import Coe
from cove.domain.jsonpatch import PatchOp, apply_patch
from cove.drivers.base import DriverKey
from cove.drivers.registry import DriverRegistry, NoDriver
from cove.identity import Caller
from cove.services import catalog
from cove.services.lookup import PROJECT, Scope, get_by_ident, project_scope
from cove.services.pagination import Page, PageRequest, paginate

# The policy resource a template is reached as: its own name, or the legacy baymodel (which
# has no driver attribute).
CLUSTERTEMPLATE = "clustertemplate"
BAYMODEL = "baymodel"

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
BOOL_DEFAULTS = {
    "registry_enabled": False,
    "tls_disabled": False,
    "public": False,
    "hidden": False,
    "master_lb_enabled": False,
    "floating_ip_enabled": True,
}
# A template's attributes in the order Magnum shows them; with labels and driver, the
# document a JSON-patch applies to.
FIELDS = (
    "insecure_registry",
    "http_proxy",
    "floating_ip_enabled",
    "fixed_subnet",
    "master_flavor_id",
    "uuid",
    "no_proxy",
    "https_proxy",
    "tls_disabled",
    "keypair_id",
    "public",
    "labels",
    "docker_volume_size",
    "server_type",
    "external_network_id",
    "cluster_distro",
    "image_id",
    "volume_driver",
    "registry_enabled",
    "docker_storage_driver",
    "apiserver_port",
    "name",
    "network_driver",
    "fixed_network",
    "coe",
    "flavor_id",
    "master_lb_enabled",
    "dns_nameserver",
    "hidden",
    "tags",
)


@dataclass(frozen=True)
class TemplateSpec:
    """A template as asked for: every writable attribute (``None``: not set) but the uuid."""

    values: Mapping[str, Any]
    uuid: str | None = None


# Turns a patched template document into a spec, refusing what a request body would refuse.
ParseSpec = Callable[[dict[str, Any]], TemplateSpec]


def template_values(t: models.ClusterTemplate) -> dict[str, Any]:
    """The patchable document of a template (what JSON-patch operates on)."""
    values = {name: getattr(t, name) for name in FIELDS}
    values["labels"] = dict(t.labels or {})
    values["driver"] = t.driver
    return values


_VISIBLE = or_(
    models.ClusterTemplate.project_id == PROJECT,
    and_(models.ClusterTemplate.public.is_(True), models.ClusterTemplate.hidden.is_(False)),
)


def visible(caller: Caller) -> Scope | None:
    """Own project's templates (hidden too) plus public, non-hidden ones; admins see all."""
    return project_scope(_VISIBLE, caller)


def get_template(session: Session, caller: Caller, ident: str) -> models.ClusterTemplate:
    return get_by_ident(
        session,
        models.ClusterTemplate,
        ident,
        kind="ClusterTemplate",
        scope=visible(caller),
        plural="clustertemplates",
    )


def resolve_values(
    session: Session, caller: Caller, spec: TemplateSpec, registry: DriverRegistry
) -> dict[str, Any]:
    """Validate a template's values against its COE, the catalog and the drivers; return the
    values to store, with defaults and derived fields filled in."""
    values = dict(spec.values)
    for key, default in BOOL_DEFAULTS.items():
        if values[key] is None:
            values[key] = default
    values["server_type"] = str(values["server_type"] or "vm")
    coe = Coe(values["coe"])
    values["coe"] = str(coe)
    values["labels"] = {str(k): str(v) for k, v in (values["labels"] or {}).items()}
    values["name"] = values["name"] or identifiers.generate_name("template")

    image = catalog.resolve_image(session, caller, values["image_id"])
    values["cluster_distro"] = image.os_distro
    for field in ("flavor_id", "master_flavor_id"):
        if values[field] and (field == "flavor_id" or values[field] != values["flavor_id"]):
            catalog.resolve_flavor(session, values[field], field)  # once when both agree
    if values["keypair_id"]:
        catalog.resolve_keypair(session, caller, values["keypair_id"], "keypair_id")
    if values["external_network_id"]:
        catalog.resolve_network(
            session, caller, values["external_network_id"], "external_network_id", external=True
        )
    fixed = None
    if values["fixed_network"]:
        fixed = catalog.resolve_network(session, caller, values["fixed_network"], "fixed_network")
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


def _check_publish(caller: Caller, public: bool, hidden: bool, rule: str) -> None:
    try:
        if public or hidden:
            policy.enforce(caller, rule)
    except errors.Forbidden:
        raise errors.Forbidden(
            "Not authorized to set public or hidden flag for cluster template."
        ) from None


def list_templates(
    session: Session,
    caller: Caller,
    request: PageRequest,
    max_limit: int,
    *,
    detail: bool,
    resource: str = CLUSTERTEMPLATE,
) -> Page[models.ClusterTemplate]:
    policy.enforce(caller, f"{resource}:{'detail' if detail else 'get_all'}")
    stmt = select(models.ClusterTemplate)
    scope = visible(caller)
    if scope is not None:
        stmt = scope.apply(stmt)
    return paginate(
        session, stmt, models.ClusterTemplate, request, max_limit, not_found="ClusterTemplate"
    )


def show_template(
    session: Session, caller: Caller, ident: str, *, resource: str = CLUSTERTEMPLATE
) -> models.ClusterTemplate:
    template = get_template(session, caller, ident)
    if not (template.public and not template.hidden):
        policy.enforce(caller, f"{resource}:get", policy.Target(template.project_id))
    return template


def create_template(
    session: Session,
    caller: Caller,
    spec: TemplateSpec,
    registry: DriverRegistry,
    *,
    resource: str = CLUSTERTEMPLATE,
) -> models.ClusterTemplate:
    policy.enforce(caller, f"{resource}:create")
    with writing(session):
        values = resolve_values(session, caller, spec, registry)
        _check_publish(caller, values["public"], values["hidden"], f"{resource}:publish")
        template = models.ClusterTemplate(
            project_id=caller.project_id, user_id=caller.user_id, **values
        )
        if spec.uuid is not None:
            template.uuid = spec.uuid
        session.add(template)
        # The uuid is the only value of the row a caller chooses that must be unique.
        with duplicate_raises(
            errors.Conflict(f"A cluster template with UUID {template.uuid} already exists.")
        ):
            session.flush()
    return template


def is_referenced(session: Session, template: models.ClusterTemplate) -> bool:
    return bool(
        session.scalar(select(exists().where(models.Cluster.cluster_template_id == template.uuid)))
    )


def update_template(
    session: Session,
    caller: Caller,
    ident: str,
    ops: list[PatchOp],
    registry: DriverRegistry,
    *,
    parse: ParseSpec,
    resource: str = CLUSTERTEMPLATE,
) -> models.ClusterTemplate:
    with writing(session):
        template = get_template(session, caller, ident)
        policy.enforce(caller, f"{resource}:update", policy.Target(template.project_id))
        _apply_patch(session, caller, template, ops, registry, parse=parse, resource=resource)
    return template


def _apply_patch(
    session: Session,
    caller: Caller,
    template: models.ClusterTemplate,
    ops: list[PatchOp],
    registry: DriverRegistry,
    *,
    parse: ParseSpec,
    resource: str,
) -> None:
    for op in ops:
        if op.path == "/cluster_distro" and op.op != "remove":
            # Derived from the image: a patch of it would answer 200 and change nothing.
            raise errors.InvalidField(
                "cluster_distro",
                op.value,
                "cluster_distro is derived from the image's os_distro and cannot be set: "
                "change image_id instead.",
            )
    current = template_values(template)
    # A baymodel has no driver attribute (its body refuses one): patch without it, keep it.
    bay = resource == BAYMODEL
    if bay:
        del current["driver"]
    patched = apply_patch(current, ops, mandatory=NOT_REMOVABLE)
    values = resolve_values(session, caller, parse(patched), registry)
    if bay:
        values["driver"] = template.driver
    changed = {k for k, v in values.items() if getattr(template, k) != v}
    if not changed:
        return
    if changed & {"public", "hidden"}:
        _check_publish(caller, True, True, f"{resource}:publish")
    if changed - CHANGEABLE_WHEN_REFERENCED and is_referenced(session, template):
        raise errors.Referenced(
            f"ClusterTemplate {template.uuid} is referenced by one or multiple clusters: "
            f"only {', '.join(sorted(CHANGEABLE_WHEN_REFERENCED))} may change "
            f"(this update changes {', '.join(sorted(changed))})."
        )
    for key in changed:
        setattr(template, key, values[key])
    session.flush()


def delete_template(
    session: Session, caller: Caller, ident: str, *, resource: str = CLUSTERTEMPLATE
) -> None:
    with writing(session):
        template = get_template(session, caller, ident)
        policy.enforce(caller, f"{resource}:delete", policy.Target(template.project_id))
        if is_referenced(session, template):
            raise errors.Referenced(
                f"ClusterTemplate {template.uuid} is referenced by one or multiple clusters."
            )
        session.delete(template)


def template_notes(registry: DriverRegistry, template: models.ClusterTemplate) -> list[str]:
    """The driver's notes on a stored template (see ``driver_notes``)."""
    values = {c.name: getattr(template, c.name) for c in models.ClusterTemplate.__table__.columns}
    return driver_notes(registry, values)
