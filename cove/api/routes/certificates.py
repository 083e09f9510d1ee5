"""/v1/certificates: show a cluster's CA, sign a CSR with it, rotate it (1.5)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import StringConstraints

from cove.api.deps import ContextDep, SessionDep, strict_query
from cove.api.links import links
from cove.api.routing import Router
from cove.api.schemas.common import Strict, Text
from cove.services import certificates

router = Router(prefix="/v1/certificates", tags=["certificates"])

CaType = Literal["kubernetes", "etcd", "front_proxy", "front-proxy"]


class SignRequest(Strict):
    multiline = frozenset({"csr"})

    cluster_uuid: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    csr: Annotated[Text, StringConstraints(min_length=1)]
    ca_cert_type: CaType | None = None
    bay_uuid: Annotated[str, StringConstraints(max_length=255)] | None = None


@router.get("/{ident}", dependencies=[Depends(strict_query("ca_cert_type"))])
def show_ca(
    ident: str,
    session: SessionDep,
    ctx: ContextDep,
    ca_cert_type: Annotated[CaType | None, Query()] = None,
) -> dict[str, Any]:
    shown = certificates.show_ca(session, ctx.caller, ident)
    return {
        "cluster_uuid": shown.cluster.uuid,
        "pem": shown.pem,
        "links": links(ctx.base_url, f"certificates/{shown.cluster.uuid}"),
    }


@router.post("", status_code=201, dependencies=[Depends(strict_query())])
def sign(body: SignRequest, session: SessionDep, ctx: ContextDep) -> JSONResponse:
    signed = certificates.sign_csr(session, ctx.caller, body.cluster_uuid, body.csr)
    view: dict[str, Any] = {
        "cluster_uuid": signed.cluster.uuid,
        "csr": body.csr,
        "pem": signed.pem,
        "links": links(ctx.base_url, f"certificates/{signed.cluster.uuid}"),
    }
    if body.ca_cert_type is not None:
        view["ca_cert_type"] = body.ca_cert_type
    return JSONResponse(view, status_code=201)


@router.patch("/{ident}", status_code=202, dependencies=[Depends(strict_query())])
def rotate(ident: str, request: Request, session: SessionDep, ctx: ContextDep) -> dict[str, Any]:
    cluster = certificates.rotate_ca(session, ctx.caller, ident)
    request.app.state.wakeup()
    return {"uuid": cluster.uuid}
