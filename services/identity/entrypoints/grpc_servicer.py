"""IdentityService over gRPC: resolves the caller (service credential, end-user session), translates
proto ⇄ use-case calls. Company scoping is enforced in the use cases, for every ASL call."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

import grpc
from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import identity_service_pb2 as api
from portal.identity.v1 import identity_service_pb2_grpc as api_grpc

from kit.auth import ServiceCaller, ServiceCredentials, agent_name, bearer_token, client_address, require_service
from kit.clock import to_timestamp as timestamp
from kit.errors import FieldViolation, InvalidArgument, PermissionDenied
from kit.grpc_server import Registrar
from kit.validation import enum_name

from identity.domain.accounts import Account, State
from identity.domain.factors import Step, acr_of
from identity.entrypoints.account_request_rpcs import AccountRequestRpcs
from identity.entrypoints.activation_rpcs import ActivationRpcs
from identity.entrypoints.audit_filter import trail_filter
from identity.entrypoints.factor_rpcs import ENROLLING, KINDS, STEPS, FactorRpcs, refuse_unfinished
from identity.entrypoints.passkey_rpcs import PasskeyRpcs
from identity.entrypoints.session_rpcs import SessionRpcs, remember_user_agent
from identity.service_layer.account_request import AccountRequests
from identity.service_layer.activation import Activation
from identity.service_layer.common import OpenedSession
from identity.service_layer.console import Console
from identity.service_layer.console_access import Actor, NewUser
from identity.service_layer.factor_admin import FactorAdministration
from identity.service_layer.login import Login
from identity.service_layer.passkeys import Passkeys
from identity.service_layer.password_change import PasswordChange
from identity.service_layer.recovery import Recovery
from identity.service_layer.second_factor import SecondFactors
from identity.service_layer.sessions import Sessions, ValidSession
from identity.views import UserFilter, Views

Ctx: TypeAlias = grpc.aio.ServicerContext[Any, Any]
ANY = ("public", "purchasing", "internal", "support")
SERVICE_NAME = api.DESCRIPTOR.services_by_name["IdentityService"].full_name


def principal(account: Account, must_change: bool, amr: str = "pwd", step: Step = Step.NONE) -> pb.Principal:
    return pb.Principal(identifier=account.identifier, cofor_root=account.cofor_root,
                        roles=[pb.Role.Value(f"ROLE_{r}") for r in account.roles], display_name=account.display_name,
                        must_change_password=must_change, amr=amr.split(), acr=acr_of(amr),
                        second_factor_step=STEPS[step])


def account_message(a: Account) -> pb.Account:
    return pb.Account(
        identifier=a.identifier, cofor_root=a.cofor_root, given_name=a.given_name, family_name=a.family_name,
        display_name=a.display_name, email=a.email, phone=a.phone, job_title=a.job_title, language=a.language,
        roles=[pb.Role.Value(f"ROLE_{r}") for r in a.roles],
        state=pb.AccountState.Value(f"ACCOUNT_STATE_{a.state.value}"),
        must_change_password=a.must_change_password, create_time=timestamp(a.created_at),
        last_login_time=timestamp(a.last_login_at), password_change_time=timestamp(a.password_changed_at),
        update_time=timestamp(a.updated_at), activation_expire_time=timestamp(a.activation_expires_at))


def audit_message(row: Any) -> pb.AuditEvent:
    return pb.AuditEvent(id=row["id"], occur_time=timestamp(row["occurred_at"]),
                         action=pb.AuditAction.Value(f"AUDIT_ACTION_{row['action']}"), actor=row["actor"],
                         subject_identifier=row["subject"], cofor_root=row["cofor_root"],
                         client_address=row["client_address"], detail=row["detail"])


@dataclass(frozen=True)
class UseCases:
    login: Login
    sessions: Sessions
    password_change: PasswordChange
    recovery: Recovery
    console: Console
    views: Views
    second_factors: SecondFactors
    factor_administration: FactorAdministration
    passkeys: Passkeys
    activation: Activation
    account_requests: AccountRequests


class IdentityServicer(AccountRequestRpcs, ActivationRpcs, FactorRpcs, PasskeyRpcs, SessionRpcs,
                       api_grpc.IdentityServiceServicer):
    def __init__(self, cases: UseCases, credentials: ServiceCredentials) -> None:
        self.cases = cases
        self.recovery = cases.recovery
        self.admin = cases.console
        self.views = cases.views
        self.credentials = credentials

    _account = staticmethod(account_message)  # for the mixed-in RPCs

    # ---- who is calling -----------------------------------------------------------------------------------

    def _service(self, context: Ctx, roles: tuple[str, ...] = ANY) -> ServiceCaller:
        return require_service(self.credentials, context, roles)

    def _client(self, caller: ServiceCaller, context: Ctx) -> str:
        public = "public" in caller.roles  # the gateway's credential: its User-Agent too, for a session opened
        remember_user_agent(context, public)
        return client_address(context) if public else ""

    async def _session(self, context: Ctx, *, allow_must_change: bool = False,
                       allow: frozenset[Step] = frozenset()) -> tuple[ValidSession, str]:
        """The caller's session, if it may call this: a half-done login only takes its next step (the factor, then
        the password change, then the factor's enrolment)."""
        caller = self._service(context)
        session = await self.cases.sessions.validate(bearer_token(context))
        if session.step == Step.VERIFY:
            refuse_unfinished(session.step, allow)
        if session.must_change_password and not allow_must_change:
            raise PermissionDenied("PASSWORD_CHANGE_REQUIRED", "change your password first")
        refuse_unfinished(session.step, allow)
        return session, self._client(caller, context)

    async def _asl(self, context: Ctx) -> Actor:
        session, client = await self._session(context)
        account = session.account
        if not account.is_administrator or account.state != State.ACTIVE:
            raise PermissionDenied("CALLER_NOT_ALLOWED", "only your company's administrator may do this")
        if session.acr != "mfa":  # every ASL gives a second factor: a session opened without one is not enough
            raise PermissionDenied("SECOND_FACTOR_REQUIRED", "log in again with your second factor")
        return Actor(account.identifier, account.cofor_root, client)

    async def _asl_or_support(self, context: Ctx) -> Actor:
        if bearer_token(context):
            return await self._asl(context)
        caller = self._service(context, ("support",))
        return Actor(f"support:{caller.name}", None, agent=agent_name(context))

    # ---- sessions ---------------------------------------------------------------------------------------

    @staticmethod
    def _opened(o: OpenedSession) -> dict[str, Any]:
        return dict(session_token=o.token, expire_time=timestamp(o.expires_at),
                    idle_expire_time=timestamp(o.idle_expires_at),
                    principal=principal(o.account, o.must_change_password, o.amr, o.step))

    async def Login(self, request: api.LoginRequest, context: Ctx) -> api.LoginResponse:
        caller = self._service(context)
        opened = await self.cases.login(request.identifier, request.password, self._client(caller, context))
        return api.LoginResponse(must_change_password=opened.must_change_password, **self._opened(opened),
                                 available_factors=[KINDS[k] for k in opened.available])

    async def Logout(self, request: api.LogoutRequest, context: Ctx) -> api.LogoutResponse:
        caller = self._service(context)
        await self.cases.sessions.logout(bearer_token(context), self._client(caller, context))
        return api.LogoutResponse()

    async def ValidateSession(self, request: api.ValidateSessionRequest, context: Ctx) -> api.ValidateSessionResponse:
        self._service(context)
        if not request.session_token:
            raise InvalidArgument([FieldViolation("session_token", "is required")])
        s = await self.cases.sessions.validate(request.session_token)
        refuse_unfinished(s.step)  # an application never takes a half-done login for a signed-in person
        # The hot path of every page view: the parts that do not change are built once per cached session.
        cached = s.cache_slot
        if cached.get("_principal") is None:
            cached["_principal"] = principal(s.account, s.must_change_password, s.amr)
            cached["_expire_time"] = timestamp(s.expires_at)
        if cached.get("_idle_for") != s.idle_expires_at:
            cached["_idle_for"], cached["_idle_time"] = s.idle_expires_at, timestamp(s.idle_expires_at)
        return api.ValidateSessionResponse(principal=cached["_principal"], expire_time=cached["_expire_time"],
                                           idle_expire_time=cached["_idle_time"])

    async def ChangePassword(self, request: api.ChangePasswordRequest, context: Ctx) -> api.ChangePasswordResponse:
        session, client = await self._session(context, allow_must_change=True, allow=ENROLLING)
        opened = await self.cases.password_change(session, request.current_password, request.new_password, client)
        return api.ChangePasswordResponse(**self._opened(opened))

    # ---- recovery ---------------------------------------------------------------------------------------

    async def RecoverIdentifier(self, request: api.RecoverIdentifierRequest,
                                context: Ctx) -> api.RecoverIdentifierResponse:
        caller = self._service(context)
        key = await self.recovery.recover_identifier(request.email, request.cofor, self._client(caller, context))
        return api.RecoverIdentifierResponse(message_key=key)

    async def ResetAdministratorPassword(self, request: api.ResetAdministratorPasswordRequest,
                                         context: Ctx) -> api.ResetAdministratorPasswordResponse:
        caller = self._service(context)
        key = await self.recovery.reset_administrator_password(request.identifier, request.cofor, request.email,
                                                               self._client(caller, context))
        return api.ResetAdministratorPasswordResponse(message_key=key)

    async def ContactAdministrator(self, request: api.ContactAdministratorRequest,
                                   context: Ctx) -> api.ContactAdministratorResponse:
        caller = self._service(context)
        key = await self.recovery.contact_administrator(request.identifier, request.cofor, request.email,
                                                        request.message, self._client(caller, context))
        return api.ContactAdministratorResponse(message_key=key)

    # ---- ASL console ------------------------------------------------------------------------------------

    async def CreateUser(self, request: api.CreateUserRequest, context: Ctx) -> api.CreateUserResponse:
        actor = await self._asl(context)
        account = await self.admin.create_user(actor, NewUser(
            request.given_name, request.family_name, request.email, request.phone, request.job_title,
            request.language, request.role == pb.ROLE_ADMINISTRATOR, request.request_id,
            request.allow_duplicate_email))
        return api.CreateUserResponse(account=account_message(account))

    async def ListUsers(self, request: api.ListUsersRequest, context: Ctx) -> api.ListUsersResponse:
        actor = await self._asl(context)
        criteria = UserFilter(state=enum_name(pb.AccountState, request.state, "ACCOUNT_STATE_", "state"),
                              role=enum_name(pb.Role, request.role, "ROLE_", "role"), query=request.query.strip())
        found, token, total = await self.views.list_users(actor, criteria, request.page_size, request.page_token)
        return api.ListUsersResponse(accounts=[account_message(a) for a in found], next_page_token=token,
                                     company_name=await self.views.company_name(actor), total_size=total,
                                     active_administrators=await self.views.active_administrators(actor))

    async def GetUser(self, request: api.GetUserRequest, context: Ctx) -> api.GetUserResponse:
        actor = await self._asl_or_support(context)
        return api.GetUserResponse(account=account_message(await self.views.get_user(actor, request.identifier)))

    async def UpdateUser(self, request: api.UpdateUserRequest, context: Ctx) -> api.UpdateUserResponse:
        actor = await self._asl(context)
        a = request.account
        values = {"given_name": a.given_name, "family_name": a.family_name, "email": a.email, "phone": a.phone,
                  "job_title": a.job_title, "language": a.language}
        account = await self.admin.update_user(actor, a.identifier, values, list(request.update_mask.paths))
        return api.UpdateUserResponse(account=account_message(account))

    async def DisableUser(self, request: api.DisableUserRequest, context: Ctx) -> api.DisableUserResponse:
        actor = await self._asl_or_support(context)
        return api.DisableUserResponse(account=account_message(
            await self.admin.disable_user(actor, request.identifier, request.reason)))

    async def EnableUser(self, request: api.EnableUserRequest, context: Ctx) -> api.EnableUserResponse:
        actor = await self._asl(context)
        return api.EnableUserResponse(account=account_message(await self.admin.enable_user(actor, request.identifier)))

    async def UnlockUser(self, request: api.UnlockUserRequest, context: Ctx) -> api.UnlockUserResponse:
        actor = await self._asl_or_support(context)
        return api.UnlockUserResponse(account=account_message(
            await self.admin.unlock_user(actor, request.identifier, request.reason)))

    async def ResetUserPassword(self, request: api.ResetUserPasswordRequest,
                                context: Ctx) -> api.ResetUserPasswordResponse:
        actor = await self._asl(context)
        account = await self.admin.reset_user_password(actor, request.identifier)
        return api.ResetUserPasswordResponse(account=account_message(account),
                                             temporary_password_expire_time=timestamp(account.password_expires_at))

    async def GrantAdministrator(self, request: api.GrantAdministratorRequest,
                                 context: Ctx) -> api.GrantAdministratorResponse:
        actor = await self._asl(context)
        return api.GrantAdministratorResponse(account=account_message(
            await self.admin.grant_administrator(actor, request.identifier)))

    async def RevokeAdministrator(self, request: api.RevokeAdministratorRequest,
                                  context: Ctx) -> api.RevokeAdministratorResponse:
        actor = await self._asl_or_support(context)
        return api.RevokeAdministratorResponse(account=account_message(
            await self.admin.revoke_administrator(actor, request.identifier, request.reason)))

    # ---- support staff ----------------------------------------------------------------------------------

    async def SearchAccounts(self, request: api.SearchAccountsRequest, context: Ctx) -> api.SearchAccountsResponse:
        if bearer_token(context):
            raise PermissionDenied("CALLER_NOT_ALLOWED", "support staff only")
        self._service(context, ("support",))
        found, token = await self.views.search(request.identifier, request.email, request.cofor, request.page_size,
                                               request.page_token)
        return api.SearchAccountsResponse(accounts=[account_message(a) for a in found], next_page_token=token)

    async def ListAuditEvents(self, request: api.ListAuditEventsRequest, context: Ctx) -> api.ListAuditEventsResponse:
        actor = await self._asl_or_support(context)
        subject = request.WhichOneof("subject")
        rows, token = await self.views.audit_trail(
            actor, request.identifier if subject == "identifier" else "",
            request.cofor_root if subject == "cofor_root" else "", request.page_size, request.page_token,
            trail_filter(request))
        return api.ListAuditEventsResponse(audit_events=[audit_message(r) for r in rows], next_page_token=token)


def registrar(servicer: IdentityServicer) -> Registrar:
    def register(server: grpc.aio.Server) -> None:
        api_grpc.add_IdentityServiceServicer_to_server(servicer, server)
    return register
