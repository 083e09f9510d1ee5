"""The shape of a deployment definition: services, one-time tasks, config-file templates and
variables, as strict pydantic models. Unknown fields are refused (a misspelt ``replica``
would otherwise deploy one replica silently), names are DNS-label-like so they can become
swarm service names, every string is free of control characters and NUL, every number and
list is bounded, so nothing a definition holds can surprise the layers below.

This module checks each element alone; how elements fit together (references, cycles,
ports, templates, placement) is ``checks``'s. ``load`` turns YAML text or a mapping into a
``Definition`` or raises ``DefinitionError`` naming every element at fault.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from cove.domain.deploy import _yaml
from cove.domain.deploy.problems import DefinitionError, Problem

NAME_RE = r"^[a-z][a-z0-9-]{0,62}$"
# Variables are read by Jinja2 templates as plain names, so no '-' (it would be a minus).
VARIABLE_RE = r"^[a-z][a-z0-9_]{0,62}$"
ENV_NAME_RE = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
# A Docker image reference: [registry[:port]/]path[:tag][@sha256:digest].
IMAGE_RE = (
    r"^(?:[a-zA-Z0-9][a-zA-Z0-9.-]*(?::[0-9]{1,5})?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)
OWNER_RE = r"^(?:[a-z_][a-z0-9_-]{0,31}|[0-9]{1,10})(?::(?:[a-z_][a-z0-9_-]{0,31}|[0-9]{1,10}))?$"
PERM_RE = r"^0?[0-7]{3}$"
# What the JSON Schema says of every string; the validators below say it in words.
NO_CONTROL_RE = r"^[^\u0000-\u001f\u007f-\u009f]*$"
MULTILINE_RE = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"
# Jinja2's own words cannot name a variable: ``{{ none }}`` is the constant, not the variable.
JINJA_WORDS = frozenset(
    [
        "and",
        "as",
        "block",
        "else",
        "endfor",
        "endif",
        "false",
        "for",
        "if",
        "import",
        "in",
        "include",
        "is",
        "loop",
        "macro",
        "none",
        "not",
        "or",
        "recursive",
        "self",
        "set",
        "true",
        "with",
        "without",
    ]
)

MAX_DEPTH = 32
MAX_PROBLEMS = 200


def bad_character(value: str, multiline: bool) -> str | None:
    """``U+XXXX`` of the first control character, NUL or lone surrogate (no database stores
    one) in ``value``; tab and line breaks pass in ``multiline`` text. ``None`` if clean."""
    for char in value:
        if multiline and char in "\t\n\r":
            continue
        if unicodedata.category(char) in ("Cc", "Cs"):
            return f"U+{ord(char):04X}"
    return None


def _single_line(value: str) -> str:
    bad = bad_character(value, multiline=False)
    if bad:
        raise ValueError(f"control character {bad} is not allowed")
    return value


def _multiline(value: str) -> str:
    bad = bad_character(value, multiline=True)
    if bad:
        raise ValueError(f"control character {bad} is not allowed")
    return value


def _matching(pattern: str, what: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise ValueError(f"not {what}")
        return value

    return AfterValidator(check)


def _not_jinja_word(value: str) -> str:
    if value in JINJA_WORDS:
        raise ValueError(f"'{value}' is a Jinja2 word and cannot name a variable")
    return value


def _absolute_path(value: str) -> str:
    if not value.startswith("/") or value == "/":
        raise ValueError("not an absolute path below /")
    if ".." in value.split("/"):
        raise ValueError("a path may not contain '..'")
    return value


def _quoted_mode(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f"quote the mode ('0640'): YAML reads 0640 as the number {value}")
    return value


def _text(max_length: int, pattern: str = NO_CONTROL_RE) -> Any:
    return Field(max_length=max_length, json_schema_extra={"pattern": pattern})


Text = Annotated[str, _text(4096), AfterValidator(_single_line)]
ShortText = Annotated[str, _text(255), AfterValidator(_single_line)]
Description = Annotated[str, _text(4096, MULTILINE_RE), AfterValidator(_multiline)]
TemplateText = Annotated[str, _text(65536, MULTILINE_RE), AfterValidator(_multiline)]
Name = Annotated[
    str,
    Field(max_length=63, json_schema_extra={"pattern": NAME_RE}),
    _matching(NAME_RE, "a name: 1 to 63 lowercase letters, digits and '-', first a letter"),
]
VariableName = Annotated[
    str,
    Field(max_length=63, json_schema_extra={"pattern": VARIABLE_RE}),
    _matching(
        VARIABLE_RE, "a variable name: 1 to 63 lowercase letters, digits and '_', first a letter"
    ),
    AfterValidator(_not_jinja_word),
]
EnvName = Annotated[
    str,
    Field(max_length=128, json_schema_extra={"pattern": ENV_NAME_RE}),
    _matching(
        ENV_NAME_RE, "an environment variable name: letters, digits and '_', not first a digit"
    ),
]
Image = Annotated[
    str,
    Field(max_length=255, json_schema_extra={"pattern": IMAGE_RE}),
    _matching(IMAGE_RE, "an image reference such as 'registry:5000/cove/app-api:1.2'"),
]
AbsolutePath = Annotated[
    str, _text(4096), AfterValidator(_single_line), AfterValidator(_absolute_path)
]
Owner = Annotated[
    str,
    Field(max_length=65, json_schema_extra={"pattern": OWNER_RE}),
    _matching(OWNER_RE, "an owner: user or user:group, by name or number"),
]
Port = Annotated[int, Field(ge=1, le=65535)]
# A shell command line, or the program and its arguments.
Command = Text | Annotated[list[Text], Field(min_length=1, max_length=128)]
Scalar = bool | Annotated[int, Field(ge=-(2**53), le=2**53)] | Text


M = TypeVar("M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


Generated = Literal["password", "fernet-key"]


class Variable(_Strict):
    """A value the templates read. A ``secret`` one is delivered only in swarm secrets and
    never shown; it takes no default (``checks`` refuses one): a password in a definition
    would be a password in plain text in every copy of it. A secret one may instead be
    ``generate``d when the deployment is made and no value is given (a ``password``, or a
    ``fernet-key`` as keystone's key repositories hold), then kept with the other secret
    values: passwords only the deployment's own services need, as kolla-genpwd makes them."""

    default: Scalar | None = None
    secret: bool = False
    generate: Generated | None = None
    description: Description | None = None


class PortMapping(_Strict):
    container: Port
    published: Port | None = None
    protocol: Literal["tcp", "udp"] = "tcp"


class Volume(_Strict):
    """A named volume (``name``), a host directory (``host_path``), or, with neither, an
    anonymous volume that lives as long as the container."""

    name: Name | None = None
    host_path: AbsolutePath | None = None
    target: AbsolutePath
    read_only: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> Volume:
        if self.name is not None and self.host_path is not None:
            raise ValueError("give name or host_path, not both")
        return self


class HealthCheck(_Strict):
    """Like ``command``: a string runs in a shell, a list is the program and its arguments."""

    test: Command
    interval_s: Annotated[int, Field(ge=1, le=3600)] = 10
    timeout_s: Annotated[int, Field(ge=1, le=3600)] = 5
    retries: Annotated[int, Field(ge=1, le=100)] = 3
    start_period_s: Annotated[int, Field(ge=0, le=3600)] = 0


class Resources(_Strict):
    cpus: Annotated[float, Field(gt=0, le=256)] | None = None
    memory_mb: Annotated[int, Field(ge=4, le=1024 * 1024)] | None = None


class ConfigFile(_Strict):
    """A rendered template placed at ``dest`` in the container; ``secret`` ones travel as
    swarm secrets (encrypted at rest, never readable back), the others as swarm configs."""

    template: Name
    dest: AbsolutePath
    owner: Owner = "root"
    perm: Annotated[
        str,
        BeforeValidator(_quoted_mode),
        Field(max_length=4, json_schema_extra={"pattern": PERM_RE}),
        _matching(PERM_RE, "an octal mode such as '0640' (quoted: YAML reads 0640 as a number)"),
    ] = "0600"
    secret: bool = False


class Requirement(_Strict):
    """What must be true before the requirer starts: a service ``healthy`` (its health check
    passes; the default) or ``running``, or a task completed. ``scope: node`` waits for the
    instance on the requirer's own node (a global service's), ``global`` for any."""

    service: Name | None = None
    task: Name | None = None
    state: Literal["healthy", "running"] | None = None
    scope: Literal["global", "node"] = "global"

    @model_validator(mode="after")
    def _one_target(self) -> Requirement:
        if (self.service is None) == (self.task is None):
            raise ValueError("give either service or task")
        if self.task is not None and self.state is not None:
            raise ValueError("state applies to a service; a task is required to have completed")
        return self

    @property
    def kind(self) -> Literal["service", "task"]:
        return "service" if self.service is not None else "task"

    @property
    def target(self) -> str:
        return self.service if self.service is not None else self.task  # type: ignore[return-value]

    @property
    def target_state(self) -> str:
        if self.task is not None:
            return "completed"
        return self.state or "healthy"


Constraint = Annotated[list[ShortText], Field(min_length=2, max_length=3)]


class Service(_Strict):
    """A long-running swarm service: ``replicas`` copies, or one per node (``mode: global``)."""

    image: Image
    command: Command | None = None
    mode: Literal["replicated", "global"] = "replicated"
    replicas: Annotated[int, Field(ge=0, le=100)] = 1
    env: Annotated[dict[EnvName, Text], Field(max_length=200)] = {}
    ports: Annotated[list[PortMapping], Field(max_length=64)] = []
    volumes: Annotated[list[Volume], Field(max_length=64)] = []
    health_check: HealthCheck | None = None
    resources: Resources | None = None
    constraints: Annotated[list[Constraint], Field(max_length=32)] = []
    config_files: Annotated[list[ConfigFile], Field(max_length=64)] = []
    requires: Annotated[list[Requirement], Field(max_length=64)] = []

    @model_validator(mode="after")
    def _replicas_only_replicated(self) -> Service:
        if self.mode == "global" and "replicas" in self.model_fields_set:
            raise ValueError("replicas applies to mode: replicated; global runs one per node")
        return self


class Task(_Strict):
    """A one-time job (a schema migration, a bootstrap): run to completion once, retried up
    to ``retries`` times, each attempt stopped after ``timeout_s``."""

    image: Image
    command: Command | None = None
    env: Annotated[dict[EnvName, Text], Field(max_length=200)] = {}
    retries: Annotated[int, Field(ge=0, le=10)] = 0
    timeout_s: Annotated[int, Field(ge=1, le=86400)] = 600
    config_files: Annotated[list[ConfigFile], Field(max_length=64)] = []
    requires: Annotated[list[Requirement], Field(max_length=64)] = []


class Definition(_Strict):
    """A multi-service application. Services and tasks share one namespace (each becomes a
    swarm service of that name); templates have names of the same form so that an error
    path ``templates.<name>`` is unambiguous (``keystone.conf`` would read as two steps)."""

    name: Name
    description: Description | None = None
    variables: Annotated[dict[VariableName, Variable], Field(max_length=200)] = {}
    services: Annotated[dict[Name, Service], Field(max_length=100)] = {}
    tasks: Annotated[dict[Name, Task], Field(max_length=100)] = {}
    templates: Annotated[dict[Name, TemplateText], Field(max_length=100)] = {}

    def workload(self, name: str) -> Service | Task | None:
        return self.services.get(name) or self.tasks.get(name)


def load(source: str | bytes | Mapping[str, Any]) -> Definition:
    """The definition in YAML text (or JSON, which is YAML) or an already-parsed mapping.

    Raises:
        DefinitionError: the text is not YAML, or any element has the wrong shape; each
            problem names its element (``services.db.ports[0].published``).
    """
    data: Any = source
    if isinstance(source, str | bytes):
        data, problems = _yaml.parse(source)
        if problems:
            raise DefinitionError(problems)
    return validate_shape(Definition, data)


def validate_shape(model: type[M], data: Any) -> M:
    """``model`` validated from ``data`` with pydantic's errors turned into problems whose
    paths follow the input (pydantic's locations also name union branches and validators)."""
    if not isinstance(data, Mapping):
        raise DefinitionError([Problem("", "expected a mapping at the top level")])
    deep = _too_deep(data)
    if deep is not None:
        raise DefinitionError([Problem(deep, f"nested deeper than {MAX_DEPTH} levels")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise DefinitionError(problems_of(exc, data)) from None


def _too_deep(data: Any) -> str | None:
    """The path of the first element nested deeper than ``MAX_DEPTH``, found without
    recursion so a hostile document cannot exhaust the stack."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_DEPTH:
            return render_path([_component(p) for p in path[:MAX_DEPTH]])
        if isinstance(value, Mapping):
            stack.extend((v, (*path, str(k))) for k, v in value.items())
        elif isinstance(value, list | tuple):
            stack.extend((v, (*path, i)) for i, v in enumerate(value))
    return None


_PLAIN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _component(part: str | int) -> str | int:
    """A path step as shown: plain names as they are, anything else quoted and escaped, so a
    hostile key cannot put control characters or a megabyte into a message."""
    if isinstance(part, int) or _PLAIN.match(part):
        return part
    quoted = json.dumps(part[:40])
    return f"[{quoted}{'...' if len(part) > 40 else ''}]"


def _path_of(loc: tuple[str | int, ...], data: Any) -> tuple[str, bool]:
    """The input path of a pydantic location, and whether it passed through a union branch
    (steps that are not keys or indexes of the input are branch and validator names)."""
    parts: list[str | int] = []
    branched = False
    value = data
    for step in loc:
        if isinstance(value, Mapping) and step in value:
            value = value[step]
            parts.append(_component(str(step)))
        elif isinstance(value, list) and isinstance(step, int) and 0 <= step < len(value):
            value = value[step]
            parts.append(step)
        elif isinstance(value, Mapping) and isinstance(step, str) and step != "[key]":
            # A missing field: name it, though the input has nothing there.
            parts.append(_component(step))
            value = None
        else:
            # A union branch's or a dict key's validator: not a step of the input.
            branched = branched or step != "[key]"
    return render_path(parts), branched


def render_path(parts: list[str | int]) -> str:
    """``services.db.ports[0]``; a quoted step (``["bad key"]``) follows without a dot."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("["):
            out += part
        else:
            out = f"{out}.{part}" if out else part
    return out


def _message(error: Any) -> str:
    msg = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    if error["type"] == "extra_forbidden":
        return "unknown field"
    if error["type"] == "missing":
        return "required"
    return msg


def problems_of(exc: ValidationError, data: Any) -> list[Problem]:
    """One problem per element: a union's branch errors at the same element become one
    ("a valid string, or a valid list"), and a branch's type error is dropped when another
    branch got further into the element."""
    found: dict[str, list[tuple[str, str, bool]]] = {}
    for error in exc.errors(include_url=False, include_input=False):
        path, branched = _path_of(tuple(error["loc"]), data)
        found.setdefault(path, []).append((error["type"], _message(error), branched))
    problems: list[Problem] = []
    for path, entries in found.items():
        nested = any(other.startswith((f"{path}.", f"{path}[")) for other in found if other != path)
        kept = [e for e in entries if not (e[2] and e[0].endswith("_type") and nested)]
        if not kept:
            continue
        messages = list(dict.fromkeys(message for _, message, _ in kept))
        if len(messages) > 1 and all(m.startswith("Input should be ") for m in messages):
            rest = [m.removeprefix("Input should be ") for m in messages[1:]]
            messages = [", or ".join([messages[0], *rest])]
        problems.extend(Problem(path, m) for m in messages)
    return sorted(problems)[:MAX_PROBLEMS]
