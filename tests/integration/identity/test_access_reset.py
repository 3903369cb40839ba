"""cofor.access.reset (purchasing's ResetPortalAccess), consumed as cofor publishes it on the COFOR stream: every
account closed for good, pending resets voided, sessions ended, an empty administrators snapshot, the gate
closed; only a later request's accepted terms bring a new ASL."""
from __future__ import annotations

import datetime as dt
import uuid

import grpc
import pytest
from portal.cofor.v1 import events_pb2 as cofor_events
from portal.cofor.v1 import supplier_pb2 as cofor_pb
from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import events_pb2 as ev
from portal.identity.v1 import identity_service_pb2 as api
from portal.support.v1 import events_pb2 as mail_events
from sqlalchemy import select

from kit.client import failure_of
from testing.streams import read_subject, wait_for

from identity.adapters.orm import accounts, audit_events

from .conftest import STRONG, Company, Identity


async def failure(call: object) -> object:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call  # type: ignore[misc]
    return failure_of(err.value)


async def rows(identity: Identity, root: str) -> dict[str, dict]:  # type: ignore[type-arg]
    async with identity.app.database.session(readonly=True) as s, s.begin():
        found = (await s.execute(select(accounts).where(accounts.c.cofor_root == root))).mappings().all()
    return {r["identifier"]: dict(r) for r in found}


async def until_closed(identity: Identity, root: str, count: int) -> dict[str, dict]:  # type: ignore[type-arg]
    async def probe() -> dict[str, dict] | None:  # type: ignore[type-arg]
        found = await rows(identity, root)
        closed = [r for r in found.values() if r["disabled_cause"] == "ACCESS_RESET"]
        return found if len(closed) >= count else None
    return await wait_for(probe, timeout=15)


def reset(root: str, revision: int) -> cofor_events.AccessReset:
    return cofor_events.AccessReset(cofor_root=root, legal_name=f"Company {root}", reason="rogue first ASL",
                                    actor="Paul Achats", revision=revision)


async def new_request_accepted(identity: Identity, root: str, email: str) -> str:
    await identity.publish_cofor("cofor.access.terms_accepted", cofor_events.TermsAccepted(
        cofor_root=root, legal_name=f"Company {root}", access_request_id=str(uuid.uuid4()),
        administrator=cofor_pb.Contact(given_name="Nina", family_name="Nouvelle", email=email, language="fr")))
    [(welcome, _)] = await identity.mails(email, mail_events.EMAIL_TEMPLATE_ADMINISTRATOR_WELCOME)
    return str(welcome.administrator_welcome.identifier)


async def test_an_access_reset_closes_every_account_for_good(identity: Identity) -> None:
    company = await identity.company()
    token = await identity.ready_asl(company)
    co_asl = (await identity.client.CreateUser(api.CreateUserRequest(
        given_name="Co", family_name="Admin", email="co@supplier.example", role=pb.ROLE_ADMINISTRATOR),
        bearer=token)).account
    user = (await identity.client.CreateUser(api.CreateUserRequest(
        given_name="Gone", family_name="Already", email="gone@supplier.example"), bearer=token)).account
    await identity.client.DisableUser(api.DisableUserRequest(identifier=user.identifier), bearer=token)
    await identity.client.ResetAdministratorPassword(api.ResetAdministratorPasswordRequest(
        identifier=company.asl, cofor=company.root, email=company.asl_email))  # a pending self-service reset
    [(_, secrets)] = await identity.mails(company.asl_email, mail_events.EMAIL_TEMPLATE_ADMINISTRATOR_RESET_PASSWORD)
    identity.secrets_seen.append(secrets["temporary_password"])

    await identity.publish_cofor("cofor.access.reset", reset(company.root, revision=10))
    closed = await until_closed(identity, company.root, 3)
    assert {(r["state"], r["disabled_cause"], r["reset_hash"]) for r in closed.values()} == {
        ("DISABLED", "ACCESS_RESET", None)}
    await identity.until_company(company.root, access_open=False)
    f = await failure(identity.client.ValidateSession(api.ValidateSessionRequest(session_token=token), as_="erp"))
    assert f.reason == "SESSION_INVALID"  # type: ignore[attr-defined]
    f = await failure(identity.login(company.asl, secrets["temporary_password"]))
    assert f.reason == "INVALID_CREDENTIALS"  # type: ignore[attr-defined]  # the pending reset is void
    f = await failure(identity.login(company.asl, STRONG))
    assert f.reason == "COMPANY_ACCESS_CLOSED"  # type: ignore[attr-defined]

    async def published() -> tuple[list[ev.ActiveAdministratorsChanged], list[ev.AccountDisabled]]:
        snapshots = [ev.ActiveAdministratorsChanged.FromString(m.data) for m in await read_subject(
            identity.js, "IDENTITY", "identity.company.administrators_changed")]
        disabled = [ev.AccountDisabled.FromString(m.data) for m in await read_subject(
            identity.js, "IDENTITY", "identity.account.disabled")]
        reset_ones = [d for d in disabled if d.cause == ev.ACCOUNT_STATE_CHANGE_CAUSE_ACCESS_RESET]
        return (snapshots, reset_ones) if len(reset_ones) == 2 else ([], [])  # the third was disabled already
    snapshots, reset_ones = await wait_for(published)
    last = max((s for s in snapshots if s.cofor_root == company.root), key=lambda s: s.revision)
    assert last.active_administrator_count == 0 and not last.administrators
    assert {d.identifier for d in reset_ones} == {company.asl, co_asl.identifier}
    async with identity.app.database.session(readonly=True) as s, s.begin():
        details = (await s.scalars(select(audit_events.c.detail).where(
            audit_events.c.cofor_root == company.root, audit_events.c.action == "ACCOUNT_DISABLED"))).all()
    assert details.count("portal access reset by Paul Achats: rogue first ASL") == 3

    # Deactivation then reactivation of the supplier brings none of them back.
    await identity.publish_cofor("cofor.supplier.deactivated", cofor_events.SupplierDeactivated(
        cofor_root=company.root, reason="x", revision=11))
    await identity.publish_cofor("cofor.supplier.reactivated", cofor_events.SupplierReactivated(
        cofor_root=company.root, revision=12))
    await identity.until_company(company.root, supplier_active=True)
    assert {r["disabled_cause"] for r in (await rows(identity, company.root)).values()} == {"ACCESS_RESET"}

    # A new request's accepted terms bring a new ASL, who cannot enable the closed accounts.
    nina = await new_request_accepted(identity, company.root, "nina@supplier.example")
    await identity.publish_cofor("cofor.access.opened", cofor_events.AccessOpened(cofor_root=company.root,
                                                                                  revision=13))
    await identity.until_company(company.root, access_open=True)
    nina_token = await identity.ready_asl(Company(company.root, nina, "nina@supplier.example",
                                                  await identity.temporary_password("nina@supplier.example")))
    f = await failure(identity.client.EnableUser(api.EnableUserRequest(identifier=company.asl), bearer=nina_token))
    assert (f.code, f.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "ACCOUNT_CLOSED")  # type: ignore[attr-defined]
    # The same reset seen again (an older revision) changes nothing.
    await identity.publish_cofor("cofor.access.reset", reset(company.root, revision=10))
    await identity.publish_cofor("cofor.supplier.referenced", cofor_events.SupplierReferenced(
        cofor_root=company.root, legal_name="After the old reset"))
    await identity.until_company(company.root, legal_name="After the old reset")
    await identity.client.ValidateSession(api.ValidateSessionRequest(session_token=nina_token), as_="erp")


async def test_a_reset_delivered_after_the_next_requests_terms_spares_the_new_asl(identity: Identity) -> None:
    """JetStream redelivers what a crashed consumer held after newer events; accepted terms carry no revision."""
    company = await identity.company()
    await identity.ready_asl(company)
    reset_time = dt.datetime.now(dt.UTC)
    nina = await new_request_accepted(identity, company.root, "nina@supplier.example")
    await identity.publish_cofor("cofor.access.reset", reset(company.root, revision=10), occurred_at=reset_time)
    found = await until_closed(identity, company.root, 1)
    assert found[company.asl]["disabled_cause"] == "ACCESS_RESET"
    assert (found[nina]["state"], found[nina]["disabled_cause"]) == ("ACTIVE", "")
    await identity.open(company.root)
    assert (await identity.login(nina, await identity.temporary_password("nina@supplier.example"))).session_token
