#!/usr/bin/python3
"""cove-start: the entrypoint of cove's application images, Kolla's start contract.

This file is shipped verbatim into every app image as ``/usr/local/bin/cove-start`` (cove's
recipes read it as data); it runs there under Debian's python3 and must use nothing but the
standard library. It never imports cove.

On start it:

1. reads ``/var/lib/kolla/config_files/config.json`` (``KOLLA_CONFIG_FILE`` names another
   path)::

       {"command": "etcd --data-dir /var/lib/etcd",
        "config_files": [{"source": "/var/lib/kolla/config_files/etcd.conf",
                          "dest": "/etc/etcd/etcd.conf", "owner": "etcd[:etcd]",
                          "perm": "0640", "optional": false, "merge": false}],
        "permissions": [{"path": "/var/lib/etcd", "owner": "etcd", "perm": "0700",
                         "recurse": true, "exclude": ["regex"]}],
        "directories": [{"path": "...", "owner": "...", "perm": "..."}],
        "files": [{"path": "...", "owner": "...", "perm": "..."}]}

2. applies it as ``KOLLA_CONFIG_STRATEGY`` says: ``COPY_ALWAYS`` on every start,
   ``COPY_ONCE`` on the first start only (a marker file, ``/configured`` as in Kolla,
   ``COVE_START_MARKER`` names another, remembers that it was done). ``directories`` and
   ``files`` are created, each of ``config_files`` is copied (``source`` may be a glob;
   directories are copied recursively; a ``dest`` ending in ``/`` receives the source under its
   own name; ``merge`` keeps what is already at ``dest``; ``optional`` sources may be missing;
   ``preserve_properties`` keeps the source's owner and mode instead of ``owner``/``perm``),
   then ``permissions`` are set (``path`` may be a glob, ``recurse`` walks directories,
   ``exclude`` lists regular expressions of paths to leave alone). Modes are ``640``, ``0640``
   or ``0o640``; a directory readable by someone is searchable by them too.

3. execs the command (split like a shell would, ``shlex``, but with no shell) through the
   gate ``/usr/local/bin/cove-gate`` (``COVE_GATE`` names another) when it exists and is
   executable: ``cove-gate COMMAND…`` waits until what the container needs holds, then runs
   a one-time task under its lock or execs a service (``cove.deploy.gate``); without a gate,
   the command itself. Either way the service ends up in this process's place, so ``docker
   stop``'s signal reaches it. Commands drop privileges themselves (``mysqld --user=mysql``,
   ``setpriv --reuid=etcd ...``), as Kolla's do with USER.

Given arguments (``docker run IMAGE etcdctl version``), it execs them and reads no
configuration, as a Kolla image does when its command is replaced. Differences from Kolla
23.0.0's ``kolla_set_configs``: no ``config.yaml`` (Debian's minimal python has no YAML), no
``--check`` mode and no defaults backup (``/etc/kolla/defaults``); on a ``COPY_ONCE`` restart
the command comes from config.json rather than from ``/run_command``.

Exit status: 1 for a configuration error (the message names the file and the key), 2 for an
unexpected error, 127 when the command (or the gate) cannot be run; then the gate's own.
"""

from __future__ import annotations

import glob
import grp
import json
import os
import pwd
import re
import shlex
import shutil
import stat
import sys
from typing import Any, NoReturn

DEFAULT_CONFIG_FILE = "/var/lib/kolla/config_files/config.json"
DEFAULT_MARKER = "/configured"
DEFAULT_GATE = "/usr/local/bin/cove-gate"
STRATEGIES = ("COPY_ALWAYS", "COPY_ONCE")


class StartError(Exception):
    """A problem the operator can fix in config.json or the container's environment."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def say(message: str) -> None:
    print(f"cove-start: {message}", file=sys.stderr, flush=True)


# --- config.json ------------------------------------------------------------------------


def load_config(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except FileNotFoundError:
        raise StartError(
            f"{path} does not exist: mount the service's config.json there "
            "(or name it with KOLLA_CONFIG_FILE)"
        ) from None
    except json.JSONDecodeError as exc:
        raise StartError(f"{path} is not valid JSON: {exc}") from None
    except OSError as exc:
        raise StartError(f"cannot read {path}: {exc.strerror}") from None
    validate_config(config, path)
    return config


def _entries(config: dict[str, Any], key: str, path: str) -> list[dict[str, Any]]:
    entries = config.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise StartError(f'{path}: "{key}" must be a list of objects')
    return entries


def validate_config(config: Any, path: str) -> None:
    """Kolla's rules: a command; each config file has source and dest, and owner and perm
    unless it preserves the source's; directories, files and permissions name path and
    owner (directories and files a perm too), never null, and the first two take no glob."""
    if not isinstance(config, dict):
        raise StartError(f"{path}: expected a JSON object")
    command = config.get("command")
    if not isinstance(command, str) or not command.strip():
        raise StartError(f'{path}: "command" is missing or empty')
    for index, entry in enumerate(_entries(config, "config_files", path)):
        where = f"{path}: config_files[{index}]"
        for key in ("source", "dest"):
            if not isinstance(entry.get(key), str) or not entry[key]:
                raise StartError(f'{where}: "{key}" is missing')
        if not entry.get("preserve_properties") and ("owner" not in entry or "perm" not in entry):
            raise StartError(f'{where}: needs "owner" and "perm" (or "preserve_properties")')
    for section, required in (
        ("directories", ("path", "owner", "perm")),
        ("files", ("path", "owner", "perm")),
        ("permissions", ("path", "owner")),
    ):
        for index, entry in enumerate(_entries(config, section, path)):
            where = f"{path}: {section}[{index}]"
            for key in required:
                if entry.get(key) is None:
                    raise StartError(f'{where}: "{key}" is missing')
            if section != "permissions" and glob.has_magic(entry["path"]):
                raise StartError(f"{where}: globs are not allowed here ({entry['path']})")


# --- owners and modes -------------------------------------------------------------------


def owner_ids(owner: str) -> tuple[int, int]:
    """``user``, ``user:group`` or ``user:`` (group named as the user) to uid and gid."""
    user, _, group = owner.partition(":")
    group = group or user
    try:
        uid = pwd.getpwnam(user).pw_uid
    except KeyError:
        raise StartError(f"owner {owner!r}: no user {user!r} in this image") from None
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        raise StartError(f"owner {owner!r}: no group {group!r} in this image") from None
    return uid, gid


def parse_mode(perm: Any) -> int:
    text = str(perm)
    if re.fullmatch(r"[0-7]{3,4}", text):
        return int(text, 8)
    if re.fullmatch(r"0o[0-7]{3,4}", text):
        return int(text[2:], 8)
    raise StartError(f"perm {perm!r}: expected a mode such as 644, 0640 or 0o640")


def set_properties(path: str, owner: str, perm: Any) -> None:
    if not os.path.lexists(path):
        say(f"warning: {path} does not exist; its owner and mode were not set")
        return
    uid, gid = owner_ids(owner)
    st = os.lstat(path)
    if (st.st_uid, st.st_gid) != (uid, gid):  # unchanged owners need no privilege
        os.lchown(path, uid, gid)
    if perm is None or stat.S_ISLNK(st.st_mode):
        return
    mode = parse_mode(perm)
    if stat.S_ISDIR(st.st_mode):  # as Kolla: readable directories are searchable
        for read, search in ((0o400, 0o100), (0o040, 0o010), (0o004, 0o001)):
            if mode & read:
                mode |= search
    os.chmod(path, mode)


def apply_permissions(entries: list[dict[str, Any]]) -> None:
    for entry in entries:
        owner, perm = entry["owner"], entry.get("perm")
        excludes = [re.compile(pattern) for pattern in entry.get("exclude", [])]
        for path in sorted(glob.glob(entry["path"])):
            set_properties(path, owner, perm)
            if not (entry.get("recurse") and os.path.isdir(path)):
                continue
            for root, dirs, files in os.walk(path):
                for name in dirs + files:
                    full = os.path.join(root, name)
                    if not any(p.search(full) for p in excludes):
                        set_properties(full, owner, perm)


# --- copying ----------------------------------------------------------------------------


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


def _copy_tree(source: str, dest: str, entry: dict[str, Any]) -> None:
    if os.path.isdir(source):
        if os.path.lexists(dest) and not os.path.isdir(dest):
            _remove(dest)
        os.makedirs(dest, exist_ok=True)
        _copy_properties(source, dest, entry)
        for name in sorted(os.listdir(source)):
            _copy_tree(os.path.join(source, name), os.path.join(dest, name), entry)
        return
    _remove(dest)
    shutil.copyfile(source, dest)
    _copy_properties(source, dest, entry)


def _copy_properties(source: str, dest: str, entry: dict[str, Any]) -> None:
    if entry.get("preserve_properties"):
        shutil.copystat(source, dest)
        st = os.stat(source)
        os.chown(dest, st.st_uid, st.st_gid)
    else:
        set_properties(dest, entry["owner"], entry["perm"])


def copy_config_file(entry: dict[str, Any]) -> None:
    sources = sorted(glob.glob(entry["source"]))
    if not sources:
        if entry.get("optional"):
            say(f"{entry['source']} is missing and optional: skipped")
            return
        raise StartError(
            f'config file source {entry["source"]} is missing (mark it "optional": true '
            "if the service can start without it)"
        )
    for source in sources:
        dest = entry["dest"]
        if dest.endswith("/"):
            dest = os.path.join(dest, os.path.basename(source.rstrip("/")))
        if not entry.get("merge"):
            _remove(dest)
        os.makedirs(os.path.dirname(dest) or "/", exist_ok=True)
        say(f"copying {source} to {dest}")
        try:
            _copy_tree(source, dest, entry)
        except OSError as exc:
            raise StartError(f"cannot copy {source} to {dest}: {exc}") from None


def create_paths(config: dict[str, Any]) -> None:
    for entry in config.get("directories", []):
        os.makedirs(entry["path"], exist_ok=True)
        set_properties(entry["path"], entry["owner"], entry["perm"])
    for entry in config.get("files", []):
        path = entry["path"]
        if os.path.islink(path) or os.path.isdir(path):
            raise StartError(f"files: {path} exists and is not a regular file")
        if not os.path.isdir(os.path.dirname(path) or "/"):
            raise StartError(f"files: the directory of {path} does not exist")
        with open(path, "a", encoding="utf-8"):
            pass
        set_properties(path, entry["owner"], entry["perm"])


def apply_config(config: dict[str, Any], strategy: str, marker: str) -> None:
    if strategy not in STRATEGIES:
        raise StartError(
            f"KOLLA_CONFIG_STRATEGY is {strategy or 'not set'}: set it to "
            + " or ".join(STRATEGIES)
        )
    if strategy == "COPY_ONCE" and os.path.exists(marker):
        say(f"COPY_ONCE: configured on an earlier start ({marker}); nothing copied")
        return
    create_paths(config)
    for entry in config.get("config_files", []):
        copy_config_file(entry)
    apply_permissions(config.get("permissions", []))
    if strategy == "COPY_ONCE":
        with open(marker, "w", encoding="utf-8"):
            pass


# --- gate and command -------------------------------------------------------------------


def gated(gate: str, argv: list[str]) -> list[str]:
    """The command as it runs: through the gate when the image has one."""
    if os.path.isfile(gate) and os.access(gate, os.X_OK):
        return [gate, *argv]
    return argv


def exec_command(argv: list[str]) -> NoReturn:
    say(f"running command: {shlex.join(argv)}")
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        raise StartError(f"cannot run {argv[0]}: {exc.strerror}", exit_code=127) from None


def main(args: list[str]) -> int:
    try:
        if args:  # a replaced command: run it as it is, like a Kolla image would
            exec_command(args)
        config_file = os.environ.get("KOLLA_CONFIG_FILE") or DEFAULT_CONFIG_FILE
        config = load_config(config_file)
        try:
            argv = shlex.split(config["command"])
        except ValueError as exc:
            raise StartError(f'{config_file}: "command" cannot be split: {exc}') from None
        apply_config(
            config,
            os.environ.get("KOLLA_CONFIG_STRATEGY", ""),
            os.environ.get("COVE_START_MARKER") or DEFAULT_MARKER,
        )
        exec_command(gated(os.environ.get("COVE_GATE") or DEFAULT_GATE, argv))
    except StartError as exc:
        say(f"error: {exc}")
        return exc.exit_code
    except Exception as exc:  # the container's log is the only place to say it
        say(f"unexpected error: {exc.__class__.__name__}: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
