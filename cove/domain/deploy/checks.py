"""Every meaning check of a loaded definition with the values given for its variables, all
collected, so one 400 lists everything to fix: variables without a value, the graph, unknown
images, published-port clashes, config files and their templates, placement constraints.

Decisions:

- A ``secret`` variable takes no default: a default is plain text in every copy of the
  definition and of the catalog package it came from; its value is given at deploy time.
- A config file whose template reads a secret variable must be ``secret: true``: swarm
  configs are readable back by anyone with access to the swarm, secrets are not.
- Published ports go through swarm's routing mesh, so a port is taken on every node whatever
  the service's mode: two services (or two entries of one) publishing the same port and
  protocol clash, and swarm's own ports (2377, 7946, 4789) cannot be published.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from cove.domain.deploy import constraints, graph, templates
from cove.domain.deploy.definition import Definition, Generated, Service, Task, bad_character
from cove.domain.deploy.problems import Problem, join

# The swarm's own ports on every node: manager API, gossip (tcp and udp), overlay VXLAN.
SWARM_PORTS = {(2377, "tcp"), (7946, "tcp"), (7946, "udp"), (4789, "udp")}
MAX_VALUE = 65536
VALUE_INT_MAX = 2**53


def validate(
    definition: Definition,
    known_images: Callable[[str], bool],
    values: Mapping[str, Any],
) -> list[Problem]:
    """Every problem of ``definition`` deployed with ``values``; empty when it can run.
    ``known_images`` answers whether an image reference can be pulled (the registry's or
    the catalog's word); it is asked once per distinct image."""
    problems: list[Problem] = []
    if not definition.services and not definition.tasks:
        problems.append(Problem("", "defines no service and no task"))
    variables, value_problems = resolve(definition, values)
    problems += value_problems
    problems += graph.check(definition)
    problems += _images(definition, known_images)
    problems += _ports(definition)
    problems += _config_files(definition)
    problems += _templates(definition, variables, values)
    for name, service in definition.services.items():
        _, found = constraints.translate(
            service.constraints, join("services", name, "constraints"), service.mode
        )
        problems += found
    return problems


def resolve(
    definition: Definition, values: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Problem]]:
    """The variables' values (defaults, then ``values``), and the problems: values for no
    variable, values that are not scalars, variables left without a value, secret
    variables with defaults. Messages name variables, never quote values."""
    problems: list[Problem] = []
    resolved: dict[str, Any] = {}
    for name, value in values.items():
        path = join("values", name if _plain(name) else "[?]")
        if name not in definition.variables:
            problems.append(
                Problem(
                    path, f"no such variable; defined: {_listed(definition.variables) or 'none'}"
                )
            )
            continue
        bad = _bad_value(value)
        if bad:
            problems.append(Problem(path, bad))
            continue
        resolved[name] = value
    for name, variable in definition.variables.items():
        if variable.generate and not variable.secret:
            problems.append(
                Problem(
                    join("variables", name, "generate"),
                    "only a secret variable may be generated (a generated value is never "
                    "shown): add secret: true",
                )
            )
        if variable.secret and variable.default is not None:
            problems.append(
                Problem(
                    join("variables", name, "default"),
                    "a secret variable takes no default (it would be plain text in every "
                    "copy of the definition): give its value when deploying",
                )
            )
        elif name not in resolved and variable.default is not None:
            resolved[name] = variable.default
        if name not in resolved and not any(p.path.startswith(f"values.{name}") for p in problems):
            problems.append(Problem(join("variables", name), "no value given and no default"))
    return resolved, problems


def generate_secret(kind: Generated) -> str:
    """A new random value of ``kind``: a password of 32 URL-safe characters (192 bits), or
    a Fernet key (32 random bytes, URL-safe base64, as ``keystone-manage fernet_setup``
    writes them)."""
    if kind == "fernet-key":
        return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    return secrets.token_urlsafe(24)


def with_generated(
    definition: Definition,
    values: Mapping[str, Any],
    make: Callable[[Generated], str] = generate_secret,
) -> dict[str, Any]:
    """``values`` and a new value for each secret ``generate`` variable not given one."""
    filled = dict(values)
    for name, variable in definition.variables.items():
        if variable.generate and variable.secret and name not in filled:
            filled[name] = make(variable.generate)
    return filled


def _plain(name: object) -> bool:
    return isinstance(name, str) and len(name) <= 63 and name.isidentifier() and name.isascii()


def _bad_value(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return None if abs(value) <= VALUE_INT_MAX else "an integer beyond ±2^53"
    if isinstance(value, str):
        if len(value) > MAX_VALUE:
            return f"longer than {MAX_VALUE} characters"
        bad = bad_character(value, multiline=True)
        return None if bad is None else f"control character {bad} is not allowed"
    return "a value is a string, a whole number or a boolean"


def _listed(names: Mapping[str, object] | set[str]) -> str:
    return ", ".join(sorted(names))


def _workloads(definition: Definition) -> list[tuple[str, str, Service | Task]]:
    return [("services", n, s) for n, s in definition.services.items()] + [
        ("tasks", n, t) for n, t in definition.tasks.items()
    ]


def _images(definition: Definition, known_images: Callable[[str], bool]) -> list[Problem]:
    answers: dict[str, bool] = {}
    problems = []
    for section, name, workload in _workloads(definition):
        image = workload.image
        if image not in answers:
            answers[image] = bool(known_images(image))
        if not answers[image]:
            problems.append(Problem(join(section, name, "image"), f"image '{image}' is not known"))
    return problems


def _ports(definition: Definition) -> list[Problem]:
    problems = []
    published: dict[tuple[int, str], str] = {}
    for name, service in definition.services.items():
        inside: dict[tuple[int, str], int] = {}
        for index, port in enumerate(service.ports):
            path = join("services", name, "ports", index)
            key = (port.container, port.protocol)
            if key in inside:
                problems.append(
                    Problem(join(path, "container"), f"repeats ports[{inside[key]}].container")
                )
            inside.setdefault(key, index)
            if port.published is None:
                continue
            outside = (port.published, port.protocol)
            where = join(path, "published")
            if outside in SWARM_PORTS:
                problems.append(
                    Problem(where, f"port {port.published}/{port.protocol} is swarm's own")
                )
            elif outside in published:
                problems.append(
                    Problem(
                        where,
                        f"port {port.published}/{port.protocol} is already published by "
                        f"{published[outside]}",
                    )
                )
            else:
                published[outside] = path
    return problems


def _config_files(definition: Definition) -> list[Problem]:
    problems = []
    secret_names = {n for n, v in definition.variables.items() if v.secret}
    reads: dict[str, set[str]] = {}
    for name, text in definition.templates.items():
        try:
            reads[name] = templates.parse(text)[1]
        except templates.RenderError:
            reads[name] = set()  # reported with the template
    for section, name, workload in _workloads(definition):
        dests: dict[str, int] = {}
        for index, config in enumerate(workload.config_files):
            path = join(section, name, "config_files", index)
            if config.template not in definition.templates:
                problems.append(
                    Problem(
                        join(path, "template"),
                        f"template '{config.template}' is not defined; "
                        f"defined: {_listed(definition.templates) or 'none'}",
                    )
                )
            elif not config.secret and reads[config.template] & secret_names:
                secrets = ", ".join(sorted(reads[config.template] & secret_names))
                problems.append(
                    Problem(
                        join(path, "secret"),
                        f"template '{config.template}' reads secret variable(s) {secrets}: "
                        "deliver it with secret: true",
                    )
                )
            if config.dest in dests:
                problems.append(
                    Problem(join(path, "dest"), f"repeats config_files[{dests[config.dest]}].dest")
                )
            dests.setdefault(config.dest, index)
    return problems


def _users(definition: Definition) -> dict[str, list[str]]:
    users: dict[str, list[str]] = {}
    for section, name, workload in _workloads(definition):
        for index, config in enumerate(workload.config_files):
            users.setdefault(config.template, []).append(join(section, name, "config_files", index))
    return users


def _templates(
    definition: Definition, variables: Mapping[str, Any], values: Mapping[str, Any]
) -> list[Problem]:
    """Each template parsed and rendered; one with a read of a variable left without a value
    is not rendered (that variable's own problem says why)."""
    problems = []
    users = _users(definition)
    secrets = [
        str(values[n])
        for n, v in definition.variables.items()
        if v.secret and n in values and isinstance(values[n], str | int)
    ]
    for name, text in definition.templates.items():
        path = join("templates", name)
        used = f" (used by {', '.join(users[name])})" if name in users else ""
        try:
            _, reads = templates.parse(text)
            unknown = reads - definition.variables.keys()
            if unknown:
                problems.append(
                    Problem(
                        path,
                        f"reads {', '.join(repr(u) for u in sorted(unknown))}, which "
                        f"{'is not a variable' if len(unknown) == 1 else 'are not variables'}; "
                        f"variables: {_listed(definition.variables) or 'none'}{used}",
                    )
                )
                continue
            if reads - variables.keys():
                continue
            templates.render(text, variables, secrets)
        except templates.RenderError as exc:
            problems.append(Problem(path, f"{exc}{used}"))
    return problems
