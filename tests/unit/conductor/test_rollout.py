"""Where a changed element stands on its new spec, from what the orchestrator reports: only
instances made from the new spec count, a rollout still going is not converged (whatever
stale status it shows), a rollback is a failure that says why, a task fails out of retries."""

from __future__ import annotations

import pytest

from cove.conductor.rollout import Verdict, verdict
from cove.drivers.apphost import (
    ELEMENT_LABEL,
    SPEC_LABEL,
    HealthSpec,
    Instance,
    ServiceSpec,
    ServiceState,
)

NEW, OLD = "new", "old"
CHECK = HealthSpec(("CMD", "true"))


def spec(mode: str = "replicated", replicas: int = 2, health: HealthSpec | None = CHECK,
         retries: int | None = None) -> ServiceSpec:  # fmt: skip
    return ServiceSpec(
        "d-db", "img", {ELEMENT_LABEL: "db", SPEC_LABEL: NEW}, mode=mode,  # type: ignore[arg-type]
        replicas=replicas, health=health, restart_attempts=retries,
    )  # fmt: skip


def up(at: str, healthy: bool | None = True) -> Instance:
    return Instance("n0", "running", "running", "started", healthy=healthy, spec=at)


def gone(at: str, state: str = "failed", message: str = "task: non-zero exit (1)") -> Instance:
    return Instance("n0", state, "shutdown", message, exit_code=1, spec=at)


def state(labels: str, *instances: Instance, updating: str | None = None,
          mode: str = "replicated") -> ServiceState:  # fmt: skip
    return ServiceState("d-db", {SPEC_LABEL: labels}, mode, 2, instances, updating)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        # The old instances still run: they do not count for the new version.
        (state(NEW, up(OLD), up(OLD), up(NEW), updating="updating"),
         Verdict("rolling", "1/2 running and healthy at the new version")),
        # All new instances run, but swarm still watches them: not yet.
        (state(NEW, up(NEW), up(NEW), updating="updating"),
         Verdict("rolling", "2/2 running and healthy at the new version")),
        (state(NEW, up(NEW), up(NEW)),
         Verdict("converged", "2/2 running and healthy at the new version")),
        # A stale status of an earlier rollback, with the new spec in place and running.
        (state(NEW, up(NEW), up(NEW), updating="rollback_completed"),
         Verdict("converged", "2/2 running and healthy at the new version")),
        (state(NEW, up(NEW), up(NEW, healthy=None)),
         Verdict("rolling", "1/2 running and healthy at the new version")),
        # Rolled back: the old spec runs again; why, from the new instances.
        (state(OLD, up(OLD), up(OLD), gone(NEW), gone(NEW, "shutdown", "shutdown"),
               updating="rollback_completed"),
         Verdict("failed", "task: non-zero exit (1); it never passed its health check")),
        (state(OLD, up(OLD), gone(NEW, "shutdown", "shutdown"), updating="rollback_paused"),
         Verdict("failed", "it never passed its health check")),
        (state(OLD, up(OLD), updating="rollback_started"), Verdict("rolling", "rolling back")),
        (state(NEW, up(NEW), gone(NEW), updating="paused"),
         Verdict("failed", "task: non-zero exit (1)")),
        (None, Verdict("rolling", "being made")),
    ],
)  # fmt: skip
def test_a_service_converges_only_at_its_new_spec(
    found: ServiceState | None, expected: Verdict
) -> None:
    assert verdict(spec(), found) == expected


def test_a_task_converges_once_done_at_its_new_spec_and_fails_out_of_retries() -> None:
    task = spec(mode="job", replicas=1, health=None, retries=1)
    done = Instance("n0", "complete", "complete", "finished", 0, spec=OLD)
    assert verdict(task, state(NEW, done, mode="job")).state == "rolling"  # the old run
    assert verdict(task, state(NEW, gone(NEW), mode="job")).state == "rolling"  # a retry left
    failed = verdict(task, state(NEW, gone(NEW), gone(NEW), mode="job"))
    assert failed == Verdict("failed", "failed 2 time(s) (exit 1): task: non-zero exit (1)")
    fresh = Instance("n0", "complete", "complete", "finished", 0, spec=NEW)
    assert verdict(task, state(NEW, gone(NEW), fresh, mode="job")) == Verdict("converged", "done")
