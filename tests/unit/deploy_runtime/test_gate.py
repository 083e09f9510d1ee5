"""``cove-gate`` against a real etcd (Debian's etcd-server, installed by scripts/setup.sh):
a container waits until its requirements hold, a task runs exactly once however many
containers race for it, and an instance's registration follows its health and dies with
it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cove.deploy import gate

PREFIX = "/cove/d1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("etcd")
    assert binary, "etcd is missing: scripts/setup.sh installs Debian's etcd-server"
    client, peer = _free_port(), _free_port()
    url = f"http://127.0.0.1:{client}"
    proc = subprocess.Popen(
        [binary, "--data-dir", str(tmp_path_factory.mktemp("etcd")),
         "--listen-client-urls", url, "--advertise-client-urls", url,
         "--listen-peer-urls", f"http://127.0.0.1:{peer}",
         "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
         "--initial-cluster", f"default=http://127.0.0.1:{peer}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            gate.Store(url).snapshot("/")
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail("etcd did not answer within 30 s")
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def store(etcd: str) -> gate.Store:
    store = gate.Store(etcd)
    store.call("kv/deleterange", {"key": gate._b64("/"), "range_end": gate._b64("\0")})
    return store


def test_requirements_are_read_and_waited_for(store: gate.Store) -> None:
    requires = [{"task": "sync"}, {"service": "db", "state": "healthy", "scope": "global"}]
    done = threading.Event()

    def waiting() -> None:
        gate.wait(store, PREFIX + "/", requires, "n1")
        done.set()

    waiter = threading.Thread(target=waiting)
    waiter.start()
    store.put(f"{PREFIX}/tasks/sync/done", {"node": "n2"})
    store.put(f"{PREFIX}/services/db/a", {"node": "n2", "state": "running"})
    assert not done.wait(0.5), "a running database is not a healthy one"
    store.put(f"{PREFIX}/services/db/a", {"node": "n2", "state": "healthy"})
    waiter.join(10)
    assert done.is_set()
    gate.wait(store, PREFIX + "/", requires, "n1")  # holds already: returns at once


def test_node_scope_wants_the_same_nodes_instance() -> None:
    keys = {"services/agent/x": {"node": "n2", "state": "healthy"}}
    on_node = {"service": "agent", "state": "running", "scope": "node"}
    assert not gate.holds(on_node, keys, "n1")
    assert gate.holds(on_node, keys, "n2")
    assert gate.holds({"service": "agent", "state": "running"}, keys, "n1")


def test_a_task_runs_once_whoever_races_for_it(store: gate.Store, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    command = [sys.executable, "-c", f"open({str(runs)!r}, 'a').write('x')"]
    codes: list[int] = []

    def race() -> None:
        codes.append(gate.run_task(store, PREFIX, "sync", command, "n1"))

    racers = [threading.Thread(target=race) for _ in range(4)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(30)
    assert codes == [0, 0, 0, 0] and runs.read_text() == "x"
    assert store.get(f"{PREFIX}/tasks/sync/done")["node"] == "n1"


def test_a_failed_run_is_not_done_and_the_next_one_runs(store: gate.Store) -> None:
    fail = [sys.executable, "-c", "raise SystemExit(3)"]
    assert gate.run_task(store, PREFIX, "boot", fail, "n1") == 3
    assert store.get(f"{PREFIX}/tasks/boot/done") is None
    ok = [sys.executable, "-c", "pass"]
    assert gate.run_task(store, PREFIX, "boot", ok, "n1") == 0
    assert store.get(f"{PREFIX}/tasks/boot/done") is not None


def test_a_new_version_of_a_done_task_runs_once_more(store: gate.Store, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    command = [sys.executable, "-c", f"open({str(runs)!r}, 'a').write('x')"]
    assert gate.run_task(store, PREFIX, "seed", command, "n1", version="v1") == 0
    assert gate.run_task(store, PREFIX, "seed", command, "n1", version="v1") == 0
    assert runs.read_text() == "x"  # v1 ran once
    assert gate.run_task(store, PREFIX, "seed", command, "n1", version="v2") == 0
    assert gate.run_task(store, PREFIX, "seed", command, "n2", version="v2") == 0
    assert runs.read_text() == "xx"  # an update changed the task: v2 ran, once
    assert store.get(f"{PREFIX}/tasks/seed/done")["version"] == "v2"


def test_a_service_registers_running_then_healthy_and_goes_with_its_lease(
    store: gate.Store, etcd: str, tmp_path: Path
) -> None:
    ready = tmp_path / "ready"
    env = {
        **os.environ,
        "COVE_STORE": etcd, "COVE_PREFIX": PREFIX, "COVE_ELEMENT": "api",
        "COVE_KIND": "service", "COVE_NODE": "n1", "COVE_LEASE_TTL": "2",
        "COVE_REQUIRES": "[]", "COVE_HEALTH": json.dumps(["CMD-SHELL", f"test -f {ready}"]),
        "PYTHONPATH": str(Path(__file__).resolve().parents[3]),
    }  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "cove.deploy.gate", "sleep", "60"],
        env=env, start_new_session=True,
    )  # fmt: skip
    try:
        states = _states(store, "api", lambda s: s == ["running"])
        assert states == ["running"]  # started, not yet healthy
        ready.touch()
        assert _states(store, "api", lambda s: s == ["healthy"]) == ["healthy"]
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the container dies, registrar and all
        proc.wait(10)
    assert _states(store, "api", lambda s: s == []) == []  # the lease ran out


def _states(store: gate.Store, service: str, done: object) -> list[str]:
    deadline = time.monotonic() + 15
    while True:
        _, keys = store.snapshot(f"{PREFIX}/services/{service}/")
        states = sorted(v["state"] for v in keys.values())
        if done(states) or time.monotonic() > deadline:  # type: ignore[operator]
            return states
        time.sleep(0.1)


def test_a_task_over_its_timeout_is_killed_and_not_done(store: gate.Store) -> None:
    slow = [sys.executable, "-c", "import time; time.sleep(30)"]
    started = time.monotonic()
    assert gate.run_task(store, PREFIX, "slow", slow, "n1", timeout=0.5) == 124
    assert time.monotonic() - started < 10
    assert store.get(f"{PREFIX}/tasks/slow/done") is None


def test_the_gate_waits_for_a_store_that_is_still_starting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Everything starts at once, the store too: its first refusals are waited out."""
    calls = {"n": 0}

    def flaky() -> str:
        calls["n"] += 1
        if calls["n"] < 3:
            raise ConnectionRefusedError("not yet")
        return "up"

    monkeypatch.setattr(gate.time, "sleep", lambda _s: None)
    assert gate.retrying(flaky) == "up" and calls["n"] == 3
    monkeypatch.setattr(gate, "STORE_WAIT_S", -1.0)
    with pytest.raises(ConnectionRefusedError):
        gate.retrying(lambda: (_ for _ in ()).throw(ConnectionRefusedError("down")))


def test_a_gated_task_container_waits_runs_once_and_records_it(
    store: gate.Store, etcd: str, tmp_path: Path
) -> None:
    """The program as the image runs it: ``cove-gate COMMAND`` with the environment cove sets."""
    ran = tmp_path / "ran"
    env = {
        **os.environ,
        "COVE_STORE": etcd, "COVE_PREFIX": PREFIX, "COVE_ELEMENT": "seed", "COVE_KIND": "task",
        "COVE_NODE": "n1", "COVE_REQUIRES": json.dumps([{"service": "kv", "state": "healthy"}]),
        "COVE_NAME_WAIT": "0.2",  # kv is no name on this machine
        "PYTHONPATH": str(Path(__file__).resolve().parents[3]),
    }  # fmt: skip
    argv = [sys.executable, "-m", "cove.deploy.gate", "sh", "-c", f"echo x >> {ran}"]
    first = subprocess.Popen(argv, env=env)
    time.sleep(0.5)
    assert first.poll() is None and not ran.exists()  # waiting for a healthy kv
    store.put(f"{PREFIX}/services/kv/c1", {"node": "n2", "state": "healthy"})
    assert first.wait(30) == 0 and ran.read_text() == "x\n"
    assert subprocess.run(argv, env=env, timeout=30, check=False).returncode == 0
    assert ran.read_text() == "x\n"  # a second container of the task: done already


def test_the_last_line_a_gated_container_says_is_what_it_waits_on_now(
    store: gate.Store, capfd: pytest.CaptureFixture[str]
) -> None:
    requires = [{"service": "kv", "state": "healthy"}, {"task": "seed"}]
    waiter = threading.Thread(target=gate.wait, args=(store, f"{PREFIX}/", requires, "n1"))
    waiter.start()
    seen: list[str] = []

    def said(line: str) -> bool:
        seen.extend(capfd.readouterr().err.splitlines())
        return line in seen

    _until(lambda: said("cove-gate: waiting for service kv healthy, task seed done"))
    store.put(f"{PREFIX}/services/kv/c1", {"node": "n2", "state": "healthy"})
    _until(lambda: said("cove-gate: waiting for task seed done"))
    store.put(f"{PREFIX}/tasks/seed/done", {"node": "n2", "at": 0})
    waiter.join(30)
    assert not waiter.is_alive()
    assert seen == [
        "cove-gate: waiting for service kv healthy, task seed done",
        "cove-gate: waiting for task seed done",
    ]


def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.05)


def test_a_required_service_is_also_waited_for_by_name(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Healthy in the store is not yet known to this node's DNS: the gate waits for the
    name (briefly), then goes on saying so."""
    answers = iter([OSError("unknown"), OSError("unknown"), [("addr",)]])

    def resolve(name: str, port: object) -> object:
        answer = next(answers)
        if isinstance(answer, OSError):
            raise answer
        return answer

    monkeypatch.setattr(gate.socket, "getaddrinfo", resolve)
    monkeypatch.setattr(gate.time, "sleep", lambda _s: None)
    gate.reachable(["db"])
    assert next(answers, None) is None  # asked until it resolved
    assert capfd.readouterr().err == ""
    monkeypatch.setattr(gate.socket, "getaddrinfo", lambda *_: (_ for _ in ()).throw(OSError()))
    gate.reachable(["db"], wait_s=-1)
    assert (
        capfd.readouterr().err == "cove-gate: service db is not known by name here yet; going on\n"
    )
