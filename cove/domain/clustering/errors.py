"""Senlin's error kinds, as cove errors: the clustering API renders each with Senlin's
fault body, naming the kind (``type``) and the message Senlin gives."""

from __future__ import annotations

from cove import errors


class BadRequest(errors.InvalidRequest):
    """400; Senlin's messages end with a period."""

    senlin_type = "BadRequest"


class InvalidSpec(errors.InvalidRequest):
    """400: a profile or policy spec refused, naming the property path."""

    senlin_type = "InvalidSpec"


class MultipleChoices(errors.InvalidRequest):
    senlin_type = "MultipleChoices"

    def __init__(self, ident: str) -> None:
        super().__init__(
            f"Multiple results found matching the query criteria '{ident}'. "
            "Please be more specific."
        )


class ResourceNotFound(errors.NotFound):
    senlin_type = "ResourceNotFound"

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"The {kind} '{ident}' could not be found.")


class PolicyBindingNotFound(errors.NotFound):
    senlin_type = "PolicyBindingNotFound"

    def __init__(self, policy: str, cluster: str) -> None:
        super().__init__(
            f"The policy '{policy}' is not found attached to the specified cluster '{cluster}'."
        )


class ResourceInUse(errors.Conflict):
    senlin_type = "ResourceInUse"

    def __init__(self, kind: str, ident: str, reason: str) -> None:
        super().__init__(f"The {kind} '{ident}' cannot be deleted: {reason}.")


class ActionInProgress(errors.Conflict):
    """A write to a cluster (or orphan node) while another action runs on it."""

    senlin_type = "ActionInProgress"

    def __init__(self, kind: str, ident: str, action: str, action_id: str) -> None:
        super().__init__(
            f"The {kind} '{ident}' is in status {action} (action {action_id} is running)."
        )


class Conflict(errors.Conflict):
    senlin_type = "Conflict"


class Forbidden(errors.Forbidden):
    senlin_type = "Forbidden"


class ActionConflict(errors.Conflict):
    """Another action is active on the cluster (or orphan node): Senlin's 409 naming it."""

    senlin_type = "ActionConflict"

    def __init__(self, action: str, target: str, running: str) -> None:
        super().__init__(
            f"The {action} action for target {target} conflicts with the following "
            f"action(s): {running}"
        )


class ActionImmutable(errors.Conflict):
    senlin_type = "ActionImmutable"

    def __init__(self, action: str, status: str) -> None:
        super().__init__(f"Action ({action}) is in status ({status}) and cannot be cancelled.")


class NodeNotOrphan(errors.Conflict):
    senlin_type = "NodeNotOrphan"
