"""HTTP/JSON routes, one per public RPC. Bodies are checked for shape here; the services check meaning."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from portal.cofor.v1 import cofor_service_pb2 as cofor
from portal.cofor.v1 import supplier_pb2 as cofor_pb
from portal.identity.v1 import account_pb2 as identity_pb
from portal.identity.v1 import identity_service_pb2 as identity
from portal.support.v1 import support_service_pb2 as support
from portal.support.v1 import ticket_pb2 as ticket_pb
from pydantic import BaseModel, Field

from kit.errors import FieldViolation, InvalidArgument, Unauthenticated

from gateway.clients import PRESENTER_COOKIE, SESSION_COOKIE, Backends, call_metadata, principal_metadata, \
    session_principal
from gateway.security import CSRF_COOKIE, new_csrf_token
from gateway.settings import GatewaySettings

Text = Field(default="", max_length=300)

# The ASL console's one-click actions on an account: URL verb → IdentityService RPC (API and pages alike).
CONSOLE_ACTIONS = {
    "reset-password": ("ResetUserPassword", identity.ResetUserPasswordRequest),
    "unlock": ("UnlockUser", identity.UnlockUserRequest),
    "disable": ("DisableUser", identity.DisableUserRequest),
    "enable": ("EnableUser", identity.EnableUserRequest),
    "grant-administrator": ("GrantAdministrator", identity.GrantAdministratorRequest),
    "revoke-administrator": ("RevokeAdministrator", identity.RevokeAdministratorRequest),
}
LongText = Field(default="", max_length=10_000)
PRESENTER_HEADER = "x-presenter-token"


def as_json(message: Message) -> dict[str, Any]:
    return MessageToDict(message, preserving_proto_field_name=True)


class AnalyzeBody(BaseModel):
    cofor: str = Field(max_length=40)
    site_code: str = Field(default="", max_length=10)


class StartPresentationBody(BaseModel):
    duns: str = Field(max_length=40)
    email: str = Field(max_length=320)
    legal_name: str = Field(max_length=300)
    language: str = Field(default="fr", max_length=5)


class AddressBody(BaseModel):
    lines: list[str] = Field(default_factory=list, max_length=8)
    postal_code: str = Text
    city: str = Text
    country_code: str = Field(default="", max_length=5)


class ContactBody(BaseModel):
    given_name: str = Text
    family_name: str = Text
    email: str = Text
    phone: str = Text
    job_title: str = Text
    language: str = Field(default="fr", max_length=5)


class UpdatePresentationBody(BaseModel):
    legal_name: str = Text
    national_registration_number: str = Text
    tax_number: str = Text
    head_office_address: AddressBody | None = None
    country_code: str = Field(default="", max_length=5)
    legal_existence_proof_ref: str = Text
    legal_representative: ContactBody | None = None
    update_mask: list[str] = Field(default_factory=list, max_length=20)


class AccessRequestBody(BaseModel):
    cofor: str = Field(max_length=40)
    signatory: ContactBody
    administrator: ContactBody


class CoforBody(BaseModel):
    cofor: str = Field(max_length=40)


class AcceptTermsBody(BaseModel):
    acceptance_token: str = Field(max_length=200)
    terms_version: str = Field(max_length=40)


class LoginBody(BaseModel):
    identifier: str = Field(max_length=40)
    password: str = Field(max_length=1024)


class ChangePasswordBody(BaseModel):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class RecoverIdentifierBody(BaseModel):
    email: str = Field(max_length=320)
    cofor: str = Field(max_length=40)


class ResetAdministratorBody(BaseModel):
    identifier: str = Field(max_length=40)
    cofor: str = Field(max_length=40)
    email: str = Field(max_length=320)


class ContactAdministratorBody(ResetAdministratorBody):
    message: str = Field(max_length=2000)


class CreateUserBody(ContactBody):
    administrator: bool = False
    request_id: str = Field(default="", max_length=40)


class UpdateUserBody(ContactBody):
    update_mask: list[str] = Field(default_factory=list, max_length=10)


def router(backends: Backends, settings: GatewaySettings) -> APIRouter:
    api = APIRouter(prefix="/api/v1")
    timeout = settings.rpc_timeout_seconds
    secure = True  # __Host- cookies must be Secure; browsers accept them on http://localhost too

    def meta(request: Request, bearer: str | None = None) -> list[tuple[str, str]]:
        return call_metadata(request, settings, bearer=bearer)

    def session_of(request: Request) -> str:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            raise Unauthenticated("SESSION_REQUIRED", "log in first")
        return token

    def set_cookie(response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(name, value, max_age=max_age, path="/", secure=secure, httponly=True, samesite="strict")

    @api.get("/csrf", summary="Issue the CSRF token to send in the X-CSRF-Token header")
    async def csrf(request: Request, response: Response) -> dict[str, str]:
        token = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
        response.set_cookie(CSRF_COOKIE, token, path="/", secure=secure, httponly=False, samesite="strict")
        return {"csrf_token": token}

    # ---- cofor: get access, present your company -----------------------------------------------------------

    @api.post("/access:analyze", summary="Get-access analysis (CoforService.AnalyzeAccess)")
    async def analyze(body: AnalyzeBody, request: Request) -> dict[str, Any]:
        return as_json(await backends.cofor.AnalyzeAccess(cofor.AnalyzeAccessRequest(
            cofor=body.cofor, site_code=body.site_code), metadata=meta(request), timeout=timeout))

    @api.post("/presentations", summary="Start a company file (CoforService.StartPresentation); the link that "
                                        "opens it is mailed to the presenter")
    async def start_presentation(body: StartPresentationBody, request: Request) -> dict[str, Any]:
        reply = await backends.cofor.StartPresentation(cofor.StartPresentationRequest(
            duns=body.duns, email=body.email, legal_name=body.legal_name, language=body.language),
            metadata=meta(request), timeout=timeout)
        return {"presentation": as_json(reply.presentation)}

    def presenter(request: Request, token: str | None) -> list[tuple[str, str]]:
        # The token comes from the mailed link: a page sets it in the cookie (after asking, if it replaces another
        # file's); an API client sends it in ``x-presenter-token``. The API never sets the cookie itself.
        return meta(request, token or request.headers.get(PRESENTER_HEADER) or request.cookies.get(PRESENTER_COOKIE))

    @api.get("/presentations/{presentation_id}", summary="Read the company file (CoforService.GetPresentation)")
    async def get_presentation(presentation_id: str, request: Request,
                               token: str | None = Query(default=None, max_length=200)) -> dict[str, Any]:
        reply = await backends.cofor.GetPresentation(cofor.GetPresentationRequest(presentation_id=presentation_id),
                                                     metadata=presenter(request, token), timeout=timeout)
        return {"presentation": as_json(reply.presentation)}

    def contact(c: ContactBody) -> cofor_pb.Contact:
        return cofor_pb.Contact(given_name=c.given_name, family_name=c.family_name, email=c.email, phone=c.phone,
                                job_title=c.job_title, language=c.language)

    @api.patch("/presentations/{presentation_id}", summary="Fill in the file (CoforService.UpdatePresentation)")
    async def update_presentation(presentation_id: str, body: UpdatePresentationBody,
                                  request: Request) -> dict[str, Any]:
        address = body.head_office_address
        values = cofor_pb.Presentation(
            presentation_id=presentation_id, legal_name=body.legal_name,
            national_registration_number=body.national_registration_number, tax_number=body.tax_number,
            country_code=body.country_code, legal_existence_proof_ref=body.legal_existence_proof_ref)
        if address is not None:
            values.head_office_address.CopyFrom(cofor_pb.Address(
                lines=address.lines, postal_code=address.postal_code, city=address.city,
                country_code=address.country_code))
        if body.legal_representative is not None:
            values.legal_representative.CopyFrom(contact(body.legal_representative))
        reply = await backends.cofor.UpdatePresentation(cofor.UpdatePresentationRequest(
            presentation=values, update_mask=FieldMask(paths=body.update_mask)),
            metadata=presenter(request, None), timeout=timeout)
        return {"presentation": as_json(reply.presentation)}

    @api.post("/presentations/{presentation_id}:submit", summary="Send the file (CoforService.SubmitPresentation)")
    async def submit_presentation(presentation_id: str, request: Request) -> dict[str, Any]:
        reply = await backends.cofor.SubmitPresentation(cofor.SubmitPresentationRequest(
            presentation_id=presentation_id), metadata=presenter(request, None), timeout=timeout)
        return {"presentation": as_json(reply.presentation)}

    @api.post("/access-requests", summary="Request portal access (CoforService.RequestPortalAccess)")
    async def request_access(body: AccessRequestBody, request: Request) -> dict[str, Any]:
        return as_json(await backends.cofor.RequestPortalAccess(cofor.RequestPortalAccessRequest(
            cofor=body.cofor, signatory=contact(body.signatory), administrator=contact(body.administrator)),
            metadata=meta(request), timeout=timeout))

    @api.post("/access-requests:resend", summary="Resend the GTU link (CoforService.ResendTermsAcceptance)")
    async def resend_terms(body: CoforBody, request: Request) -> dict[str, Any]:
        return as_json(await backends.cofor.ResendTermsAcceptance(cofor.ResendTermsAcceptanceRequest(
            cofor=body.cofor), metadata=meta(request), timeout=timeout))

    @api.get("/terms", summary="What the terms page shows (CoforService.DescribeTermsAcceptance)")
    async def describe_terms(request: Request, token: str = Query(max_length=200)) -> dict[str, Any]:
        return as_json(await backends.cofor.DescribeTermsAcceptance(cofor.DescribeTermsAcceptanceRequest(
            acceptance_token=token), metadata=meta(request), timeout=timeout))

    @api.post("/terms:accept", summary="Accept the GTU (CoforService.AcceptTerms)")
    async def accept_terms(body: AcceptTermsBody, request: Request) -> dict[str, Any]:
        return as_json(await backends.cofor.AcceptTerms(cofor.AcceptTermsRequest(
            acceptance_token=body.acceptance_token, terms_version=body.terms_version),
            metadata=meta(request), timeout=timeout))

    # ---- identity: session, password, recovery --------------------------------------------------------------

    def opened(response: Response, reply: Any) -> dict[str, Any]:
        set_cookie(response, SESSION_COOKIE, reply.session_token, 12 * 3600)
        body = as_json(reply)
        body.pop("session_token", None)  # the token lives in the HttpOnly cookie only
        return body

    @api.post("/session:login", summary="Log in (IdentityService.Login)")
    async def login(body: LoginBody, request: Request, response: Response) -> dict[str, Any]:
        reply = await backends.identity.Login(identity.LoginRequest(identifier=body.identifier,
                                                                    password=body.password),
                                              metadata=meta(request), timeout=timeout)
        return opened(response, reply)

    @api.get("/session", summary="The logged-in person (IdentityService.ValidateSession)")
    async def current_session(request: Request) -> dict[str, Any]:
        return as_json(await backends.identity.ValidateSession(identity.ValidateSessionRequest(
            session_token=session_of(request)), metadata=meta(request), timeout=timeout))

    @api.post("/session:logout", summary="Log out (IdentityService.Logout)")
    async def logout(request: Request, response: Response) -> dict[str, Any]:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await backends.identity.Logout(identity.LogoutRequest(), metadata=meta(request, token), timeout=timeout)
        response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="strict")
        return {}

    @api.post("/password:change", summary="Change the password (IdentityService.ChangePassword)")
    async def change_password(body: ChangePasswordBody, request: Request, response: Response) -> dict[str, Any]:
        reply = await backends.identity.ChangePassword(identity.ChangePasswordRequest(
            current_password=body.current_password, new_password=body.new_password),
            metadata=meta(request, session_of(request)), timeout=timeout)
        return opened(response, reply)

    @api.post("/recovery/identifier", summary="Lost identifier (IdentityService.RecoverIdentifier)")
    async def recover_identifier(body: RecoverIdentifierBody, request: Request) -> dict[str, Any]:
        return as_json(await backends.identity.RecoverIdentifier(identity.RecoverIdentifierRequest(
            email=body.email, cofor=body.cofor), metadata=meta(request), timeout=timeout))

    @api.post("/recovery/administrator-password",
              summary="Lost password of an ASL (IdentityService.ResetAdministratorPassword)")
    async def reset_administrator(body: ResetAdministratorBody, request: Request) -> dict[str, Any]:
        return as_json(await backends.identity.ResetAdministratorPassword(
            identity.ResetAdministratorPasswordRequest(identifier=body.identifier, cofor=body.cofor,
                                                       email=body.email), metadata=meta(request), timeout=timeout))

    @api.post("/recovery/contact-administrator",
              summary="Lost password of a user (IdentityService.ContactAdministrator)")
    async def contact_administrator(body: ContactAdministratorBody, request: Request) -> dict[str, Any]:
        return as_json(await backends.identity.ContactAdministrator(identity.ContactAdministratorRequest(
            identifier=body.identifier, cofor=body.cofor, email=body.email, message=body.message),
            metadata=meta(request), timeout=timeout))

    # ---- identity: the ASL console ---------------------------------------------------------------------------

    def asl(request: Request) -> list[tuple[str, str]]:
        return meta(request, session_of(request))

    @api.get("/users", summary="The company's accounts (IdentityService.ListUsers)")
    async def list_users(request: Request, state: str = Query(default="", max_length=20),
                         page_size: int = Query(default=0, ge=0, le=200),
                         page_token: str = Query(default="", max_length=500)) -> dict[str, Any]:
        wanted = identity_pb.AccountState.Value(f"ACCOUNT_STATE_{state.upper()}") \
            if state.upper() in ("ACTIVE", "BLOCKED", "DISABLED") else 0
        if state and not wanted:
            raise InvalidArgument([FieldViolation("state", "must be ACTIVE, BLOCKED or DISABLED")])
        return as_json(await backends.identity.ListUsers(identity.ListUsersRequest(
            state=wanted, page_size=page_size, page_token=page_token), metadata=asl(request), timeout=timeout))  # type: ignore[arg-type]

    @api.post("/users", summary="Create an account (IdentityService.CreateUser)")
    async def create_user(body: CreateUserBody, request: Request) -> dict[str, Any]:
        return as_json(await backends.identity.CreateUser(identity.CreateUserRequest(
            given_name=body.given_name, family_name=body.family_name, email=body.email, phone=body.phone,
            job_title=body.job_title, language=body.language, request_id=body.request_id,
            role=identity_pb.ROLE_ADMINISTRATOR if body.administrator else identity_pb.ROLE_USER),
            metadata=asl(request), timeout=timeout))

    @api.get("/users/{identifier}", summary="One account (IdentityService.GetUser)")
    async def get_user(identifier: str, request: Request) -> dict[str, Any]:
        return as_json(await backends.identity.GetUser(identity.GetUserRequest(identifier=identifier),
                                                       metadata=asl(request), timeout=timeout))

    @api.patch("/users/{identifier}", summary="Change contact fields (IdentityService.UpdateUser)")
    async def update_user(identifier: str, body: UpdateUserBody, request: Request) -> dict[str, Any]:
        return as_json(await backends.identity.UpdateUser(identity.UpdateUserRequest(
            account=identity_pb.Account(identifier=identifier, given_name=body.given_name,
                                        family_name=body.family_name, email=body.email, phone=body.phone,
                                        job_title=body.job_title, language=body.language),
            update_mask=FieldMask(paths=body.update_mask)), metadata=asl(request), timeout=timeout))

    @api.post("/users/{identifier}:{action}", summary="Disable, enable, unlock, reset the password, grant or "
                                                       "revoke the ASL role")
    async def user_action(identifier: str, action: str, request: Request) -> dict[str, Any]:
        if action not in CONSOLE_ACTIONS:
            raise InvalidArgument([FieldViolation("action", "must be one of " + ", ".join(CONSOLE_ACTIONS))])
        method, message = CONSOLE_ACTIONS[action]
        return as_json(await getattr(backends.identity, method)(message(identifier=identifier),
                                                                metadata=asl(request), timeout=timeout))

    @api.get("/audit-events", summary="The company's security trail (IdentityService.ListAuditEvents)")
    async def audit_events(request: Request, identifier: str = Query(default="", max_length=20),
                           page_token: str = Query(default="", max_length=500)) -> dict[str, Any]:
        session = await backends.identity.ValidateSession(identity.ValidateSessionRequest(
            session_token=session_of(request)), metadata=meta(request), timeout=timeout)
        query = identity.ListAuditEventsRequest(page_token=page_token)
        if identifier:
            query.identifier = identifier
        else:
            query.cofor_root = session.principal.cofor_root
        return as_json(await backends.identity.ListAuditEvents(query, metadata=asl(request), timeout=timeout))

    # ---- support: tickets and help ----------------------------------------------------------------------------

    @api.post("/tickets", summary="Help & Contact (SupportService.CreateTicket); multipart with the screenshot")
    async def create_ticket(request: Request, category: str = Form(max_length=40), subject: str = Form(max_length=300),
                            text: str = Form(max_length=10_000), name: str = Form(max_length=300),
                            email: str = Form(max_length=320), phone: str = Form(max_length=60),
                            company: str = Form(max_length=300), identifier: str = Form(default="", max_length=40),
                            cofor: str = Form(default="", max_length=40), language: str = Form(default="fr", max_length=5),
                            screenshot: UploadFile | None = File(default=None)) -> dict[str, Any]:
        category_value = ticket_pb.TicketCategory.Value(f"TICKET_CATEGORY_{category.upper()}") \
            if f"TICKET_CATEGORY_{category.upper()}" in ticket_pb.TicketCategory.keys() else 0
        message = support.CreateTicketRequest(category=category_value, subject=subject, text=text,  # type: ignore[arg-type]
                                              contact=ticket_pb.TicketContact(
                                                  name=name, email=email, phone=phone, company=company,
                                                  identifier=identifier, cofor=cofor, language=language))
        if screenshot is not None and screenshot.filename:
            data = await screenshot.read(5 * 1024 * 1024 + 1)
            message.screenshot.CopyFrom(ticket_pb.Screenshot(filename=screenshot.filename[:200],
                                                             content_type=(screenshot.content_type or "")[:100],
                                                             data=data))
        # Signed in: the ticket is recorded as sent by this session (proven), never by what the form claims.
        principal = await session_principal(backends, request, meta(request), timeout)
        return as_json(await backends.support.CreateTicket(message, metadata=meta(request) + principal_metadata(
            principal), timeout=timeout))

    @api.get("/help/topics", summary="The help catalogue (SupportService.ListHelpTopics)")
    async def help_topics(request: Request, language: str = Query(default="fr", max_length=5)) -> dict[str, Any]:
        return as_json(await backends.support.ListHelpTopics(support.ListHelpTopicsRequest(language=language),
                                                             metadata=meta(request), timeout=timeout))

    @api.get("/help/articles/{article_id}", summary="One help article (SupportService.GetHelpArticle)")
    async def help_article(article_id: str, request: Request,
                           language: str = Query(default="fr", max_length=5)) -> dict[str, Any]:
        return as_json(await backends.support.GetHelpArticle(support.GetHelpArticleRequest(
            id=article_id[:100], language=language), metadata=meta(request), timeout=timeout))

    return api
