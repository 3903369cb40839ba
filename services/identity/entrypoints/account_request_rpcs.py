"""IdentityService.RequestAccount ("Ask my company's ASL for an account"), proto ⇄ use case. Mixed into
IdentityServicer, which resolves callers."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from portal.identity.v1 import identity_service_pb2 as api

from identity.entrypoints.factor_rpcs import Ctx
from identity.service_layer.account_request import AccountRequest

if TYPE_CHECKING:
    from kit.auth import ServiceCaller


class AccountRequestRpcs:
    if TYPE_CHECKING:  # provided by IdentityServicer
        cases: Any

        def _service(self, context: Ctx, roles: tuple[str, ...] = ...) -> ServiceCaller: ...

        def _client(self, caller: ServiceCaller, context: Ctx) -> str: ...

    async def RequestAccount(self, request: api.RequestAccountRequest, context: Ctx) -> api.RequestAccountResponse:
        caller = self._service(context)
        key = await self.cases.account_requests.request_account(AccountRequest(
            cofor=request.cofor, given_name=request.given_name, family_name=request.family_name, email=request.email,
            job_title=request.job_title, message=request.message, language=request.language),
            self._client(caller, context))
        return api.RequestAccountResponse(message_key=key)
