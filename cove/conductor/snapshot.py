"""Frozen snapshots of clusters for drivers: see ``cove.services.snapshot`` (where the
services, which may not import the conductor, reach it too)."""

from __future__ import annotations

from cove.services.snapshot import cluster_spec, cluster_specs

__all__ = ["cluster_spec", "cluster_specs"]
