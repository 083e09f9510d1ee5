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

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from cove import errors
from cove.db import models
from cove.db.deploy import Deployment
from cove.db.session import writing
from cove.domain.deploy.checks import resolve, validate, with_generated
from cove.domain.deploy.definition import Definition, load
from cove.domain.deploy.package import (
    Package,
    load_package,
    render,
    secret_options,
    version_key,
)
from cove.domain.deploy.problems import DefinitionError, Problem
from cove.domain.statuses import Status
from cove.identity import Caller
from cove.pki import keystore
from cove.services import operations
from cove.services.clusters import authorized_cluster
from cove.services.lookup import Scope, get_by_ident

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
    package_version: str | None = None  # default: the newest


@dataclass(frozen=True)
class DeploymentChange:
    """What an update asks for; ``None``: not given (a given field is never ``None``)."""

    definition: Any = None  # YAML text or a mapping: replaces the definition
    values: Mapping[str, Any] | None = None  # merged over the stored values
    options: Mapping[str, Any] | None = None  # merged over the stored options
    package_version: str | None = None  # default: the one installed

    @property
    def given(self) -> list[str]:
        fields = ("definition", "values", "options", "package_version")
        return [name for name in fields if getattr(self, name) is not None]


@dataclass(frozen=True)
class Checked:
    definition: Definition
    values: dict[str, Any]
    package: Package | None = None
    options: dict[str, Any] = field(default_factory=dict)  # the plain ones, as given


# -- the catalog ------------------------------------------------------------------------------


@cache
def catalog() -> dict[str, dict[str, Package]]:
    """The catalog's packages (shipped with cove), by name, then by version, oldest first.
    Each file holds one version of one package; a name may come in several versions."""
    folder = resources.files("cove.domain.deploy").joinpath("samples")
    found: dict[str, dict[str, Package]] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            package = load_package(entry.read_text(encoding="utf-8"))
            versions = found.setdefault(package.name, {})
            if package.version in versions:
                raise ValueError(f"catalog: {package.name} {package.version} is in two files")
            versions[package.version] = package
    return {
        name: dict(sorted(versions.items(), key=lambda item: version_key(item[0])))
        for name, versions in sorted(found.items())
    }


def packages() -> dict[str, Package]:
    """The newest version of each package, by name."""
    return {name: list(versions.values())[-1] for name, versions in catalog().items()}


def package(name: str, version: str | None = None) -> Package:
    """A package, at ``version`` (default: its newest).

    Raises:
        NotFound: no package of that name.
        DefinitionError: no such version (at ``package_version``, listing the known ones).
    """
    versions = catalog().get(name)
    if versions is None:
        known = ", ".join(sorted(catalog()))
        raise errors.NotFound(f"Package {name} could not be found; the catalog has: {known}.")
    if version is None:
        return list(versions.values())[-1]
    found = versions.get(version)
    if found is None:
        known = ", ".join(versions)
        raise DefinitionError(
            [Problem("package_version", f"{name} has no version {version!r}; known: {known}")]
        )
    return found


# -- checking -------------------------------------------------------------------------------


def check(new: NewDeployment, known_images: KnownImages) -> Checked:
    """The definition and values ``new`` asks for, every problem refused at once."""
    if (new.definition is None) == (new.package is None):
        raise DefinitionError([Problem("", "give either a definition or a package, not both")])
    if new.package is None and new.package_version is not None:
        raise DefinitionError([Problem("package_version", "goes with a package")])
    if new.package is not None:
        chosen = package(new.package, new.package_version)
        return _install(chosen, new.options, known_images)
    definition = load(new.definition)
    given = with_generated(definition, new.values)
    problems = validate(definition, known_images, given)
    if problems:
        raise DefinitionError(problems)
    values, _ = resolve(definition, given)
    return Checked(definition, values)


def _install(
    chosen: Package,
    options: Mapping[str, Any],
    known_images: KnownImages,
    generated: Mapping[str, Any] | None = None,
) -> Checked:
    """``generated``: values generated before (an update keeps them: a new database
    password would lock the service out of its data)."""
    installed = render(chosen, options, known_images)
    values = dict(installed.values)
    for name, variable in installed.definition.variables.items():
        if variable.generate and generated and name in generated:
            values[name] = generated[name]
    secret = secret_options(chosen)
    plain = {k: v for k, v in options.items() if k not in secret}
    return Checked(installed.definition, values, chosen, plain)


def check_change(
    deployment: Deployment,
    current: Mapping[str, Any],
    change: DeploymentChange,
    known_images: KnownImages,
) -> Checked:
    """The definition and values ``deployment`` (whose values are ``current``) moves to,
    checked whole as a create is: every problem refused at once, by the field at fault."""
    installed = deployment.package is not None
    wrong = [name for name in change.given if (name in ("options", "package_version")) != installed]
    if wrong:
        how = (
            f"it was installed from package {deployment.package}: change its options or "
            "package_version"
            if installed
            else "it was not installed from a package: change its definition or values"
        )
        raise DefinitionError(
            [
                Problem(name, f"deployment {deployment.name} takes no {name}; {how}")
                for name in wrong
            ]
        )
    if deployment.package is not None:
        chosen = package(deployment.package, change.package_version or deployment.package_version)
        # Kept options the chosen version no longer has are dropped, not refused: the
        # caller never gave them in this request. Secret options are the values of secret
        # variables (sealed), so they come back from ``current``.
        known = (chosen.options_schema.get("properties") or {}).keys()
        kept = {k: v for k, v in {**current, **deployment.options}.items() if k in known}
        return _install(chosen, {**kept, **(change.options or {})}, known_images, current)
    definition = load(change.definition if change.definition is not None else deployment.definition)
    kept = {k: v for k, v in current.items() if k in definition.variables}
    values = with_generated(definition, {**kept, **(change.values or {})})
    problems = validate(definition, known_images, values)
    if problems:
        raise DefinitionError(problems)
    resolved, _ = resolve(definition, values)
    return Checked(definition, resolved)


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
    scope = Scope(_OF_CLUSTER, {"scope_cluster_id": cluster.id})
    return get_by_ident(session, Deployment, ident, kind="Deployment", scope=scope)


_OF_CLUSTER = Deployment.cluster_id == bindparam("scope_cluster_id")


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
            # As given: with defaults filled in, a global service's ``replicas: 1`` would be
            # refused when the conductor loads it again.
            definition=checked.definition.model_dump(
                mode="json", exclude_none=True, exclude_unset=True
            ),
            values=plain,
            sealed_secrets=keystore.of(session).seal(secret) if secret != "{}" else None,
            package=checked.package.name if checked.package else None,
            package_version=checked.package.version if checked.package else None,
            options=checked.options,
            status=str(Status.CREATE_IN_PROGRESS),
            progress={},
        )
        session.add(deployment)
        session.flush()
        d = checked.definition
        operations.start_on_new(
            session,
            operations.NewSubject(Deployment.SUBJECT_KIND, deployment.id, deployment.uuid,
                                  deployment.name),
            DEPLOY,
            timeout_minutes=TIMEOUT_MINUTES,
            message=f"Deploy accepted: {len(d.services)} service(s), {len(d.tasks)} task(s).",
        )  # fmt: skip
    return cluster, deployment


def update(
    session: Session,
    caller: Caller,
    cluster_ident: str,
    ident: str,
    change: DeploymentChange,
    known_images: KnownImages,
) -> tuple[models.Cluster, Deployment]:
    """Store what ``change`` asks for as the desired state and start an update: the conductor
    changes what differs, in dependency order. Refused (nothing changed) while another
    operation runs on the deployment or its cluster is not usable."""
    if not change.given:
        raise DefinitionError(
            [Problem("", "give at least one of definition, values, options, package_version")]
        )
    with writing(session):
        cluster = authorized_cluster(session, caller, cluster_ident, "deployment:update", lock=True)
        found = _find(session, cluster, ident)
        deployment = session.get(Deployment, found.id, with_for_update=True)
        assert deployment is not None
        running = operations.find_active(session, deployment)
        if running is not None:
            raise errors.Conflict(
                f"Deployment {deployment.name} is busy: operation {running.kind} "
                f"{running.uuid} is in progress (status {deployment.status}). Wait for it "
                "to finish, then retry."
            )
        if deployment.status == str(Status.DELETE_FAILED):
            raise errors.Conflict(
                f"Deployment {deployment.name} is {deployment.status}: delete it again."
            )
        if cluster.status not in _USABLE:
            raise errors.Conflict(
                f"Cluster {cluster.name} is {cluster.status}: deployments change on a cluster "
                "that is made and not being changed."
            )
        checked = check_change(deployment, values_of(session, deployment), change, known_images)
        plain, secret = _split(checked.definition, checked.values)
        deployment.definition = checked.definition.model_dump(
            mode="json", exclude_none=True, exclude_unset=True
        )  # as given, as create stores it
        deployment.values = plain
        deployment.sealed_secrets = keystore.of(session).seal(secret) if secret != "{}" else None
        if checked.package is not None:
            deployment.package_version = checked.package.version
            deployment.options = checked.options
        deployment.status, deployment.status_reason = str(Status.UPDATE_IN_PROGRESS), None
        operations.start(
            session,
            deployment,
            UPDATE,
            timeout_minutes=TIMEOUT_MINUTES,
            message=f"Update accepted: {', '.join(change.given)}.",
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
