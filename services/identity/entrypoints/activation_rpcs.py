"""IdentityService's activation RPCs (issue 16): the holder's first password through the welcome mail's link, and the
ASL's new link. Mixed into IdentityServicer, which resolves callers."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

import grpc
from portal.identity.v1 import identity_service_pb2 as api

if TYPE_CHECKING:
    from collections.abc import Callable

    from portal.identity.v1 import account_pb2 as pb

    from kit.auth import ServiceCaller

    from identity.domain.accounts import Account
    from identity.service_layer.console_access import Actor

Ctx: TypeAlias = grpc.aio.ServicerContext[Any, Any]


class ActivationRpcs:
    if TYPE_CHECKING:  # provided by IdentityServicer
        cases: Any

        def _service(self, context: Ctx, roles: tuple[str, ...] = ...) -> ServiceCaller: ...

        def _client(self, caller: ServiceCaller, context: Ctx) -> str: ...

        async def _asl(self, context: Ctx) -> Actor: ...

        _account: Callable[[Account], pb.Account]

    async def ActivateAccount(self, request: api.ActivateAccountRequest,
                              context: Ctx) -> api.ActivateAccountResponse:
        caller = self._service(context)
        identifier = await self.cases.activation.activate(request.activation_token, request.new_password,
                                                          self._client(caller, context))
        return api.ActivateAccountResponse(identifier=identifier)

    async def ResendActivation(self, request: api.ResendActivationRequest,
                               context: Ctx) -> api.ResendActivationResponse:
        actor = await self._asl(context)
        account = await self.cases.activation.resend(actor, request.identifier)
        return api.ResendActivationResponse(account=self._account(account))
