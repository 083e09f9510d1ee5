"""/v1/certificates: show a cluster's CA, sign a CSR with it, rotate it (1.5)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from cove import errors
from cove.api import policy
from cove.api.deps import ContextDep, SessionDep, strict_query
from cove.api.links import links
from cove.api.schemas.common import Strict
from cove.db import models
from cove.db.session import writing
from cove.domain.statuses import Operation
from cove.pki import ca as pki
from cove.services import clusters

router = APIRouter(prefix="/v1/certificates", tags=["certificates"])

CaType = Literal["kubernetes", "etcd", "front_proxy", "front-proxy"]


class SignRequest(Strict):
    cluster_uuid: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    csr: Annotated[str, StringConstraints(min_length=1)]
    ca_cert_type: CaType | None = None
    bay_uuid: str | None = None


def current_ca(session: Session, cluster: models.Cluster) -> models.ClusterCA:
    authority = session.scalar(
        select(models.ClusterCA)
        .where(models.ClusterCA.cluster_id == cluster.id)
        .order_by(models.ClusterCA.generation.desc())
        .limit(1)
    )
    if authority is None:
        raise errors.Conflict(f"Cluster {cluster.name} has no certificate authority yet.")
    return authority


@router.get("/{ident}", dependencies=[Depends(strict_query("ca_cert_type"))])
def show_ca(
    ident: str,
    session: SessionDep,
    ctx: ContextDep,
    ca_cert_type: Annotated[CaType | None, Query()] = None,
) -> dict[str, Any]:
    cluster = clusters.get_cluster(session, ctx, ident)
    policy.enforce(ctx, "certificate:get", policy.Target(cluster.project_id, cluster.user_id))
    return {
        "cluster_uuid": cluster.uuid,
        "pem": current_ca(session, cluster).cert_pem,
        "links": links(ctx.base_url, f"certificates/{cluster.uuid}"),
    }


@router.post("", status_code=201, dependencies=[Depends(strict_query())])
def sign(body: SignRequest, session: SessionDep, ctx: ContextDep) -> JSONResponse:
    try:
        cluster = clusters.get_cluster(session, ctx, body.cluster_uuid)
    except errors.NotFound as exc:  # Magnum rewrites this 404 to 400
        raise errors.InvalidField("cluster_uuid", body.cluster_uuid, exc.message) from None
    policy.enforce(ctx, "certificate:create", policy.Target(cluster.project_id, cluster.user_id))
    authority = current_ca(session, cluster)
    pem = pki.sign_csr(pki.KeyPair(authority.cert_pem, authority.key_pem), body.csr)
    view: dict[str, Any] = {
        "cluster_uuid": cluster.uuid,
        "csr": body.csr,
        "pem": pem,
        "links": links(ctx.base_url, f"certificates/{cluster.uuid}"),
    }
    if body.ca_cert_type is not None:
        view["ca_cert_type"] = body.ca_cert_type
    return JSONResponse(view, status_code=201)


@router.patch("/{ident}", status_code=202, dependencies=[Depends(strict_query())])
def rotate(ident: str, request: Request, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    with writing(session):
        cluster = clusters.get_cluster(session, ctx, ident)
        policy.enforce(ctx, "certificate:rotate_ca", policy.Target(cluster.project_id))
        if clusters.template_of(session, cluster).tls_disabled:
            raise errors.InvalidRequest(
                "Rotating the CA certificate on a non-TLS cluster is not supported"
            )
        clusters.begin_operation(
            session, cluster, Operation.ROTATE_CA, {}, "CA rotation accepted.", []
        )
    request.app.state.wakeup()
    return {"uuid": cluster.uuid}
