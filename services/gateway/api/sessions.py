"""The signed-in person's own sessions (IdentityService, ARCHITECTURE §7): list them, end one, end every other one.
A session is named by its random `session_id`, never by its token."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from portal.identity.v1 import sessions_pb2 as sp

from gateway.api.common import ApiRoute, errors
from gateway.dependencies import SessionToken, Svc
from gateway.replies import as_json, reply

router = APIRouter(route_class=ApiRoute, tags=["sessions"], responses=errors(401, 403))


@router.get("/sessions", summary="My live sessions (IdentityService.ListMySessions)",
            response_model=reply(sp.ListMySessionsResponse))
async def my_sessions(token: SessionToken, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.ListMySessions(sp.ListMySessionsRequest(), **svc.call(token)))


@router.post("/sessions/{session_id}:end", responses=errors(404),
             summary="End one of my sessions, this one included (IdentityService.EndMySession)",
             response_model=reply(sp.EndMySessionResponse))
async def end_my_session(session_id: Annotated[str, Path(max_length=64)], token: SessionToken,
                         svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.EndMySession(sp.EndMySessionRequest(session_id=session_id), **svc.call(token)))


@router.post("/sessions:end-others", summary="End every other session of mine (IdentityService.EndMySession)",
             response_model=reply(sp.EndMySessionResponse))
async def end_my_other_sessions(token: SessionToken, svc: Svc) -> dict[str, Any]:
    return as_json(await svc.identity.EndMySession(sp.EndMySessionRequest(others=True), **svc.call(token)))
