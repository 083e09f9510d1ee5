"""The runnable examples of the user's documentation: ```sh blocks of docs/*.md, in document
order, with the ```console samples that follow each one.

A sh block preceded (on the nearest non-blank line) by ``<!-- not run: <reason> -->`` is kept
but marked not to run. Shared by tests/e2e/test_docs.py (which runs the blocks) and
tests/unit/test_docs_index.py (which parses them with ``bash -n``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
NOT_RUN = re.compile(r"^<!--\s*not run:\s*(?P<reason>.+?)\s*-->$")
FENCE = re.compile(r"^```(?P<lang>[A-Za-z0-9_+-]*)\s*$")
LINK = re.compile(r"\]\((?P<target>[^)\s#]+\.md)(?:#[^)]*)?\)")


@dataclass
class Block:
    """One ```sh block: where it starts (1-based line of its fence) and its text."""

    doc: str
    number: int
    line: int
    text: str
    not_run: str | None = None
    # Lines of the ```console blocks between this sh block and the next one.
    console: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.doc} block {self.number} (line {self.line})"


def parse(markdown: str, doc: str = "") -> list[Block]:
    """Every ```sh block of ``markdown`` in order; fences other than sh and console are
    skipped. An unterminated fence is an error."""
    blocks: list[Block] = []
    lines = markdown.splitlines()
    index = 0
    previous = ""  # the last non-blank line outside a fence
    while index < len(lines):
        match = FENCE.match(lines[index])
        if match is None:
            if lines[index].strip():
                previous = lines[index].strip()
            index += 1
            continue
        lang, start = match.group("lang"), index
        index += 1
        body: list[str] = []
        while index < len(lines) and lines[index].rstrip() != "```":
            body.append(lines[index])
            index += 1
        if index == len(lines):
            raise ValueError(f"{doc}: the fence at line {start + 1} is never closed")
        index += 1
        if lang == "sh":
            skip = NOT_RUN.match(previous)
            blocks.append(
                Block(
                    doc=doc,
                    number=len(blocks) + 1,
                    line=start + 1,
                    text="\n".join(body) + "\n",
                    not_run=skip.group("reason") if skip else None,
                )
            )
        elif lang == "console" and blocks:
            blocks[-1].console.extend(body)
        previous = "```"
    return blocks


def doc_blocks(name: str) -> list[Block]:
    return parse((DOCS / name).read_text(encoding="utf-8"), name)


def links(markdown: str) -> list[str]:
    """Relative targets of the markdown links to .md files (no URLs)."""
    return [m.group("target") for m in LINK.finditer(markdown) if "://" not in m.group("target")]
