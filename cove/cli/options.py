"""Options and argument parsing shared by the client commands: the client of the root
``--url``, ``k=v`` labels, ``--set``/``--unset`` as JSON patch, ``--no-wait``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import click

from cove.cli.client import ApiError, CoveClient
from cove.cli.login import resolve

# Attributes whose patch value is a dict written as a Python literal: how Magnum's clients
# send them, and what the API parses.
LITERAL_KEYS = frozenset({"labels", "node_labels", "health_status_reason"})


def get_client() -> CoveClient:
    """The client for the root ``--url`` and ``--os-token`` (or a Keystone login: see
    cove.cli.login), made once per invocation."""
    root = click.get_current_context().find_root()
    obj = root.ensure_object(dict)
    if "client" not in obj:
        login = resolve()
        obj["client"] = CoveClient(login.url, login.token)
        root.call_on_close(obj["client"].close)
    client: CoveClient = obj["client"]
    return client


def key_values(text: str, what: str = "label") -> dict[str, str]:
    """``k=v,k2=v2`` as a dict. A comma-separated piece without ``=`` continues the previous
    value (``a=1,2,b=3`` is ``{a: "1,2", b: "3"}``), as python-magnumclient reads labels."""
    result: dict[str, str] = {}
    last: str | None = None
    for piece in text.split(","):
        if "=" in piece:
            key, value = piece.split("=", 1)
            key = key.strip()
            if not key:
                raise click.BadParameter(f"{what} {piece!r} has no name before '='")
            result[key] = value
            last = key
        elif last is not None:
            result[last] += f",{piece}"
        elif piece.strip():
            raise click.BadParameter(f"{what} {piece!r} is not key=value")
    return result


def parse_labels(values: Iterable[str]) -> dict[str, str] | None:
    """Repeated ``--labels`` merged; None when none were given (the API then inherits)."""
    merged: dict[str, str] = {}
    given = False
    for value in values:
        given = True
        merged.update(key_values(value))
    return merged if given else None


def labels_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--labels",
        multiple=True,
        metavar="K=V[,K=V...]",
        help="labels (repeatable, merged)",
    )(func)


def no_wait_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--no-wait",
        is_flag=True,
        help="return once the API has accepted the request, without waiting for the outcome",
    )(func)


def patch_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--unset",
        "unsets",
        multiple=True,
        metavar="KEY",
        help="clear an attribute, or a label with labels.KEY (repeatable)",
    )(func)
    return click.option(
        "--set",
        "sets",
        multiple=True,
        metavar="KEY=VALUE",
        help="set an attribute (repeatable); labels=k=v,k2=v2 replaces every label, "
        "labels.k=v sets one",
    )(func)


def _path(key: str) -> str:
    return "/" + key.strip().strip("/").replace(".", "/")


def _value(key: str, raw: str) -> Any:
    if key in LITERAL_KEYS:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = key_values(raw)
        return str(parsed)
    try:  # numbers, true/false, null as JSON (python-magnumclient does the same)
        value = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(value, dict | list):
        return str(value)
    if isinstance(value, float):
        return raw
    return value


def patch_document(sets: Iterable[str], unsets: Iterable[str]) -> list[dict[str, Any]]:
    """``--set``/``--unset`` as Magnum's JSON patch: ``replace`` a root attribute, ``add`` a
    key inside one (``labels.k=v``), ``remove`` either."""
    ops: list[dict[str, Any]] = []
    for item in sets:
        if "=" not in item:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--set")
        key, raw = item.split("=", 1)
        path = _path(key)
        nested = path.count("/") > 1
        value = raw if nested else _value(key.strip(), raw)
        ops.append({"op": "add" if nested else "replace", "path": path, "value": value})
    ops.extend({"op": "remove", "path": _path(key)} for key in unsets)
    if not ops:
        raise click.UsageError("nothing to change: give --set KEY=VALUE or --unset KEY")
    return ops


def compact(**fields: Any) -> dict[str, Any]:
    """A request body without the options the user did not give."""
    return {k: v for k, v in fields.items() if v is not None}


def for_each(idents: Iterable[str], action: Callable[[str], None]) -> None:
    """Run ``action`` on every ident even when some are refused (each refusal is one
    ``error:`` line); exit 1 at the end if any was."""
    refused = 0
    for ident in idents:
        try:
            action(ident)
        except ApiError as exc:
            exc.show()
            refused += 1
    if refused:
        raise click.exceptions.Exit(1)
