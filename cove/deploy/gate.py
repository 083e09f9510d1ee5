#!/usr/bin/python3
"""``cove-gate``: the start step of every container cove deploys (``cove.deploy.gating`` is
the contract). Shipped into app images and run by ``cove-start`` as ``cove-gate COMMAND…``:

1. waits until every requirement in ``COVE_REQUIRES`` holds, reading the coordination store
   (etcd's v3 JSON gateway) once and then following its watch stream: no polling;
2. a task: takes the task's lock, exits 0 if a previous run of its version (``COVE_VERSION``)
   is done, else runs the command and records ``done`` when it succeeded (so each version
   runs exactly once, whatever the retries: an update that changes a task runs it again);
   a run longer than ``COVE_TIMEOUT`` seconds is killed and fails (exit 124);
3. a service: forks a registrar that registers this instance ``running`` at once and
   ``healthy`` when ``COVE_HEALTH`` passes, under a lease kept alive while the container
   lives, then execs the command (signals reach it directly).

Standard library only: it runs inside the images, not inside cove. Without ``COVE_STORE``
it just execs the command.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

NAME_WAIT_S = float(os.environ.get("COVE_NAME_WAIT", "30"))  # for a required name to resolve
LEASE_TTL_S = int(os.environ.get("COVE_LEASE_TTL", "10"))  # a dead instance's key lives this long
HEALTH_RETRY_S = 1.0
STORE_WAIT_S = float(os.environ.get("COVE_STORE_WAIT", "600"))  # then fail: restarted


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _text(b64: str) -> str:
    return base64.b64decode(b64).decode()


def _range_end(prefix: str) -> str:
    """etcd's end of the key range holding every key starting with ``prefix``."""
    raw = bytearray(prefix.encode())
    raw[-1] += 1
    return base64.b64encode(bytes(raw)).decode()


class Store:
    """The few etcd v3 calls the gate needs, over the JSON gateway."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def call(self, path: str, body: Mapping[str, Any], timeout: float | None = 30) -> Any:
        request = urllib.request.Request(
            f"{self.url}/v3/{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"{}")

    def snapshot(self, prefix: str) -> tuple[int, dict[str, Any]]:
        """The store's revision and every key under ``prefix`` (relative) with its JSON."""
        found = self.call("kv/range", {"key": _b64(prefix), "range_end": _range_end(prefix)})
        keys = {
            _text(kv["key"])[len(prefix) :]: _json(kv.get("value", ""))
            for kv in found.get("kvs", [])
        }
        return int(found["header"]["revision"]), keys

    def watch(self, prefix: str, start: int) -> Iterator[tuple[str, str, Any]]:
        """(PUT|DELETE, relative key, value) for each change under ``prefix`` from revision
        ``start`` on, as etcd streams them."""
        body = {
            "create_request": {
                "key": _b64(prefix),
                "range_end": _range_end(prefix),
                "start_revision": start,
            }
        }
        request = urllib.request.Request(
            f"{self.url}/v3/watch",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=None) as stream:
            for line in stream:
                result = json.loads(line).get("result", {})
                for event in result.get("events", []):
                    kv = event["kv"]
                    key = _text(kv["key"])[len(prefix) :]
                    yield event.get("type", "PUT"), key, _json(kv.get("value", ""))

    def put(self, key: str, value: Any, lease: str | None = None) -> None:
        body: dict[str, Any] = {"key": _b64(key), "value": _b64(json.dumps(value))}
        if lease:
            body["lease"] = lease
        self.call("kv/put", body)

    def get(self, key: str) -> Any | None:
        found = self.call("kv/range", {"key": _b64(key)}).get("kvs", [])
        return _json(found[0].get("value", "")) if found else None

    def grant(self, ttl: int) -> str:
        return str(self.call("lease/grant", {"TTL": ttl})["ID"])

    def keep_alive(self, lease: str) -> None:
        self.call("lease/keepalive", {"ID": lease})

    def lock(self, name: str, lease: str) -> str:
        """Blocks until this caller holds ``name``; returns the lock's key."""
        return str(self.call("lock/lock", {"name": _b64(name), "lease": lease}, None)["key"])

    def unlock(self, key: str) -> None:
        self.call("lock/unlock", {"key": key})


def _json(b64: str) -> Any:
    try:
        return json.loads(_text(b64)) if b64 else None
    except ValueError:
        return None


def holds(requirement: Mapping[str, Any], keys: Mapping[str, Any], node: str) -> bool:
    """Whether ``requirement`` holds given the keys under the deployment's prefix."""
    if "task" in requirement:
        return f"tasks/{requirement['task']}/done" in keys
    wanted = requirement.get("state", "healthy")
    base = f"services/{requirement['service']}/"
    for key, value in keys.items():
        if not key.startswith(base) or not isinstance(value, dict):
            continue
        if requirement.get("scope") == "node" and value.get("node") != node:
            continue
        if value.get("state") == "healthy" or value.get("state") == wanted:
            return True
    return False


def wait(store: Store, prefix: str, requires: Sequence[Mapping[str, Any]], node: str) -> None:
    """Returns once every requirement holds (at once when they already do). The store starts
    with everything else, and a watch may break: the gate reads again until it holds."""
    said = ""
    while True:
        revision, keys = retrying(lambda: store.snapshot(prefix))
        pending = [r for r in requires if not holds(r, keys, node)]
        if not pending:
            return
        said = _tell(pending, said)
        try:
            for kind, key, value in store.watch(prefix, revision + 1):
                if kind == "DELETE":
                    keys.pop(key, None)
                else:
                    keys[key] = value
                pending = [r for r in pending if not holds(r, keys, node)]
                if not pending:
                    return
                said = _tell(pending, said)
        except (OSError, ValueError):
            continue  # the stream broke: read the keys again and watch from there


def _tell(pending: Sequence[Mapping[str, Any]], said: str) -> str:
    """Says what the container waits on whenever that changes, so its last line is what it
    waits on now (cove shows that line as the element's progress)."""
    now = f"waiting for {_describe(pending)}"
    if now != said:
        _say(now)
    return now


def retrying(call: Callable[[], T]) -> T:
    """``call`` until the store answers: it is started at the same moment as this
    container, and may move or restart."""
    delay = 0.2
    deadline = time.monotonic() + STORE_WAIT_S
    while True:
        try:
            return call()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def _describe(requires: Sequence[Mapping[str, Any]]) -> str:
    return ", ".join(
        f"task {r['task']} done"
        if "task" in r
        else f"service {r['service']} {r.get('state', 'healthy')}"
        + (" on this node" if r.get("scope") == "node" else "")
        for r in requires
    )


def _keep(store: Store, lease: str, stop: threading.Event) -> None:
    while not stop.wait(LEASE_TTL_S / 3):
        with contextlib.suppress(OSError):  # away a moment: the lease outlives a short gap
            store.keep_alive(lease)


def run_task(
    store: Store,
    prefix: str,
    task: str,
    command: Sequence[str],
    node: str,
    timeout: float | None = None,
    version: str = "",
) -> int:
    """Runs ``command`` unless a previous run of this ``version`` of the task succeeded; one
    run at a time."""
    lease = retrying(lambda: store.grant(LEASE_TTL_S))
    stop = threading.Event()
    threading.Thread(target=_keep, args=(store, lease, stop), daemon=True).start()
    key = retrying(lambda: store.lock(f"{prefix}/tasks/{task}/lock", lease))
    try:
        done = store.get(f"{prefix}/tasks/{task}/done")
        if isinstance(done, dict) and done.get("version", "") == version:
            _say(f"task {task} already done; not running it again")
            return 0
        _say(f"running task {task}")
        try:
            code = subprocess.run(list(command), timeout=timeout, check=False).returncode
        except subprocess.TimeoutExpired:
            _say(f"task {task} did not end within {timeout:.0f}s")
            code = 124
        if code == 0:
            done = {"node": node, "at": time.time(), "version": version}
            retrying(lambda: store.put(f"{prefix}/tasks/{task}/done", done))
        return code
    finally:
        with contextlib.suppress(OSError):  # the lease's end releases it anyway
            store.unlock(key)
        stop.set()


def register(store: Store, key: str, node: str, health: Sequence[str] | None) -> None:
    """Registers this instance ``running``, then ``healthy`` once ``health`` passes, and
    keeps the lease alive (the process lives as long as the container)."""
    lease = retrying(lambda: store.grant(LEASE_TTL_S))
    retrying(lambda: store.put(key, {"node": node, "state": "running"}, lease))
    stop = threading.Event()
    threading.Thread(target=_keep, args=(store, lease, stop), daemon=True).start()
    state = "running"
    while True:
        healthy = health is None or _passes(health)
        wanted = "healthy" if healthy else "running"
        if wanted != state:
            now = {"node": node, "state": wanted}
            retrying(lambda: store.put(key, now, lease))  # noqa: B023 (used at once)
            state = wanted
        time.sleep(HEALTH_RETRY_S if state == "running" else LEASE_TTL_S / 2)


def _passes(health: Sequence[str]) -> bool:
    if not health:
        return True
    if health[0] == "CMD-SHELL":
        argv = ["/bin/sh", "-c", " ".join(health[1:])]
    elif health[0] == "CMD":
        argv = list(health[1:])
    else:
        argv = list(health)
    try:
        return subprocess.call(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0
    except OSError:
        return False


def reachable(names: Sequence[str], wait_s: float = NAME_WAIT_S) -> None:
    """Returns once each required service's name resolves here, or after ``wait_s``. A
    service registers healthy from its own container; the orchestrator's DNS on other nodes
    learns its name a moment later (about a second was seen on swarm), and a task started at
    once would fail to connect and spend a retry. No event says when: a short backoff."""
    deadline = time.monotonic() + wait_s
    for name in names:
        delay = 0.05
        while True:
            try:
                socket.getaddrinfo(name, None)
                break
            except OSError:
                if time.monotonic() > deadline:
                    _say(f"service {name} is not known by name here yet; going on")
                    break
                time.sleep(delay)
                delay = min(delay * 2, 1.0)


def _say(message: str) -> None:
    print(f"cove-gate: {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str]) -> int:
    command = list(argv[1:])
    url = os.environ.get("COVE_STORE")
    if not url:
        os.execvp(command[0], command)
    store = Store(url)
    prefix = os.environ["COVE_PREFIX"]
    element = os.environ["COVE_ELEMENT"]
    node = os.environ.get("COVE_NODE") or socket.gethostname()
    requires = json.loads(os.environ.get("COVE_REQUIRES") or "[]")
    wait(store, prefix.rstrip("/") + "/", requires, node)
    reachable([r["service"] for r in requires if "service" in r])
    if os.environ.get("COVE_KIND") == "task":
        timeout = float(os.environ["COVE_TIMEOUT"]) if os.environ.get("COVE_TIMEOUT") else None
        version = os.environ.get("COVE_VERSION", "")
        return run_task(store, prefix, element, command, node, timeout, version)
    health = json.loads(os.environ["COVE_HEALTH"]) if os.environ.get("COVE_HEALTH") else None
    _say(f"starting service {element}")
    key = f"{prefix}/services/{element}/{socket.gethostname()}"
    if os.fork() == 0:  # the registrar; the command goes on in this process's place
        try:
            register(store, key, node, health)
        finally:
            os._exit(1)
    os.execvp(command[0], command)
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv))
