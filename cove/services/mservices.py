"""/v1/mservices: cove's processes (API and conductors) and whether each is still alive."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cove import policy
from cove.db import models
from cove.identity import Caller


@dataclass(frozen=True)
class ServiceState:
    service: models.Service
    up: bool


def list_services(session: Session, caller: Caller, *, lease_seconds: float) -> list[ServiceState]:
    """A service is down once it missed three lease renewals."""
    policy.enforce(caller, "magnum-service:get_all")
    now = models.utcnow()
    down_after = lease_seconds * 3
    states = []
    for svc in session.scalars(select(models.Service).order_by(models.Service.id)):
        up = svc.last_seen_up is not None and (now - svc.last_seen_up).total_seconds() <= down_after
        states.append(ServiceState(svc, up))
    return states
