"""The caller and the session, as cove's other routes have them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from cove.api.context import caller_from_request
from cove.identity import Caller
from cove.settings import Settings


def _session(request: Request) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    with factory() as session:
        yield session


def _caller(request: Request) -> Caller:
    settings: Settings = request.app.state.settings
    return caller_from_request(request, settings.effective_auth_mode)


SessionDep = Annotated[Session, Depends(_session)]
CallerDep = Annotated[Caller, Depends(_caller)]
