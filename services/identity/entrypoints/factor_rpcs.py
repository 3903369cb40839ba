"""IdentityService's second-factor RPCs (ARCHITECTURE §15), proto ⇄ use cases, and the rule that a half-done login
(a factor to give or to enrol) opens nothing but its next step. Mixed into IdentityServicer, which resolves callers."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

import grpc
from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import identity_service_pb2 as api
from portal.identity.v1 import passkeys_pb2 as pk
from webauthn.helpers import bytes_to_base64url

from kit.clock import to_timestamp
from kit.errors import FieldViolation, InvalidArgument, PermissionDenied

from identity.domain.factors import FactorKind, Step

if TYPE_CHECKING:
    from identity.domain.passkeys import Passkey
    from identity.service_layer.common import OpenedSession
    from identity.service_layer.console_access import Actor
    from identity.service_layer.sessions import ValidSession

Ctx: TypeAlias = grpc.aio.ServicerContext[Any, Any]
KINDS = {FactorKind.TOTP: pb.SECOND_FACTOR_KIND_TOTP, FactorKind.RECOVERY_CODE: pb.SECOND_FACTOR_KIND_RECOVERY_CODE,
         FactorKind.PASSKEY: pb.SECOND_FACTOR_KIND_PASSKEY}
# Codes typed on the second step (a passkey answers with VerifyPasskey).
_KIND_OF: dict[int, FactorKind] = {KINDS[k]: k for k in (FactorKind.TOTP, FactorKind.RECOVERY_CODE)}
STEPS = {Step.NONE: pb.SECOND_FACTOR_STEP_UNSPECIFIED, Step.VERIFY: pb.SECOND_FACTOR_STEP_VERIFY,
         Step.ENROL: pb.SECOND_FACTOR_STEP_ENROL}
VERIFYING = frozenset({Step.VERIFY})
ENROLLING = frozenset({Step.ENROL})


def refuse_unfinished(step: Step, allowed: frozenset[Step] = frozenset()) -> None:
    if step == Step.VERIFY and step not in allowed:
        raise PermissionDenied("SECOND_FACTOR_REQUIRED", "give your second factor first")
    if step == Step.ENROL and step not in allowed:
        raise PermissionDenied("SECOND_FACTOR_ENROLMENT_REQUIRED", "set up your second factor first")


def _kind(number: int) -> FactorKind:
    if number not in _KIND_OF:
        raise InvalidArgument([FieldViolation("kind", "must be SECOND_FACTOR_KIND_TOTP or _RECOVERY_CODE")])
    return _KIND_OF[number]


def passkey_message(p: Passkey) -> pk.Passkey:
    return pk.Passkey(credential_id=bytes_to_base64url(p.credential_id), name=p.name,
                      create_time=to_timestamp(p.created_at), last_use_time=to_timestamp(p.last_used_at))


class FactorRpcs:
    if TYPE_CHECKING:  # provided by IdentityServicer
        cases: Any

        async def _session(self, context: Ctx, *, allow_must_change: bool = False,
                           allow: frozenset[Step] = frozenset()) -> tuple[ValidSession, str]: ...

        async def _asl(self, context: Ctx) -> Actor: ...

        async def _asl_or_support(self, context: Ctx) -> Actor: ...

        @staticmethod
        def _opened(o: OpenedSession) -> dict[str, Any]: ...

    async def VerifySecondFactor(self, request: api.VerifySecondFactorRequest,
                                 context: Ctx) -> api.VerifySecondFactorResponse:
        session, client = await self._session(context, allow_must_change=True, allow=VERIFYING)
        opened = await self.cases.second_factors.verify(session, _kind(request.kind), request.code, client)
        return api.VerifySecondFactorResponse(**self._opened(opened))

    async def GetSecondFactors(self, request: api.GetSecondFactorsRequest,
                               context: Ctx) -> api.GetSecondFactorsResponse:
        session, _ = await self._session(context, allow=ENROLLING)
        view = await self.cases.second_factors.view(session)
        return api.GetSecondFactorsResponse(
            enrolled=[KINDS[k] for k in FactorKind if k in view.status.enrolled],
            recovery_codes_left=view.status.recovery_codes_left, required=view.required,
            company_requires=view.company_requires, locked=[KINDS[k] for k in FactorKind if k in view.status.locked],
            passkeys=[passkey_message(p) for p in view.passkeys])

    async def BeginTotpEnrolment(self, request: api.BeginTotpEnrolmentRequest,
                                 context: Ctx) -> api.BeginTotpEnrolmentResponse:
        session, client = await self._session(context, allow=ENROLLING)
        started = await self.cases.second_factors.begin_totp(session, client)
        return api.BeginTotpEnrolmentResponse(secret=started.secret, otpauth_uri=started.otpauth_uri)

    async def ConfirmTotpEnrolment(self, request: api.ConfirmTotpEnrolmentRequest,
                                   context: Ctx) -> api.ConfirmTotpEnrolmentResponse:
        session, client = await self._session(context, allow=ENROLLING)
        codes, opened = await self.cases.second_factors.confirm_totp(session, request.code, client)
        return api.ConfirmTotpEnrolmentResponse(recovery_codes=codes, **self._opened(opened))

    async def RegenerateRecoveryCodes(self, request: api.RegenerateRecoveryCodesRequest,
                                      context: Ctx) -> api.RegenerateRecoveryCodesResponse:
        session, client = await self._session(context)
        return api.RegenerateRecoveryCodesResponse(
            recovery_codes=await self.cases.second_factors.regenerate_codes(session, client))

    async def RemoveSecondFactor(self, request: api.RemoveSecondFactorRequest,
                                 context: Ctx) -> api.RemoveSecondFactorResponse:
        session, client = await self._session(context)
        await self.cases.second_factors.remove(session, _kind(request.kind), client)
        return api.RemoveSecondFactorResponse()

    async def ResetSecondFactors(self, request: api.ResetSecondFactorsRequest,
                                 context: Ctx) -> api.ResetSecondFactorsResponse:
        actor = await self._asl_or_support(context)
        await self.cases.factor_administration.reset(actor, request.identifier, request.reason)
        return api.ResetSecondFactorsResponse()

    async def SetSecondFactorPolicy(self, request: api.SetSecondFactorPolicyRequest,
                                    context: Ctx) -> api.SetSecondFactorPolicyResponse:
        actor = await self._asl(context)
        return api.SetSecondFactorPolicyResponse(
            required=await self.cases.factor_administration.set_policy(actor, request.required))
