"""Wake-ups across processes on SQLite: how long a cluster operation takes, seen by a client,
with ``cove api`` and ``cove conductor`` as two processes on one SQLite file, against the
same operation in one ``cove serve`` process (where the wake-ups are in-process calls).

Both run with cove's default settings (the conductor's fallback scan every 5 s, the long
poll's 30 s) and the test suite's instant driver (every operation completes at once), so what
is measured is cove's own path: the API's commit, the conductor's wake-up, its run, its
commit, the long-polling client's wake-up. Each round: ``POST /v1/clusters``, then the
events long poll until CREATE_COMPLETE; ``POST …/actions/resize`` until UPDATE_COMPLETE;
``DELETE`` until the cluster is gone (404). Modes alternate round by round.

    .venv/bin/python bench/wakeup.py [--rounds 20] [--output FILE]

Writes bench/results/wakeup.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.server import conductor, serve  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "wakeup.md"
HEADERS = {"OpenStack-API-Version": "container-infra latest"}
MODES = ("one process (cove serve)", "cove api + cove conductor")
OPERATIONS = ("create", "resize", "delete")


@contextmanager
def cove(workdir: Path, split: bool) -> Iterator[httpx.Client]:
    with ExitStack() as stack:
        if split:
            db = f"sqlite:///{workdir / 'cove.db'}"
            url = stack.enter_context(serve(workdir, db=db, command="api"))
            stack.enter_context(conductor(workdir, db))
        else:
            url = stack.enter_context(serve(workdir))
        client = stack.enter_context(httpx.Client(base_url=url, headers=HEADERS, timeout=60))
        image = {"name": "instant-image", "os_distro": "instant", "public": True}
        assert client.post("/v1/images", json=image).status_code in (200, 201)
        template = {
            "name": "tpl", "coe": "swarm-mode", "image_id": "instant-image",
            "external_network_id": "public", "flavor_id": "m1.small",
        }  # fmt: skip
        assert client.post("/v1/clustertemplates", json=template).status_code == 201
        yield client


def until(client: httpx.Client, uuid: str, done: Callable[[httpx.Response], bool]) -> None:
    """Long-poll the cluster's events until ``done`` holds for its state."""
    since = 0
    while True:
        resp = client.get(f"/v1/clusters/{uuid}/events", params={"since": since, "wait": 30})
        if done(resp):
            return
        events = resp.json()["events"]
        since = events[-1]["id"] if events else since


def status_is(status: str) -> Callable[[httpx.Response], bool]:
    return lambda resp: resp.status_code == 200 and resp.json()["status"] == status


def one_round(client: httpx.Client, name: str) -> dict[str, float]:
    timings: dict[str, float] = {}
    start = time.perf_counter()
    resp = client.post("/v1/clusters", json={"name": name, "cluster_template_id": "tpl"})
    uuid = resp.json()["uuid"]
    until(client, uuid, status_is("CREATE_COMPLETE"))
    timings["create"] = time.perf_counter() - start
    start = time.perf_counter()
    client.post(f"/v1/clusters/{uuid}/actions/resize", json={"node_count": 2})
    until(client, uuid, status_is("UPDATE_COMPLETE"))
    timings["resize"] = time.perf_counter() - start
    start = time.perf_counter()
    client.delete(f"/v1/clusters/{uuid}")
    until(client, uuid, lambda resp: resp.status_code == 404)
    timings["delete"] = time.perf_counter() - start
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    begun = dt.datetime.now(dt.UTC)
    samples: dict[tuple[str, str], list[float]] = {(m, o): [] for m in MODES for o in OPERATIONS}
    loads = [os.getloadavg()[0]]
    with (
        tempfile.TemporaryDirectory(prefix="cove-bench-wakeup-") as tmp,
        cove(Path(tmp) / "one", split=False) as one,
        cove(Path(tmp) / "two", split=True) as two,
    ):
        for i in range(args.rounds):
            for mode, client in zip(MODES, (one, two), strict=True):
                for op, seconds in one_round(client, f"c{i}").items():
                    samples[mode, op].append(seconds)
            loads.append(os.getloadavg()[0])
    lines = [
        "# Wake-ups across processes on SQLite",
        "",
        f"Run {begun:%Y-%m-%d %H:%M} UTC: `bench/wakeup.py --rounds {args.rounds}`, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs; 1-minute load average "
        f"{min(loads):.2f} to {max(loads):.2f} during the run. Default settings (fallback scan "
        "5 s, long poll up to 30 s), the instant test driver; time from the request to the "
        "client's long poll seeing the outcome. Modes alternate round by round.",
        "",
        "| operation | one process p50 ms | one process max ms | api + conductor p50 ms "
        "| api + conductor max ms | ratio p50 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for op in OPERATIONS:
        a, b = samples[MODES[0], op], samples[MODES[1], op]
        ma, mb = statistics.median(a) * 1000, statistics.median(b) * 1000
        lines.append(
            f"| {op} | {ma:.1f} | {max(a) * 1000:.1f} | {mb:.1f} | {max(b) * 1000:.1f} "
            f"| {mb / ma:.2f}x |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
