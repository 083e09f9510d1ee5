"""Webhook receivers (Senlin's ``/receivers``) and their trigger: the receiver's id in the
URL is the credential; the action runs as the receiver's actor with the receiver's params
merged with the caller's."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from cove.db import clustering as db
from cove.db import models
from cove.db.session import writing
from cove.domain.clustering import errors as cerr
from cove.domain.clustering.actions import RECEIVER_ACTIONS
from cove.identity import Caller
from cove.services.clustering import clusters, common, paging

# Senlin's action names as cluster actions (``POST /clusters/{id}/actions``).
_ACTIONS = {
    "CLUSTER_ADD_NODES": "add_nodes", "CLUSTER_DEL_NODES": "del_nodes",
    "CLUSTER_REPLACE_NODES": "replace_nodes", "CLUSTER_RESIZE": "resize",
    "CLUSTER_SCALE_OUT": "scale_out", "CLUSTER_SCALE_IN": "scale_in",
    "CLUSTER_CHECK": "check", "CLUSTER_RECOVER": "recover",
    "CLUSTER_ATTACH_POLICY": "policy_attach", "CLUSTER_DETACH_POLICY": "policy_detach",
    "CLUSTER_UPDATE_POLICY": "policy_update",
}  # fmt: skip


@dataclass(frozen=True)
class NewReceiver:
    name: str
    type: str
    cluster_id: str | None = None
    action: str | None = None
    params: dict[str, Any] | None = None


def _check_action(action: str | None) -> str:
    if action is None or action not in RECEIVER_ACTIONS or action not in _ACTIONS:
        raise cerr.BadRequest(f"Illegal cluster action '{action}' specified.")
    return action


def _secret() -> tuple[str, str]:
    """A webhook's secret and the hash kept of it."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def alarm_url(base_url: str, token: str) -> str:
    """The URL an alarm calls. The receiver's params stay on the server (an update of them
    applies to the URL already handed out), so the URL holds only the secret."""
    return f"{base_url}/clustering/v1/webhooks/{token}/trigger?{urlencode([('V', '2')])}"


@dataclass(frozen=True)
class Created:
    receiver: db.Receiver
    channel: dict[str, Any]  # with the webhook's secret: for the creator's answer only


def create_receiver(
    session: Session, caller: Caller, new: NewReceiver, *, base_url: str
) -> Created:
    common.enforce(caller, "receivers:create")
    if new.type != "webhook":
        raise cerr.BadRequest(
            f"Receiver type '{new.type}' is not supported: cove has no message queue; "
            "use 'webhook'."
        )
    if not new.cluster_id:
        raise cerr.BadRequest("Cluster identity is required for creating webhook receiver.")
    action = _check_action(new.action)
    with writing(session):
        cluster = clusters.find_cluster(session, caller, new.cluster_id, "clusters:get")
        receiver = db.Receiver(
            name=new.name, type=new.type, cluster_id=cluster.id, action=action,
            params=new.params or {}, channel={},
            # Who the webhook acts as: the cluster's owner when an administrator of another
            # project makes it (as Senlin's trust), else the caller. No secret is kept.
            actor=_actor(caller, cluster),
            project_id=caller.project_id, user_id=caller.user_id, domain_id=None,
        )  # fmt: skip
        token, receiver.token_hash = _secret()
        # The owner reads it again with `receiver show` (as Senlin's clients do right after
        # create); lists never show it; the trigger looks the secret up by its hash.
        receiver.channel = {"alarm_url": alarm_url(base_url, token)}
        session.add(receiver)
    return Created(receiver, dict(receiver.channel))


def _actor(caller: Caller, cluster: db.ContainerCluster) -> dict[str, Any]:
    if cluster.project_id != caller.project_id:
        return {
            "user_id": cluster.user_id,
            "project_id": cluster.project_id,
            "roles": ["member", "reader"],
        }
    return {
        "user_id": caller.user_id,
        "project_id": caller.project_id,
        "roles": sorted(caller.roles),
    }


def get_receiver(
    session: Session, caller: Caller, ident: str, rule: str = "receivers:get"
) -> db.Receiver:
    common.enforce(caller, rule)
    receiver = common.find(
        session, db.Receiver, ident, kind="receiver", scope=common.object_scope(db.Receiver, caller)
    )
    common.enforce(caller, rule, receiver.project_id)
    return receiver


SORT_KEYS = {
    "name": db.Receiver.name, "type": db.Receiver.type, "action": db.Receiver.action,
    "cluster_id": db.Receiver.cluster_id, "created_at": db.Receiver.created_at,
}  # fmt: skip
FILTERS = ("name", "type", "action", "cluster_id", "user")


def list_receivers(session: Session, caller: Caller, q: common.ListQuery) -> list[db.Receiver]:
    common.enforce(caller, "receivers:index")
    stmt = select(db.Receiver)
    scope = common.list_scope(db.Receiver, caller, q.global_project)
    if scope is not None:
        stmt = stmt.where(scope)
    for key, values in (q.filters or {}).items():
        if key == "cluster_id":
            ids = select(db.ContainerCluster.id).where(db.ContainerCluster.uuid.in_(values))
            stmt = stmt.where(db.Receiver.cluster_id.in_(ids))
        elif key == "user":
            stmt = stmt.where(db.Receiver.user_id.in_(values))
        else:
            stmt = stmt.where(getattr(db.Receiver, key).in_(values))
    return paging.paginate(
        session, stmt, db.Receiver, limit=q.limit, marker=q.marker, sort=q.sort,
        sort_keys=SORT_KEYS, kind="receiver", default_key=db.Receiver.created_at,
    )  # fmt: skip


def cluster_uuids(session: Session, receivers: list[db.Receiver]) -> dict[int, str]:
    ids = {r.cluster_id for r in receivers if r.cluster_id is not None}
    return dict(
        session.execute(
            select(db.ContainerCluster.id, db.ContainerCluster.uuid).where(
                db.ContainerCluster.id.in_(ids)
            )
        ).all()
    )


def update_receiver(
    session: Session, caller: Caller, ident: str, *, name: str | None, action: str | None,
    params: dict[str, Any] | None,
) -> db.Receiver:  # fmt: skip
    with writing(session):
        receiver = get_receiver(session, caller, ident, "receivers:update")
        if name is not None:
            receiver.name = name
        if action is not None:
            receiver.action = _check_action(action)
        if params is not None:
            receiver.params = params
    return receiver


def delete_receiver(session: Session, caller: Caller, ident: str) -> None:
    with writing(session):
        receiver = get_receiver(session, caller, ident, "receivers:delete")
        session.delete(receiver)


def trigger(session: Session, ident: str, params: dict[str, Any], *, cap: int) -> models.Operation:
    """Run the receiver's action as its actor; an unknown secret is 404 whoever asks (the
    message never repeats it)."""
    with writing(session):
        receiver = session.scalar(
            select(db.Receiver).where(db.Receiver.token_hash == token_hash(ident))
        )
        if receiver is None or receiver.cluster_id is None or receiver.action is None:
            raise cerr.ResourceNotFound("webhook", "(secret not shown)")
        actor = receiver.actor or {}
        caller = Caller(
            actor.get("project_id", receiver.project_id),
            actor.get("user_id", receiver.user_id),
            frozenset(actor.get("roles", ["member", "reader"])),
        )
        cluster = session.get(db.ContainerCluster, receiver.cluster_id)
        assert cluster is not None  # receivers go with their cluster (ON DELETE CASCADE)
        data = _typed({**(receiver.params or {}), **params})
        action = clusters.ClusterAction(_ACTIONS[receiver.action], data)
        return clusters.run_action(session, caller, cluster.uuid, action, cap=cap)


def _typed(params: dict[str, Any]) -> dict[str, Any]:
    """Webhook params come as strings (a query string, the alarm URL): numbers and booleans
    back to their types, as Senlin's request objects coerce them."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, str):
            text = value.strip()
            if text.lower() in ("true", "false"):
                value = text.lower() == "true"
            else:
                try:
                    value = int(text)
                except ValueError:
                    with contextlib.suppress(ValueError):
                        value = float(text)
        out[key] = value
    return out
