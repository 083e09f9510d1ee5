"""What a Debian build needs to know about this machine and about the root it made: the
mirror apt uses here, and the version of a package installed in a root file system."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from cove.images.errors import ImageBuildError

APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))


def apt_mirror(suite: str, sources: Sequence[Path] = APT_SOURCES) -> str:
    """The Debian mirror apt uses on this machine (one-line ``.list`` and deb822 ``.sources``
    files): the URI of a ``deb`` entry for ``suite`` with component ``main``."""
    entries: list[tuple[str, list[str], list[str]]] = []  # (uri, suites, components)
    files: list[Path] = []
    for source in sources:
        if source.is_dir():
            files.extend(sorted(p for p in source.iterdir() if p.suffix in (".list", ".sources")))
        elif source.is_file():
            files.append(source)
    for path in files:
        text = path.read_text(errors="replace")
        if path.suffix == ".sources":
            entries.extend(_deb822_entries(text))
        else:
            entries.extend(_one_line_entries(text))
    for uri, suites, components in entries:
        if suite in suites and "main" in components:
            return uri.rstrip("/")
    raise ImageBuildError(
        f"no Debian mirror for {suite} in apt's sources ({', '.join(str(p) for p in files)}): "
        "add a 'deb <mirror> " + suite + " main' entry"
    )


def _deb822_entries(text: str) -> Iterator[tuple[str, list[str], list[str]]]:
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            yield uri, fields.get("suites", "").split(), fields.get("components", "").split()


def _one_line_entries(text: str) -> Iterator[tuple[str, list[str], list[str]]]:
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if not words or words[0] != "deb":
            continue
        words = words[1:]
        if words and words[0].startswith("["):  # options: [arch=amd64 signed-by=...]
            while words and not words[0].endswith("]"):
                words = words[1:]
            words = words[1:]
        if len(words) >= 3:
            yield words[0], [words[1]], words[2:]


def package_version(rootfs: Path, package: str) -> str:
    """The installed version of ``package`` in the root file system's dpkg database."""
    status = rootfs / "var/lib/dpkg/status"
    for stanza in status.read_text(errors="replace").split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in stanza.splitlines() if ": " in line and line[0] != " "
        )
        if fields.get("Package") == package and fields.get("Status", "").endswith(" installed"):
            return fields.get("Version", "")
    raise ImageBuildError(f"{package} is not installed in {rootfs}")
