"""The gating contract between cove and the containers it deploys (the Kolla-on-Mesos
design): every service and task starts at once, and each container waits in its start step
until its requirements hold, reading them from the coordination store that runs in the
cluster (etcd, Debian's etcd-server: a single binary, a watch API that wakes waiters without
polling, leases that drop a dead container's registration, and locks; ZooKeeper would need
a JRE in the image).

What a container is told, in its environment:

- ``COVE_STORE``: the store's client URL;
- ``COVE_PREFIX``: the deployment's key prefix (``/cove/<deployment uuid>``);
- ``COVE_ELEMENT`` / ``COVE_KIND``: its service or task name, and ``service`` or ``task``;
- ``COVE_NODE``: the node it runs on (the orchestrator fills it in);
- ``COVE_REQUIRES``: JSON, a list of ``{"service": name, "state": "healthy"|"running",
  "scope": "global"|"node"}`` and ``{"task": name}``;
- ``COVE_HEALTH``: JSON, the service's health check command (absent: registered when
  started);
- ``COVE_VERSION``: a task's version, the hash of the spec it was made from (the
  orchestrator fills it in from the service's labels).

Keys under the prefix:

- ``services/<name>/<instance>`` = JSON ``{"node", "state"}``: an instance registers itself
  ``running`` when started and ``healthy`` once its check passes, under a lease it keeps
  alive, so a dead container's key goes with its lease;
- ``tasks/<name>/lock``: the lock a task's container holds while it runs (one at a time,
  whatever the retries and replicas);
- ``tasks/<name>/done`` = JSON ``{"node", "at", "version"}``: written by the run that
  succeeded; a later container of the same version sees it and exits 0 without running
  again, one of a new version (an update changed the task) runs.

A requirement holds when: a task's ``done`` key exists; a service has a registration in
the state asked (``healthy`` also satisfies ``running``), on the same node for ``scope:
node``. The container side is ``cove.deploy.gate``.

What a container says on stderr (its log), the last of which is its progress as cove shows
it: ``cove-gate: waiting for <what is pending>`` (again each time that changes), then
``cove-gate: running task <name>`` or ``cove-gate: starting service <name>``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Literal

from cove.domain.deploy.definition import Requirement

STORE_PORT = 2379
SAYS = "cove-gate: "  # what starts each line the gate writes
WAITING = "waiting for "  # then what is pending
STARTING = "starting service "  # then its name: the command runs

Kind = Literal["service", "task"]


def prefix(deployment_uuid: str) -> str:
    return f"/cove/{deployment_uuid}"


def service_key(deployment_uuid: str, service: str, instance: str = "") -> str:
    return f"{prefix(deployment_uuid)}/services/{service}/{instance}"


def task_key(deployment_uuid: str, task: str, what: Literal["lock", "done"]) -> str:
    return f"{prefix(deployment_uuid)}/tasks/{task}/{what}"


def requirements(requires: Sequence[Requirement]) -> list[dict[str, str]]:
    """The ``COVE_REQUIRES`` entries of a definition's requirements."""
    out: list[dict[str, str]] = []
    for req in requires:
        if req.task is not None:
            out.append({"task": req.task})
        elif req.service is not None:
            state = req.state or "healthy"
            out.append({"service": req.service, "state": state, "scope": req.scope})
    return out


def environment(
    *,
    store_url: str,
    deployment_uuid: str,
    element: str,
    kind: Kind,
    requires: Sequence[Requirement],
    health: Sequence[str] | None = None,
) -> dict[str, str]:
    env = {
        "COVE_STORE": store_url,
        "COVE_PREFIX": prefix(deployment_uuid),
        "COVE_ELEMENT": element,
        "COVE_KIND": kind,
        "COVE_NODE": "{{.Node.Hostname}}",  # a swarm template, filled in per task
        "COVE_REQUIRES": json.dumps(requirements(requires), separators=(",", ":")),
    }
    if health:
        env["COVE_HEALTH"] = json.dumps(list(health), separators=(",", ":"))
    return env
