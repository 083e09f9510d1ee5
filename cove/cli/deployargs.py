"""Arguments of the deployment and app commands: a definition file, ``--set var=value``,
``--secret var=@file``, an options file and ``--set opt=value`` typed by a package's options
schema. Everything is read and checked before any request is sent (a usage error, exit 2)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import click
import yaml


def _pair(item: str, option: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise click.BadParameter(f"{item!r} is not NAME=VALUE", param_hint=option)
    return key.strip(), value


def read_text(path: str, option: str) -> str:
    """A file's text, ``-`` for stdin; an unreadable file is a usage error naming it."""
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}", param_hint=option) from None


def variable_values(sets: Iterable[str], secrets: Iterable[str]) -> dict[str, str]:
    """``--set var=value`` and ``--secret var=value|var=@file`` as the API's ``values``
    (text, as the templates read them). A secret from a file loses one trailing newline;
    whether a variable is secret is the definition's to say, not the option's."""
    values: dict[str, str] = {}
    for item in sets:
        key, value = _pair(item, "--set")
        values[key] = value
    for item in secrets:
        key, value = _pair(item, "--secret")
        if value.startswith("@"):
            value = read_text(value[1:], "--secret").removesuffix("\n")
        values[key] = value
    return values


def options_file(path: str | None) -> dict[str, Any]:
    """An options document (JSON, or YAML) as a mapping."""
    if path is None:
        return {}
    text = read_text(path, "--options")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise click.BadParameter(
            f"{path} is not JSON or YAML: {exc}", param_hint="--options"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise click.BadParameter(f"{path} holds no object of options", param_hint="--options")
    return data


def _typed(raw: str, schema: Mapping[str, Any]) -> Any:
    """``raw`` as the schema's type says (integer, number, boolean, object, array); text
    otherwise. A value of the wrong form is sent as written: the API's 400 names it."""
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "string" in kinds:
        return raw
    try:
        if "integer" in kinds:
            return int(raw)
        if "number" in kinds:
            return float(raw)
        if "boolean" in kinds and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        if "object" in kinds or "array" in kinds:
            return json.loads(raw)
    except ValueError:
        pass
    return raw


def set_options(
    options: dict[str, Any], sets: Iterable[str], schema: Mapping[str, Any]
) -> dict[str, Any]:
    """``options`` with each ``--set a.b=value`` put at its dotted path, typed by the
    package's options schema."""
    merged = json.loads(json.dumps(options))
    for item in sets:
        key, raw = _pair(item, "--set")
        path = key.split(".")
        target, here = merged, schema
        for step in path[:-1]:
            here = (here.get("properties") or {}).get(step) or {}
            child = target.setdefault(step, {})
            if not isinstance(child, dict):
                raise click.BadParameter(f"{key}: {step} is not an object", param_hint="--set")
            target = child
        here = (here.get("properties") or {}).get(path[-1]) or {}
        target[path[-1]] = _typed(raw, here)
    return merged


def schema_rows(schema: Mapping[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    """The options schema as rows for people: option (dotted), type, default, required,
    what it is (description, bounds, choices; ``secret`` for write-only ones)."""
    rows: list[dict[str, Any]] = []
    required = set(schema.get("required") or [])
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, Mapping):
            continue
        path = f"{prefix}{name}"
        notes = []
        if prop.get("writeOnly"):
            notes.append("secret")
        if prop.get("enum"):
            notes.append("one of " + ", ".join(map(str, prop["enum"])))
        bounds = [
            f"{word} {prop[key]}"
            for key, word in (("minimum", "min"), ("maximum", "max"), ("minLength", "min length"))
            if key in prop
        ]
        notes.extend(bounds)
        description = str(prop.get("description") or "").strip()
        rows.append(
            {
                "option": path,
                "type": prop.get("type", ""),
                "default": json.dumps(prop["default"]) if "default" in prop else "",
                "required": name in required,
                "description": " ".join(
                    filter(None, [description, f"[{', '.join(notes)}]" if notes else ""])
                ),
            }
        )
        if prop.get("type") == "object" and prop.get("properties"):
            rows.extend(schema_rows(prop, f"{path}."))
    return rows
