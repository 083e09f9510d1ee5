"""The docs stay true to the code: docs/labels.md's generated sections are what
scripts/gen-docs.py writes now, every curl example in docs/api.md succeeds against an
in-process cove (in document order, as a reader would run them), and every template example
in docs/labels.md passes label validation with the labels the clients would send."""

from __future__ import annotations

import difflib
import importlib.util
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from cove.domain import fields, labels
from cove.domain.coes import Coe
from tests.conftest import Api

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
BASE_URL = "http://127.0.0.1:9511"
# A trailing "# answers 409" marks an example that shows a refusal.
EXPECT = re.compile(r"#\s*answers\s+([0-9]{3})\b")
SH_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Command:
    tokens: list[str]
    text: str


def shell_commands(markdown: str) -> Iterator[Command]:
    """The commands of every ```sh block: continuation lines joined, comments dropped."""
    for block in SH_BLOCK.findall(markdown):
        buffer = ""
        for line in block.splitlines():
            if not buffer and (not line.strip() or line.lstrip().startswith("#")):
                continue
            buffer += line + "\n"
            if line.endswith("\\"):
                continue
            text = buffer.replace("\\\n", " ")
            try:
                tokens = shlex.split(text, comments=True)
            except ValueError:  # a quotation is still open: the command goes on
                continue
            yield Command(tokens, buffer.rstrip("\n"))
            buffer = ""
        assert not buffer, f"unfinished command in a sh block: {buffer}"


# (b) docs/api.md


@dataclass(frozen=True)
class CurlRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: str | None
    expect: int | None
    text: str


def parse_curl(command: Command) -> CurlRequest:
    args = iter(command.tokens[1:])

    def value(option: str) -> str:
        item = next(args, None)
        assert item is not None, f"{option} without a value in: {command.text}"
        return item

    method: str | None = None
    headers: dict[str, str] = {}
    body: str | None = None
    url: str | None = None
    for arg in args:
        if arg in ("-X", "--request"):
            method = value(arg)
        elif arg in ("-H", "--header"):
            name, _, content = value(arg).partition(":")
            headers[name.strip()] = content.strip()
        elif arg in ("-d", "--data", "--data-raw"):
            body = value(arg)
        elif re.fullmatch(r"-[sSi]+", arg):  # output only: silent, show errors, include headers
            continue
        elif arg.startswith(BASE_URL + "/"):
            url = arg
        else:
            raise AssertionError(f"unsupported curl argument {arg!r} in: {command.text}")
    assert url is not None, f"no {BASE_URL} URL in: {command.text}"
    if body is not None and not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = "application/x-www-form-urlencoded"  # what curl -d sends
    expect = EXPECT.search(command.text.splitlines()[-1])
    return CurlRequest(
        method=method or ("POST" if body is not None else "GET"),
        path=url[len(BASE_URL) :],
        headers=headers,
        body=body,
        expect=int(expect.group(1)) if expect else None,
        text=command.text,
    )


def curl_examples(markdown: str) -> list[CurlRequest]:
    return [parse_curl(c) for c in shell_commands(markdown) if c.tokens[0] == "curl"]


def test_api_examples_succeed_in_order(api: Api) -> None:
    examples = curl_examples(_read("api.md"))
    assert len(examples) >= 10, "docs/api.md lost its curl examples"
    client = api.at(None)  # curl sends no OpenStack-API-Version unless the example does
    for example in examples:
        response = client.request(
            example.method, example.path, headers=example.headers, content=example.body
        )
        got = f"{example.text}\n-> {response.status_code} {response.text}"
        if example.expect is None:
            assert 200 <= response.status_code < 300, got
        else:
            assert response.status_code == example.expect, got


def test_api_client_invocations_are_the_readme_ones() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    clients = [c for c in shell_commands(_read("api.md")) if c.tokens[0] in ("openstack", "magnum")]
    assert clients, "docs/api.md lost its client invocations"
    for command in clients:
        assert command.text in readme, f"not in README.md: {command.text}"


# (a) docs/labels.md's generated sections


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen-docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_labels_doc_generated_sections_are_current() -> None:
    current = _read("labels.md")
    fresh: str = load_generator().render(current)
    diff = "".join(
        difflib.unified_diff(
            current.splitlines(keepends=True),
            fresh.splitlines(keepends=True),
            "docs/labels.md",
            "scripts/gen-docs.py would write",
        )
    )
    assert not diff, f"run .venv/bin/python scripts/gen-docs.py:\n{diff}"


# (c) docs/labels.md's template examples


@dataclass(frozen=True)
class TemplateExample:
    coe: str
    labels: dict[str, str]
    network_driver: str | None
    volume_driver: str | None
    text: str


def client_labels(values: list[str]) -> dict[str, str]:
    """What python-magnumclient 5.0.0 sends for these --labels options (format_labels): a
    single option with several '=' is split on ',' and ';'; a repeated key appends ',value'."""
    if len(values) == 1 and values[0].count("=") > 1:
        values = values[0].replace(";", ",").split(",")
    result: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        assert sep, f"the client refuses {item!r}: labels must be a list of KEY=VALUE"
        result[key] = f"{result[key]},{value}" if key in result else value
    return result


def template_examples(markdown: str) -> list[TemplateExample]:
    found = []
    for command in shell_commands(markdown):
        if command.tokens[:5] != ["openstack", "coe", "cluster", "template", "create"]:
            continue
        options: dict[str, list[str]] = {}
        tokens = command.tokens[5:]
        for index, token in enumerate(tokens):
            if token.startswith("--") and index + 1 < len(tokens):
                options.setdefault(token, []).append(tokens[index + 1])
        assert "--coe" in options, f"no --coe in: {command.text}"
        found.append(
            TemplateExample(
                coe=options["--coe"][0],
                labels=client_labels(options.get("--labels", [])),
                network_driver=options.get("--network-driver", [None])[0],
                volume_driver=options.get("--volume-driver", [None])[0],
                text=command.text,
            )
        )
    return found


LABEL_EXAMPLES = template_examples(_read("labels.md"))


def test_labels_doc_has_an_example_per_coe() -> None:
    assert {example.coe for example in LABEL_EXAMPLES} == {str(coe) for coe in Coe}


@pytest.mark.parametrize("example", LABEL_EXAMPLES, ids=lambda example: example.coe)
def test_labels_doc_example_is_valid(example: TemplateExample) -> None:
    assert example.labels, f"no labels in: {example.text}"
    coe = Coe(example.coe)
    check = labels.validate_labels(str(coe), example.labels)
    assert check.unknown == (), f"labels unknown to {coe}: {check.unknown}"
    fields.network_driver(coe, example.network_driver)
    fields.check_volume_driver(coe, example.volume_driver)
