"""``cove containers``: clusters of containers on cove clusters' nodes, through the
clustering API (Senlin v1 at ``/clustering/v1``). One module per sub-group."""

from __future__ import annotations

import click

from cove.cli.commands.containers import activity, clusters, policies, profiles, webhooks


@click.group("containers")
def containers() -> None:
    """Container clusters: containers on cove clusters' nodes (clustering API).

    A profile says what each container runs and on which cove cluster (--host-cluster);
    `cove containers create` makes a cluster of N such containers, placed on the least
    loaded nodes; policies scale, heal and balance it; webhooks start actions from outside.
    This is OpenStack Senlin's clustering API at <url>/clustering/v1: Senlin's
    `openstack cluster` commands work against it too.

    Commands that start an action wait for it, showing its status and the members as they
    become ACTIVE on stderr; --no-wait returns at once. Ctrl-C stops the waiting, not the
    action. Name objects by name, id or short id.
    """


for command in (
    *clusters.COMMANDS,
    profiles.profile,
    policies.policy,
    webhooks.webhook,
    activity.actions,
    activity.events,
):
    containers.add_command(command)
