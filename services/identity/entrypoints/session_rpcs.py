"""IdentityService's session RPCs of "My sessions" and the console's "end this account's sessions" (ARCHITECTURE §7),
proto ⇄ use cases. Mixed into IdentityServicer, which resolves callers: a holder's calls need a complete session
(no second factor pending or to enrol, no password to change), as every other session call."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from portal.identity.v1 import sessions_pb2 as sp

from kit.auth import user_agent
from kit.clock import to_timestamp

from identity.entrypoints.factor_rpcs import Ctx
from identity.service_layer.common import CALLER_USER_AGENT

if TYPE_CHECKING:
    from identity.service_layer.console_access import Actor
    from identity.service_layer.sessions import OwnSession, ValidSession


def remember_user_agent(context: Ctx, public: bool) -> None:
    """The User-Agent the gateway forwarded (none from another caller), for the sessions this call may open."""
    CALLER_USER_AGENT.set(user_agent(context) if public else "")


def session_message(s: OwnSession) -> sp.Session:
    d = s.device
    return sp.Session(session_id=s.public_id, browser=d.browser, operating_system=d.operating_system,
                      user_agent=d.user_agent, client_address=d.client_address, create_time=to_timestamp(s.created_at),
                      last_activity_time=to_timestamp(s.last_active_at), expire_time=to_timestamp(s.expires_at),
                      current=s.current)


class SessionRpcs:
    if TYPE_CHECKING:  # provided by IdentityServicer
        cases: Any

        async def _session(self, context: Ctx, *, allow_must_change: bool = False,
                           allow: frozenset[Any] = frozenset()) -> tuple[ValidSession, str]: ...

        async def _asl_or_support(self, context: Ctx) -> Actor: ...

    async def ListMySessions(self, request: sp.ListMySessionsRequest, context: Ctx) -> sp.ListMySessionsResponse:
        session, _ = await self._session(context)
        return sp.ListMySessionsResponse(sessions=[session_message(s) for s in await self.cases.sessions.mine(session)])

    async def EndMySession(self, request: sp.EndMySessionRequest, context: Ctx) -> sp.EndMySessionResponse:
        session, client = await self._session(context)
        return sp.EndMySessionResponse(ended_count=await self.cases.sessions.end_mine(
            session, request.session_id, request.others, client))

    async def EndUserSessions(self, request: sp.EndUserSessionsRequest, context: Ctx) -> sp.EndUserSessionsResponse:
        actor = await self._asl_or_support(context)
        return sp.EndUserSessionsResponse(ended_count=await self.cases.sessions.end_all(
            actor, request.identifier, request.reason))
