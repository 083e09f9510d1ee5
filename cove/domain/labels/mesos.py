"""Mesos agent labels (coe ``mesos``), and the isolator and image-provider vocabulary that the
DC/OS labels share."""

from __future__ import annotations

from collections.abc import Mapping

from cove.domain.labels._core import (
    Check,
    LabelSpec,
    Refused,
    Schema,
    absolute_path,
    not_one_of,
    parse_json,
    split_list,
)
from cove.domain.labels.common import REXRAY_PREEMPT

# Mesos' built-in Linux isolators (docs/mesos-containerizer.md, containerizer.cpp). The first
# ten are the ones Magnum accepted; posix/disk is the deprecated name of disk/du. The Windows
# isolators are left out: cove's nodes are Linux.
ISOLATORS: tuple[str, ...] = (
    "filesystem/posix",
    "filesystem/linux",
    "filesystem/shared",
    "posix/cpu",
    "posix/mem",
    "posix/disk",
    "cgroups/cpu",
    "cgroups/mem",
    "docker/runtime",
    "namespaces/pid",
    "appc/runtime",
    "cgroups/all",
    "cgroups/blkio",
    "cgroups/cpuset",
    "cgroups/devices",
    "cgroups/hugetlb",
    "cgroups/net_cls",
    "cgroups/net_prio",
    "cgroups/perf_event",
    "cgroups/pids",
    "disk/du",
    "disk/xfs",
    "docker/volume",
    "environment_secret",
    "gpu/nvidia",
    "linux/capabilities",
    "linux/devices",
    "linux/nnp",
    "linux/seccomp",
    "namespaces/ipc",
    "network/cni",
    "network/port_mapping",
    "network/ports",
    "posix/rlimits",
    "volume/host_path",
    "volume/image",
    "volume/sandbox_path",
    "volume/secret",
)
IMAGE_PROVIDERS = ("docker", "appc")
# Dependencies Mesos documents between isolators (docs/isolators/docker-volume.md).
_NEEDS = {"docker/volume": "filesystem/linux"}


def isolation_check(by_default: frozenset[str] = frozenset()) -> Check:
    """Each item a Mesos isolator, and the whole set, with the ones the platform enables
    `by_default`, one that a Mesos agent starts with."""

    def check(value: str) -> None:
        items = split_list(value)
        for item in items:
            if item not in ISOLATORS:
                raise not_one_of(item, ISOLATORS, "Mesos isolator")
        active = by_default | set(items)

        def names(isolators: list[str]) -> str:
            return ", ".join(
                f"{i} (enabled by default)" if i in by_default and i not in items else i
                for i in sorted(isolators)
            )

        # The agent refuses to start on each of these (containerizer.cpp).
        filesystems = [i for i in active if i.startswith("filesystem/")]
        if len(filesystems) > 1:
            raise Refused(
                f"A Mesos agent runs one filesystem isolator, and this enables "
                f"{names(filesystems)}. Keep one."
            )
        networks = [i for i in active if i.startswith("network/") and i != "network/ports"]
        if len(networks) > 1:
            raise Refused(
                f"A Mesos agent runs one network isolator besides network/ports, and this "
                f"enables {names(networks)}. Keep one."
            )
        if {"posix/disk", "disk/du"} <= active:
            raise Refused(
                f"posix/disk is the old name of disk/du, and Mesos refuses both together "
                f"({names(['posix/disk', 'disk/du'])}). Use disk/du only."
            )
        for isolator, needed in _NEEDS.items():
            if isolator in active and needed not in active:
                raise Refused(f"The {isolator} isolator needs {needed}. Add {needed}.")

    return check


def parse_providers(value: str) -> list[str]:
    return [item.lower() for item in split_list(value)]


def providers_check(value: str) -> None:
    for provider in parse_providers(value):
        if provider not in IMAGE_PROVIDERS:
            raise not_one_of(provider, IMAGE_PROVIDERS, "image provider")


def _providers_need_isolators(value: str, labels: Mapping[str, str]) -> None:
    # cove is stricter than Magnum, which only asked for docker/runtime with docker: a Mesos
    # agent with any --image_providers refuses to start unless filesystem/linux is enabled
    # (the unified containerizer provisions image root filesystems through it), and docker
    # images also need docker/runtime to apply the image's entrypoint and environment.
    providers = parse_providers(value)
    if not providers:
        return
    isolation = split_list(labels.get("mesos_slave_isolation", ""))
    needed = ["filesystem/linux"] + (["docker/runtime"] if "docker" in providers else [])
    missing = [isolator for isolator in needed if isolator not in isolation]
    if missing:
        now = labels.get("mesos_slave_isolation")
        raise Refused(
            f"Image providers ({', '.join(providers)}) need the {' and '.join(needed)} "
            f"isolators in mesos_slave_isolation, which "
            + (f"is {now!r}" if now is not None else "is not set")
            + f". Set mesos_slave_isolation={','.join(isolation + missing)}."
        )


_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
_ENV_EXAMPLE = '{"PATH": "/usr/bin:/bin"}'


def _executor_env(value: str) -> None:
    data = parse_json(value)
    if not isinstance(data, dict):
        kind = _JSON_TYPES.get(type(data), "number")
        raise Refused(
            f"Give a JSON object of environment variables, e.g. {_ENV_EXAMPLE}; this is a "
            f"JSON {kind}."
        )
    bad = sorted(name for name, item in data.items() if not isinstance(item, str))
    if bad:
        raise Refused(
            f"Mesos takes only string values, and {', '.join(map(repr, bad))} "
            f"{'is' if len(bad) == 1 else 'are'} not. Quote them, e.g. {_ENV_EXAMPLE}."
        )


MESOS = Schema(
    specs=(
        LabelSpec(
            "mesos_slave_isolation",
            "Comma-separated Mesos isolators the agents enable.",
            ISOLATORS,
            "",
            check=isolation_check(),
            is_list=True,
        ),
        LabelSpec(
            "mesos_slave_image_providers",
            "Comma-separated container image formats the agents can run; needs filesystem/linux "
            "(and docker/runtime for docker) in mesos_slave_isolation.",
            IMAGE_PROVIDERS,
            "",
            check=providers_check,
            is_list=True,
        ),
        LabelSpec(
            "mesos_slave_work_dir",
            "The absolute path of the agents' work directory (sandboxes and checkpoints).",
            check=absolute_path,
        ),
        LabelSpec(
            "mesos_slave_executor_env_variables",
            "A JSON object of string environment variables passed to executors and their tasks.",
            check=_executor_env,
        ),
        REXRAY_PREEMPT,
    ),
    rules=(("mesos_slave_image_providers", _providers_need_isolators),),
)
