"""``cove completion``: click's scripts, and names completed from the API."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cli.conftest import Cove


@pytest.mark.parametrize(
    ("shell", "marker"),
    [("bash", "complete -o nosort -F"), ("zsh", "#compdef cove"), ("fish", "complete --no-files")],
)
def test_completion_prints_the_shell_script(cove: Cove, shell: str, marker: str) -> None:
    script = cove(f"completion {shell}").stdout
    assert marker in script
    assert "_COVE_COMPLETE" in script
    assert f"{shell}_complete" in script


def test_completion_of_an_unknown_shell_is_a_usage_error(cove: Cove) -> None:
    assert "tcsh" in cove("completion tcsh", code=2).stderr


def _complete(cove: Cove, words: str) -> list[str]:
    """What bash would offer after ``words`` (the last word being completed)."""
    parts = words.split(" ")
    env = {
        "_COVE_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(parts) - 1),
    }
    out = cove([], env=env).stdout
    return [line.split(",", 1)[1] for line in out.splitlines() if "," in line]


def test_commands_and_options_complete(cove: Cove) -> None:
    assert {"cluster", "template", "nodegroup"} <= set(_complete(cove, "cove "))
    assert set(_complete(cove, "cove cluster ")) >= {"create", "resize", "config", "events"}
    assert "--no-wait" in _complete(cove, "cove cluster delete --")


def test_cluster_and_template_names_complete_from_the_api(
    cove: Cove, cluster: dict[str, Any]
) -> None:
    name = cluster["name"]
    assert name in _complete(cove, f"cove cluster show {name[:3]}")
    assert "slow-tpl" in _complete(cove, "cove template show sl")
    assert "tpl" in _complete(cove, "cove cluster create x --template ")


def test_name_completion_is_silent_when_the_api_is_down(cove: Cove) -> None:
    out = cove(
        [],
        env={
            "_COVE_COMPLETE": "bash_complete",
            "COMP_WORDS": "cove cluster show ",
            "COMP_CWORD": "3",
            "COVE_URL": "http://127.0.0.1:1",
        },
    )
    assert out.stdout.strip() == "" and out.stderr == ""
