"""The clustering runtime: what Senlin's actions do to containers on cove's clusters.
Placement by load, the container profile, the policies' decisions. It never touches the
database: the conductor's clustering reconcilers hand it snapshots and a ``ContainerHost``
and record what it decided and observed."""
