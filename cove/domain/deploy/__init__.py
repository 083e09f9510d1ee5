"""Multi-service application deployments, the pure part: a definition's shape
(``definition``), its dependency graph (``graph``), Marathon placement constraints mapped onto
swarm's (``constraints``), config-file templates (``templates``), every meaning check at once
(``checks``), catalog packages (``package``) and the published JSON Schema (``schema``).

Everything here decides; nothing acts. A bad definition is refused here, before anything is
stored or started, with one ``problems.Problem`` per element at fault, named by its path
(``services.keystone.requires[0]``). Starting containers, gating them and rolling updates
belong to the runtime, which takes a validated ``definition.Definition``.
"""
