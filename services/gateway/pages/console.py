"""The ASL console: the company's accounts (found by words, state and role, a page at a time) and creating one.
An account's own page, its edit form and the confirmed actions are in console_account.py."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

import grpc
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from portal.identity.v1 import account_pb2 as identity_pb
from portal.identity.v1 import identity_service_pb2 as identity

from kit.client import failure_of

from gateway.api.console import account_role, account_state
from gateway.dependencies import Lang, SignedIn, Svc
from gateway.errors import Respond, redirect
from gateway.factor_forms import FactorPolicyForm
from gateway.forms import CreateUserForm
from gateway.i18n import has, translate
from gateway.pages.rendering import CsrfChecked, FormState, csrf_failed, failure_form, message, render

router = APIRouter()
PAGE_SIZE = 50
STATES = ("ACTIVE", "BLOCKED", "DISABLED")
ROLES = ("ADMINISTRATOR", "USER")


async def administrator(request: Request, lang: Lang, principal: SignedIn) -> identity_pb.Principal:
    """The signed-in ASL; anyone else is sent to log in, to change the password, or refused (403)."""
    if identity_pb.ROLE_ADMINISTRATOR not in principal.roles:
        raise Respond(await message(request, lang, "admin.title", translate(lang, "error.generic"), status=403))
    return principal


Administrator = Annotated[identity_pb.Principal, Depends(administrator)]


@dataclass(frozen=True)
class Listing:
    """What the list shows: words, a state, a role (unknown values are ignored, as a filter left empty) and the
    page token of the page asked for."""
    q: str = ""
    state: str = ""
    role: str = ""
    page: str = ""

    @classmethod
    def of(cls, q: str = "", state: str = "", role: str = "", page: str = "") -> Listing:
        return cls(q.strip()[:100], state if state in STATES else "", role if role in ROLES else "", page[:500])

    def request(self) -> identity.ListUsersRequest:
        return identity.ListUsersRequest(
            query=self.q, page_size=PAGE_SIZE, page_token=self.page, state=account_state(self.state),
            role=account_role(self.role))

    def link(self, lang: str, page: str = "") -> str:
        """The console's address for these filters (and ``page``)."""
        kept = [(k, v) for k, v in (("q", self.q), ("state", self.state), ("role", self.role), ("page", page)) if v]
        return f"/{lang}/admin" + (f"?{urlencode(kept)}" if kept else "")


def _row(account: identity_pb.Account, me: str, active_administrators: int) -> dict[str, object]:
    """An account's row: the actions offered are those identity would take (the company's only active ASL keeps
    its account and role until it names another: disabling or demoting it is refused, so not offered)."""
    state = identity_pb.AccountState.Name(account.state)
    roles = [identity_pb.Role.Name(r) for r in account.roles]
    sole = "ROLE_ADMINISTRATOR" in roles and state == "ACCOUNT_STATE_ACTIVE" and active_administrators == 1
    pending = account.HasField("activation_expire_time")  # the holder has not chosen a password yet
    expired = pending and account.activation_expire_time.ToDatetime(dt.UTC) <= dt.datetime.now(dt.UTC)
    actions = ["resend-activation"] if pending and state != "ACCOUNT_STATE_DISABLED" else []
    actions += ["reset-password"]
    actions += ["unlock"] if state == "ACCOUNT_STATE_BLOCKED" else []
    actions += ["enable"] if state == "ACCOUNT_STATE_DISABLED" else [] if sole else ["disable"]
    actions += ([] if sole else ["revoke-administrator"]) if "ROLE_ADMINISTRATOR" in roles else ["grant-administrator"]
    # Never on one's own row: another ASL or support resets one's factors; one's sessions are on "My sessions".
    actions += ["reset-second-factors", "end-sessions"] if account.identifier != me else []
    return {"account": account, "state": state, "roles": roles, "actions": actions, "sole_asl": sole,
            "activation": ("expired" if expired else "pending") if pending else ""}


async def console_page(request: Request, lang: str, svc: Svc, principal: identity_pb.Principal,
                       form: FormState | None = None, create_form: FormState | None = None, done: str = "",
                       status: int = 200, listing: Listing | None = None,
                       duplicates: list[str] | None = None) -> HTMLResponse:
    listing = listing or Listing()
    try:
        listed = await svc.identity.ListUsers(listing.request(), **svc.as_session())
    except grpc.aio.AioRpcError as error:
        if error.code() != grpc.StatusCode.INVALID_ARGUMENT:  # a page token for other filters, edited by hand
            raise
        listing = Listing.of(listing.q, listing.state, listing.role)
        listed = await svc.identity.ListUsers(listing.request(), **svc.as_session())
    policy = await svc.identity.GetSecondFactors(identity.GetSecondFactorsRequest(), **svc.as_session())
    return await render(
        request, lang, "admin.html", status=status, title_key="admin.title", form=form,
        rows=[_row(a, principal.identifier, listed.active_administrators) for a in listed.accounts],
        total=listed.total_size, listing=listing, filtered=bool(listing.q or listing.state or listing.role),
        next_link=listing.link(lang, listed.next_page_token) if listed.next_page_token else "",
        first_link=listing.link(lang) if listing.page else "", company_requires_factor=policy.company_requires,
        create_form=create_form or FormState(values={"language": lang}), done=done, duplicates=duplicates or [],
        cofor_root=principal.cofor_root, company_name=listed.company_name, switch_path="/admin")


@router.get("/{lang}/admin")
async def admin(request: Request, lang: Lang, svc: Svc, principal: Administrator, done: str = "",
                user: str = "", q: Annotated[str, Query(max_length=200)] = "", state: str = "", role: str = "",
                page: Annotated[str, Query(max_length=1000)] = "") -> Response:
    text = translate(lang, f"admin.done.{done}", user=user[:20]) if has(f"admin.done.{done}") else ""
    return await console_page(request, lang, svc, principal, done=text, listing=Listing.of(q, state, role, page))


@router.post("/{lang}/admin/users")
async def admin_create(request: Request, lang: Lang, svc: Svc, principal: Administrator, csrf: CsrfChecked,
                       typed: Annotated[CreateUserForm, Form()]) -> Response:
    values = {k: v for k, v in typed.values().items() if k not in ("request_id", "allow_duplicate_email")}
    if not csrf:
        return await console_page(request, lang, svc, principal, create_form=csrf_failed(lang, values), status=403)
    try:
        created = await svc.identity.CreateUser(identity.CreateUserRequest(
            given_name=typed.given_name, family_name=typed.family_name, email=typed.email, phone=typed.phone,
            job_title=typed.job_title, language=typed.language or lang, request_id=str(uuid.uuid4()),
            allow_duplicate_email=typed.allow_duplicate_email,
            role=identity_pb.ROLE_ADMINISTRATOR if typed.administrator else identity_pb.ROLE_USER),
            **svc.as_session())
    except grpc.aio.AioRpcError as error:
        failure = failure_of(error)
        held = failure.metadata.get("identifiers", "") if failure.reason == "DUPLICATE_EMAIL" else ""
        create_form = failure_form(lang, error, values, set(values))
        if held:  # the same address again: say who has it, and let the ASL create the account anyway
            create_form = FormState(values=values)
            create_form.add(lang, "email", translate(lang, "admin.duplicate_email", identifiers=held))
        return await console_page(request, lang, svc, principal, status=400, create_form=create_form,
                                  duplicates=held.split(",") if held else [])
    return redirect(f"/{lang}/admin?" + urlencode({"done": "create", "user": created.account.identifier}))


@router.post("/{lang}/admin/second-factor-policy")
async def admin_policy(request: Request, lang: Lang, svc: Svc, principal: Administrator, csrf: CsrfChecked,
                       typed: Annotated[FactorPolicyForm, Form()]) -> Response:
    if not csrf:
        return await console_page(request, lang, svc, principal, form=csrf_failed(lang, {}), status=403)
    try:
        await svc.identity.SetSecondFactorPolicy(identity.SetSecondFactorPolicyRequest(required=typed.required),
                                                 **svc.as_session())
    except grpc.aio.AioRpcError as error:
        return await console_page(request, lang, svc, principal, form=failure_form(lang, error, {}, set()),
                                  status=400)
    return redirect(f"/{lang}/admin?" + urlencode({"done": "policy-on" if typed.required else "policy-off"}))
