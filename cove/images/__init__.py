"""Images cove builds itself from distribution packages, offline from any image registry.

``node``: the swarm-mode node image (Debian with Docker Engine from Debian's packages) that the
docker provider starts node containers from.
"""

from __future__ import annotations

from cove.images.node import (
    EngineUnavailable,
    ImageBuildError,
    NodeImage,
    ensure_node_image,
    node_image_tag,
    register_node_image,
)

__all__ = [
    "EngineUnavailable",
    "ImageBuildError",
    "NodeImage",
    "ensure_node_image",
    "node_image_tag",
    "register_node_image",
]
