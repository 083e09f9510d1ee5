"""Frozen snapshots of a cluster for drivers: see ``cove.services.snapshot`` (where the
services, which may not import the conductor, reach it too)."""

from __future__ import annotations

from cove.services.snapshot import cluster_spec

__all__ = ["cluster_spec"]
