"""One bad mail never holds up the others (review finding 2): mails that cannot be composed are given up alone with
their reason, mails with hostile text are sent once made safe, and every other mail goes out exactly once — through
the real service, NATS and SMTP sink, on SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
import uuid
from collections import Counter

from portal.support.v1 import events_pb2 as ev
from sqlalchemy import select

from kit.messaging import envelope
from testing.streams import wait_for

from support.adapters.orm import mail_spool

from .conftest import Support, unique_email

HOSTILE = "ACME\u2028Industries\u0085Bcc: eve@attacker.example\u202eSA"
LONG_NAME = "Claire\u2028Martin, eve@attacker.example " + "x" * 300


def submitted(to: str, legal_name: str = "Forges SA", display_name: str = "Claire Martin",
              template: int = ev.EMAIL_TEMPLATE_PRESENTATION_SUBMITTED, sealed: bytes = b"") -> ev.EmailRequested:
    return ev.EmailRequested(template=template, language="en",  # type: ignore[arg-type]
                             to=[ev.EmailRecipient(address=to, display_name=display_name)],
                             params={"legal_name": legal_name, "duns": "123456789", "presentation_id": "p-1"},
                             sealed_secrets=sealed)


async def publish(support: Support, event: ev.EmailRequested) -> str:
    event_id = str(uuid.uuid4())
    await support.js.publish("notification.email.requested", event.SerializeToString(),
                             headers={envelope.MSG_ID: event_id})
    return event_id


async def spool_rows(support: Support) -> dict[str, tuple[str, str]]:
    async with support.app.database.session(readonly=True) as s, s.begin():
        rows = (await s.execute(select(mail_spool.c.event_id, mail_spool.c.status, mail_spool.c.last_error))).all()
    return {r.event_id: (r.status, r.last_error) for r in rows}


async def test_poison_mails_are_given_up_alone_and_every_other_mail_goes_out_exactly_once(support: Support) -> None:
    # Queued first, so that they share the first chunks with the normal mails behind them.
    poison = {
        "hostile recipient address": await publish(support, submitted(
            "claire\u2028martin@supplier.example", HOSTILE, LONG_NAME)),
        "header injection in the address": await publish(support, submitted(
            "a@supplier.example\r\nBcc: eve@attacker.example", HOSTILE)),
        "two addresses in one": await publish(support, submitted("a@supplier.example, eve@attacker.example")),
        "a template this build does not know": await publish(support, submitted(
            unique_email("unknown"), template=999)),
        "sealed secrets that do not open": await publish(support, submitted(
            unique_email("sealed"), sealed=b"not a sealed box")),
    }
    hostile_to = unique_email("hostile")
    hostile = await publish(support, submitted(hostile_to, HOSTILE, LONG_NAME))  # deliverable once made safe
    normal = {await publish(support, submitted(unique_email(f"normal{n}"))): n for n in range(40)}
    wanted = {*normal, hostile}

    def ids_at_sink() -> Counter[str]:
        return Counter(str(m.message["Message-ID"]).strip("<>").split("@")[0] for m in support.sink.received)

    async def settled() -> bool:
        rows = await spool_rows(support)
        return wanted <= set(ids_at_sink()) and len(rows) == 46 and all(s != "PENDING" for s, _ in rows.values())

    await wait_for(settled, timeout=60)
    await asyncio.sleep(1.5)  # several mailer rounds: a mail recorded wrongly would be sent again meanwhile
    sent = ids_at_sink()
    assert {i: n for i, n in sent.items() if n != 1} == {}, "sent more than once"
    assert set(sent) == wanted, "a normal mail is missing, or a poison one went out"
    rows = await spool_rows(support)
    for what, event_id in poison.items():
        status, reason = rows[event_id]
        assert status == "FAILED" and reason, (what, status, reason)
    assert rows[hostile][0] == "SENT" and all(rows[i][0] == "SENT" for i in normal)

    [mail] = [m.message for m in support.sink.received if hostile_to in m.rcpt_tos]
    assert mail["Subject"] == "B2B Supplier Portal: file for ACME Industries Bcc: eve@attacker.example SA sent to " \
                              "Purchasing"
    [recipient] = mail["To"].addresses
    assert recipient.addr_spec == hostile_to and recipient.display_name.startswith("Claire Martin, eve@")
    assert mail["Bcc"] is None and len(recipient.display_name) == 200
