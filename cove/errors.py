"""cove's exception tree. Every error a user can see is one of these; one handler in
``cove.api.errors`` renders each as Magnum's error body with the class's HTTP status.

    CoveError                      500  unexpected; never raised on purpose
    ├── InvalidRequest             400  bad field, label, patch, query parameter or state
    │   ├── InvalidField           400  one field with its value and allowed values
    │   │   └── InvalidLabel       400  one label of a template, cluster or node group
    │   └── Referenced             400  a template still used by clusters
    ├── NotAuthorized              401  no identity where one is required
    ├── Forbidden                  403  policy refuses the call
    │   └── QuotaExceeded          403  the project is at its limit
    ├── NotFound                   404  no such object (or not visible to the caller)
    ├── NotAcceptable              406  microversion outside the server's range or malformed
    └── Conflict                   409  ambiguous name, duplicate, or object busy
        └── ClusterBusy            409  an operation is already running on the cluster

Messages follow Magnum's wording where clients or users know it; the first sentence is the
``title`` of the error body, the whole text the ``detail``.
"""

from __future__ import annotations

from collections.abc import Iterable

# A value quoted in a message is cut to this many characters: an invalid megabyte is not
# echoed back (twice: title and detail).
QUOTE_MAX = 100


def quote(value: object) -> str:
    """``repr(value)``, cut to ``QUOTE_MAX`` characters with a note of the full length."""
    text = repr(value)
    if len(text) <= QUOTE_MAX:
        return text
    return f"{text[:QUOTE_MAX]}... ({len(text)} characters)"


class CoveError(Exception):
    status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidRequest(CoveError):
    status = 400


class InvalidField(InvalidRequest):
    """A field or label with a bad value. ``allowed`` lists the accepted values when finite."""

    def __init__(
        self,
        field: str,
        value: object,
        reason: str,
        allowed: Iterable[str] | None = None,
    ) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        self.allowed = list(allowed) if allowed is not None else None
        text = f"Invalid input for field/attribute {field}. Value: {quote(value)}. {reason}"
        if self.allowed is not None:
            text = text.rstrip(".") + f". Allowed values: {', '.join(self.allowed)}."
        super().__init__(text)


class InvalidLabel(InvalidField):
    """A label whose value its COE's schema refuses. ``label`` is the label's name."""

    def __init__(
        self, label: str, value: str, reason: str, allowed: Iterable[str] | None = None
    ) -> None:
        super().__init__(f"labels.{label}", value, reason, allowed)
        self.label = label
        text = f"Invalid label {label}={quote(value)}: {reason}"
        if self.allowed is not None:
            text = text.rstrip(".") + f". Allowed values: {', '.join(self.allowed)}."
        self.message = text
        self.args = (text,)


class Referenced(InvalidRequest):
    pass


class NotAuthorized(CoveError):
    status = 401


class Forbidden(CoveError):
    status = 403


class QuotaExceeded(Forbidden):
    pass


class NotFound(CoveError):
    status = 404


class NotAcceptable(CoveError):
    status = 406


class Conflict(CoveError):
    status = 409


class Unavailable(CoveError):
    """Something cove depends on (a cluster's node engines) does not answer now."""

    status = 503


class ClusterBusy(Conflict):
    """A write to a cluster while an operation is running on it. Magnum silently drops such a
    write in the conductor; cove refuses it and says what is running."""

    def __init__(self, cluster: str, operation: str, status: str) -> None:
        self.cluster = cluster
        self.operation = operation
        super().__init__(
            f"Cluster {cluster} is busy: operation {operation} is in progress "
            f"(status {status}). Wait for it to finish, then retry."
        )
