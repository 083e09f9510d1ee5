"""The published JSON Schema of deployment definitions, made from the pydantic models so the
two cannot drift. Editors and CI pipelines validate definitions against it before sending
them; cove's own checks (``checks``) go further than a schema can (references, cycles,
ports, templates), so a document the schema accepts may still be refused, never the
reverse.
"""

from __future__ import annotations

from typing import Any

from cove.domain.deploy.definition import Definition

SCHEMA_ID = "urn:cove:schema:deployment-definition:1"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def definition_json_schema() -> dict[str, Any]:
    """The schema (draft 2020-12) with its ``$id`` and title. Dictionaries keyed by names
    refuse other keys (pydantic states the key pattern but lets other keys through)."""
    schema = Definition.model_json_schema()
    _close_keyed_objects(schema)
    return {
        "$schema": DIALECT,
        "$id": SCHEMA_ID,
        "title": "cove deployment definition",
        "description": (
            "Services, one-time tasks, config-file templates and variables of a "
            "multi-service application deployed on a cove swarm-mode cluster."
        ),
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
    }


def _close_keyed_objects(node: Any) -> None:
    if isinstance(node, dict):
        if "patternProperties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            _close_keyed_objects(value)
    elif isinstance(node, list):
        for value in node:
            _close_keyed_objects(value)
