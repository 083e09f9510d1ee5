"""``SwarmAppHost``: deployments' services, tasks, files and networks on a swarm-mode
cluster (``cove.drivers.apphost``), through the engine of a manager that answers.

Services are swarm services, tasks replicated jobs, files swarm configs and secrets, networks
attachable overlay networks; what the spec becomes is ``appspecs``. Node engines are reached
as the container host reaches them (``nodeengines.NodeEngines``, shared with it): images a
node lacks are streamed to it from the provider's engine, never pulled.

Objects are found by name and adopted only when their labels say they are this
deployment's (and, for a service, this element's); a service is updated only when its
SPEC_LABEL differs. Removal is by label and exact: other deployments' objects stay.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import docker
import docker.errors

from cove.drivers.apphost import (
    DEPLOYMENT_LABEL,
    ELEMENT_LABEL,
    SPEC_LABEL,
    FileSpec,
    ServiceSpec,
    ServiceState,
)
from cove.drivers.base import ClusterSpec
from cove.drivers.fleet import parallel
from cove.drivers.swarm_mode import appspecs
from cove.drivers.swarm_mode.nodeengines import (
    EngineRefused,
    EngineUnavailable,
    NodeEngines,
    engine_errors,
)
from cove.failures import Permanent
from cove.providers.base import NodeRecord, Provider

log = logging.getLogger(__name__)
REMOVE_WAIT_S = 30.0  # beyond the removed services' stop grace: tasks leaving their networks
POLL_S = 0.5


class SwarmAppHost:
    def __init__(
        self, provider: Provider, cluster: ClusterSpec, engines: NodeEngines | None = None
    ) -> None:
        self.provider = provider
        self.cluster = cluster
        self.engines = engines or NodeEngines(provider, cluster)
        self._manager: str | None = None  # the manager that answered last: asked first
        self.sleep: Callable[[float], None] = time.sleep

    # -- the AppHost protocol --------------------------------------------------------------

    def ensure_network(self, name: str, labels: Mapping[str, str]) -> None:
        node, api = self._manager_api()
        found = self._network(api, node, name)
        if found is None:
            with engine_errors(node, f"creating network {name}"):
                try:
                    api.create_network(
                        name,
                        driver="overlay",
                        attachable=True,
                        labels=dict(labels),
                        check_duplicate=True,
                    )
                    log.info("network %s created", name)
                    return
                except docker.errors.APIError as exc:
                    if exc.status_code != 409:
                        raise  # 409: made meanwhile; adopt or refuse it below
            found = self._network(api, node, name)
            if found is None:
                raise EngineUnavailable(f"node {node}: network {name} vanished once made")
        if not appspecs.owned(found.get("Labels"), labels, list(labels)):
            raise EngineRefused(f"network {name} already exists and is not this deployment's")

    def ensure_images(self, images: Sequence[str]) -> None:
        running = [r for r in self._records() if r.running and r.address]
        if not running:
            raise EngineUnavailable(f"cluster {self.cluster.name}: no node is running")

        def load(record: NodeRecord) -> None:
            api = self._client(record)
            for image in dict.fromkeys(images):
                self.engines.ensure_image(api, record.name, image)

        parallel(load, running)

    def ensure_service(self, spec: ServiceSpec) -> None:
        node, api = self._manager_api()
        current = self._service(api, node, spec.name)
        if current is not None:
            labels = (current.get("Spec") or {}).get("Labels") or {}
            if not appspecs.owned(labels, spec.labels, (DEPLOYMENT_LABEL, ELEMENT_LABEL)):
                raise EngineRefused(
                    f"service {spec.name} already exists and is not this deployment's"
                )
            if labels.get(SPEC_LABEL) == spec.labels.get(SPEC_LABEL):
                return
            self._refuse_rolled_back(current, spec)
        file_ids = {f.name: self._ensure_file(api, node, spec, f) for f in spec.files}
        arguments = appspecs.service_arguments(spec, file_ids)
        if current is not None and (spec.mode == "job" or appspecs.mode_of(current) != spec.mode):
            # A job cannot be updated meaningfully (it would not run again), nor can a
            # service change mode: made again.
            self._remove_service(api, node, str(current["ID"]), spec.name)
            current = None
        if current is None:
            with engine_errors(node, f"creating service {spec.name}"):
                try:
                    api.create_service(**arguments)
                    log.info("service %s created", spec.name)
                    return
                except docker.errors.APIError as exc:
                    if exc.status_code != 409:
                        raise
            raise EngineUnavailable(
                f"node {node}: service {spec.name} was made meanwhile by another call"
            )
        version = int(((current.get("Version") or {}).get("Index")) or 0)
        with engine_errors(node, f"updating service {spec.name}"):
            api.update_service(str(current["ID"]), version, **arguments)
        log.info("service %s updated", spec.name)

    def services(self, labels: Mapping[str, str]) -> list[ServiceState]:
        node, api = self._manager_api()
        selector = [f"{k}={v}" for k, v in labels.items()]
        with engine_errors(node, "listing services"):
            found = api.services(filters={"label": selector} if selector else None)
            hostnames = {
                str(n.get("ID")): str((n.get("Description") or {}).get("Hostname") or "")
                for n in api.nodes()
            }

        def tasks(service: Mapping[str, Any]) -> list[dict[str, Any]]:
            name = (service.get("Spec") or {}).get("Name")
            with engine_errors(node, f"listing the tasks of service {name}"):
                try:
                    return list(api.tasks(filters={"service": str(service["ID"])}))
                except docker.errors.NotFound:
                    return []  # removed meanwhile

        listed = parallel(tasks, found, limit=8)
        states = [
            appspecs.service_state(s, t, hostnames) for s, t in zip(found, listed, strict=True)
        ]
        return sorted(states, key=lambda s: s.name)

    def logs(self, name: str, tail: int = 20) -> list[str]:
        node, api = self._manager_api()
        with engine_errors(node, f"reading the logs of service {name}"):
            try:
                chunks = api.service_logs(
                    name, stdout=True, stderr=True, tail=max(tail, 0), is_tty=False
                )
                return appspecs.log_lines(chunks, tail)
            except docker.errors.NotFound:
                return []

    def remove(self, labels: Mapping[str, str]) -> None:
        if not labels:
            raise Permanent("removing applications needs at least one label to select them")
        node, api = self._manager_api()
        selector = [f"{k}={v}" for k, v in labels.items()]
        where = ", ".join(selector)
        with engine_errors(node, f"listing services with {where}"):
            found = list(api.services(filters={"label": selector}))
        for service in found:
            name = str((service.get("Spec") or {}).get("Name") or service["ID"])
            self._remove_service(api, node, str(service["ID"]), name)
        grace = max((appspecs.stop_grace_s(s) for s in found), default=0.0)
        deadline = time.monotonic() + grace + REMOVE_WAIT_S
        for kind, listing, removing in (
            ("config", api.configs, api.remove_config),
            ("secret", api.secrets, api.remove_secret),
            ("network", api.networks, api.remove_network),
        ):
            with engine_errors(node, f"listing {kind}s with {where}"):
                objects = list(listing(filters={"label": selector}))
            for obj in objects:
                ident = str(obj.get("ID") or obj.get("Id"))
                name = str(obj.get("Name") or (obj.get("Spec") or {}).get("Name") or ident)
                self._remove_object(node, kind, name, partial(removing, ident), deadline)
        self._wait_networks_gone(api, node, selector, deadline)
        parallel(lambda r: self._clear_node(r, selector, deadline), self._records())

    def _clear_node(self, record: NodeRecord, selector: list[str], deadline: float) -> None:
        """What the selected services left on ``record``'s engine: their containers (the
        node's agent does not always remove those of a removed service's ended tasks, a
        killed or completed one) are removed, then the named volumes they made there (each
        node makes its own, labelled from the mount): their data goes with the
        deployment."""
        if not record.running:
            return  # a stopped node's containers and volumes go with the node
        api = self._client(record)
        with engine_errors(record.name, "listing containers"):
            left = api.containers(all=True, filters={"label": selector})
        for container in left:
            ident = str(container["Id"])
            self._remove_object(
                record.name,
                "container",
                ident[:12],
                partial(api.remove_container, ident, force=True),
                deadline,
            )
        with engine_errors(record.name, "listing volumes"):
            found = (api.volumes(filters={"label": selector}) or {}).get("Volumes") or []
        for volume in found:
            name = str(volume["Name"])
            self._remove_object(
                record.name, "volume", name, partial(api.remove_volume, name), deadline
            )

    def close(self) -> None:
        self.engines.close()

    # -- helpers ---------------------------------------------------------------------------

    def _records(self) -> list[NodeRecord]:
        return self.provider.find_nodes(self.cluster.uuid)

    def _client(self, record: NodeRecord) -> docker.APIClient:
        return self.engines.client(record)

    def _manager_api(self) -> tuple[str, docker.APIClient]:
        """A manager whose engine answers now (the one that answered last first)."""
        managers = sorted(
            (r for r in self._records() if r.role == "master" and r.running and r.address),
            key=lambda r: (r.name != self._manager, r.name),
        )
        why = "none is running"
        for record in managers:
            try:
                api = self._client(record)
                api.ping()
            except Exception as exc:  # not answering: the next one may
                why = f"{record.name}: {type(exc).__name__}"
                continue
            self._manager = record.name
            return record.name, api
        raise EngineUnavailable(f"cluster {self.cluster.name}: no manager's engine answers ({why})")

    def _network(self, api: docker.APIClient, node: str, name: str) -> dict[str, Any] | None:
        with engine_errors(node, f"looking up network {name}"):
            found = api.networks(names=[name])  # a substring match: the exact name is kept
        return next((dict(n) for n in found if n.get("Name") == name), None)

    def _service(self, api: docker.APIClient, node: str, name: str) -> dict[str, Any] | None:
        with engine_errors(node, f"inspecting service {name}"):
            try:
                return dict(api.inspect_service(name))
            except docker.errors.NotFound:
                return None

    def _refuse_rolled_back(self, current: Mapping[str, Any], spec: ServiceSpec) -> None:
        """The swarm rolled this very spec back: trying it again would roll back again."""
        status = current.get("UpdateStatus") or {}
        previous = (current.get("PreviousSpec") or {}).get("Labels") or {}
        if status.get("State") == "rollback_completed" and previous.get(SPEC_LABEL) == (
            spec.labels.get(SPEC_LABEL)
        ):
            raise EngineRefused(
                f"service {spec.name}: the update to this spec was rolled back "
                f"({status.get('Message') or 'a new instance failed'})"
            )

    def _ensure_file(
        self, api: docker.APIClient, node: str, spec: ServiceSpec, file: FileSpec
    ) -> str:
        """The id of the config or secret ``file.name``, made when absent (never with its
        data in a message)."""
        kind = "secret" if file.secret else "config"
        listing = api.secrets if file.secret else api.configs
        create = api.create_secret if file.secret else api.create_config

        def find() -> dict[str, Any] | None:
            with engine_errors(node, f"looking up {kind} {file.name}"):
                found = listing(filters={"name": [file.name]})  # a prefix match
            return next(
                (dict(o) for o in found if (o.get("Spec") or {}).get("Name") == file.name), None
            )

        found = find()
        if found is None:
            with engine_errors(node, f"creating {kind} {file.name}"):
                try:
                    made = create(file.name, file.data, labels=appspecs.file_labels(spec))
                    return str(made["ID"])
                except docker.errors.APIError as exc:
                    if exc.status_code != 409:
                        raise
            found = find()
            if found is None:
                raise EngineUnavailable(f"node {node}: {kind} {file.name} vanished once made")
        labels = (found.get("Spec") or {}).get("Labels")
        if not appspecs.owned(labels, spec.labels, (DEPLOYMENT_LABEL,)):
            raise EngineRefused(f"{kind} {file.name} already exists and is not this deployment's")
        return str(found["ID"])

    def _remove_service(self, api: docker.APIClient, node: str, ident: str, name: str) -> None:
        with engine_errors(node, f"removing service {name}"):
            try:
                api.remove_service(ident)
                log.info("service %s removed", name)
            except docker.errors.NotFound:
                pass

    def _wait_networks_gone(
        self, api: docker.APIClient, node: str, selector: list[str], deadline: float
    ) -> None:
        """A removed swarm network lingers (pending deletion) until the tasks attached to it
        are gone: wait, so a deployment made again right away does not adopt it."""
        while True:
            with engine_errors(node, "listing networks"):
                left = [str(n.get("Name")) for n in api.networks(filters={"label": selector})]
            if not left:
                return
            if time.monotonic() > deadline:
                raise EngineUnavailable(
                    f"node {node}: network(s) {', '.join(sorted(left))} still being removed "
                    "as the removed services' tasks stop; try again"
                )
            self.sleep(POLL_S)

    def _remove_object(
        self, node: str, kind: str, name: str, remove: Callable[[], object], deadline: float
    ) -> None:
        """Remove a config, secret, network, container or volume. A config or secret still
        in use belongs to a service outside the selection too: it stays. A network, container
        or volume is busy while the removed services' tasks stop: tried again until
        ``deadline`` (then Temporary)."""
        while True:
            try:
                with (
                    engine_errors(node, f"removing {kind} {name}"),
                    contextlib.suppress(docker.errors.NotFound),
                ):
                    remove()
                return
            except EngineRefused as exc:
                busy = ("in use", "active endpoints", "already in progress")
                if not any(b in str(exc) for b in busy):
                    raise
                if kind in ("config", "secret"):
                    log.info("%s %s is in use by another service: kept", kind, name)
                    return
                if time.monotonic() > deadline:
                    raise EngineUnavailable(
                        f"node {node}: {kind} {name} is still in use as the removed "
                        "services' tasks stop; try again"
                    ) from exc
            self.sleep(POLL_S)
