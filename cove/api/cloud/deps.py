"""The caller and the session, as cove's other routes have them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from cove.api.context import caller_from_request
from cove.api.deps import SessionDep as SessionDep  # the routes' session, one definition
from cove.identity import Caller
from cove.settings import Settings


async def _caller(request: Request) -> Caller:  # no I/O: no thread hand-off
    settings: Settings = request.app.state.settings
    return caller_from_request(request, settings.effective_auth_mode)


CallerDep = Annotated[Caller, Depends(_caller)]
