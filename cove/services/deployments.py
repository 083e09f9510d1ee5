"""Deployments of applications on a cluster (cove's extension beyond Magnum): a definition,
or a catalog package and its options, checked whole before anything is stored (every
problem named, a 400), then one operation on the deployment: deploy, update or undeploy.
Secret values are sealed with the keystore, never shown, never in an event."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cove import errors
from cove.db import models
from cove.db.deploy import Deployment
from cove.db.session import writing
from cove.domain.deploy.checks import resolve, validate, with_generated
from cove.domain.deploy.definition import Definition, load
from cove.domain.deploy.package import Package, load_package, render
from cove.domain.deploy.problems import DefinitionError, Problem
from cove.domain.statuses import Status
from cove.identity import Caller
from cove.pki import keystore
from cove.services import operations
from cove.services.clusters import authorized_cluster
from cove.services.lookup import get_by_ident

DEPLOY, UPDATE, UNDEPLOY = "deploy", "update", "undeploy"
TIMEOUT_MINUTES = 30
# A cluster deployments may go on: made, and not being removed.
_USABLE = {str(Status.CREATE_COMPLETE), str(Status.UPDATE_COMPLETE), str(Status.UPDATE_FAILED)}

KnownImages = Callable[[str], bool]


@dataclass(frozen=True)
class NewDeployment:
    name: str
    definition: Any = None  # YAML text or a mapping
    values: Mapping[str, Any] = field(default_factory=dict)
    package: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Checked:
    definition: Definition
    values: dict[str, Any]
    package: Package | None = None


# -- the catalog ------------------------------------------------------------------------------


@cache
def packages() -> dict[str, Package]:
    """The catalog's packages, by name (shipped with cove)."""
    folder = resources.files("cove.domain.deploy").joinpath("samples")
    found = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            package = load_package(entry.read_text(encoding="utf-8"))
            found[package.name] = package
    return found


def package(name: str) -> Package:
    found = packages().get(name)
    if found is None:
        known = ", ".join(sorted(packages()))
        raise errors.NotFound(f"Package {name} could not be found; the catalog has: {known}.")
    return found


# -- checking -------------------------------------------------------------------------------


def check(new: NewDeployment, known_images: KnownImages) -> Checked:
    """The definition and values ``new`` asks for, every problem refused at once."""
    if (new.definition is None) == (new.package is None):
        raise DefinitionError([Problem("", "give either a definition or a package, not both")])
    if new.package is not None:
        chosen = package(new.package)
        installed = render(chosen, new.options, known_images)
        return Checked(installed.definition, dict(installed.values), chosen)
    definition = load(new.definition)
    given = with_generated(definition, new.values)
    problems = validate(definition, known_images, given)
    if problems:
        raise DefinitionError(problems)
    values, _ = resolve(definition, given)
    return Checked(definition, values)


def _split(definition: Definition, values: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    plain = {k: v for k, v in values.items() if not definition.variables[k].secret}
    secret = {k: v for k, v in values.items() if definition.variables[k].secret}
    return plain, json.dumps(secret, sort_keys=True)


def values_of(session: Session, deployment: Deployment) -> dict[str, Any]:
    """Every variable's value, secret ones unsealed (for the conductor only)."""
    secret: dict[str, Any] = {}
    if deployment.sealed_secrets:
        text = keystore.of(session).open(
            deployment.sealed_secrets, what=f"deployment {deployment.name}'s secret values"
        )
        secret = json.loads(text)
    return {**deployment.values, **secret}


# -- reading --------------------------------------------------------------------------------


def list_deployments(
    session: Session, caller: Caller, cluster_ident: str
) -> tuple[models.Cluster, list[Deployment]]:
    cluster = authorized_cluster(session, caller, cluster_ident, "deployment:get_all")
    rows = session.scalars(
        select(Deployment).where(Deployment.cluster_id == cluster.id).order_by(Deployment.id)
    )
    return cluster, list(rows)


def show(
    session: Session, caller: Caller, cluster_ident: str, ident: str
) -> tuple[models.Cluster, Deployment]:
    cluster = authorized_cluster(session, caller, cluster_ident, "deployment:get")
    return cluster, _find(session, cluster, ident)


def _find(session: Session, cluster: models.Cluster, ident: str) -> Deployment:
    return get_by_ident(
        session, Deployment, ident, kind="Deployment", scope=Deployment.cluster_id == cluster.id
    )


# -- writing --------------------------------------------------------------------------------


def create(
    session: Session,
    caller: Caller,
    cluster_ident: str,
    new: NewDeployment,
    known_images: KnownImages,
) -> tuple[models.Cluster, Deployment]:
    checked = check(new, known_images)  # before any write: nothing is stored on a 400
    plain, secret = _split(checked.definition, checked.values)
    with writing(session):
        cluster = authorized_cluster(session, caller, cluster_ident, "deployment:create", lock=True)
        if cluster.status not in _USABLE:
            raise errors.Conflict(
                f"Cluster {cluster.name} is {cluster.status}: deployments go on a cluster "
                "that is made and not being changed."
            )
        taken = session.scalar(
            select(Deployment.id).where(
                Deployment.cluster_id == cluster.id, Deployment.name == new.name
            )
        )
        if taken is not None:
            raise errors.Conflict(
                f"A deployment named {new.name} already exists in cluster {cluster.name}."
            )
        deployment = Deployment(
            name=new.name,
            cluster_id=cluster.id,
            project_id=cluster.project_id,
            user_id=caller.user_id or "",
            definition=checked.definition.model_dump(mode="json", exclude_none=True),
            values=plain,
            sealed_secrets=keystore.of(session).seal(secret) if secret != "{}" else None,
            package=checked.package.name if checked.package else None,
            package_version=checked.package.version if checked.package else None,
            status=str(Status.CREATE_IN_PROGRESS),
            progress={},
        )
        session.add(deployment)
        session.flush()
        d = checked.definition
        operations.start(
            session,
            deployment,
            DEPLOY,
            timeout_minutes=TIMEOUT_MINUTES,
            message=f"Deploy accepted: {len(d.services)} service(s), {len(d.tasks)} task(s).",
        )
    return cluster, deployment


def delete(
    session: Session, caller: Caller, cluster_ident: str, ident: str
) -> tuple[models.Cluster, Deployment]:
    """Undeploy: what the deployment made goes, exactly (by label), then its row."""
    with writing(session):
        cluster = authorized_cluster(session, caller, cluster_ident, "deployment:delete", lock=True)
        deployment = _find(session, cluster, ident)
        locked = session.get(Deployment, deployment.id, with_for_update=True)
        assert locked is not None
        running = operations.find_active(session, locked)
        if running is not None and running.kind == UNDEPLOY:
            return cluster, locked  # already on its way out: the same answer again
        operations.cancel_active(session, locked, "superseded by an undeploy")
        locked.status, locked.status_reason = str(Status.DELETE_IN_PROGRESS), None
        operations.start(
            session,
            locked,
            UNDEPLOY,
            timeout_minutes=TIMEOUT_MINUTES,
            message="Undeploy accepted.",
        )
    return cluster, locked
