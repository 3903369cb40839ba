"""The signed-in person's own page."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from portal.identity.v1 import account_pb2 as identity_pb

from gateway.dependencies import Lang, SignedIn
from gateway.pages.rendering import render
from gateway.pages.sso import resume_authorization

router = APIRouter()


@router.get("/{lang}/account")
async def account(request: Request, lang: Lang, principal: SignedIn, done: str = "") -> Response:
    if resumed := await resume_authorization(request, lang):  # an application's sign-in waited for this
        return resumed
    roles = [identity_pb.Role.Name(r) for r in principal.roles]
    return await render(request, lang, "account.html", title_key="account.title", roles=roles,
                        done=done == "password", is_admin="ROLE_ADMINISTRATOR" in roles,
                        with_factor=principal.acr == "mfa")
