"""archives.build_tar(): files only, never directory entries (a directory entry would reset
the mode and owner of a directory that exists in the node, such as /tmp)."""

from __future__ import annotations

import io
import tarfile

import pytest

from cove.providers.docker.archives import archive_name, build_tar


def _members(data: bytes) -> dict[str, tuple[tarfile.TarInfo, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        result = {}
        for info in tar.getmembers():
            handle = tar.extractfile(info)
            result[info.name] = (info, handle.read() if handle else b"")
        return result


def test_files_are_written_with_mode_and_root_owner() -> None:
    files = {"/etc/docker/daemon.json": b"{}", "/etc/docker/certs/ca.pem": b"PEM"}

    members = _members(build_tar(files, mtime=1_700_000_000))

    assert sorted(members) == ["etc/docker/certs/ca.pem", "etc/docker/daemon.json"]
    for name, (info, content) in members.items():
        assert info.isfile()
        assert info.mode == 0o600
        assert (info.uid, info.gid) == (0, 0)
        assert info.mtime == 1_700_000_000
        assert content == files["/" + name]


def test_no_directory_entries_even_for_deep_paths() -> None:
    members = _members(build_tar({"/tmp/a/b/c/file": b"x"}))

    assert list(members) == ["tmp/a/b/c/file"]
    assert not any(info.isdir() for info, _ in members.values())


def test_mode_is_applied() -> None:
    ((info, _),) = _members(build_tar({"/usr/local/bin/tool": b"#!/bin/sh\n"}, mode=0o755)).values()
    assert info.mode == 0o755


def test_empty_and_binary_content() -> None:
    members = _members(build_tar({"/empty": b"", "/bin.dat": bytes(range(256))}))
    assert members["empty"][1] == b""
    assert members["bin.dat"][1] == bytes(range(256))


@pytest.mark.parametrize("path", ["etc/x", "/etc/", "/", "/etc/../x", "", "./x"])
def test_paths_must_be_absolute_files(path: str) -> None:
    with pytest.raises(ValueError):
        build_tar({path: b"x"})


def test_archive_name_normalises_repeated_slashes() -> None:
    assert archive_name("/etc//docker/./daemon.json") == "etc/docker/daemon.json"
