"""A cluster's certificate authority: show it, sign a CSR with it, rotate it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cove import errors, policy
from cove.db import models
from cove.db.session import writing
from cove.domain.statuses import Operation
from cove.identity import Caller
from cove.pki import ca as pki
from cove.pki import keystore
from cove.services import clusters


@dataclass(frozen=True)
class ClusterCertificate:
    cluster: models.Cluster
    pem: str


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


def show_ca(session: Session, caller: Caller, ident: str) -> ClusterCertificate:
    cluster = clusters.get_cluster(session, caller, ident)
    policy.enforce(caller, "certificate:get", policy.Target(cluster.project_id, cluster.user_id))
    return ClusterCertificate(cluster, current_ca(session, cluster).cert_pem)


def sign_csr(session: Session, caller: Caller, cluster_ident: str, csr: str) -> ClusterCertificate:
    try:
        cluster = clusters.get_cluster(session, caller, cluster_ident)
    except errors.NotFound as exc:  # Magnum rewrites this 404 to 400
        raise errors.InvalidField("cluster_uuid", cluster_ident, exc.message) from None
    policy.enforce(caller, "certificate:create", policy.Target(cluster.project_id, cluster.user_id))
    authority = current_ca(session, cluster)
    key_pem = keystore.of(session).open(authority.key_pem, what=f"cluster {cluster.name}'s CA key")
    pem = pki.sign_csr(pki.KeyPair(authority.cert_pem, key_pem), csr)
    return ClusterCertificate(cluster, pem)


def rotate_ca(session: Session, caller: Caller, ident: str) -> models.Cluster:
    with writing(session):
        cluster = clusters.authorized_cluster(
            session, caller, ident, "certificate:rotate_ca", lock=True
        )
        if clusters.template_of(session, cluster).tls_disabled:
            raise errors.InvalidRequest(
                "Rotating the CA certificate on a non-TLS cluster is not supported"
            )
        clusters.begin_operation(
            session, cluster, Operation.ROTATE_CA, {}, "CA rotation accepted.", []
        )
    return cluster
