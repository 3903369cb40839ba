"""The isolation suite's table (hardening/isolation.py): every RPC by who may call it, with the probe that aims a
console or privileged call at the other company's data, and the wrong callers each privileged call must refuse."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message
from portal.cofor.v1 import cofor_service_pb2 as cofor
from portal.cofor.v1 import supplier_pb2 as cofor_pb
from portal.identity.v1 import account_pb2 as identity_pb
from portal.identity.v1 import identity_service_pb2 as identity
from portal.identity.v1 import oidc_pb2 as oidc
from portal.identity.v1 import sessions_pb2 as sessions_pb
from portal.support.v1 import support_service_pb2 as support
from portal.support.v1 import ticket_pb2

from tests.e2e.stack import CREDENTIALS

PUBLIC, SESSION, CONSOLE, OWN_COMPANY = "public", "session", "ASL console", "ASL console, own company"
PURCHASING, INTERNAL, AGENT, SUPPORT_STAFF = "purchasing", "internal", "agent", "support staff"
OPERATOR = "operator (internal role only)"  # registering applications, rotating the provider's keys
PRIVILEGED = {PURCHASING, INTERNAL, AGENT, SUPPORT_STAFF, OPERATOR}
PLUMBING = {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}
OTHER_COMPANY = ("PERMISSION_DENIED", "OTHER_COMPANY_ACCOUNT")


@dataclass(frozen=True)
class Targets:
    """What a probe aims at: the other company's data (``account``: one of its accounts)."""

    cofor_root: str
    account: str
    presentation_id: str  # a submitted company file waiting for purchasing
    ticket: str  # a Help & Contact ticket reference


Probe = Callable[[Targets], list[Message]]
PROBE_CONTACT = cofor_pb.Contact(given_name="Eve", family_name="Probe", email="eve@probe.example",
                                 phone="+33 1 23 45 67 89", job_title="Probe", language="en")
C, I, S, O = (module.DESCRIPTOR.services_by_name[name].full_name for module, name in (  # noqa: E741  (tables' keys)
    (cofor, "CoforService"), (identity, "IdentityService"), (support, "SupportService"),
    (oidc, "OidcProviderService")))

# Every RPC, by who may call it. The probe of a console or privileged RPC builds requests that would read or change
# the other company's (or anyone's) data if the call were let through; a new RPC missing here fails the suite.
METHODS: dict[str, tuple[set[str], Probe | None]] = {
    **{f"{C}.{name}": ({PUBLIC}, None) for name in (  # the company file's calls take the presenter token as bearer
        "StartPresentation", "UpdatePresentation", "SubmitPresentation", "AnalyzeAccess", "RequestPortalAccess",
        "ResendTermsAcceptance", "DescribeTermsAcceptance", "AcceptTerms")},
    **{f"{I}.{name}": ({PUBLIC}, None) for name in (
        "Login", "RecoverIdentifier", "ResetAdministratorPassword", "ContactAdministrator", "BeginPasskeyLogin",
        "PasskeyLogin",  # a passkey login names no account: the answer's credential does
        "RequestAccount",  # a newcomer writes to a company's ASLs: the same answer for any COFOR, nothing read back
        "ActivateAccount")},  # the link's token is the credential: it names its one account
    **{f"{I}.{name}": ({SESSION}, None) for name in (  # the caller's own session and factors only
        "Logout", "ValidateSession", "ChangePassword", "VerifySecondFactor", "GetSecondFactors", "BeginTotpEnrolment",
        "ConfirmTotpEnrolment", "RegenerateRecoveryCodes", "RemoveSecondFactor", "BeginPasskeyEnrolment",
        "FinishPasskeyEnrolment", "BeginPasskeyVerification", "VerifyPasskey",
        "RemovePasskey",  # another account's passkey id answers NOT_FOUND, as a made-up one (tests/integration)
        "SetSecondFactorPolicy",  # the policy of the ASL's own company: no request names another
        "ListMySessions", "EndMySession")},  # another account's session id answers NOT_FOUND, as a made-up one
    f"{I}.ResetSecondFactors": ({CONSOLE, SUPPORT_STAFF}, lambda t: [identity.ResetSecondFactorsRequest(
        identifier=t.account, reason="probe")]),
    f"{I}.EndUserSessions": ({CONSOLE, SUPPORT_STAFF}, lambda t: [sessions_pb.EndUserSessionsRequest(
        identifier=t.account, reason="probe")]),
    **{f"{S}.{name}": ({PUBLIC}, None) for name in ("CreateTicket", "ListHelpTopics", "GetHelpArticle")},
    f"{C}.GetPresentation": ({PUBLIC, PURCHASING}, None),
    f"{C}.ListPresentations": ({PURCHASING}, lambda t: [cofor.ListPresentationsRequest()]),
    f"{C}.RejectPresentation": ({PURCHASING}, lambda t: [cofor.RejectPresentationRequest(
        presentation_id=t.presentation_id, reason="isolation probe")]),
    f"{C}.ReferenceSupplier": ({PURCHASING}, lambda t: [cofor.ReferenceSupplierRequest(
        presentation_id=t.presentation_id)]),
    f"{C}.AddSite": ({PURCHASING}, lambda t: [cofor.AddSiteRequest(cofor_root=t.cofor_root, name="Probe plant")]),
    f"{C}.DeactivateSupplier": ({PURCHASING}, lambda t: [cofor.DeactivateSupplierRequest(
        cofor_root=t.cofor_root, reason="isolation probe")]),
    f"{C}.ReactivateSupplier": ({PURCHASING}, lambda t: [cofor.ReactivateSupplierRequest(cofor_root=t.cofor_root)]),
    f"{C}.SuspendPortalAccess": ({PURCHASING}, lambda t: [cofor.SuspendPortalAccessRequest(
        cofor_root=t.cofor_root, reason="isolation probe")]),
    f"{C}.ReopenPortalAccess": ({PURCHASING}, lambda t: [cofor.ReopenPortalAccessRequest(cofor_root=t.cofor_root)]),
    f"{C}.ReviewAccessRequest": ({PURCHASING}, lambda t: [cofor.ReviewAccessRequestRequest(
        cofor=t.cofor_root, decision=cofor.ACCESS_REVIEW_DECISION_DECLINE, reason="probe")]),
    f"{C}.UpdateSignatoryOfRecord": ({PURCHASING}, lambda t: [cofor.UpdateSignatoryOfRecordRequest(
        cofor=t.cofor_root, signatory=PROBE_CONTACT)]),
    f"{C}.ResetPortalAccess": ({PURCHASING}, lambda t: [cofor.ResetPortalAccessRequest(
        cofor=t.cofor_root, reason="probe")]),
    f"{C}.GetSupplier": ({INTERNAL}, lambda t: [cofor.GetSupplierRequest(cofor=t.cofor_root)]),
    f"{C}.ListSuppliers": ({INTERNAL}, lambda t: [cofor.ListSuppliersRequest()]),
    f"{C}.ValidateCofor": ({INTERNAL}, lambda t: [cofor.ValidateCoforRequest(cofor=t.cofor_root)]),
    f"{C}.BatchValidateCofor": ({INTERNAL}, lambda t: [cofor.BatchValidateCoforRequest(cofors=[t.cofor_root])]),
    f"{I}.CreateUser": ({OWN_COMPANY}, lambda t: [identity.CreateUserRequest(
        given_name="Probe", family_name="Isolation", email=f"probe.{uuid.uuid4().hex[:8]}@supplier.example")]),
    f"{I}.ListUsers": ({OWN_COMPANY}, lambda t: [identity.ListUsersRequest(page_size=200)]),
    f"{I}.GetUser": ({CONSOLE, SUPPORT_STAFF}, lambda t: [identity.GetUserRequest(identifier=t.account)]),
    f"{I}.UpdateUser": ({CONSOLE}, lambda t: [identity.UpdateUserRequest(
        account=identity_pb.Account(identifier=t.account, job_title="changed by a probe"),
        update_mask=FieldMask(paths=["job_title"]))]),
    f"{I}.DisableUser": ({CONSOLE, SUPPORT_STAFF}, lambda t: [identity.DisableUserRequest(identifier=t.account,
                                                                                        reason="probe")]),
    f"{I}.EnableUser": ({CONSOLE}, lambda t: [identity.EnableUserRequest(identifier=t.account)]),
    f"{I}.UnlockUser": ({CONSOLE, SUPPORT_STAFF}, lambda t: [identity.UnlockUserRequest(identifier=t.account,
                                                                                      reason="probe")]),
    f"{I}.ResetUserPassword": ({CONSOLE}, lambda t: [identity.ResetUserPasswordRequest(identifier=t.account)]),
    f"{I}.ResendActivation": ({CONSOLE}, lambda t: [identity.ResendActivationRequest(identifier=t.account)]),
    f"{I}.GrantAdministrator": ({CONSOLE}, lambda t: [identity.GrantAdministratorRequest(identifier=t.account)]),
    f"{I}.RevokeAdministrator": ({CONSOLE, SUPPORT_STAFF}, lambda t: [identity.RevokeAdministratorRequest(
        identifier=t.account, reason="probe")]),
    f"{I}.SearchAccounts": ({SUPPORT_STAFF}, lambda t: [identity.SearchAccountsRequest(cofor=t.cofor_root)]),
    f"{I}.ListAuditEvents": ({CONSOLE, SUPPORT_STAFF}, lambda t: [
        identity.ListAuditEventsRequest(identifier=t.account),
        identity.ListAuditEventsRequest(cofor_root=t.cofor_root)]),
    # The OpenID Connect protocol (the gateway's credential; the portal session as bearer where there is one):
    # codes and tokens belong to the application that presents its own credential in the request.
    **{f"{O}.{name}": ({PUBLIC}, None) for name in (
        "GetProviderMetadata", "GetJwks", "Authorize", "ExchangeToken", "GetUserInfo", "IntrospectToken",
        "RevokeToken", "EndSession")},
    f"{O}.CreateOidcClient": ({OPERATOR}, lambda t: [oidc.CreateOidcClientRequest(client=oidc.OidcClient(
        client_id=f"probe-{uuid.uuid4().hex[:8]}", name="Probe", token_endpoint_auth_method="client_secret_basic",
        redirect_uris=["https://probe.example/callback"]))]),
    f"{O}.ListOidcClients": ({OPERATOR}, lambda t: [oidc.ListOidcClientsRequest()]),
    f"{O}.GetOidcClient": ({OPERATOR}, lambda t: [oidc.GetOidcClientRequest(client_id="probe")]),
    f"{O}.RotateOidcClientSecret": ({OPERATOR}, lambda t: [oidc.RotateOidcClientSecretRequest(client_id="probe")]),
    f"{O}.DisableOidcClient": ({OPERATOR}, lambda t: [oidc.DisableOidcClientRequest(client_id="probe")]),
    f"{O}.RotateSigningKey": ({OPERATOR}, lambda t: [oidc.RotateSigningKeyRequest()]),
    f"{S}.ListTickets": ({AGENT}, lambda t: [support.ListTicketsRequest()]),
    f"{S}.GetTicket": ({AGENT}, lambda t: [support.GetTicketRequest(reference=t.ticket)]),
    f"{S}.UpdateTicketStatus": ({AGENT}, lambda t: [support.UpdateTicketStatusRequest(
        reference=t.ticket, status=ticket_pb2.TICKET_STATUS_IN_PROGRESS, note="probe", author="probe")]),
    f"{S}.AddReply": ({AGENT}, lambda t: [support.AddReplyRequest(reference=t.ticket, author="probe",
                                                                   text="isolation probe")]),
}
TOKENS = {name: token for name, _, token in (entry.split(":", 2) for entry in CREDENTIALS.split(","))}
PRIVILEGED_CALLERS = [  # (who calls, service credential, whose session, expected answer)
    ("no credential", "", "", "UNAUTHENTICATED"), ("a forged credential", "forged", "", "UNAUTHENTICATED"),
    ("the public credential", "gateway", "", "PERMISSION_DENIED"),
    ("the public credential and a user's session", "gateway", "user", "PERMISSION_DENIED"),
    ("the public credential and an ASL's session", "gateway", "asl", "PERMISSION_DENIED")]
# Each privileged kind of RPC and the service roles it admits: a credential with another single role is refused.
ROLES_ADMITTED = {PURCHASING: {"purchasing"}, AGENT: {"support"}, SUPPORT_STAFF: {"support"},
                  INTERNAL: {"internal", "purchasing", "support"}, OPERATOR: {"internal"}}
SINGLE_ROLE_CALLERS = {"erp": "internal", "buyer": "purchasing", "helpdesk": "support"}  # credential → its one role
