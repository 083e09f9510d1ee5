"""The read side of cove's own catalog (images, flavors, key pairs, networks) in the APIs of
the services Magnum borrows them from (Glance v2, Nova v2.1, Neutron v2.0), for clients that
look them up there: Horizon's Magnum panels fill their template and cluster forms from them.
Read-only: cove's catalog is written through ``/v1/images`` … as before."""

PREFIX = "/cloud"  # where cove.api.app mounts it
