"""A deployment made concrete: what the orchestrator runs for a validated definition and
its values (``cove.drivers.apphost`` specs), all of it started at once.

- Every element (service or task) becomes a service named ``cove-<uuid8>-<element>`` on the
  deployment's own overlay network, where it answers to its definition name (an alias), so
  templates say ``mariadb``, not cove's name; tasks are jobs run to completion.
- The coordination store (etcd from the app image) is one more service, ``cove-store`` on
  that network, which every container's ``cove-gate`` reads (``cove.deploy.gating``).
- Config files are rendered here and delivered Kolla's way: each as a swarm config (a
  secret when it says so or reads a secret variable) under ``/var/lib/kolla/config_files``,
  with a ``config.json`` that tells the image's ``cove-start`` where to copy them (owner,
  mode) and which command to run, which it runs through ``cove-gate``.
- File objects are content-addressed (a changed file is a new object), and each spec carries
  the hash of what it was made from (``SPEC_LABEL``), so an update changes exactly what
  changed.
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from cove.deploy import gating
from cove.domain.deploy import constraints
from cove.domain.deploy.definition import (
    Command,
    ConfigFile,
    Definition,
    HealthCheck,
    Service,
    Task,
)
from cove.domain.deploy.templates import render
from cove.drivers.apphost import (
    DEPLOYMENT_LABEL,
    ELEMENT_LABEL,
    SPEC_LABEL,
    FileSpec,
    HealthSpec,
    MountSpec,
    PortSpec,
    ServiceSpec,
)

CONFIG_DIR = "/var/lib/kolla/config_files"
STORE = "cove-store"  # the coordination store's name on the deployment's network
STORE_DATA = "/var/lib/etcd"
MAX_NAME = 63  # swarm object names are DNS labels


@dataclass(frozen=True)
class Identity:
    """Which deployment the specs are for."""

    uuid: str
    project_id: str

    @property
    def prefix(self) -> str:
        return f"cove-{self.uuid[:8]}"

    @property
    def network(self) -> str:
        return f"{self.prefix}-net"

    @property
    def labels(self) -> dict[str, str]:
        return {DEPLOYMENT_LABEL: self.uuid}

    def name(self, element: str) -> str:
        name = f"{self.prefix}-{element}"
        if len(name) <= MAX_NAME:
            return name
        digest = hashlib.sha256(element.encode()).hexdigest()[:8]
        return f"{name[: MAX_NAME - 9]}-{digest}"


@dataclass(frozen=True)
class Plan:
    """Everything to run, the store first."""

    store: ServiceSpec
    services: dict[str, ServiceSpec]  # by element name
    tasks: dict[str, ServiceSpec]
    images: tuple[str, ...]

    @property
    def all(self) -> list[ServiceSpec]:
        return [self.store, *self.services.values(), *self.tasks.values()]


def plan(
    definition: Definition,
    variables: Mapping[str, Any],
    secret_names: Sequence[str],
    who: Identity,
    store_image: str,
    image_of: Callable[[str], str] = str,
) -> Plan:
    """The specs of ``definition`` with resolved ``variables`` (``secret_names`` are the
    secret ones); ``image_of`` maps a definition's image reference to the one to run. The
    definition was validated: a template that fails here is a bug."""
    secrets = {variables[n] for n in secret_names if n in variables}
    store_url = f"http://{STORE}:{gating.STORE_PORT}"
    services = {
        name: _element(definition, name, service, variables, secrets, who, store_url, image_of)
        for name, service in definition.services.items()
    }
    tasks = {
        name: _element(definition, name, task, variables, secrets, who, store_url, image_of)
        for name, task in definition.tasks.items()
    }
    images = sorted({store_image, *(s.image for s in (*services.values(), *tasks.values()))})
    return Plan(_store(who, store_image), services, tasks, tuple(images))


def _store(who: Identity, image: str) -> ServiceSpec:
    url = f"http://{STORE}:{gating.STORE_PORT}"
    command = (
        "etcd", "--name", STORE, "--data-dir", STORE_DATA,
        "--listen-client-urls", f"http://0.0.0.0:{gating.STORE_PORT}",
        "--advertise-client-urls", url,
    )  # fmt: skip
    spec = ServiceSpec(
        name=who.name(STORE),
        image=image,
        labels={**who.labels, ELEMENT_LABEL: STORE},
        command=command,
        mounts=(MountSpec(STORE_DATA, f"{who.prefix}-store-data"),),
        health=HealthSpec(("CMD", "etcdctl", "endpoint", "health"), 2.0, 2.0, 15),
        constraints=("node.role==manager",),
        networks=(who.network,),
        aliases=(STORE,),
    )
    return _hashed(spec)


def _element(
    definition: Definition,
    name: str,
    element: Service | Task,
    variables: Mapping[str, Any],
    secrets: set[Any],
    who: Identity,
    store_url: str,
    image_of: Callable[[str], str],
) -> ServiceSpec:
    is_task = isinstance(element, Task)
    files = _files(definition, name, element.config_files, variables, secrets, who)
    health = None if is_task else _health(element.health_check)  # type: ignore[union-attr]
    env = {
        **element.env,
        **gating.environment(
            store_url=store_url,
            deployment_uuid=who.uuid,
            element=name,
            kind="task" if is_task else "service",
            requires=element.requires,
            health=health.test if health else None,
        ),
        "KOLLA_CONFIG_STRATEGY": "COPY_ALWAYS",
    }
    if is_task:
        env["COVE_TIMEOUT"] = str(element.timeout_s)  # type: ignore[union-attr]
        # A swarm template, filled in per task: a changed task is a new version and runs
        # again (cove-gate keys "done" by it).
        env["COVE_VERSION"] = f'{{{{index .Service.Labels "{SPEC_LABEL}"}}}}'
    command = _argv(element.command)
    if command:
        config = {
            "command": shlex.join(command),
            "config_files": [
                {
                    "source": f"{CONFIG_DIR}/{f.template}",
                    "dest": f.dest,
                    "owner": f.owner,
                    "perm": f.perm,
                }
                for f in element.config_files
            ],
        }
        data = json.dumps(config, indent=2, sort_keys=True).encode()
        files.append(
            FileSpec(_file_name(who, name, "config-json", data), f"{CONFIG_DIR}/config.json", data)
        )
    spec = ServiceSpec(
        name=who.name(name),
        image=image_of(element.image),
        labels={**who.labels, ELEMENT_LABEL: name},
        env=env,
        files=tuple(files),
        networks=(who.network,),
        aliases=(name,),
    )
    if isinstance(element, Task):
        spec = replace(spec, mode="job", restart_attempts=element.retries)
    else:
        spec = _service_parts(spec, name, element, who, health)
    return _hashed(spec)


def _service_parts(
    spec: ServiceSpec, name: str, service: Service, who: Identity, health: HealthSpec | None
) -> ServiceSpec:
    placement, _ = constraints.translate(
        service.constraints, f"services.{name}.constraints", service.mode
    )
    mounts = tuple(
        MountSpec(v.target, v.host_path, bind=True, read_only=v.read_only)
        if v.host_path
        else MountSpec(v.target, f"{who.prefix}-{v.name}", read_only=v.read_only)
        for v in service.volumes
    )
    resources = service.resources
    return replace(
        spec,
        mode=service.mode,
        replicas=service.replicas if service.mode == "replicated" else 0,
        ports=tuple(PortSpec(p.container, p.published, p.protocol) for p in service.ports),
        mounts=mounts,
        health=health,
        cpus=resources.cpus if resources else None,
        memory_mb=resources.memory_mb if resources else None,
        constraints=placement.constraints,
        preferences=placement.preferences,
        max_per_node=placement.max_replicas_per_node,
    )


def _files(
    definition: Definition,
    element: str,
    config_files: Sequence[ConfigFile],
    variables: Mapping[str, Any],
    secrets: set[Any],
    who: Identity,
) -> list[FileSpec]:
    made: list[FileSpec] = []
    for config in config_files:
        text = render(definition.templates[config.template], variables, [str(s) for s in secrets])
        data = text.encode()
        made.append(
            FileSpec(
                _file_name(who, element, config.template, data),
                f"{CONFIG_DIR}/{config.template}",
                data,
                secret=config.secret,
                mode=0o400,  # cove-start (root) copies it into place with its owner and mode
            )
        )
    return made


def _file_name(who: Identity, element: str, what: str, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()[:12]
    stem = f"{who.prefix}-{element}-{what}"[: MAX_NAME - 13]
    return f"{stem}-{digest}"


def _argv(command: Command | None) -> list[str]:
    if command is None:
        return []
    if isinstance(command, str):
        return ["/bin/sh", "-c", command]
    return list(command)


def _health(check: HealthCheck | None) -> HealthSpec | None:
    if check is None:
        return None
    test = check.test
    argv = ("CMD-SHELL", test) if isinstance(test, str) else ("CMD", *test)
    return HealthSpec(
        argv,
        float(check.interval_s),
        float(check.timeout_s),
        check.retries,
        float(check.start_period_s),
    )


def _hashed(spec: ServiceSpec) -> ServiceSpec:
    """``spec`` labelled with the hash of everything else in it (file data included)."""
    body = asdict(replace(spec, labels={}))
    for file in body["files"]:
        file["data"] = hashlib.sha256(file["data"]).hexdigest()
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    return replace(spec, labels={**spec.labels, SPEC_LABEL: digest[:16]})
