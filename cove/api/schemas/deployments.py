"""Request and response bodies of /v1/clusters/{cluster}/deployments and the catalog."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field, StringConstraints

from cove import errors
from cove.api.schemas.common import Strict
from cove.db.deploy import Deployment
from cove.domain.deploy.package import Package
from cove.services.deployments import DeploymentChange, NewDeployment

DeploymentName = Annotated[
    str, StringConstraints(min_length=1, max_length=63, pattern=r"^[a-z][a-z0-9-]{0,62}$")
]
# A definition's text or object, a package's options, variables' values: the domain checks
# each one whole (every problem named); here only their outer shape and size.
Document = Annotated[str, StringConstraints(max_length=1 << 20)] | dict[str, Any]
Values = Annotated[dict[str, Any], Field(max_length=200)]
Version = Annotated[str, StringConstraints(min_length=1, max_length=150)]  # the catalog's word


# Values and options may be secret: the domain refuses a control character in them without
# quoting them (the generic body check would quote the value back in its 400).
SECRET_FIELDS = frozenset({"values", "options"})


class DeploymentCreate(Strict):
    name: DeploymentName
    definition: Document | None = None
    values: Values = {}
    package: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    options: Values = {}
    package_version: Version | None = None

    multiline: ClassVar[frozenset[str]] = frozenset({"definition"})
    checked_whole: ClassVar[frozenset[str]] = SECRET_FIELDS

    def to_command(self) -> NewDeployment:
        return NewDeployment(
            name=self.name,
            definition=self.definition,
            values=self.values,
            package=self.package,
            options=self.options,
            package_version=self.package_version,
        )


class DeploymentUpdate(Strict):
    """PATCH body: any of the fields, at least one; a field given as null is refused (it
    would read as "not given")."""

    definition: Document | None = None
    values: Values | None = None
    options: Values | None = None
    package_version: Version | None = None

    multiline: ClassVar[frozenset[str]] = frozenset({"definition"})
    checked_whole: ClassVar[frozenset[str]] = SECRET_FIELDS

    def to_command(self) -> DeploymentChange:
        nulls = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulls:
            raise errors.InvalidRequest(
                f"{', '.join(nulls)}: give a value or leave the field out (null is not one)."
            )
        return DeploymentChange(
            definition=self.definition,
            values=self.values,
            options=self.options,
            package_version=self.package_version,
        )


def deployment_view(d: Deployment, cluster_uuid: str, base_url: str) -> dict[str, Any]:
    """Never the secret values: only which variables are secret and set."""
    secret = sorted(
        name for name, v in (d.definition.get("variables") or {}).items() if v.get("secret")
    )
    return {
        "uuid": d.uuid,
        "name": d.name,
        "cluster_id": cluster_uuid,
        "project_id": d.project_id,
        "user_id": d.user_id,
        "status": d.status,
        "status_reason": d.status_reason,
        "package": d.package,
        "package_version": d.package_version,
        "definition": d.definition,
        "values": d.values,
        "secret_values": secret,
        "progress": d.progress,
        "created_at": d.created_at.isoformat() if d.created_at else None,
        "updated_at": d.updated_at.isoformat() if d.updated_at else None,
        "links": [
            {
                "href": f"{base_url}/v1/clusters/{cluster_uuid}/deployments/{d.uuid}",
                "rel": "self",
            }
        ],
    }


def package_view(p: Package, versions: list[str], *, full: bool = False) -> dict[str, Any]:
    """``p`` is the newest of ``versions`` (every version the catalog holds, oldest first)."""
    view: dict[str, Any] = {
        "name": p.name,
        "version": p.version,
        "versions": versions,
        "description": p.description,
        "images": list(p.images),
    }
    if full:
        view["options_schema"] = p.options_schema
        view["template"] = p.template
    return view
