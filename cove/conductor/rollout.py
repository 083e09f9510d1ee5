"""A deployment's update, carried out: what differs from what runs (by SPEC_LABEL) changes in
dependency order (``cove.domain.deploy.rollout``), each element once everything it requires
has converged on its new spec, independent ones together; unchanged elements are never
touched; elements the definition dropped go first.

Each look observes the orchestrator, starts what may start, records it (``change:<name>``,
so a resumed operation does not redo it), and pauses the operation while something rolls
out; it never sleeps. A service the orchestrator rolled back (its new instances failed their
health check or exited) fails the update, naming it, why and its last log lines (secret
values masked); what requires it stays on its previous spec, and the previous version runs.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cove.deploy.specs import STORE, Identity, Plan
from cove.domain.deploy import rollout
from cove.domain.deploy.definition import Definition
from cove.drivers.apphost import ELEMENT_LABEL, SPEC_LABEL, AppHost, ServiceSpec, ServiceState
from cove.drivers.base import StepFailed
from cove.drivers.fleet import parallel
from cove.failures import Pause
from cove.steps import Steps

LOOK_EVERY_S = 1.0
LOG_LINES = 5
# The orchestrator gave the new spec up: swarm rolled it back (or paused the rollout).
GAVE_UP = frozenset({"rollback_completed", "rollback_paused", "paused"})
MASK = "<secret>"  # as the deployment's progress shows a secret a program printed
DONE = frozenset({"ready", "done"})  # a service's and a task's progress when converged

Progress = dict[str, Any]
ProgressOf = Callable[[Plan, Mapping[str, ServiceState]], Progress]


@dataclass(frozen=True)
class Verdict:
    """Where a changed element stands on its new spec."""

    state: Literal["converged", "rolling", "failed"]
    detail: str


def run(
    host: AppHost,
    made: Plan,
    who: Identity,
    definition: Definition,
    steps: Steps,
    *,
    progress_of: ProgressOf,
    record: Callable[[Progress], None],
    event: Callable[[str], None],
    secrets: Collection[str] = (),
) -> Progress:
    """Carry the update one look further; the progress once every change converged.

    Raises:
        Pause: something rolls out or waits for what it requires.
        StepFailed: a service was rolled back or a task used up its retries.
    """
    specs = {STORE: made.store, **made.services, **made.tasks}
    requires = rollout.requirements(definition, implicit=[STORE])
    changing: list[str] = steps.run("plan", lambda: _decide(host, made, who, specs))["change"]
    while True:
        states = _observe(host, who)
        progress = progress_of(made, states)
        started = [n for n in changing if steps.done(f"change:{n}")]
        verdicts = {n: verdict(specs[n], states.get(n)) for n in started}
        converged = {
            n for n in specs if n not in changing and progress.get(n, {}).get("state") in DONE
        } | {n for n, v in verdicts.items() if v.state == "converged"}
        failed = next((n for n, v in verdicts.items() if v.state == "failed"), None)
        if failed is not None:
            reason = _reason(host, specs[failed], failed, verdicts[failed], requires, changing)
            record(_shown(progress, states, requires, changing, verdicts, converged, failed))
            raise StepFailed(_mask(reason, secrets))
        stuck = _stuck(progress, requires, changing, started)
        if stuck is not None:
            raise StepFailed(_mask(stuck, secrets))
        now = rollout.startable(requires, changing, converged, started)
        if not now:
            break
        event(f"Updating {', '.join(now)}.")
        # Together (each is one call to the orchestrator); recorded one by one afterwards
        # (one recorder, one row): a crash in between only repeats a call that converges.
        parallel(lambda name: host.ensure_service(specs[name]), now)
        for name in now:
            steps.mark(f"change:{name}")
    record(_shown(progress, states, requires, changing, verdicts, converged, None))
    waiting = [n for n in changing if n not in converged]
    if waiting:
        raise Pause(f"Updating: waiting for {', '.join(waiting)}.", delay=LOOK_EVERY_S)
    return progress


def verdict(spec: ServiceSpec, state: ServiceState | None) -> Verdict:
    """A changed element's standing, from the instances that run its new spec only."""
    wanted_spec = spec.labels[SPEC_LABEL]
    if state is None:
        return Verdict("rolling", "being made")
    if state.labels.get(SPEC_LABEL) != wanted_spec:
        if state.updating in GAVE_UP:
            return Verdict("failed", _why(spec, state) or "its new version failed")
        if state.updating == "rollback_started":
            return Verdict("rolling", "rolling back")
        return Verdict("rolling", "being changed")
    fresh = [i for i in state.instances if i.spec == wanted_spec]
    if spec.mode == "job":
        if any(i.state == "complete" for i in fresh):
            return Verdict("converged", "done")
        failures = [i for i in fresh if i.state in ("failed", "rejected")]
        if len(failures) >= (spec.restart_attempts or 0) + 1:  # as a deploy counts them
            code = f" (exit {failures[-1].exit_code})" if failures[-1].exit_code is not None else ""
            return Verdict("failed", f"failed {len(failures)} time(s){code}: {_why(spec, state)}")
        return Verdict("rolling", "running")
    if state.updating == "paused":
        return Verdict("failed", _why(spec, state) or "its rollout was paused")
    wanted = spec.replicas if spec.mode == "replicated" else max(state.wanted, 1)
    up = sum(
        1
        for i in fresh
        if i.state == "running" and i.desired == "running" and (spec.health is None or i.healthy)
    )
    checked = " and healthy" if spec.health else ""
    if up >= wanted and state.updating not in ("updating", "rollback_started"):
        return Verdict("converged", f"{up}/{wanted} running{checked} at the new version")
    return Verdict("rolling", f"{up}/{wanted} running{checked} at the new version")


def _decide(
    host: AppHost, made: Plan, who: Identity, specs: Mapping[str, ServiceSpec]
) -> dict[str, Any]:
    """Which elements change (recorded: a resumed update carries on with the same plan), and
    the dropped ones removed."""
    host.ensure_network(who.network, who.labels)
    host.ensure_images(made.images)
    states = _observe(host, who)
    change = sorted(
        name
        for name, spec in specs.items()
        if name not in states or states[name].labels.get(SPEC_LABEL) != spec.labels[SPEC_LABEL]
    )
    gone = sorted(name for name in states if name not in specs)
    for name in gone:
        host.remove({**who.labels, ELEMENT_LABEL: name})
    return {"change": change, "keep": sorted(set(specs) - set(change)), "remove": gone}


def _observe(host: AppHost, who: Identity) -> dict[str, ServiceState]:
    return {s.labels.get(ELEMENT_LABEL, ""): s for s in host.services(who.labels)}


def _why(spec: ServiceSpec, state: ServiceState) -> str:
    """Why the new spec's instances did not hold: the orchestrator's word on the newest one
    that failed, and a health check never passed."""
    wanted = spec.labels[SPEC_LABEL]
    fresh = [i for i in state.instances if i.spec == wanted]
    # A task the rollback stopped says just "shutdown": nothing a user can act on.
    said = [i.message for i in fresh if i.state in ("failed", "rejected") and i.message]
    why = said[-1] if said else ""
    if spec.mode != "job" and spec.health is not None and not any(i.healthy for i in fresh):
        why = "; ".join(filter(None, [why, "it never passed its health check"]))
    return why


def _reason(
    host: AppHost,
    spec: ServiceSpec,
    name: str,
    found: Verdict,
    requires: rollout.Requires,
    changing: Collection[str],
) -> str:
    lines = host.logs(spec.name, LOG_LINES)
    tail = f" Last lines: {' | '.join(lines)}" if lines else ""
    left = [d for d in rollout.dependants(requires, name) if d in changing]
    kept = f"; {', '.join(left)} left on the previous version" if left else ""
    if spec.mode == "job":
        return f"Update failed: task {name} failed ({found.detail}){kept}.{tail}"
    return (
        f"Update failed: service {name} was rolled back to its previous version, the new one "
        f"failed ({found.detail}){kept}.{tail}"
    )


def _stuck(
    progress: Progress,
    requires: rollout.Requires,
    changing: Collection[str],
    started: Collection[str],
) -> str | None:
    """An unchanged element that failed, which a change waits for: it would wait forever."""
    for name in sorted(set(changing) - set(started)):
        for need in rollout.waiting_on(requires, name, ()):
            found = progress.get(need, {})
            if need not in changing and found.get("state") in ("failed", "failing"):
                return (
                    f"Update failed: {name} requires {need}, which is unchanged and failed "
                    f"({found.get('detail')}); change {need} too."
                )
    return None


_OLD = "runs its previous version"


def _previous(state: ServiceState | None, why: str) -> dict[str, str]:
    """An element left as it runs (its previous version), and why."""
    if state is None:
        return {"state": "waiting", "detail": f"{why}; not made"}
    if state.mode == "job":
        return {"state": "done" if state.completed else "waiting", "detail": f"{why}; {_OLD}"}
    ready = state.running >= max(state.wanted, 1)
    return {"state": "ready" if ready else "starting", "detail": f"{why}; {_OLD}"}


def _shown(
    progress: Progress,
    states: Mapping[str, ServiceState],
    requires: rollout.Requires,
    changing: Collection[str],
    verdicts: Mapping[str, Verdict],
    converged: Collection[str],
    failed: str | None,
) -> Progress:
    """``progress`` (what runs) with where each change stands."""
    out = dict(progress)
    blocked = set(rollout.dependants(requires, failed)) if failed else set()
    for name in changing:
        found = verdicts.get(name)
        if found is not None and found.state == "converged":
            continue
        if found is not None:
            state = "failed" if found.state == "failed" else "updating"
            out[name] = {"state": state, "detail": found.detail}
        elif name in blocked:
            out[name] = _previous(states.get(name), f"not updated: {failed} failed")
        else:
            needs = ", ".join(rollout.waiting_on(requires, name, converged))
            out[name] = {"state": "waiting", "detail": f"waits for {needs}"}
    return out


def _mask(text: str, secrets: Collection[str]) -> str:
    for value in sorted(secrets, key=len, reverse=True):
        if value:
            text = text.replace(value, MASK)
    return text
