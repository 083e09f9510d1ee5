"""Fast checks of the user's documentation (tests/e2e/test_docs.py runs it for real): every
page under docs/ is linked from README.md or another page, every relative link to a page
resolves, and every ```sh block is valid bash (``bash -n``)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.e2e.docs_blocks import DOCS, ROOT, doc_blocks, links, parse

PAGES = sorted(path.name for path in DOCS.glob("*.md"))
SOURCES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


def test_every_page_is_linked() -> None:
    linked: set[Path] = set()
    for source in SOURCES:
        for target in links(source.read_text(encoding="utf-8")):
            resolved = (source.parent / target).resolve()
            if resolved != source.resolve():
                linked.add(resolved)
    orphans = [name for name in PAGES if (DOCS / name).resolve() not in linked]
    assert not orphans, f"pages no other page or README.md links to: {orphans}"


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.name)
def test_links_to_pages_resolve(source: Path) -> None:
    broken = [
        target
        for target in links(source.read_text(encoding="utf-8"))
        if not (source.parent / target).is_file()
    ]
    assert not broken, f"{source.name} links to missing pages: {broken}"


@pytest.mark.parametrize("page", PAGES)
def test_sh_blocks_are_valid_bash(page: str) -> None:
    for block in doc_blocks(page):
        result = subprocess.run(
            ["bash", "-n"], input=block.text, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"{block.label}:\n{block.text}\n{result.stderr}"


def test_parser_reads_fences_and_not_run_markers() -> None:
    markdown = (
        "Intro\n\n```sh\necho one\n```\n\n```console\nerror: shown\n```\n\n"
        "<!-- not run: needs a network -->\n```sh\napt-get update\n```\n\n"
        "```python\nprint()\n```\n```sh\necho two\n```\n"
    )
    blocks = parse(markdown, "x.md")
    assert [(b.number, b.line, b.text, b.not_run) for b in blocks] == [
        (1, 3, "echo one\n", None),
        (2, 12, "apt-get update\n", "needs a network"),
        (3, 19, "echo two\n", None),
    ]
    assert blocks[0].console == ["error: shown"]
    with pytest.raises(ValueError, match="never closed"):
        parse("```sh\necho\n", "y.md")
