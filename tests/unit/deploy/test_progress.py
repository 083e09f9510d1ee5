"""The event line for a change of a deployment's progress: only what changed, in order,
details bounded, secret values masked whatever a detail echoes."""

from __future__ import annotations

from cove.domain.deploy.progress import (
    MASK,
    MAX_DETAIL,
    changes,
    event_level,
    event_message,
    mask,
)

BEFORE = {
    "cove-store": {"state": "ready", "detail": "1/1 running and healthy"},
    "db": {"state": "starting", "detail": "0/1 running and healthy"},
}


def test_only_changed_and_new_elements_are_told_in_order() -> None:
    after = {
        "cove-store": BEFORE["cove-store"],
        "db": {"state": "ready", "detail": "1/1 running and healthy"},
        "seed": {"state": "waiting", "detail": ""},
        "migrate": {"state": "done", "detail": "done"},
    }
    assert changes(BEFORE, after) == [
        "db: ready (1/1 running and healthy)",
        "seed: waiting",
        "migrate: done",
    ]
    assert event_message(BEFORE, BEFORE) is None
    assert event_message(BEFORE, {"cove-store": BEFORE["cove-store"]}) is None  # db dropped


def test_a_long_detail_is_cut() -> None:
    after = {"db": {"state": "failed", "detail": "x" * 1000}}
    [line] = changes({}, after)
    assert len(line) == len("db: failed ()") + MAX_DETAIL and line.endswith("…)")


def test_secret_values_are_masked_longest_first() -> None:
    after = {"seed": {"state": "failed", "detail": "exit 1: password=hunter2hunter2 hunter2"}}
    message = event_message({}, after, ["hunter2", "hunter2hunter2", ""])
    assert message == f"seed: failed (exit 1: password={MASK} {MASK})"
    assert mask("port 8080", [8080]) == f"port {MASK}"


def test_a_change_into_trouble_is_a_warning_once() -> None:
    failing = {**BEFORE, "db": {"state": "failing", "detail": "1 container(s) ended (exit 1)"}}
    assert event_level(BEFORE, failing) == "warning"
    assert event_level(failing, {**failing, "seed": {"state": "done", "detail": ""}}) == "info"
    assert event_level({}, {"seed": {"state": "failed", "detail": "exit 3"}}) == "warning"
