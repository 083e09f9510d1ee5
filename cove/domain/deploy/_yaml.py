"""YAML read for definitions and packages: safe tags only, no aliases (a few lines of anchors
expand into a structure checked in exponential time), no duplicate keys (PyYAML keeps the
last one silently, so a second ``keystone:`` would replace the first unseen), a size cap.
Errors come back as problems with the line, never as PyYAML exceptions."""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node

from cove.domain.deploy.problems import Problem

MAX_TEXT = 1024 * 1024


class _StrictLoader(yaml.SafeLoader):
    def compose_node(self, parent: Node | None, index: object) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise ComposerError(None, None, "aliases (*name) are not allowed", event.start_mark)
        return super().compose_node(parent, index)  # type: ignore[arg-type]

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:  # an unhashable key: the constructor below refuses it
                continue
            if duplicate:
                raise ConstructorError(
                    None, None, f"duplicate key {key!r}"[:120], key_node.start_mark
                )
        return super().construct_mapping(node, deep=deep)


def parse(source: str | bytes, where: str = "") -> tuple[Any, list[Problem]]:
    """The document in ``source``, or the problems that kept it from being read. ``where``
    prefixes the problems' paths (``template`` for a package's rendered template)."""
    if isinstance(source, bytes):
        try:
            source = source.decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, [Problem(where, f"not UTF-8 text (byte {exc.start})")]
    if len(source) > MAX_TEXT:
        return None, [Problem(where, f"longer than {MAX_TEXT} characters")]
    try:
        return yaml.load(source, Loader=_StrictLoader), []
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        return None, [Problem(where, f"not valid YAML: {line}{exc.problem or exc.context}")]
    except yaml.YAMLError as exc:
        return None, [Problem(where, f"not valid YAML: {str(exc)[:200]}")]
    except RecursionError:
        return None, [Problem(where, "not valid YAML: nested too deeply")]
