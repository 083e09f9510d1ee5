"""UUIDs and generated names (Magnum names unnamed objects ``<greek>-<n>-<kind>``)."""

from __future__ import annotations

import random
import re
import uuid

_UUID = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
)

GREEK = (
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "omicron",
    "pi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "chi",
    "psi",
    "omega",
)


def is_uuid(value: str) -> bool:
    return bool(_UUID.match(value))


def normalise_uuid(value: str) -> str:
    return str(uuid.UUID(value))


def generate_name(kind: str, rng: random.Random | None = None) -> str:
    r = rng or random.SystemRandom()
    return f"{r.choice(GREEK)}-{r.randint(0, 9999):04d}-{kind}"
