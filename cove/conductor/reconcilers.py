"""The reconciler interface: what the runner needs to drive operations on one kind of
subject (``Operation.subject_kind``). The runner owns claiming, leases, steps, retries,
deadlines and events; a reconciler owns what an operation means for its kind: the work done
outside any transaction, and how success or failure is written back (statuses, counts)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from cove.db import models
from cove.services.operations import Subject
from cove.steps import Steps


@dataclass(frozen=True)
class OperationRun:
    """One attempt at an operation, as its reconciler sees it."""

    id: int
    kind: str
    subject_id: int
    params: dict[str, Any]
    steps: Steps
    deadline: datetime | None
    event: Callable[[str], None]


class Reconciler(Protocol):
    subject_kind: str

    def subject(self, session: Session, subject_id: int) -> Subject | None:
        """The subject's row (None once it is gone)."""
        ...

    def run(self, op: OperationRun) -> Any:
        """Do the work, outside any transaction; raise ``cove.failures`` errors. Its return
        value is handed to ``succeeded``."""
        ...

    def succeeded(
        self, session: Session, op: models.Operation, subject: Subject, outcome: Any
    ) -> None:
        """Write the outcome back (in the transaction that ends the operation)."""
        ...

    def failed(
        self, session: Session, op: models.Operation, subject: Subject, reason: str
    ) -> None: ...


class Registry:
    def __init__(self, reconcilers: list[Reconciler]) -> None:
        self._by_kind = {r.subject_kind: r for r in reconcilers}

    def __getitem__(self, kind: str) -> Reconciler:
        return self._by_kind[kind]

    def __iter__(self) -> Iterator[Reconciler]:
        return iter(self._by_kind.values())
