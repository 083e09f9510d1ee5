"""What commands print on stdout: tables for people, JSON or YAML for scripts.

JSON and YAML are the API's objects as they are (a list prints as an array); ``-c`` keeps
only the named keys in every format. Nothing else goes to stdout: notices, warnings and
progress are written to stderr by their callers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import click
import yaml
from rich import box
from rich.console import Console, RenderableType
from rich.table import Table

FORMATS = ("table", "json", "yaml")


def output_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``-f/--format`` and ``-c/--column`` (repeatable), passed as ``fmt`` and ``columns``."""
    func = click.option(
        "-c",
        "--column",
        "columns",
        multiple=True,
        metavar="NAME",
        help="show only this field (repeatable); any field of the API's object",
    )(func)
    return click.option(
        "-f",
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="table for people, json or yaml for scripts",
    )(func)


def emit(renderable: RenderableType) -> None:
    """Print to stdout: to fit a terminal, or, piped, with every cell whole (never wrapped
    or cut, so grep and cut see whole values) and no trailing blanks."""
    console = Console(highlight=False, markup=False, emoji=False)
    if console.is_terminal:
        console.print(renderable)
        return
    console = Console(highlight=False, markup=False, emoji=False, width=4096)
    with console.capture() as captured:
        console.print(renderable)
    click.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))


def _check_columns(columns: Sequence[str], known: set[str]) -> None:
    unknown = [c for c in columns if c not in known]
    if unknown and known:
        raise click.UsageError(
            f"unknown column {', '.join(unknown)}; choose from: {', '.join(sorted(known))}"
        )


def _select(obj: Mapping[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    return {c: obj.get(c) for c in columns} if columns else dict(obj)


def dump(data: Any, fmt: str) -> None:
    """Print a document as JSON or YAML."""
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(yaml.safe_dump(data, sort_keys=False, default_flow_style=False), nl=False)


def cell(value: Any, *, multiline: bool = False) -> str:
    """One value as text: dicts as ``k=v``, lists one item per line (or comma-separated)."""
    sep = "\n" if multiline else ", "
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return sep.join(f"{k}={cell(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return sep.join(
            json.dumps(v) if isinstance(v, Mapping) and multiline else cell(v) for v in value
        )
    return str(value)


def print_list(
    items: Sequence[Mapping[str, Any]],
    default_columns: Sequence[str],
    fmt: str,
    columns: Sequence[str] = (),
) -> None:
    known = {key for item in items for key in item} | set(default_columns)
    _check_columns(columns, known)
    if fmt != "table":
        dump([_select(item, columns) for item in items], fmt)
        return
    shown = list(columns or default_columns)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for name in shown:
        table.add_column(name, overflow="fold")
    for item in items:
        table.add_row(*(cell(item.get(name)) for name in shown))
    emit(table)


def print_object(obj: Mapping[str, Any], fmt: str, columns: Sequence[str] = ()) -> None:
    _check_columns(columns, set(obj))
    selected = _select(obj, columns)
    if fmt != "table":
        dump(selected, fmt)
        return
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for key, value in selected.items():
        if key == "links" and not columns:
            continue  # bookmarks for API clients, noise for people
        table.add_row(key, cell(value, multiline=True))
    emit(table)
