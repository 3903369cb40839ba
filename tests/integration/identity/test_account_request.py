""""Ask my company's ASL for an account" (RequestAccount, issue 16) on each database: the ASLs of an open company get
the request with the "not verified" warning's values, the requester one acknowledgement that quotes nothing; the same
answer and the same acknowledgement for any COFOR (unknown, closed, without an ASL); bad input refused field by field
with nothing written; the client's limit refuses, the mailbox's and the company's never do, they only stop the
mails."""
from __future__ import annotations

import grpc
import pytest
from portal.identity.v1 import identity_service_pb2 as api
from portal.support.v1 import events_pb2 as mail_events
from sqlalchemy import func, select

from kit.client import failure_of
from kit.messaging.streams import EMAIL_SUBJECT
from kit.messaging.tables import OutboxMessage

from identity.adapters.orm import companies

from .conftest import Identity, outbox_mails

ACCEPTED = "account_request.accepted"
RELAY = mail_events.EMAIL_TEMPLATE_ACCOUNT_REQUEST_TO_ADMINISTRATOR
ACK = mail_events.EMAIL_TEMPLATE_ACCOUNT_REQUEST_ACKNOWLEDGEMENT


def ask(cofor: str, email: str = "nina.nouvelle@forges.example", **values: str) -> api.RequestAccountRequest:
    fields = dict(given_name="Nina", family_name="Nouvelle", job_title="Acheteuse",
                  message="Bonjour, je viens d'arriver aux achats : pouvez-vous me créer un compte ?", language="fr")
    return api.RequestAccountRequest(cofor=cofor, email=email, **(fields | values))


async def test_the_asls_get_the_request_and_the_requester_one_acknowledgement_quoting_nothing(
        identity: Identity) -> None:
    company = await identity.company()
    reply = await identity.client.RequestAccount(ask(f"{company.root.lower()}01", message="Bonjour,\nmerci !"),
                                                 client="192.0.2.7")
    assert reply.message_key == ACCEPTED
    [relay] = await outbox_mails(identity, RELAY)
    assert [r.address for r in relay.to] == [company.asl_email] and relay.language == "fr"
    values = relay.account_request_to_administrator
    assert (values.requester_given_name, values.requester_family_name, values.requester_job_title,
            values.requester_email, values.message, values.cofor_root, values.legal_name) == (
        "Nina", "Nouvelle", "Acheteuse", "nina.nouvelle@forges.example", "Bonjour,\nmerci !", company.root,
        f"Company {company.root}")
    assert (relay.reply_to.address, relay.reply_to.display_name) == ("nina.nouvelle@forges.example", "")
    [ack] = await outbox_mails(identity, ACK)
    assert [(r.address, r.display_name) for r in ack.to] == [("nina.nouvelle@forges.example", "")]
    assert ack.WhichOneof("values") == "account_request_acknowledgement" and not ack.params
    assert not ack.HasField("reply_to")
    serialised = ack.SerializeToString()
    for secret in (company.asl_email.encode(), b"Alice", b"Admin", b"Nina", b"Bonjour", company.root.encode()):
        assert secret not in serialised  # neither the ASL nor anything the requester typed


@pytest.mark.parametrize("kind", ["unknown", "not open", "suspended", "deactivated", "open"])
async def test_the_answer_and_the_acknowledgement_are_the_same_whatever_the_cofor(identity: Identity,
                                                                                   kind: str) -> None:
    company = await identity.company(open_access=kind != "not open")
    root = "ZZZZ99" if kind == "unknown" else company.root
    if kind in ("suspended", "deactivated"):
        async with identity.app.database.write_transaction() as s:  # as cofor's events leave the projection
            await s.execute(companies.update().where(companies.c.cofor_root == root).values(
                **({"access_open": False} if kind == "suspended" else {"supplier_active": False})))
    reply = await identity.client.RequestAccount(ask(root))
    assert reply == api.RequestAccountResponse(message_key=ACCEPTED)
    [ack] = await outbox_mails(identity, ACK)  # one mail, the same in every case: no value, no name, no Reply-To
    assert (ack.language, [(r.address, r.display_name) for r in ack.to]) == (
        "fr", [("nina.nouvelle@forges.example", "")])
    assert ack.account_request_acknowledgement.ByteSize() == 0 and not ack.HasField("reply_to")
    assert len(await outbox_mails(identity, RELAY)) == (1 if kind == "open" else 0)


async def test_bad_input_is_refused_field_by_field_and_writes_nothing(identity: Identity) -> None:
    company = await identity.company()
    before = len(await outbox_mails(identity))
    bad = ask("not a cofor", email="nina@", given_name="Nina\r\nBcc: eve@attacker.example",
              family_name="", job_title="https://evil.example/login", message="x" * 1001, language="de")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await identity.client.RequestAccount(bad, client="192.0.2.8")
    failure = failure_of(refused.value)
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {path for path, _ in failure.field_violations} == {
        "cofor", "email", "given_name", "family_name", "job_title", "message", "language"}
    assert company.asl_email not in str(refused.value.details()) + repr(failure)
    for name in ("Nina\u2028Bcc", "Nina\u202eBcc", "=?utf-8?b?QmNjOiBldmU=?="):  # line separator, bidi, encoded word
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await identity.client.RequestAccount(ask(company.root, given_name=name), client="192.0.2.8")
        assert [path for path, _ in failure_of(refused.value).field_violations] == ["given_name"]
    with pytest.raises(grpc.aio.AioRpcError) as refused:  # no mail could reach it: refused, not lost later
        await identity.client.RequestAccount(ask(company.root, email="nïna@forges.example"), client="192.0.2.8")
    assert [path for path, _ in failure_of(refused.value).field_violations] == ["email"]
    assert len(await outbox_mails(identity)) == before
    async with identity.app.database.session(readonly=True) as s, s.begin():
        counted = await s.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.subject != EMAIL_SUBJECT, OutboxMessage.payload.contains(b"Nina")))
    assert counted == 0


async def test_only_the_client_limit_refuses(identity: Identity) -> None:
    limit = identity.settings.account_request_limit_per_client_per_hour
    for i in range(limit):
        await identity.client.RequestAccount(ask("ZZZZ98", email=f"n{i}@forges.example"), client="198.51.100.1")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await identity.client.RequestAccount(ask("ZZZZ98", email="late@forges.example"), client="198.51.100.1")
    failure = failure_of(refused.value)
    assert (failure.code, failure.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "RATE_LIMITED")
    assert len(await outbox_mails(identity, ACK)) == limit  # the refused call wrote nothing
    reply = await identity.client.RequestAccount(ask("ZZZZ98", email="late@forges.example"), client="198.51.100.2")
    assert reply.message_key == ACCEPTED  # another address is another count


async def test_a_mailbox_gets_a_few_acknowledgements_a_day_however_it_is_spelt(identity: Identity) -> None:
    """Nobody can mail-bomb a stranger through the acknowledgement: case and "+tag" variants share one count, and
    past it the answer is unchanged but neither the stranger nor the ASLs get anything more."""
    company = await identity.company()
    limit = identity.settings.account_request_limit_per_email_per_day
    spellings = ["victim@buyer.example", "Victim@Buyer.example", "victim+1@buyer.example", "VICTIM+x@buyer.example",
                 "victim+2@buyer.example"]
    assert limit < len(spellings)  # or the spellings would not show that they share one count
    for i, address in enumerate(spellings):
        reply = await identity.client.RequestAccount(ask(company.root, email=address), client=f"203.0.113.{i}")
        assert reply.message_key == ACCEPTED
    assert len(await outbox_mails(identity, ACK)) == limit
    assert len(await outbox_mails(identity, RELAY)) == limit


async def test_past_the_companys_daily_budget_requests_are_acknowledged_but_no_longer_relayed(
        identity: Identity) -> None:
    company = await identity.company()
    budget = identity.settings.account_request_limit_per_company_per_day
    for i in range(budget + 3):  # many requesters, many addresses: an ASL is not flooded all the same
        reply = await identity.client.RequestAccount(ask(company.root, email=f"flood{i}@spam.example"),
                                                     client=f"203.0.113.{i}")
        assert reply.message_key == ACCEPTED
    assert len(await outbox_mails(identity, RELAY)) == budget
    assert len(await outbox_mails(identity, ACK)) == budget + 3
    other = await identity.company()  # another company's budget is its own
    await identity.client.RequestAccount(ask(other.root, email="someone@else.example"))
    assert [r.address for m in await outbox_mails(identity, RELAY) for r in m.to].count(other.asl_email) == 1
