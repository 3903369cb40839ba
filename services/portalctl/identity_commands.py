"""Support-staff commands over accounts: find, show, audit trail, and the audited changes on any company:
unlock, disable, revoke-admin, reset-factors (each with the agent's name and a reason)."""
from __future__ import annotations

import argparse
from typing import Any

from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import identity_service_pb2 as api
from portal.identity.v1 import identity_service_pb2_grpc as api_grpc

from portalctl.connection import agent_name, call, show


async def _identity(method: str, request: Any, agent: str = "") -> Any:
    return await call("identity", api_grpc.IdentityServiceStub, method, request, agent=agent)


async def _change(method: str, request: Any, args: argparse.Namespace) -> None:
    """A change on someone's account: the agent travels as metadata, the reason in the request; identity records
    both on the account's security trail."""
    print(_line((await _identity(method, request, agent_name(args.agent))).account))


def _line(a: pb.Account) -> str:
    roles = "+".join(pb.Role.Name(r).removeprefix("ROLE_") for r in a.roles)
    state = pb.AccountState.Name(a.state).removeprefix("ACCOUNT_STATE_")
    return f"{a.identifier}  {a.cofor_root}  {state:<8}  {roles:<18}  {a.display_name}  <{a.email}>"


async def find(args: argparse.Namespace) -> None:
    token = ""
    while True:
        page = await _identity("SearchAccounts", api.SearchAccountsRequest(
            identifier=args.identifier or "", email=args.email or "", cofor=args.cofor or "", page_size=200,
            page_token=token))
        for a in page.accounts:
            print(_line(a))
        token = page.next_page_token
        if not token:
            return


async def account(args: argparse.Namespace) -> None:
    show((await _identity("GetUser", api.GetUserRequest(identifier=args.identifier))).account)


async def audit(args: argparse.Namespace) -> None:
    request = api.ListAuditEventsRequest(page_size=args.limit)
    if args.subject.upper().startswith("V") and len(args.subject.strip()) == 7:
        request.identifier = args.subject
    else:
        request.cofor_root = args.subject
    for e in (await _identity("ListAuditEvents", request)).audit_events:
        action = pb.AuditAction.Name(e.action).removeprefix("AUDIT_ACTION_")
        print(f"{e.occur_time.ToDatetime():%Y-%m-%d %H:%M:%S}Z  {action:<24}  {e.subject_identifier}  "
              f"by {e.actor}  from {e.client_address or '-'}  {e.detail}")


async def unlock(args: argparse.Namespace) -> None:
    await _change("UnlockUser", api.UnlockUserRequest(identifier=args.identifier, reason=args.reason), args)


async def disable(args: argparse.Namespace) -> None:
    await _change("DisableUser", api.DisableUserRequest(identifier=args.identifier, reason=args.reason), args)


async def revoke_admin(args: argparse.Namespace) -> None:
    await _change("RevokeAdministrator", api.RevokeAdministratorRequest(identifier=args.identifier,
                                                                        reason=args.reason), args)


async def reset_factors(args: argparse.Namespace) -> None:
    """Only after checking who asks, out of band (a call back on the number on record, say): the reason says how."""
    await _identity("ResetSecondFactors", api.ResetSecondFactorsRequest(identifier=args.identifier,
                                                                        reason=args.reason), agent_name(args.agent))
    print(f"{args.identifier}: second factors reset; sessions ended; the holder was told by e-mail")


def _change_parser(sub: Any, name: str, help_: str, run: Any) -> None:
    p = sub.add_parser(name, help=help_)
    p.add_argument("identifier")
    p.add_argument("--reason", required=True, help="why (one line; recorded in the account's security trail)")
    p.add_argument("--agent", help="who acts (default: $PORTAL_AGENT, else your login)")
    p.set_defaults(run=run)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    identity = commands.add_parser("identity", help="accounts (support staff)")
    sub = identity.add_subparsers(dest="action", required=True)
    p = sub.add_parser("find", help="find accounts by identifier, e-mail and/or COFOR")
    p.add_argument("--identifier")
    p.add_argument("--email")
    p.add_argument("--cofor")
    p.set_defaults(run=find)
    p = sub.add_parser("show", help="show one account")
    p.add_argument("identifier")
    p.set_defaults(run=account)
    p = sub.add_parser("audit", help="security trail of an account (V123456) or a company (COFOR root)")
    p.add_argument("subject")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(run=audit)
    _change_parser(sub, "unlock", "unblock an account of any company", unlock)
    _change_parser(sub, "disable", "disable an account of any company, even its last ASL (with no active ASL "
                   "left, cofor suspends the company's access)", disable)
    _change_parser(sub, "revoke-admin", "take the ASL role from an account of any company, even the last one",
                   revoke_admin)
    _change_parser(sub, "reset-factors", "reset every second factor of an account (a lost phone and lost recovery "
                   "codes), once you checked out of band who asks; it enrols again at the next login", reset_factors)
