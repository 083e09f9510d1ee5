"""What the swarm-mode app host sends to and reads from a manager's engine: an
``apphost.ServiceSpec`` as swarm service arguments (docker-py types), and swarm services and
tasks as ``ServiceState`` and ``Instance``. Pure functions: no engine is called here.

Choices the spec leaves to the orchestrator:

- a service is a swarm service with ``dnsrr`` endpoints and host-mode published ports (the
  routing mesh and service VIPs need IPVS, which some hosts lack; see docs/host.md); a port
  without ``published`` is reachable on the service's networks only;
- a task (``mode="job"``) is a ``replicated-job`` run to ``replicas`` completions one at a
  time; ``restart_attempts`` is its restart policy's ``max_attempts`` (``0``: never restarted,
  ``None``: unbounded); a service restarts on any exit;
- an update replaces one instance at a time, watches each for ``UPDATE_MONITOR_S`` and rolls
  back on a failure; the new instance starts before the old one stops unless the service
  publishes ports on its hosts (two instances cannot hold one host port) or writes to a
  mount (two databases on one node's volume would corrupt it);
- ``command`` replaces the image's command (swarm's ``Args``), not its entrypoint;
- health comes from the swarm's own task states: a task with a health check is ``running``
  only once its container is healthy, and fails when it turns unhealthy, so no node engine is
  asked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from docker import types

from cove.drivers.apphost import (
    DEPLOYMENT_LABEL,
    ELEMENT_LABEL,
    SPEC_LABEL,
    FileSpec,
    Instance,
    Mode,
    ServiceSpec,
    ServiceState,
)
from cove.failures import Permanent

NS = 1_000_000_000
UPDATE_MONITOR_S = 4
RESTART_DELAY_S = 1
TERMINAL = frozenset({"complete", "failed", "shutdown", "rejected", "orphaned", "remove"})
SWARM_MODES: Mapping[str, Mode] = {
    "Replicated": "replicated",
    "Global": "global",
    "ReplicatedJob": "job",
}


class AppSpecRefused(Permanent):
    """A spec the swarm cannot run as given; the message names the service and the field."""


def owned(found: Mapping[str, str] | None, wanted: Mapping[str, str], keys: Sequence[str]) -> bool:
    """Whether an object's labels say it is the one ``wanted`` names (by ``keys``)."""
    found = found or {}
    return all(k in wanted and found.get(k) == wanted[k] for k in keys)


def file_labels(spec: ServiceSpec) -> dict[str, str]:
    """A config's or secret's labels: the deployment's and the element's (not the spec hash:
    a file outlives the spec that first named it)."""
    return {k: spec.labels[k] for k in (DEPLOYMENT_LABEL, ELEMENT_LABEL) if k in spec.labels}


def seconds(value: float) -> int:
    return round(value * NS)


def task_template(spec: ServiceSpec, file_ids: Mapping[str, str]) -> types.TaskTemplate:
    """``file_ids``: the swarm id of each of ``spec.files`` by name."""
    container = types.ContainerSpec(
        image=spec.image,
        args=list(spec.command) or None,
        env=dict(spec.env) or None,
        labels=dict(spec.labels),
        mounts=[
            types.Mount(
                target=m.target,
                source=m.source,
                type="bind" if m.bind else "volume",
                read_only=m.read_only,
                # made on each node on first use, labelled so the undeploy finds them there
                labels=None if m.bind else file_labels(spec),
            )
            for m in spec.mounts
        ]
        or None,
        stop_grace_period=seconds(spec.stop_grace_s),
        healthcheck=_healthcheck(spec),
        configs=[_reference(f, file_ids) for f in spec.files if not f.secret] or None,
        secrets=[_reference(f, file_ids) for f in spec.files if f.secret] or None,
    )
    resources = None
    if spec.cpus is not None or spec.memory_mb is not None:
        resources = types.Resources(
            cpu_limit=seconds(spec.cpus) if spec.cpus is not None else None,
            mem_limit=spec.memory_mb << 20 if spec.memory_mb is not None else None,
        )
    placement = None
    if spec.constraints or spec.preferences or spec.max_per_node is not None:
        placement = types.Placement(
            constraints=list(spec.constraints) or None,
            preferences=[_preference(spec, p) for p in spec.preferences] or None,
            maxreplicas=spec.max_per_node,
        )
    return types.TaskTemplate(
        container_spec=container,
        resources=resources,
        restart_policy=restart_policy(spec),
        placement=placement,
        # Each network with the names the service's instances answer to there.
        networks=[
            {"Target": n, **({"Aliases": list(spec.aliases)} if spec.aliases else {})}
            for n in spec.networks
        ]
        or None,
    )


def restart_policy(spec: ServiceSpec) -> types.RestartPolicy:
    delay = seconds(RESTART_DELAY_S)
    attempts = spec.restart_attempts
    if spec.mode == "job":
        if attempts == 0:
            return types.RestartPolicy(condition="none")
        return types.RestartPolicy("on-failure", delay=delay, max_attempts=attempts or 0)
    return types.RestartPolicy("any", delay=delay, max_attempts=attempts or 0)


def service_mode(spec: ServiceSpec) -> types.ServiceMode:
    if spec.mode == "global":
        return types.ServiceMode("global")
    if spec.mode == "job":
        return types.ServiceMode("replicated-job", replicas=spec.replicas, concurrency=1)
    return types.ServiceMode("replicated", replicas=spec.replicas)


def endpoint_spec(spec: ServiceSpec) -> types.EndpointSpec:
    ports = [
        {
            "Protocol": p.protocol,
            "TargetPort": p.target,
            "PublishedPort": p.published,
            "PublishMode": "host",
        }
        for p in spec.ports
        if p.published is not None
    ]
    return types.EndpointSpec(mode="dnsrr", ports=ports or None)


def publishes(spec: ServiceSpec) -> bool:
    return any(p.published is not None for p in spec.ports)


def exclusive(spec: ServiceSpec) -> bool:
    """Whether two instances of ``spec`` on one node would clash: a host port, or a volume
    or host path both would write."""
    return publishes(spec) or any(not m.read_only for m in spec.mounts)


def update_config(spec: ServiceSpec) -> types.UpdateConfig | None:
    return None if spec.mode == "job" else types.UpdateConfig(**_rolling(spec, "rollback"))


def rollback_config(spec: ServiceSpec) -> types.RollbackConfig | None:
    return None if spec.mode == "job" else types.RollbackConfig(**_rolling(spec, "pause"))


def _rolling(spec: ServiceSpec, on_failure: str) -> dict[str, Any]:
    """One instance at a time, watched before the next; the new one first unless the old
    one holds what the new one needs alone (``exclusive``)."""
    return {
        "parallelism": 1,
        "delay": 0,
        "failure_action": on_failure,
        "monitor": seconds(UPDATE_MONITOR_S),
        "max_failure_ratio": 0,
        "order": "stop-first" if exclusive(spec) else "start-first",
    }


def service_arguments(spec: ServiceSpec, file_ids: Mapping[str, str]) -> dict[str, Any]:
    """Keyword arguments of ``APIClient.create_service`` (and ``update_service``)."""
    return {
        "task_template": task_template(spec, file_ids),
        "name": spec.name,
        "labels": dict(spec.labels),
        "mode": service_mode(spec),
        "update_config": update_config(spec),
        "rollback_config": rollback_config(spec),
        "endpoint_spec": endpoint_spec(spec),
    }


def mode_of(service: Mapping[str, Any]) -> Mode:
    """The mode of a swarm service (its ``Spec.Mode``); a global job reads as a job."""
    found = ((service.get("Spec") or {}).get("Mode")) or {}
    for key, mode in SWARM_MODES.items():
        if key in found:
            return mode
    return "job" if "GlobalJob" in found else "replicated"


def stop_grace_s(service: Mapping[str, Any]) -> float:
    template = (service.get("Spec") or {}).get("TaskTemplate") or {}
    return int((template.get("ContainerSpec") or {}).get("StopGracePeriod") or 0) / NS


def instance(task: Mapping[str, Any], hostnames: Mapping[str, str], checked: bool) -> Instance:
    """A swarm task as an ``Instance``; ``checked``: its service has a health check."""
    status = task.get("Status") or {}
    container = status.get("ContainerStatus") or {}
    # The task's own copy of the container spec: which version of the service it runs.
    labels = ((task.get("Spec") or {}).get("ContainerSpec") or {}).get("Labels") or {}
    state = str(status.get("State") or "new")
    container_id = container.get("ContainerID") or None
    exit_code = None
    if state in TERMINAL and container_id:
        exit_code = int(container.get("ExitCode") or 0)
    message = str(status.get("Err") or status.get("Message") or "")
    healthy = None
    if checked:
        if state == "running":
            healthy = True
        elif "unhealthy" in message:
            healthy = False
    return Instance(
        node=hostnames.get(str(task.get("NodeID") or ""), ""),
        state=state,
        desired=str(task.get("DesiredState") or ""),
        message=message,
        exit_code=exit_code,
        container=container_id,
        healthy=healthy,
        spec=labels.get(SPEC_LABEL),
    )


def service_state(
    service: Mapping[str, Any], tasks: Iterable[Mapping[str, Any]], hostnames: Mapping[str, str]
) -> ServiceState:
    spec = service.get("Spec") or {}
    mode = mode_of(service)
    swarm_mode = spec.get("Mode") or {}
    checked = bool(((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Healthcheck"))
    ordered = sorted(tasks, key=lambda t: (str(t.get("CreatedAt") or ""), str(t.get("ID"))))
    if mode == "replicated":
        wanted = int((swarm_mode.get("Replicated") or {}).get("Replicas") or 0)
    elif mode == "job":
        job = swarm_mode.get("ReplicatedJob") or {}
        wanted = int(job.get("TotalCompletions") or job.get("MaxConcurrent") or 1)
    else:
        wanted = sum(1 for t in ordered if t.get("DesiredState") == "running")
    update = (service.get("UpdateStatus") or {}).get("State")
    return ServiceState(
        name=str(spec.get("Name") or ""),
        labels=dict(spec.get("Labels") or {}),
        mode=mode,
        wanted=wanted,
        instances=tuple(instance(t, hostnames, checked) for t in ordered),
        updating=str(update) if update and update != "completed" else None,
    )


def log_lines(chunks: Iterable[bytes | str], tail: int) -> list[str]:
    """The last ``tail`` lines of a log stream (frames may split or join lines)."""
    text = "".join(c.decode("utf-8", "replace") if isinstance(c, bytes) else c for c in chunks)
    lines = text.splitlines()
    return lines[-tail:] if tail > 0 else []


def _healthcheck(spec: ServiceSpec) -> types.Healthcheck | None:
    health = spec.health
    if health is None:
        return None
    return types.Healthcheck(
        test=list(health.test),
        interval=seconds(health.interval_s),
        timeout=seconds(health.timeout_s),
        retries=health.retries,
        start_period=seconds(health.start_period_s),
    )


def _reference(
    file: FileSpec, file_ids: Mapping[str, str]
) -> types.ConfigReference | types.SecretReference:
    make = types.SecretReference if file.secret else types.ConfigReference
    return make(
        file_ids[file.name], file.name, filename=file.target, uid=file.uid, gid=file.gid,
        mode=file.mode,
    )  # fmt: skip


def _preference(spec: ServiceSpec, preference: str) -> tuple[str, str]:
    strategy, _, descriptor = preference.partition("=")
    if strategy.strip() != "spread" or not descriptor.strip():
        raise AppSpecRefused(
            f"service {spec.name}: placement preference {preference!r} is not "
            "'spread=<node attribute>'"
        )
    return ("spread", descriptor.strip())
