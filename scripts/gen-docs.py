"""Regenerate the generated sections of docs/labels.md from the code, so they cannot drift.

Each section sits between marker comments and is rewritten whole:

    <!-- labels:COE -->  …  <!-- /labels:COE -->   drivers and label table of one COE
    <!-- storage-drivers -->  …                    docker_storage_driver values
    <!-- label-error -->  …                        the error a bad label gets
    <!-- label-warning -->  …                      the Cove-Warning header for unknown labels

Usage: .venv/bin/python scripts/gen-docs.py [--check]
(--check exits 1 and rewrites nothing when the file is out of date).
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path

from starlette.responses import Response

from cove import errors
from cove.api import warnings
from cove.domain.coes import MAX_MASTERS, OPTIONS, STORAGE_DRIVERS, Coe
from cove.domain.labels import LabelSpec, label_specs, validate_labels
from cove.domain.labels.flannel import MAX_SUBNETLEN

LABELS_MD = Path(__file__).resolve().parent.parent / "docs" / "labels.md"

# Lists longer than this are printed under the table rather than in a cell.
_LONG_LIST = 8

# What a free-form label's check accepts, by the check's qualified name. A check not listed
# here stops the generator, so a new kind of value is described before it is documented.
_TYPES: dict[str, str] = {
    "cove.domain.labels._core.absolute_path": "absolute path",
    "cove.domain.labels._core.ipv4_network": "IPv4 network in CIDR form",
    "cove.domain.labels.flannel._cidr": (
        f"IPv4 network in CIDR form, prefix length {MAX_SUBNETLEN - 1} or less"
    ),
    "cove.domain.labels.common._registry_prefix": "text ending in `/`, or empty",
    "cove.domain.labels.kubernetes._kube_tag": "Kubernetes release tag, e.g. `v1.30.2`",
    "cove.domain.labels.mesos._executor_env": "JSON object of strings",
    "cove.domain.labels.dcos._overlay_network": "JSON object",
    "cove.domain.labels.dcos._dns_search": "space-separated domain names, at most 6",
    "cove.domain.labels.dcos._zk_hosts": "comma-separated `host:port` pairs",
}

# The error example: a near-miss DC/OS isolator.
ERROR_EXAMPLE = ("dcos", {"isolation": "docker/volumes"})
# The warning example: a misspelt flannel label.
WARNING_EXAMPLE = (
    "kubernetes",
    {"flannel_backend": "vxlan", "flanel_network_cidr": "10.101.0.0/16"},
)


def _code(value: str) -> str:
    return "(empty)" if value == "" else f"`{value}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _value_type(spec: LabelSpec) -> str:
    if spec.allowed is not None:
        if len(spec.allowed) > _LONG_LIST:
            choice = f"one of the {len(spec.allowed)} values listed below"
        else:
            choice = ", ".join(_code(value) for value in spec.allowed)
        return f"comma-separated, each {choice}" if spec.is_list else choice
    if spec.check is None:
        return "text"
    name = f"{spec.check.__module__}.{spec.check.__qualname__}"
    if name == "cove.domain.labels._core.integer.<locals>.check":
        bounds = inspect.getclosurevars(spec.check).nonlocals
        low, high = bounds["minimum"], bounds["maximum"]
        if high is None:
            return f"whole number, {low} or more"
        return f"whole number from {low} to {high}"
    if name not in _TYPES:
        raise SystemExit(f"gen-docs: describe the values of {spec.name}'s check {name} in _TYPES")
    return _TYPES[name]


def _default(spec: LabelSpec) -> str:
    return "unset" if spec.default is None else _code(spec.default)


def _description(spec: LabelSpec) -> str:
    text = spec.description
    if spec.secret:
        text += " Secret: errors show `(hidden)` instead of its value."
    return text


def coe_section(coe: str) -> str:
    """Drivers, master count and the label table of one COE."""
    options = OPTIONS[Coe(coe)]
    networks = ", ".join(
        f"`{name}` (default)" if name == options.default_network_driver else f"`{name}`"
        for name in options.network_drivers
    )
    volumes = ", ".join(f"`{name}`" for name in options.volume_drivers)
    masters = (
        f"an odd number from 1 to {MAX_MASTERS}" if options.odd_masters else f"1 to {MAX_MASTERS}"
    )
    specs = label_specs(coe)
    lines = [
        f"- `network_driver`: {networks}",
        f"- `volume_driver`: {volumes}, or unset",
        f"- `master_count`: {masters}",
        "",
        "| Label | Allowed values | Default | What it does |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| `{spec.name}` | {_cell(_value_type(spec))} | {_cell(_default(spec))} "
        f"| {_cell(_description(spec))} |"
        for spec in specs
    ]
    for spec in specs:
        if spec.allowed is not None and len(spec.allowed) > _LONG_LIST:
            listed = ", ".join(_code(value) for value in spec.allowed)
            lines += ["", f"`{spec.name}` values: {listed}."]
    return "\n".join(lines)


def storage_section() -> str:
    return "`docker_storage_driver`: " + ", ".join(f"`{name}`" for name in STORAGE_DRIVERS) + "."


def error_section() -> str:
    coe, labels = ERROR_EXAMPLE
    try:
        validate_labels(coe, labels)
    except errors.InvalidLabel as err:
        return f"```text\n{err.message}\n```"
    raise SystemExit(f"gen-docs: the error example {labels} is accepted for {coe}")


def warning_section() -> str:
    coe, labels = WARNING_EXAMPLE
    response = Response()
    warnings.unknown_labels(response, coe, labels)
    if warnings.HEADER not in response.headers:
        raise SystemExit(f"gen-docs: the warning example {labels} warns of nothing for {coe}")
    return f"```text\n{warnings.HEADER}: {response.headers[warnings.HEADER]}\n```"


def sections() -> dict[str, Callable[[], str]]:
    """Marker name -> the function rendering that section's body."""
    found: dict[str, Callable[[], str]] = {
        f"labels:{coe}": (lambda coe=coe: coe_section(coe)) for coe in map(str, Coe)
    }
    found["storage-drivers"] = storage_section
    found["label-error"] = error_section
    found["label-warning"] = warning_section
    return found


def render(text: str) -> str:
    """`text` with every generated section rewritten. Raises ValueError if a section's markers
    are missing or appear more than once."""
    for name, body in sections().items():
        pattern = re.compile(
            rf"(<!-- {re.escape(name)} -->\n).*?(\n<!-- /{re.escape(name)} -->)", re.DOTALL
        )
        matches = len(pattern.findall(text))
        if matches != 1:
            raise ValueError(f"docs/labels.md needs exactly one <!-- {name} --> section")
        content = body()
        text = pattern.sub(lambda m, content=content: m.group(1) + content + m.group(2), text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args(argv)
    current = LABELS_MD.read_text(encoding="utf-8")
    fresh = render(current)
    if fresh == current:
        return 0
    if args.check:
        print(f"{LABELS_MD} is out of date: run scripts/gen-docs.py", file=sys.stderr)
        return 1
    LABELS_MD.write_text(fresh, encoding="utf-8")
    print(f"rewrote {LABELS_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
