"""Support-staff commands over accounts (``portalctl identity ...``): find, show, audit trail, and the audited changes
on any company: unlock, disable, revoke-admin, reset-factors (each with the agent's name and a reason)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import identity_service_pb2 as api
from portal.identity.v1 import identity_service_pb2_grpc as api_grpc

from portalctl.cli import agent_option, command, group, reason_option
from portalctl.connection import agent_name, call, pages
from portalctl.output import done, enum_words, show, table, when

identity_group = group("identity", "Accounts (support staff): find, show, security trail, and audited changes on "
                                   "any company.")
IDENTIFIER = click.argument("identifier", help="The account's V-identifier (V123456).")
REASON = reason_option(True, "Why (one line; recorded in the account's security trail with your name).")


async def _identity(method: str, request: Any, agent: str = "") -> Any:
    return await call("identity", api_grpc.IdentityServiceStub, method, request, agent=agent)


def _roles(a: pb.Account) -> str:
    return enum_words(a, "roles")


@command(identity_group, "find", "portalctl identity find --cofor 12345A")
@click.option("--identifier", default="", metavar="V123456", help="The account's V-identifier.")
@click.option("--email", default="", help="The holder's e-mail address.")
@click.option("--cofor", default="", help="The company's COFOR (any form).")
async def find(identifier: str, email: str, cofor: str) -> None:
    """Find accounts by V-identifier, e-mail and/or COFOR: identifier, company, state, roles, name, e-mail."""
    request = api.SearchAccountsRequest(identifier=identifier, email=email, cofor=cofor, page_size=200)
    table(await pages(lambda r: _identity("SearchAccounts", r), request, "accounts"), [
        ("identifier", lambda a: a.identifier), ("cofor", lambda a: a.cofor_root),
        ("state", lambda a: enum_words(a, "state")), ("roles", _roles), ("name", lambda a: a.display_name),
        ("e-mail", lambda a: a.email), ("last login", lambda a: when(a.last_login_time))])


@command(identity_group, "show", "portalctl identity show V123456")
@IDENTIFIER
async def account(identifier: str) -> None:
    """Show one account: holder, company, roles, state and its dates."""
    show((await _identity("GetUser", api.GetUserRequest(identifier=identifier))).account)


@command(identity_group, "audit", "portalctl identity audit V123456 --limit 20")
@click.argument("subject", help="A V-identifier (one account's trail) or a COFOR root (the company's).")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="At most this many events, "
                                                                                          "newest first.")
async def audit(subject: str, limit: int) -> None:
    """The security trail of an account or a company, newest first: time, action, subject, actor, client address,
    detail."""
    request = api.ListAuditEventsRequest(page_size=limit)
    if subject.strip().upper().startswith("V") and len(subject.strip()) == 7:
        request.identifier = subject
    else:
        request.cofor_root = subject
    table(list((await _identity("ListAuditEvents", request)).audit_events), [
        ("time", lambda e: when(e.occur_time, seconds=True)), ("action", lambda e: enum_words(e, "action")),
        ("subject", lambda e: e.subject_identifier), ("actor", lambda e: e.actor),
        ("from", lambda e: e.client_address), ("detail", lambda e: e.detail)])


def _change(name: str, help_: str, method: str, request: Callable[[str, str], Any], said: str) -> None:
    """``portalctl identity <name> V123456 --reason ... [--agent ...]``: a change on someone's account; the agent
    travels as metadata, the reason in the request; identity records both in the account's security trail."""

    @command(identity_group, name, f'portalctl identity {name} V123456 --reason "checked by phone, ticket '
                                   'B2B-2026-000123"')
    @IDENTIFIER
    @REASON
    @agent_option
    async def change(identifier: str, reason: str, agent: str | None) -> None:
        a = (await _identity(method, request(identifier, reason), agent_name(agent))).account
        done(a, f"{a.identifier} {said} (state {enum_words(a, 'state')}; roles {_roles(a)})")

    change.help = help_


_change("unlock", "Unblock an account of any company.", "UnlockUser",
        lambda i, r: api.UnlockUserRequest(identifier=i, reason=r), "unlocked")
_change("disable", "Disable an account of any company, even its last ASL (with no active ASL left, cofor suspends "
        "the company's access).", "DisableUser", lambda i, r: api.DisableUserRequest(identifier=i, reason=r),
        "disabled")
_change("revoke-admin", "Take the ASL role from an account of any company, even the last one.",
        "RevokeAdministrator", lambda i, r: api.RevokeAdministratorRequest(identifier=i, reason=r),
        "is no longer an ASL")


@command(identity_group, "reset-factors", 'portalctl identity reset-factors V123456 --reason "lost phone; called '
                                          'back on the number on record"')
@IDENTIFIER
@REASON
@agent_option
async def reset_factors(identifier: str, reason: str, agent: str | None) -> None:
    """Reset every second factor of an account (a lost phone and lost recovery codes), only once you checked out of
    band who asks (a call back on the number on record, say): the reason says how. The holder enrols again at the
    next login."""
    answer = await _identity("ResetSecondFactors", api.ResetSecondFactorsRequest(identifier=identifier, reason=reason),
                             agent_name(agent))
    done(answer, f"{identifier}: second factors reset; sessions ended; the holder was told by e-mail")
