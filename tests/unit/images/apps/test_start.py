"""cove-start, run as a program against temporary directories: Kolla's config.json contract
(copy always or once, owners, modes, optional sources, globs, directories, permissions), the
gate the command runs through, the exec, and a clear message and non-zero exit for each mistake.

Owners are the current user's, so the tests pass without root."""

from __future__ import annotations

import grp
import json
import os
import pwd
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cove.images.apps import start_script

USER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name
OWNER = f"{USER}:{GROUP}"


class Container:
    """A temporary directory laid out like an app container: config files, a marker and a
    gate path inside it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config_dir = root / "config_files"
        self.config_dir.mkdir()
        self.script = root / "cove-start"
        self.script.write_text(start_script())
        self.marker = root / "configured"
        self.gate = root / "cove-gate"

    def source(self, name: str, content: str = "x = 1\n") -> Path:
        path = self.config_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        return path

    def config(self, command: str = "true", **sections: Any) -> Path:
        path = self.config_dir / "config.json"
        path.write_text(json.dumps({"command": command, **sections}))
        return path

    def run(
        self, *args: str, strategy: str | None = "COPY_ALWAYS", **env: str
    ) -> subprocess.CompletedProcess[str]:
        environ = {
            "PATH": os.environ["PATH"],
            "KOLLA_CONFIG_FILE": str(self.config_dir / "config.json"),
            "COVE_START_MARKER": str(self.marker),
            "COVE_GATE": str(self.gate),
            **env,
        }
        if strategy is not None:
            environ["KOLLA_CONFIG_STRATEGY"] = strategy
        return subprocess.run(
            [sys.executable, str(self.script), *args],
            env=environ,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )


@pytest.fixture
def box(tmp_path: Path) -> Container:
    return Container(tmp_path)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_copies_a_file_with_the_mode_asked_then_runs_the_command(box: Container) -> None:
    box.source("app.conf", "[DEFAULT]\ndebug = true\n")
    dest = box.root / "etc/app/app.conf"
    out = box.root / "ran"
    box.config(
        f"sh -c 'cat {dest} > {out}'",
        config_files=[
            {
                "source": str(box.config_dir / "app.conf"),
                "dest": str(dest),
                "owner": OWNER,
                "perm": "0600",
            }
        ],
    )
    result = box.run()
    assert result.returncode == 0, result.stderr
    assert dest.read_text() == "[DEFAULT]\ndebug = true\n"
    assert _mode(dest) == 0o600
    assert (dest.stat().st_uid, dest.stat().st_gid) == (os.getuid(), os.getgid())
    assert out.read_text() == dest.read_text()  # the command ran after the copy
    assert "copying" in result.stderr


def test_the_command_replaces_the_start_program(box: Container) -> None:
    """exec, not a child: the service gets cove-start's pid, so signals reach it."""
    box.config("sh -c 'echo $$; exec sleep 30'")
    env = {
        "PATH": os.environ["PATH"],
        "KOLLA_CONFIG_FILE": str(box.config_dir / "config.json"),
        "KOLLA_CONFIG_STRATEGY": "COPY_ALWAYS",
        "COVE_GATE": str(box.gate),
    }
    with subprocess.Popen(
        [sys.executable, str(box.script)], env=env, stdout=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            assert int(process.stdout.readline()) == process.pid
            process.terminate()  # SIGTERM goes to sleep itself
            assert process.wait(timeout=10) == -15
        finally:
            process.kill()


def test_the_command_is_split_like_a_shell_would(box: Container) -> None:
    out = box.root / "args"
    box.config(f"""python3 -c 'import sys; open("{out}", "w").write(repr(sys.argv[1:]))' "a b" c""")
    result = box.run()
    assert result.returncode == 0, result.stderr
    assert out.read_text() == "['a b', 'c']"


def test_copy_always_copies_on_every_start(box: Container) -> None:
    source = box.source("a.conf", "one\n")
    dest = box.root / "etc/a.conf"
    entry = {"source": str(source), "dest": str(dest), "owner": OWNER, "perm": "644"}
    box.config(config_files=[entry])
    assert box.run().returncode == 0
    source.write_text("two\n")
    assert box.run().returncode == 0
    assert dest.read_text() == "two\n"
    assert not box.marker.exists()


def test_copy_once_copies_on_the_first_start_only(box: Container) -> None:
    source = box.source("a.conf", "one\n")
    dest = box.root / "etc/a.conf"
    out = box.root / "ran"
    entry = {"source": str(source), "dest": str(dest), "owner": OWNER, "perm": "644"}
    box.config(f"touch {out}", config_files=[entry])
    first = box.run(strategy="COPY_ONCE")
    assert first.returncode == 0, first.stderr
    assert box.marker.exists()
    source.write_text("two\n")
    out.unlink()
    second = box.run(strategy="COPY_ONCE")
    assert second.returncode == 0, second.stderr
    assert dest.read_text() == "one\n"  # kept from the first start
    assert out.exists()  # the command still runs
    assert "nothing copied" in second.stderr


def test_globs_copy_every_match_into_a_directory(box: Container) -> None:
    box.source("conf.d/a.conf", "a\n")
    box.source("conf.d/b.conf", "b\n")
    box.source("conf.d/c.txt", "c\n")
    dest_dir = box.root / "etc/app/conf.d"
    box.config(
        config_files=[
            {
                "source": str(box.config_dir / "conf.d/*.conf"),
                "dest": f"{dest_dir}/",
                "owner": OWNER,
                "perm": "0640",
            }
        ]
    )
    assert box.run().returncode == 0
    assert sorted(p.name for p in dest_dir.iterdir()) == ["a.conf", "b.conf"]
    assert all(_mode(p) == 0o640 for p in dest_dir.iterdir())


def test_directories_are_copied_recursively_and_made_searchable(box: Container) -> None:
    box.source("keys/0", "k0\n")
    box.source("keys/sub/1", "k1\n")
    dest = box.root / "etc/keys"
    dest.mkdir(parents=True)
    (dest / "stale").write_text("old\n")
    box.config(
        config_files=[
            {
                "source": str(box.config_dir / "keys"),
                "dest": str(dest),
                "owner": OWNER,
                "perm": "0640",
            }
        ]
    )
    assert box.run().returncode == 0
    assert (dest / "0").read_text() == "k0\n"
    assert (dest / "sub/1").read_text() == "k1\n"
    assert not (dest / "stale").exists()  # replaced, not merged
    assert _mode(dest / "0") == 0o640
    assert _mode(dest / "sub") == 0o750  # readable directories get the search bits


def test_merge_keeps_what_is_already_there(box: Container) -> None:
    box.source("keys/new", "n\n")
    dest = box.root / "etc/keys"
    dest.mkdir(parents=True)
    (dest / "kept").write_text("k\n")
    box.config(
        config_files=[
            {
                "source": str(box.config_dir / "keys"),
                "dest": str(dest),
                "owner": OWNER,
                "perm": "0644",
                "merge": True,
            }
        ]
    )
    assert box.run().returncode == 0
    assert sorted(p.name for p in dest.iterdir()) == ["kept", "new"]


def test_a_missing_optional_source_is_skipped(box: Container) -> None:
    box.config(
        config_files=[
            {
                "source": str(box.config_dir / "absent.conf"),
                "dest": str(box.root / "etc/absent.conf"),
                "owner": OWNER,
                "perm": "0600",
                "optional": True,
            }
        ]
    )
    result = box.run()
    assert result.returncode == 0, result.stderr
    assert not (box.root / "etc/absent.conf").exists()
    assert "optional" in result.stderr


def test_a_missing_required_source_stops_the_start(box: Container) -> None:
    out = box.root / "ran"
    box.config(
        f"touch {out}",
        config_files=[
            {
                "source": str(box.config_dir / "absent.conf"),
                "dest": str(box.root / "etc/absent.conf"),
                "owner": OWNER,
                "perm": "0600",
            }
        ],
    )
    result = box.run()
    assert result.returncode == 1
    assert "absent.conf is missing" in result.stderr
    assert not out.exists()


def test_permissions_recurse_and_exclude(box: Container) -> None:
    data = box.root / "data"
    (data / "sub").mkdir(parents=True)
    (data / "sub/file").write_text("x")
    (data / "skip.log").write_text("x")
    (data / "skip.log").chmod(0o644)
    box.config(
        permissions=[
            {
                "path": str(data),
                "owner": OWNER,
                "perm": "0600",
                "recurse": True,
                "exclude": [r"\.log$"],
            }
        ]
    )
    assert box.run().returncode == 0
    assert _mode(data) == 0o700
    assert _mode(data / "sub") == 0o700
    assert _mode(data / "sub/file") == 0o600
    assert _mode(data / "skip.log") == 0o644


def test_directories_and_files_are_created(box: Container) -> None:
    box.config(
        directories=[{"path": str(box.root / "run/app"), "owner": OWNER, "perm": "0750"}],
        files=[{"path": str(box.root / "run/app/app.pid"), "owner": OWNER, "perm": "0640"}],
    )
    assert box.run().returncode == 0
    assert _mode(box.root / "run/app") == 0o750
    assert _mode(box.root / "run/app/app.pid") == 0o640


def test_an_unknown_owner_is_named(box: Container) -> None:
    source = box.source("a.conf")
    box.config(
        config_files=[
            {
                "source": str(source),
                "dest": str(box.root / "a"),
                "owner": "no-such-user",
                "perm": "0600",
            }
        ]
    )
    result = box.run()
    assert result.returncode == 1
    assert "no user 'no-such-user'" in result.stderr


def test_an_unknown_group_is_named(box: Container) -> None:
    box.config(permissions=[{"path": str(box.root), "owner": f"{USER}:no-such-group"}])
    result = box.run()
    assert result.returncode == 1
    assert "no group 'no-such-group'" in result.stderr


def test_a_bad_mode_is_named(box: Container) -> None:
    box.config(permissions=[{"path": str(box.root), "owner": OWNER, "perm": "rw-r--r--"}])
    result = box.run()
    assert result.returncode == 1
    assert "perm 'rw-r--r--'" in result.stderr


def test_a_missing_config_file_is_named(box: Container) -> None:
    result = box.run()
    assert result.returncode == 1
    assert f"{box.config_dir / 'config.json'} does not exist" in result.stderr
    assert "KOLLA_CONFIG_FILE" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        ("[]", "expected a JSON object"),
        ("{}", '"command" is missing'),
        ('{"command": "true", "config_files": [{"dest": "/x"}]}', 'config_files[0]: "source"'),
        (
            '{"command": "true", "config_files": [{"source": "/a", "dest": "/x"}]}',
            'needs "owner" and "perm"',
        ),
        ('{"command": "true", "permissions": [{"path": "/x"}]}', 'permissions[0]: "owner"'),
        (
            '{"command": "true", "directories": [{"path": "/x/*", "owner": "a", "perm": "0755"}]}',
            "globs are not allowed",
        ),
        ('{"command": "echo \'unclosed"}', "cannot be split"),
    ],
)
def test_a_bad_config_is_refused_with_its_reason(
    box: Container, content: str, message: str
) -> None:
    (box.config_dir / "config.json").write_text(content)
    result = box.run()
    assert result.returncode == 1
    assert message in result.stderr, result.stderr


@pytest.mark.parametrize("strategy", [None, "COPY_SOMETIMES"])
def test_the_strategy_must_be_known(box: Container, strategy: str | None) -> None:
    box.config()
    result = box.run(strategy=strategy)
    assert result.returncode == 1
    assert "KOLLA_CONFIG_STRATEGY" in result.stderr
    assert "COPY_ALWAYS or COPY_ONCE" in result.stderr


def test_a_missing_command_exits_127(box: Container) -> None:
    box.config("/no/such/program --flag")
    result = box.run()
    assert result.returncode == 127
    assert "cannot run /no/such/program" in result.stderr


def test_the_command_runs_through_the_gate(box: Container) -> None:
    seen = box.root / "gate-args"
    out = box.root / "ran"
    box.gate.write_text(f'#!/bin/sh\necho "$@" > {seen}\nexec "$@"\n')
    box.gate.chmod(0o755)
    box.config(f"touch {out}")
    result = box.run()
    assert result.returncode == 0, result.stderr
    assert seen.read_text() == f"touch {out}\n"
    assert out.exists()


def test_a_refusing_gate_ends_the_start_with_its_status(box: Container) -> None:
    out = box.root / "ran"
    box.gate.write_text("#!/bin/sh\nexit 3\n")
    box.gate.chmod(0o755)
    box.config(f"touch {out}")
    assert box.run().returncode == 3
    assert not out.exists()


def test_a_gate_that_is_not_executable_is_ignored(box: Container) -> None:
    box.gate.write_text("#!/bin/sh\nexit 3\n")
    box.gate.chmod(0o644)
    box.config()
    assert box.run().returncode == 0


def test_arguments_replace_the_configured_command(box: Container) -> None:
    """As with a Kolla image given another command: no config.json is read."""
    result = box.run("echo", "hello", strategy=None)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello\n"
