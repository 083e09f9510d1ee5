"""Marathon placement constraints (``[field, operator, value?]``, as Kolla-on-Marathon wrote
them) mapped onto what swarm mode can express: placement constraints (``node.hostname==x``,
``node.labels.rack!=r1``), spread preferences and a maximum of replicas per node.

Swarm has no regular expressions and no per-attribute uniqueness, so what it cannot honour
is refused, naming the constraint, rather than silently placed somewhere else:

=========================  ==========================================================
``[hostname, UNIQUE]``     ``max_replicas_per_node: 1``
``[f, CLUSTER, v]``        ``node.hostname==v`` (hostname) or ``node.labels.f==v``
``[f, LIKE, v]``           ``==`` when v is a literal (``\\.`` for a dot), else refused
``[f, UNLIKE, v]``         ``!=`` likewise
``[f, GROUP_BY]``          preference ``spread=node.labels.f``; hostname: none, spreading
                           over nodes is what swarm does anyway (said in ``notes``)
``[hostname, MAX_PER, n]`` ``max_replicas_per_node: n``
``[role, CLUSTER, manager]`` ``node.role==manager`` (swarm's node role, manager or worker;
                           LIKE/UNLIKE likewise): cove's nodes carry no labels of their own
=========================  ==========================================================
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from cove.domain.deploy.problems import Problem, join

OPERATORS = ("UNIQUE", "CLUSTER", "LIKE", "UNLIKE", "GROUP_BY", "MAX_PER")
# A node label name as Docker takes it, and a value safe to write after == in a constraint.
FIELD_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9])?$")
VALUE_RE = re.compile(r"^[A-Za-z0-9_.:/@+-]{1,255}$")
REGEX_META = set(".^$*+?()[]{}|\\")


@dataclass(frozen=True)
class Placement:
    """What a service's constraints become in its swarm service spec."""

    constraints: tuple[str, ...] = ()
    preferences: tuple[str, ...] = ()
    max_replicas_per_node: int | None = None
    notes: tuple[str, ...] = field(default=())


ROLES = ("manager", "worker")


def _node_attribute(name: str) -> str:
    if name in ("hostname", "role"):
        return f"node.{name}"
    return f"node.labels.{name}"


def _bad_role(name: str, value: str, where: str, problems: list[Problem]) -> bool:
    if name == "role" and value not in ROLES:
        problems.append(Problem(join(where, 2), f"a node's role is one of: {', '.join(ROLES)}"))
        return True
    return False


def _literal(pattern: str) -> str | None:
    """The one string a Marathon regex matches, or ``None`` when it matches several:
    Marathon matches the whole value, so a pattern without metacharacters (escaped ones
    count as literal) matches exactly itself."""
    out = []
    escaped = False
    for char in pattern:
        if escaped:
            if char.isalnum():  # \d, \w, \s ...: classes, not literals
                return None
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in REGEX_META:
            return None
        else:
            out.append(char)
    return None if escaped else "".join(out)


def translate(
    constraints: Sequence[Sequence[str]],
    path: str,
    mode: Literal["replicated", "global"] = "replicated",
) -> tuple[Placement, list[Problem]]:
    """The swarm placement of ``constraints`` (found at ``path``, e.g.
    ``services.db.constraints``) for a service in ``mode``, and a problem for each constraint
    swarm cannot express."""
    found: list[str] = []
    preferences: list[str] = []
    notes: list[str] = []
    per_node: int | None = None
    problems: list[Problem] = []
    for index, constraint in enumerate(constraints):
        where = join(path, index)
        name, operator = constraint[0], constraint[1]
        value = constraint[2] if len(constraint) > 2 else None
        if operator not in OPERATORS:
            problems.append(
                Problem(
                    join(where, 1),
                    f"unknown operator {operator[:40]!r}; known: {', '.join(OPERATORS)}",
                )
            )
            continue
        if not FIELD_RE.match(name):
            problems.append(
                Problem(
                    join(where, 0), "not a node attribute: 'hostname', 'role' or a node label name"
                )
            )
            continue
        takes_value = operator in ("CLUSTER", "LIKE", "UNLIKE", "MAX_PER")
        if takes_value and value is None:
            problems.append(Problem(where, f"{operator} needs a value"))
            continue
        if operator == "UNIQUE" and value is not None:
            problems.append(Problem(join(where, 2), "UNIQUE takes no value"))
            continue
        if operator in ("UNIQUE", "MAX_PER"):
            limit = _per_node_limit(operator, name, value, where, problems)
            if limit is None:
                continue
            if mode == "global":
                notes.append(f"{where}: a global service runs one instance per node already")
            else:
                per_node = limit if per_node is None else min(per_node, limit)
        elif operator == "CLUSTER":
            assert value is not None
            if not VALUE_RE.match(value):
                problems.append(Problem(join(where, 2), _bad_value()))
                continue
            if _bad_role(name, value, where, problems):
                continue
            found.append(f"{_node_attribute(name)}=={value}")
        elif operator in ("LIKE", "UNLIKE"):
            assert value is not None
            literal = _literal(value)
            if literal is None:
                problems.append(
                    Problem(
                        join(where, 2),
                        "a regular expression: swarm constraints match exact values only "
                        "(escape a literal dot as \\.)",
                    )
                )
                continue
            if not VALUE_RE.match(literal):
                problems.append(Problem(join(where, 2), _bad_value()))
                continue
            if _bad_role(name, literal, where, problems):
                continue
            equals = "==" if operator == "LIKE" else "!="
            found.append(f"{_node_attribute(name)}{equals}{literal}")
        else:  # GROUP_BY; a value (Marathon's expected number of groups) changes nothing here
            if name == "hostname":
                notes.append(f"{where}: swarm spreads replicas over nodes by default")
            elif name == "role":
                problems.append(
                    Problem(join(where, 0), "swarm spreads over node labels only, not the role")
                )
            else:
                preferences.append(f"spread=node.labels.{name}")
    placement = Placement(
        constraints=tuple(dict.fromkeys(found)),
        preferences=tuple(dict.fromkeys(preferences)),
        max_replicas_per_node=per_node,
        notes=tuple(notes),
    )
    return placement, problems


def _bad_value() -> str:
    return "not a node attribute value: letters, digits and . _ - : / @ +"


def _per_node_limit(
    operator: str, name: str, value: str | None, where: str, problems: list[Problem]
) -> int | None:
    if name != "hostname":
        problems.append(
            Problem(
                join(where, 0),
                f"swarm limits replicas per node only: {operator} works on hostname, "
                "not on a node label",
            )
        )
        return None
    if operator == "UNIQUE":
        return 1
    if value is None or not value.isascii() or not value.isdigit() or not 1 <= int(value) <= 100:
        problems.append(Problem(join(where, 2), "MAX_PER takes a whole number from 1 to 100"))
        return None
    return int(value)
