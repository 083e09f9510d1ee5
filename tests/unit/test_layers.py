"""The layers stay apart: services, domain, db and the caller's identity and policy never
import the HTTP layer, the conductor or the CLI (those import them, not the other way round)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOWER_LAYERS = ("cove/services", "cove/domain", "cove/db", "cove/identity.py", "cove/policy.py")
UPPER_LAYERS = ("cove.api", "cove.conductor", "cove.cli")


def _modules() -> list[Path]:
    paths = [ROOT / layer for layer in LOWER_LAYERS]
    return sorted(q for p in paths for q in ([p] if p.is_file() else p.rglob("*.py")))


def _upper_imports(tree: ast.AST, package: str) -> Iterator[str]:
    """Each import statement that reaches an upper layer, as written (relative imports
    resolved in ``package``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _is_upper(alias.name):
                    yield f"line {node.lineno}: import {alias.name}"
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            base = parts[: len(parts) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names = [alias.name for alias in node.names]
            # `from cove import api` reaches the package through the imported name.
            if _is_upper(module) or any(_is_upper(f"{module}.{name}") for name in names):
                yield f"line {node.lineno}: from {module} import {', '.join(names)}"


def _is_upper(name: str) -> bool:
    return any(name == upper or name.startswith(upper + ".") for upper in UPPER_LAYERS)


def test_lower_layers_are_found() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in _modules()}
    assert "cove/services/clusters.py" in names
    assert "cove/db/models.py" in names
    assert "cove/policy.py" in names


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_module_imports_no_upper_layer(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module = path.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    offending = list(_upper_imports(tree, package.removesuffix(".__init__")))
    assert not offending, f"{module} imports an upper layer: {'; '.join(offending)}"


def test_the_check_sees_an_upper_import() -> None:
    source = (
        "from cove import api\n"
        "import cove.cli.main\n"
        "from ..conductor import runner\n"
        "from cove.db import models\n"
        "from . import lookup\n"
    )
    assert list(_upper_imports(ast.parse(source), "cove.services")) == [
        "line 1: from cove import api",
        "line 2: import cove.cli.main",
        "line 3: from cove.conductor import runner",
    ]
