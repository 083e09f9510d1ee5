"""The user's documentation runs as written: every ```sh block of each page below, in document
order, against the real Docker engine, as a new user would type it.

Each page runs as one bash script (``bash -euo pipefail``, so the environment carries from one
block to the next) in a fresh environment: a temporary HOME, COVE_STATE_DIR, COVE_URL and
COVE_PORT on a free loopback port (``cove up`` starts its own service there; nothing touches
port 9511), the real OpenStack clients and cove's venv first on PATH, SHELL=/bin/bash, and the
repository as the working directory. production.md also gets COVE_DB, a throwaway PostgreSQL
database. A marker is printed before each block, so a failure names its block and shows its
output. An ``error:`` line in a ```console sample after a block must be in that block's
output: the errors the pages show are the ones users see.

Afterwards the page must have cleaned up after itself (its last blocks do): no cluster left in
its database, no process of its environment still running. Whatever is left is removed anyway
(processes killed, containers, networks and volumes labelled with its clusters swept).

Pages are independent: ``pytest -n 4 tests/e2e/test_docs.py`` runs them side by side (about
3.5 minutes on a loaded 2-core machine; 7.5 one after another). Each prints its blocks' times.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shlex
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy

from tests.e2e.conftest import sweep_label
from tests.e2e.docs_blocks import ROOT, Block, doc_blocks

PAGES = (
    "getting-started.md",
    "templates.md",
    "networking.md",
    "tls.md",
    "scaling-and-health.md",
    "production.md",
    "openstack-client.md",
    "cli.md",
    "container-clusters.md",
    "deployments.md",
    "keystone.md",
)
# `<!-- not run: ... -->` blocks over all pages: set-up a reader does once, used rarely.
MAX_NOT_RUN = 5
PAGE_TIMEOUT = 600.0
MARK = "@@cove-docs@@"
CLIENTS = ROOT / ".venv-clients"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432"
# What a user's shell would not have: settings and credentials that steer cove, the OpenStack
# clients, the docker CLI or Python.
SCRUB = ("COVE_", "OS_", "DOCKER_", "MAGNUM_", "PYTHON", "VIRTUAL_ENV", "PYTEST_")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def clients() -> Path:
    """The real OpenStack clients (scripts/install-clients.sh is idempotent)."""
    script = ROOT / "scripts" / "install-clients.sh"
    proc = subprocess.run(
        ["bash", str(script)], capture_output=True, text=True, timeout=1800, check=False
    )
    if proc.returncode != 0:
        pytest.fail(f"{script} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return CLIENTS


@contextlib.contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh PostgreSQL database at 127.0.0.1:5432; dropped afterwards."""
    name = f"cove_docs_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
        yield f"{POSTGRES}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def page_env(tmp: Path, clients: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUB)}
    port = _free_port()
    home = tmp / "home"
    home.mkdir()
    bins = [ROOT / ".venv" / "bin", clients / "osc" / "bin", clients / "magnum411" / "bin"]
    env.update(
        HOME=str(home),
        SHELL="/bin/bash",
        PATH=os.pathsep.join([*map(str, bins), env.get("PATH", "/usr/bin:/bin")]),
        COVE_STATE_DIR=str(tmp / "state"),
        COVE_URL=f"http://127.0.0.1:{port}",
        COVE_PORT=str(port),
        PYTHONWARNINGS="ignore",
    )
    return env


def script_of(blocks: list[Block]) -> str:
    """One bash script: a marker line (with the time) before each block that runs."""
    parts = []
    for block in blocks:
        if block.not_run:
            continue
        parts.append(f"printf '\\n{MARK} %s %s\\n' \"$EPOCHREALTIME\" {shlex.quote(block.label)}")
        parts.append(block.text)
    parts.append(f"printf '\\n{MARK} %s end\\n' \"$EPOCHREALTIME\"")
    return "\n".join(parts)


@dataclass
class Section:
    label: str
    started: float
    output: str


def sections(output: str) -> list[Section]:
    """The output split at the markers: one section per block that started (the last one
    is ``end`` when the script got through)."""
    found: list[Section] = []
    for chunk in output.split(f"\n{MARK} ")[1:]:
        head, _, rest = chunk.partition("\n")
        started, _, label = head.partition(" ")
        found.append(Section(label, float(started), rest))
    return found


def our_processes(state_dir: Path) -> list[int]:
    """Processes started from the page's environment (they inherited its COVE_STATE_DIR),
    including services started in a session of their own (``cove up``'s ``cove serve``)."""
    needle = f"COVE_STATE_DIR={state_dir}\0".encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        if needle in environ:
            pids.append(int(entry))
    return pids


def describe(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return "(gone)"


def stop_processes(pids: list[int], timeout: float = 15.0) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [pid for pid in alive if Path(f"/proc/{pid}").exists() and _running(pid)]
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def clusters_in(database_url: str) -> list[tuple[str, str, str]]:
    """(uuid, name, status) of every cluster the page's database still holds."""
    engine = sqlalchemy.create_engine(database_url)
    try:
        with engine.connect() as conn:
            if not sqlalchemy.inspect(conn).has_table("clusters"):
                return []
            rows = conn.execute(sqlalchemy.text("SELECT uuid, name, status FROM clusters"))
            return [(str(u), str(n), str(s)) for u, n, s in rows]
    except sqlalchemy.exc.OperationalError:
        return []
    finally:
        engine.dispose()


def shown_in(sample: str, output: str) -> bool:
    """Whether a sample line of a page is a line of the real output; ``…`` in the sample
    stands for text that differs from run to run (uuids, ports, versions)."""
    pattern = ".*?".join(re.escape(part) for part in sample.split("…"))
    return re.search(f"^{pattern}$", output, re.MULTILINE) is not None


def failure_report(page: str, blocks: list[Block], found: list[Section], log: Path) -> str:
    by_label = {block.label: block for block in blocks}
    last = found[-1] if found else None
    if last is None:
        return f"{page}: the script stopped before its first block"
    block = by_label.get(last.label)
    lines = last.output.splitlines()
    shown = "\n".join(lines[-150:])
    service_log = ""
    if log.is_file():
        service_log = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
    source = block.text if block else ""
    return (
        f"{last.label} failed.\n--- block ---\n{source}--- its output (last 150 lines) ---\n"
        f"{shown}\n--- serve.log (last 40 lines) ---\n{service_log}"
    )


def run_page(page: str, env: dict[str, str], tmp: Path) -> None:
    blocks = doc_blocks(page)
    runnable = [block for block in blocks if not block.not_run]
    assert runnable, f"{page} has no runnable sh block"
    script = tmp / "page.sh"
    script.write_text(script_of(blocks))
    output_path = tmp / "output.log"
    state_dir = Path(env["COVE_STATE_DIR"])
    database = env.get("COVE_DB") or f"sqlite:///{state_dir / 'cove.db'}"
    started = time.monotonic()
    # Output to a file, not a pipe: services a page starts in the background keep their
    # inherited descriptors open, and the run ends when bash does.
    with output_path.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", "-euo", "pipefail", str(script)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            returncode: int | None = proc.wait(timeout=PAGE_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            returncode = None
    elapsed = time.monotonic() - started
    output = output_path.read_text(errors="replace")
    found = sections(output)

    left_clusters = clusters_in(database)
    left_processes = {pid: describe(pid) for pid in our_processes(state_dir)}
    stop_processes(list(left_processes))
    for cluster_uuid, _, _ in clusters_in(database):
        sweep_label(f"cove.cluster={cluster_uuid}")

    timings = [
        f"  {after.started - before.started:6.1f} s  {before.label}"
        for before, after in itertools.pairwise(found)
    ]
    print(f"{page}: {len(runnable)} blocks in {elapsed:.1f} s\n" + "\n".join(timings))

    log = state_dir / "serve.log"
    if returncode is None:
        pytest.fail(
            f"{page} did not finish within {PAGE_TIMEOUT:.0f} s; "
            + failure_report(page, blocks, found, log)
        )
    if returncode != 0 or not found or found[-1].label != "end":
        pytest.fail(
            f"{page} failed (exit {returncode}): " + failure_report(page, blocks, found, log)
        )

    outputs = {section.label: section.output for section in found}
    for block in runnable:
        for line in block.console:
            if line.startswith("error: "):
                assert shown_in(line, outputs[block.label]), (
                    f"{block.label}: the page shows\n{line}\nbut the block printed\n"
                    f"{outputs[block.label]}"
                )
    assert not left_clusters, f"{page} left clusters behind (swept): {left_clusters}"
    assert not left_processes, f"{page} left processes running (stopped): {left_processes}"


def test_few_blocks_are_not_run() -> None:
    skipped = [block for page in PAGES for block in doc_blocks(page) if block.not_run]
    listing = "\n".join(f"{block.label}: {block.not_run}" for block in skipped)
    assert len(skipped) <= MAX_NOT_RUN, f"too many blocks are not run:\n{listing}"


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_as_written(
    page: str,
    docker_engine: None,
    node_image: object,
    clients: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    if any("cove image build --app" in block.text for block in doc_blocks(page)):
        request.getfixturevalue("app_images")  # built before the page's time limit starts
    env = page_env(tmp_path, clients)
    if page == "production.md":
        with throwaway_database() as url:
            env["COVE_DB"] = url
            run_page(page, env, tmp_path)
    else:
        run_page(page, env, tmp_path)
