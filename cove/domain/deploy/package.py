"""Catalog packages, after DC/OS Universe: a named, versioned definition template with a JSON
Schema of its options (with defaults) and the images it needs. Installing renders the
template with the validated options and checks the definition it makes like any other.

How options reach the deployment:

- the template reads them as ``options.<name>``; each ``{{ }}`` is written as a YAML value
  (a JSON scalar or collection), so an option cannot inject YAML structure into the
  definition: write ``{{ "mysql://" ~ options.host }}``, not ``mysql://{{ options.host }}``;
- a top-level option with the name of one of the definition's variables is that variable's
  value, which is how secrets travel: a top-level option marked ``writeOnly: true`` is
  secret, the template cannot write it (it would be plain text in the definition) and the
  variable it feeds must be ``secret: true``;
- the definition's own config templates are Jinja2 too: wrap them in ``{% raw %}``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import jsonschema
from jinja2 import TemplateRuntimeError
from pydantic import Field

from cove.domain.deploy import _yaml, checks, templates
from cove.domain.deploy.definition import (
    Definition,
    Description,
    Generated,
    Image,
    Name,
    TemplateText,
    _Strict,
    bad_character,
    render_path,
    validate_shape,
)
from cove.domain.deploy.problems import DefinitionError, Problem, join

VERSION_RE = (
    r"^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})"
    r"(-[0-9A-Za-z.-]{1,64})?(\+[0-9A-Za-z.-]{1,64})?$"
)
MAX_OPTIONS = 256 * 1024
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_META = jsonschema.Draft202012Validator(jsonschema.Draft202012Validator.META_SCHEMA)


class Package(_Strict):
    """A catalog entry. ``template`` is the definition as YAML with Jinja2 over ``options``."""

    name: Name
    version: Annotated[str, Field(max_length=150, pattern=VERSION_RE)]
    description: Description
    images: Annotated[list[Image], Field(min_length=1, max_length=50)]
    options_schema: dict[str, Any]
    template: TemplateText


@dataclass(frozen=True)
class Installation:
    """What installing a package makes: the definition, and the values of its variables
    (secrets among them, which the definition itself never holds)."""

    definition: Definition
    values: Mapping[str, Any]


def version_key(version: str) -> tuple[int, int, int, int, str]:
    """Order of versions (``VERSION_RE``): numerically, a pre-release before its release;
    build metadata does not order."""
    core, _, pre = version.split("+", 1)[0].partition("-")
    major, minor, patch = (int(part) for part in core.split("."))
    return (major, minor, patch, 0 if pre else 1, pre)


def load_package(source: str | bytes | Mapping[str, Any]) -> Package:
    """The package in YAML text or a mapping, its options schema and template checked.

    Raises:
        DefinitionError: any field at fault, an options schema that is not a JSON Schema
            (2020-12) of an object, a ``$ref`` outside the schema, a template that does not
            parse.
    """
    data: Any = source
    if isinstance(source, str | bytes):
        data, problems = _yaml.parse(source)
        if problems:
            raise DefinitionError(problems, "catalog package")
    try:
        package = validate_shape(Package, data)
    except DefinitionError as exc:
        raise DefinitionError(exc.problems, "catalog package") from None
    problems = _schema_problems(package.options_schema)
    try:
        _, reads = templates.parse(package.template)
        if reads - {"options"}:
            names = ", ".join(sorted(reads - {"options"}))
            problems.append(Problem("template", f"reads {names}; a package template reads options"))
    except templates.RenderError as exc:
        problems.append(Problem("template", str(exc)))
    if len(set(package.images)) != len(package.images):
        problems.append(Problem("images", "lists an image twice"))
    if problems:
        raise DefinitionError(problems, "catalog package")
    return package


def _schema_problems(schema: Mapping[str, Any]) -> list[Problem]:
    problems = [
        Problem(_json_path("options_schema", error.absolute_path), error.message[:300])
        for error in _META.iter_errors(schema)
    ]
    if problems:
        return problems
    if schema.get("$schema", SCHEMA_DIALECT) != SCHEMA_DIALECT:
        problems.append(Problem("options_schema.$schema", f"cove reads {SCHEMA_DIALECT} only"))
    if schema.get("type") != "object":
        problems.append(Problem("options_schema.type", "options are an object: type: object"))
    for path, ref in _refs(schema, ("options_schema",)):
        if not ref.startswith("#"):
            problems.append(Problem(path, "a $ref points inside the schema only (#/...)"))
    return problems


def _refs(value: Any, path: tuple[str | int, ...]) -> list[tuple[str, str]]:
    found = []
    stack = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, Mapping):
            for key, item in node.items():
                if key == "$ref" and isinstance(item, str):
                    found.append((render_path([*where, key]), item))
                stack.append((item, (*where, str(key))))
        elif isinstance(node, list):
            stack.extend((item, (*where, i)) for i, item in enumerate(node))
    return sorted(found)


def _json_path(root: str, steps: Sequence[str | int]) -> str:
    return render_path([root, *steps])


def secret_options(package: Package) -> frozenset[str]:
    """Top-level options marked ``writeOnly: true``: values never written or shown."""
    properties = package.options_schema.get("properties", {})
    return frozenset(
        name
        for name, prop in properties.items()
        if isinstance(prop, Mapping) and prop.get("writeOnly") is True
    )


def apply_defaults(schema: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with each missing property of an object schema set to its ``default``,
    nested objects too (created when their own properties have defaults), as Universe's
    ``config.json`` does. The input is not changed."""
    out = copy.deepcopy(dict(options))
    _fill(schema, out)
    return out


def _fill(schema: Mapping[str, Any], value: dict[str, Any]) -> None:
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return
    for name, prop in properties.items():
        if not isinstance(prop, Mapping):
            continue
        if name not in value and "default" in prop:
            value[name] = copy.deepcopy(prop["default"])
        if name not in value and prop.get("type") == "object":
            nested: dict[str, Any] = {}
            _fill(prop, nested)
            if nested:
                value[name] = nested
        elif isinstance(value.get(name), dict):
            _fill(prop, value[name])


def check_options(schema: Mapping[str, Any], options: Any) -> list[Problem]:
    """Problems of ``options`` (defaults applied) against the schema, each at
    ``options.<path>``. Messages say what the schema wants, never what was given: an
    option may be a password."""
    if not isinstance(options, Mapping):
        return [Problem("options", "options are an object")]
    problems = _bad_strings(options)
    if problems:
        return problems
    if len(json.dumps(options, default=str)) > MAX_OPTIONS:
        return [Problem("options", f"larger than {MAX_OPTIONS} characters as JSON")]
    validator = jsonschema.Draft202012Validator(schema)
    for error in validator.iter_errors(options):
        path = _json_path("options", error.absolute_path)
        problems.append(_option_problem(path, error))
    return sorted(problems)


def _bad_strings(options: Mapping[str, Any]) -> list[Problem]:
    problems = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(options, ("options",))]
    while stack:
        value, path = stack.pop()
        if len(path) > 33:
            return [Problem(render_path(list(path[:33])), "nested deeper than 32 levels")]
        if isinstance(value, str):
            bad = bad_character(value, multiline=True)
            if bad:
                problems.append(
                    Problem(render_path(list(path)), f"control character {bad} is not allowed")
                )
        elif isinstance(value, Mapping):
            for key, item in value.items():
                if not isinstance(key, str) or bad_character(key, multiline=False):
                    problems.append(
                        Problem(render_path(list(path)), "a key that is not plain text")
                    )
                    continue
                stack.append((item, (*path, key)))
        elif isinstance(value, list):
            stack.extend((item, (*path, i)) for i, item in enumerate(value))
    return problems


def _option_problem(path: str, error: jsonschema.ValidationError) -> Problem:
    kind, wanted = error.validator, error.validator_value
    if kind == "required":
        missing = [
            n for n in wanted if isinstance(error.instance, Mapping) and n not in error.instance
        ]
        return Problem(join(path, missing[0]) if missing else path, "required")
    if kind == "additionalProperties" and isinstance(error.instance, Mapping):
        known = set(error.schema.get("properties", {}))
        extra = sorted(str(k)[:40] for k in error.instance if k not in known)
        return Problem(path, f"unknown option(s): {', '.join(extra)}")
    messages: dict[str, Callable[[], str]] = {
        "type": lambda: f"must be of type {wanted}",
        "enum": lambda: f"must be one of {', '.join(json.dumps(v) for v in wanted)}"[:300],
        "const": lambda: f"must be {json.dumps(wanted)}"[:300],
        "minimum": lambda: f"must be at least {wanted}",
        "maximum": lambda: f"must be at most {wanted}",
        "exclusiveMinimum": lambda: f"must be more than {wanted}",
        "exclusiveMaximum": lambda: f"must be less than {wanted}",
        "minLength": lambda: f"must have at least {wanted} characters",
        "maxLength": lambda: f"must have at most {wanted} characters",
        "pattern": lambda: f"must match {json.dumps(wanted)}"[:300],
        "minItems": lambda: f"must have at least {wanted} items",
        "maxItems": lambda: f"must have at most {wanted} items",
        "uniqueItems": lambda: "must not repeat items",
        "multipleOf": lambda: f"must be a multiple of {wanted}",
        "format": lambda: f"must be a {wanted}",
    }
    return Problem(
        path, messages[str(kind)]() if kind in messages else f"does not satisfy the schema's {kind}"
    )


class _SecretOption:
    """Stands for a secret option in the template: writing it is refused."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _refuse(self) -> str:
        raise TemplateRuntimeError(
            f"option '{self.name}' is secret (writeOnly): it reaches the deployment as the "
            "value of the variable of that name, never through the template"
        )

    __str__ = _refuse


def _yaml_value(value: Any) -> str:
    """Each ``{{ }}`` of a package template as a YAML value: JSON is YAML, so a string
    becomes one quoted scalar however many line breaks or colons it holds."""
    if isinstance(value, _SecretOption):
        return value._refuse()
    return json.dumps(value, ensure_ascii=False)


def render(
    package: Package,
    options: Mapping[str, Any],
    known_images: Callable[[str], bool] | None = None,
    generate: Callable[[Generated], str] = checks.generate_secret,
) -> Installation:
    """Install ``package`` with ``options``: defaults applied, options validated, the template
    rendered, the definition loaded and checked with the variables' values taken from
    options. ``known_images`` (default: all) says whether a listed image can be pulled.

    Raises:
        DefinitionError: every problem, at ``options.<path>``, ``template`` (with its line),
            or the rendered definition's own paths (``services.keystone.image``).
    """
    what = f"installation of {package.name} {package.version}"
    filled = (
        apply_defaults(package.options_schema, options) if isinstance(options, Mapping) else options
    )
    problems = check_options(package.options_schema, filled)
    if problems:
        raise DefinitionError(problems, what)
    secrets = secret_options(package)
    shown = {k: (_SecretOption(k) if k in secrets else v) for k, v in filled.items()}
    hidden = [str(filled[k]) for k in secrets if k in filled]
    try:
        text = templates.render(package.template, {"options": shown}, hidden, _yaml_value)
    except templates.RenderError as exc:
        raise DefinitionError([Problem("template", str(exc))], what) from None
    data, problems = _yaml.parse(text, "template")
    if problems:
        raise DefinitionError(problems, what)
    try:
        definition = validate_shape(Definition, data)
    except DefinitionError as exc:
        raise DefinitionError(exc.problems, what) from None
    values, problems = _values(package, definition, filled, secrets)
    values = checks.with_generated(definition, values, generate)
    for section, workloads in (("services", definition.services), ("tasks", definition.tasks)):
        for name, workload in workloads.items():
            if workload.image not in package.images:
                problems.append(
                    Problem(
                        join(section, name, "image"),
                        f"image '{workload.image}' is not among the package's images: "
                        f"{', '.join(package.images)}",
                    )
                )
    listed = set(package.images)
    problems += checks.validate(
        definition,
        lambda image: image not in listed or known_images is None or known_images(image),
        values,
    )
    if problems:
        raise DefinitionError(problems, what)
    return Installation(definition, values)


def _values(
    package: Package, definition: Definition, options: Mapping[str, Any], secrets: frozenset[str]
) -> tuple[dict[str, Any], list[Problem]]:
    values: dict[str, Any] = {}
    problems = []
    for name, variable in definition.variables.items():
        if variable.secret and name not in secrets and not variable.generate:
            problems.append(
                Problem(
                    join("options_schema", "properties", name),
                    f"feeds secret variable '{name}': mark it writeOnly: true",
                )
            )
        if name in secrets and not variable.secret:
            problems.append(
                Problem(
                    join("variables", name),
                    f"fed by secret option '{name}': mark it secret: true",
                )
            )
        if name not in options:
            continue
        value = options[name]
        if isinstance(value, bool | int | str):
            values[name] = value
        else:
            problems.append(
                Problem(
                    join("options", name), f"feeds variable '{name}': a string, number or boolean"
                )
            )
    return values, problems
