"""What an upgrade from one definition to another does, in the order to do it: workloads
removed first (dependents before what they depend on, so nothing is left requiring a
workload that is gone), then added and changed ones wave by wave in the new definition's
dependency order (a changed database before the API that requires it). The runtime carries
the plan out; this only decides it.

A change lists the fields that differ; ``config`` stands for the config files and the text
of the templates they use. New variable values change rendered files without changing the
definition: the runtime compares rendered contents for those.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cove.domain.deploy import graph
from cove.domain.deploy.definition import Definition, Service, Task

Action = Literal["add", "change", "remove"]


@dataclass(frozen=True)
class Step:
    action: Action
    kind: Literal["service", "task"]
    name: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class UpgradePlan:
    steps: tuple[Step, ...]

    def names(self, action: Action) -> list[str]:
        return [step.name for step in self.steps if step.action == action]


def _kind(workload: Service | Task) -> Literal["service", "task"]:
    return "service" if isinstance(workload, Service) else "task"


def _changed(
    old: Service | Task, new: Service | Task, old_def: Definition, new_def: Definition
) -> tuple[str, ...]:
    fields = [
        name
        for name in type(new).model_fields
        if name != "config_files" and getattr(old, name) != getattr(new, name)
    ]
    old_texts = [old_def.templates.get(c.template) for c in old.config_files]
    new_texts = [new_def.templates.get(c.template) for c in new.config_files]
    if old.config_files != new.config_files or old_texts != new_texts:
        fields.append("config")
    return tuple(fields)


def upgrade_plan(old: Definition, new: Definition) -> UpgradePlan:
    """The steps from ``old`` to ``new``. A workload that turns from service into task (or
    back) is removed and added.

    Raises:
        DefinitionError: either definition's graph has problems, so no order exists.
    """
    steps: list[Step] = []
    for wave in reversed(graph.waves(old)):
        for name in reversed(wave):
            before = old.workload(name)
            after = new.workload(name)
            assert before is not None
            if after is None or _kind(after) != _kind(before):
                steps.append(Step("remove", _kind(before), name))
    for wave in graph.waves(new):
        for name in wave:
            after = new.workload(name)
            before = old.workload(name)
            assert after is not None
            if before is None or _kind(after) != _kind(before):
                steps.append(Step("add", _kind(after), name))
                continue
            fields = _changed(before, after, old, new)
            if fields:
                steps.append(Step("change", _kind(after), name, fields))
    return UpgradePlan(tuple(steps))
