"""Deployments at run time: a validated definition (``cove.domain.deploy``) made into what a
cluster's orchestrator runs (``cove.drivers.apphost``), with the start and gating contract
the containers follow. Pure: no database, no engine."""
