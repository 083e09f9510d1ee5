"""Small definitions to build tests from: a valid base and a way to break one element."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from cove.domain.deploy.problems import DefinitionError


def base() -> dict[str, Any]:
    """db (healthy-checked) <- schema task <- api (healthy-checked) <- web."""
    return copy.deepcopy(
        {
            "name": "app",
            "variables": {"db_name": {"default": "app"}, "db_password": {"secret": True}},
            "services": {
                "db": {
                    "image": "busybox",
                    "health_check": {"test": "true"},
                    "config_files": [{"template": "pw", "dest": "/run/secrets/pw", "secret": True}],
                },
                "api": {
                    "image": "cove/app-api:1",
                    "replicas": 2,
                    "health_check": {"test": ["true"]},
                    "requires": [{"task": "schema"}],
                    "ports": [{"container": 8000, "published": 8000}],
                },
                "web": {
                    "image": "cove/app-web:1",
                    "requires": [{"service": "api"}],
                    "ports": [{"container": 80, "published": 8080}],
                },
            },
            "tasks": {
                "schema": {"image": "cove/app-api:1", "requires": [{"service": "db"}]},
            },
            "templates": {"pw": "{{ db_password }}", "conf": "db = {{ db_name }}\n"},
        }
    )


def problems_of(call: Any, *args: Any) -> list[str]:
    with pytest.raises(DefinitionError) as info:
        call(*args)
    return [str(p) for p in info.value.problems]
