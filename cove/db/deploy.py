"""Storage of deployments: one run of an application definition on a cove cluster. The
definition is kept as validated; the variables' values beside it, secret ones sealed with
the keystore (as CA keys are). What runs is the orchestrator's; ``progress`` is the last
look at it (per service and task: state and detail). Operations (deploy, update, undeploy)
are ``operations`` rows with subject ``deployment``."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cove.db.models import Base, Timestamps, new_uuid


class Deployment(Timestamps, Base):
    __tablename__ = "deployments"
    __table_args__ = (UniqueConstraint("cluster_id", "name", name="uq_deployment_cluster_name"),)
    SUBJECT_KIND: ClassVar[str] = "deployment"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    name: Mapped[str] = mapped_column(String(255))
    cluster_id: Mapped[int] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    definition: Mapped[dict[str, Any]] = mapped_column(default=dict)
    values: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the plain ones
    sealed_secrets: Mapped[str | None] = mapped_column(Text)  # JSON of the secret ones
    package: Mapped[str | None] = mapped_column(String(255))
    package_version: Mapped[str | None] = mapped_column(String(64))
    # A package's options as given (defaults not applied), the secret ones left out: they
    # are the values of secret variables, sealed with them.
    options: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    status: Mapped[str] = mapped_column(String(32))
    status_reason: Mapped[str | None] = mapped_column(Text)
    progress: Mapped[dict[str, Any]] = mapped_column(default=dict)
