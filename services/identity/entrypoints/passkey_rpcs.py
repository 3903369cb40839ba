"""IdentityService's passkey RPCs (ARCHITECTURE §15), proto ⇄ use cases. Mixed into IdentityServicer, which
resolves callers and sessions (a half-done login only reaches its own next step)."""
from __future__ import annotations

import binascii
from typing import TYPE_CHECKING, Any

from portal.identity.v1 import passkeys_pb2 as pk
from webauthn.helpers import base64url_to_bytes

from kit.errors import FieldViolation, InvalidArgument

from identity.entrypoints.factor_rpcs import ENROLLING, VERIFYING, Ctx

if TYPE_CHECKING:
    from kit.auth import ServiceCaller

    from identity.service_layer.common import OpenedSession
    from identity.service_layer.sessions import ValidSession


def _credential_id(text: str) -> bytes:
    try:
        value = base64url_to_bytes(text) if 0 < len(text) <= 1400 else b""
    except (binascii.Error, ValueError):
        value = b""
    if not value:
        raise InvalidArgument([FieldViolation("credential_id", "a passkey's id (base64url), as listed")])
    return value


class PasskeyRpcs:
    if TYPE_CHECKING:  # provided by IdentityServicer
        cases: Any

        async def _session(self, context: Ctx, *, allow_must_change: bool = False,
                           allow: frozenset[Any] = frozenset()) -> tuple[ValidSession, str]: ...

        def _service(self, context: Ctx, roles: tuple[str, ...] = ...) -> ServiceCaller: ...

        def _client(self, caller: ServiceCaller, context: Ctx) -> str: ...

        @staticmethod
        def _opened(o: OpenedSession) -> dict[str, Any]: ...

    async def BeginPasskeyEnrolment(self, request: pk.BeginPasskeyEnrolmentRequest,
                                    context: Ctx) -> pk.BeginPasskeyEnrolmentResponse:
        session, client = await self._session(context, allow=ENROLLING)
        return pk.BeginPasskeyEnrolmentResponse(
            options_json=await self.cases.passkeys.begin_enrolment(session, client))

    async def FinishPasskeyEnrolment(self, request: pk.FinishPasskeyEnrolmentRequest,
                                     context: Ctx) -> pk.FinishPasskeyEnrolmentResponse:
        session, client = await self._session(context, allow=ENROLLING)
        codes, opened = await self.cases.passkeys.finish_enrolment(session, request.credential_json, request.name,
                                                                   client)
        return pk.FinishPasskeyEnrolmentResponse(recovery_codes=codes, **self._opened(opened))

    async def BeginPasskeyVerification(self, request: pk.BeginPasskeyVerificationRequest,
                                       context: Ctx) -> pk.BeginPasskeyVerificationResponse:
        session, client = await self._session(context, allow_must_change=True, allow=VERIFYING)
        return pk.BeginPasskeyVerificationResponse(
            options_json=await self.cases.passkeys.begin_verification(session, client))

    async def VerifyPasskey(self, request: pk.VerifyPasskeyRequest, context: Ctx) -> pk.VerifyPasskeyResponse:
        session, client = await self._session(context, allow_must_change=True, allow=VERIFYING)
        opened = await self.cases.passkeys.verify(session, request.credential_json, client)
        return pk.VerifyPasskeyResponse(**self._opened(opened))

    async def BeginPasskeyLogin(self, request: pk.BeginPasskeyLoginRequest,
                                context: Ctx) -> pk.BeginPasskeyLoginResponse:
        client = self._client(self._service(context), context)
        return pk.BeginPasskeyLoginResponse(options_json=await self.cases.passkeys.begin_login(client))

    async def PasskeyLogin(self, request: pk.PasskeyLoginRequest, context: Ctx) -> pk.PasskeyLoginResponse:
        client = self._client(self._service(context), context)
        opened = await self.cases.passkeys.login(request.credential_json, client)
        return pk.PasskeyLoginResponse(**self._opened(opened))

    async def RemovePasskey(self, request: pk.RemovePasskeyRequest, context: Ctx) -> pk.RemovePasskeyResponse:
        session, client = await self._session(context)
        await self.cases.passkeys.remove(session, _credential_id(request.credential_id), client)
        return pk.RemovePasskeyResponse()

