"""The root file system of an image: ``debootstrap`` of the recipe's suite and packages on
this machine's Debian mirror, the recipe's users added, trimmed, apt's caches emptied, the
recipe's directories and files written.

Packages are installed as debootstrap installs them: their dependencies but not their
recommendations, and with ``/usr/sbin/policy-rc.d`` refusing (exit 101) and a fake
``start-stop-daemon`` while they are configured, so a server's postinst (mariadb, memcached)
does not start it inside the build."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from cove.images.commands import run_command, tail
from cove.images.debian import apt_mirror
from cove.images.errors import ImageBuildError
from cove.images.recipe import ImageRecipe

DEBOOTSTRAP_TIMEOUT = 1800.0


def debootstrap(recipe: ImageRecipe, rootfs: Path, done: Path, log: Callable[[str], None]) -> None:
    """Make ``rootfs`` from scratch and lay the recipe over it; ``done`` is touched when
    complete (a later build resumes from a complete root)."""
    if shutil.which("debootstrap") is None:
        raise ImageBuildError("debootstrap is not installed: run scripts/docker-engine.sh")
    done.unlink(missing_ok=True)
    if rootfs.exists():
        log(f"removing the incomplete root file system {rootfs}")
        shutil.rmtree(rootfs)
    mirror = apt_mirror(recipe.suite)
    argv = [
        "debootstrap",
        f"--variant={recipe.variant}",
        f"--include={','.join(recipe.packages)}",
        recipe.suite,
        str(rootfs),
        mirror,
    ]
    log(f"debootstrap {recipe.suite} from {mirror} into {rootfs} (about a minute)")
    started = time.monotonic()
    try:
        run_command(argv, timeout=DEBOOTSTRAP_TIMEOUT, what="debootstrap")
    except ImageBuildError as exc:
        debootstrap_log = rootfs / "debootstrap/debootstrap.log"
        if debootstrap_log.exists():
            exc.output = tail(debootstrap_log.read_text(errors="replace"))
            exc.args = (f"{exc.message}\n{exc.output}",)
        raise
    log(f"debootstrap done in {time.monotonic() - started:.1f}s")
    add_users(recipe, rootfs)
    lay_over(recipe, rootfs)
    done.touch()


def add_users(recipe: ImageRecipe, rootfs: Path) -> None:
    """Create the recipe's system users (each with its own group, home /var/lib/<name>, no
    login shell) with the root's own useradd, unless a package already made them."""
    passwd = rootfs / "etc/passwd"
    existing = {line.split(":", 1)[0] for line in passwd.read_text().splitlines() if line}
    for user in recipe.users:
        if user in existing:
            continue
        run_command(
            [
                "chroot",
                str(rootfs),
                "useradd",
                "--system",
                "--user-group",
                f"--home-dir=/var/lib/{user}",
                "--no-create-home",
                "--shell=/usr/sbin/nologin",
                user,
            ],
            what=f"useradd {user}",
        )


def _empty(directory: Path) -> None:
    for child in directory.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def lay_over(recipe: ImageRecipe, rootfs: Path) -> None:
    """Trim, drop apt's downloaded packages and lists, then write the recipe's directories
    and files."""
    for relative in recipe.trim:
        target = rootfs / relative
        if target.is_dir():
            _empty(target)
    for leftover in (rootfs / "var/cache/apt/archives").glob("*.deb"):
        leftover.unlink()
    lists = rootfs / "var/lib/apt/lists"
    if lists.is_dir():
        for child in lists.iterdir():
            if child.is_file():
                child.unlink()
    for directory in recipe.directories:
        (rootfs / directory.lstrip("/")).mkdir(parents=True, exist_ok=True)
    for file in recipe.files:
        target = rootfs / file.path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(file.content.encode())
        target.chmod(file.mode)
