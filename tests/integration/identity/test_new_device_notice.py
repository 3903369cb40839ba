"""The holder hears of a login from a new device (ARCHITECTURE §7), on both databases: a browser, system and address
the account has not used for 90 days; never for its first login, nor while a login waits for its second factor;
once per login, through the outbox, with no secret in the mail or anywhere in the streams."""
from __future__ import annotations

import datetime as dt

from portal.support.v1 import email_values_pb2 as values
from portal.support.v1 import events_pb2 as mail_events

from testing.streams import read_subject

from .conftest import Identity
from .devices import CHROME_LINUX, FIREFOX_WINDOWS, PASSWORD, SAFARI_IPHONE, company_of_two, log_in_from

NEW_DEVICE = mail_events.EMAIL_TEMPLATE_NEW_DEVICE_LOGIN


async def notices(identity: Identity, address: str, count: int) -> list[values.NewDeviceLoginMail]:
    """The first ``count`` notices to ``address``, and no more once they are there (mails leave in order)."""
    found = await identity.mails(address, NEW_DEVICE, count)
    assert len(found) == count, [m.new_device_login for m, _ in found]
    assert all(m.language == "fr" and not m.sealed_secrets for m, _ in found)
    return [m.new_device_login for m, _ in found]


async def test_a_login_from_a_new_browser_or_address_is_told_to_the_holder(identity: Identity) -> None:
    _, me, colleague = await company_of_two(identity)
    address = f"{me}@x.example"
    tokens = [await log_in_from(identity, me, CHROME_LINUX, "192.0.2.10"),  # the account's first: no notice
              await log_in_from(identity, me, CHROME_LINUX, "192.0.2.10")]  # a known one: none
    await identity.password_step(me, PASSWORD)  # a login waiting for its factor: none (no device, no factor given)
    tokens.append(await log_in_from(identity, me, FIREFOX_WINDOWS, "192.0.2.10"))  # another browser
    [told] = await notices(identity, address, 1)
    assert (told.identifier, told.browser, told.operating_system, told.client_address) == (
        me, "Firefox", "Windows", "192.0.2.10")
    assert abs(told.login_time.ToDatetime(dt.UTC) - identity.clock()) < dt.timedelta(seconds=30)

    tokens.append(await log_in_from(identity, me, FIREFOX_WINDOWS, "198.51.100.7"))  # the same browser elsewhere
    tokens.append(await log_in_from(identity, me, FIREFOX_WINDOWS, "198.51.100.7"))
    tokens.append(await log_in_from(identity, colleague, SAFARI_IPHONE, "203.0.113.99"))  # the colleague's first
    tokens.append(await log_in_from(identity, me, SAFARI_IPHONE, "203.0.113.99"))  # new to me, if not to the company
    assert [(t.browser, t.client_address) for t in await notices(identity, address, 3)] == [
        ("Firefox", "192.0.2.10"), ("Firefox", "198.51.100.7"), ("Safari", "203.0.113.99")]

    identity.clock.offset += dt.timedelta(days=91)  # three months on, the first browser is news again
    tokens.append(await log_in_from(identity, me, CHROME_LINUX, "192.0.2.10"))
    tokens.append(await log_in_from(identity, me, CHROME_LINUX, "192.0.2.10"))
    assert [t.browser for t in await notices(identity, address, 4)][-1] == "Chrome"

    requested = [mail_events.EmailRequested.FromString(m.data) for m in await read_subject(
        identity.js, "NOTIFICATION", "notification.email.requested")]
    assert not [m for m in requested if m.template == NEW_DEVICE and m.to[0].address != address]  # the colleague's
    haystack = b"".join([m.data for stream in ("IDENTITY", "NOTIFICATION")
                         for m in await read_subject(identity.js, stream, f"{stream.lower()}.>")])
    assert not [t for t in tokens + [PASSWORD] if t.encode() in haystack]
